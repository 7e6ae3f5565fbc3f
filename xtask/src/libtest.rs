//! Reading libtest's plain (stable) output: one `test NAME ... RESULT` line per test, then a
//! `---- NAME stdout ----` section for each failure.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The first useful line of the failure.
    Failed(String),
    /// Ignored by the test itself (`#[ignore = "reason"]`): not run, so not passed.
    Skipped(String),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        *self == Outcome::Passed
    }
}

/// Each test's outcome in one run's standard output, by name.
pub fn parse(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else { continue };
        let Some((name, result)) = rest.split_once(" ... ") else { continue };
        let outcome = match result.trim_end() {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed(String::new()),
            "ignored" => Outcome::Skipped("ignored, no reason given".to_owned()),
            // libtest writes `ignored, REASON`; libtest-mimic (harness = false files) `ignored (REASON)`.
            other => match other
                .strip_prefix("ignored, ")
                .or_else(|| other.strip_prefix("ignored (").and_then(|reason| reason.strip_suffix(')')))
            {
                Some(reason) => Outcome::Skipped(reason.to_owned()),
                None => continue, // a program's own output that happens to start with "test "
            },
        };
        outcomes.insert(name.to_owned(), outcome);
    }
    for (name, section) in failure_sections(stdout) {
        if let Some(Outcome::Failed(reason)) = outcomes.get_mut(&name) {
            *reason = first_useful_line(&section);
        }
    }
    for outcome in outcomes.values_mut() {
        match outcome {
            Outcome::Failed(reason) if reason.is_empty() => *reason = "failed (no output)".to_owned(),
            _ => {}
        }
    }
    outcomes
}

/// The `---- NAME stdout ----` sections, by test name.
fn failure_sections(stdout: &str) -> Vec<(String, String)> {
    let mut sections = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in stdout.lines() {
        let header = line.strip_prefix("---- ").and_then(|rest| rest.strip_suffix(" stdout ----"));
        if let Some(name) = header {
            sections.extend(current.take());
            current = Some((name.to_owned(), String::new()));
        } else if line == "failures:" || line.starts_with("test result: ") {
            sections.extend(current.take());
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections.extend(current);
    sections
}

/// The line that says what went wrong: the `todo!` message, a timeout, the snapshot's first changed
/// line, else the panic message.
pub fn first_useful_line(section: &str) -> String {
    let lines: Vec<&str> = section.lines().collect();
    let pick = lines
        .iter()
        .find_map(|line| line.find("not yet implemented").map(|at| line[at..].to_owned()))
        .or_else(|| {
            lines
                .iter()
                .find(|line| line.contains("still running after") || line.contains("timed out"))
                .map(|line| line.trim().to_owned())
        })
        .or_else(|| snapshot_change(&lines))
        .or_else(|| {
            let at = lines.iter().position(|line| line.contains("panicked at"))?;
            let panic = lines[at];
            // Older libtest puts the message on the panic line itself, in quotes.
            if let Some((_, message)) = panic.split_once("panicked at '") {
                return Some(message.trim_end_matches(|c| c != '\'').trim_end_matches('\'').to_owned());
            }
            lines[at + 1..].iter().map(|line| line.trim()).find(|line| !line.is_empty()).map(str::to_owned)
        })
        .or_else(|| lines.iter().map(|line| line.trim()).find(|line| !line.is_empty()).map(str::to_owned))
        .unwrap_or_default();
    shorten(&pick)
}

/// insta's diff: `   3       │-expected` / `         3 │+actual`.
fn snapshot_change(lines: &[&str]) -> Option<String> {
    let changed = |sign: char| {
        lines.iter().find_map(|line| {
            let (_, after) = line.split_once('│')?;
            after.strip_prefix(sign).map(|text| text.to_owned())
        })
    };
    match (changed('-'), changed('+')) {
        (None, None) => None,
        (Some(old), Some(new)) => Some(format!("snapshot differs: expected `{old}`, got `{new}`")),
        (Some(old), None) => Some(format!("snapshot differs: missing `{old}`")),
        (None, Some(new)) => Some(format!("snapshot differs: unexpected `{new}`")),
    }
}

fn shorten(line: &str) -> String {
    const MAX: usize = 200;
    let line = line.trim();
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "
running 5 tests
test passes ... ok
test skipped_with_reason ... ignored, needs root for setpriv
test skipped_bare ... ignored
test skipped_by_mimic ... ignored (no private IPC namespace here)
test todo_test ... FAILED
test snapshot_test ... FAILED
test printed by a program, not libtest
test mod::deadlock ... FAILED

failures:

---- todo_test stdout ----
mkq: internal error: not yet implemented: mkq: msgget with IPC_CREAT
thread 'todo_test' panicked at chapters/ch10-msgq/tests/mkq_qctl.rs:40:10:
mkq failed: exit status: 1

---- snapshot_test stdout ----
-old snapshot
+new results
────────────┬───────────
    0     0 │ $ pipe
    1       │-parent: pipe() gave fd[0]=3
          1 │+parent: pipe() gave fd[0]=5
thread 'snapshot_test' panicked at insta/src/runtime.rs:1:1:
snapshot assertion for 'pipe' failed

---- mod::deadlock stdout ----
thread 'mod::deadlock' panicked at testkit/src/lib.rs:328:17:
pen_and_note: still running after 30s (a deadlock?)

failures:
    todo_test

test result: FAILED. 1 passed; 3 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    #[test]
    fn every_result_kind_is_read_with_its_reason() {
        let outcomes = parse(RUN);
        assert_eq!(outcomes.len(), 7, "{outcomes:?}");
        assert_eq!(outcomes["passes"], Outcome::Passed);
        assert_eq!(outcomes["skipped_with_reason"], Outcome::Skipped("needs root for setpriv".into()));
        assert_eq!(outcomes["skipped_by_mimic"], Outcome::Skipped("no private IPC namespace here".into()));
        assert!(
            matches!(&outcomes["skipped_bare"], Outcome::Skipped(reason) if reason.contains("no reason"))
        );
        assert_eq!(
            outcomes["todo_test"],
            Outcome::Failed("not yet implemented: mkq: msgget with IPC_CREAT".into())
        );
        assert_eq!(
            outcomes["snapshot_test"],
            Outcome::Failed(
                "snapshot differs: expected `parent: pipe() gave fd[0]=3`, got `parent: pipe() gave fd[0]=5`"
                    .into()
            )
        );
        assert_eq!(
            outcomes["mod::deadlock"],
            Outcome::Failed("pen_and_note: still running after 30s (a deadlock?)".into())
        );
        assert!(!outcomes["skipped_bare"].passed());
    }

    #[test]
    fn a_plain_panic_gives_its_message_and_long_lines_are_cut() {
        let section = "thread 'x' panicked at a.rs:1:1:\nassertion `left == right` failed\n  left: 1\n";
        assert_eq!(first_useful_line(section), "assertion `left == right` failed");
        let long = "x".repeat(500);
        assert_eq!(first_useful_line(&long).chars().count(), 201);
    }

    #[test]
    fn a_run_killed_before_its_summary_still_gives_the_results_so_far() {
        let outcomes = parse("running 2 tests\ntest a ... ok\n");
        assert_eq!(outcomes.len(), 1);
        assert!(outcomes["a"].passed());
    }
}
