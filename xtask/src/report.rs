//! The grader's results: the table, JUnit XML and Gradescope's results.json.

use std::fmt::Write as _;

use serde_json::json;

use crate::libtest::Outcome;

/// One graded test.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub krate: String,
    pub target: String,
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    /// Listed in exercises.toml, but nobody has marked its region yet: not graded.
    NotMarked,
}

/// One exercise's grade: all of its points when every test passed, none otherwise.
#[derive(Debug, Clone)]
pub struct ExerciseResult {
    pub id: String,
    pub max_points: u32,
    pub status: Status,
    pub tests: Vec<TestResult>,
    /// The first useful line when it failed (or "not yet marked").
    pub reason: String,
    pub seconds: f64,
}

impl ExerciseResult {
    pub fn points(&self) -> u32 {
        if self.status == Status::Passed { self.max_points } else { 0 }
    }

    pub fn graded(&self) -> bool {
        self.status != Status::NotMarked
    }

    pub fn passed_tests(&self) -> usize {
        self.tests.iter().filter(|t| t.outcome.passed()).count()
    }

    /// Every test's line for a report: `crate/target::name: ok | FAILED: why | skipped: why`.
    pub fn details(&self) -> String {
        let mut text = String::new();
        if !self.reason.is_empty() {
            let _ = writeln!(text, "{}", self.reason);
        }
        for test in &self.tests {
            let result = match &test.outcome {
                Outcome::Passed => "ok".to_owned(),
                Outcome::Failed(why) => format!("FAILED: {why}"),
                Outcome::Skipped(why) => format!("skipped (counts as not passed): {why}"),
            };
            let _ = writeln!(text, "{}/{}::{}: {result}", test.krate, test.target, test.name);
        }
        text
    }
}

pub fn totals(results: &[ExerciseResult]) -> (u32, u32) {
    let graded = results.iter().filter(|r| r.graded());
    let score = graded.clone().map(ExerciseResult::points).sum();
    let max = graded.map(|r| r.max_points).sum();
    (score, max)
}

/// The table printed at the end of a grading run.
pub fn table(results: &[ExerciseResult]) -> String {
    let width = results.iter().map(|r| r.id.len()).max().unwrap_or(8).max(8);
    let mut out = format!("{:width$}  {:>6}  {:>7}  result\n", "exercise", "tests", "points");
    for r in results {
        let (tests, points, result) = match r.status {
            Status::NotMarked => ("-".to_owned(), "-".to_owned(), "not yet marked (not graded)".to_owned()),
            _ => {
                let skipped = r.tests.iter().filter(|t| matches!(t.outcome, Outcome::Skipped(_))).count();
                let result = match r.status {
                    Status::Passed => "ok".to_owned(),
                    _ if skipped > 0 && r.reason.starts_with("skipped") => r.reason.clone(),
                    _ => r.reason.clone(),
                };
                (
                    format!("{}/{}", r.passed_tests(), r.tests.len()),
                    format!("{}/{}", r.points(), r.max_points),
                    result,
                )
            }
        };
        let _ = writeln!(out, "{:width$}  {tests:>6}  {points:>7}  {result}", r.id);
    }
    let (score, max) = totals(results);
    let _ = writeln!(out, "Score: {score}/{max}");
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testsuite per graded exercise, one testcase per test.
pub fn junit(results: &[ExerciseResult]) -> String {
    let graded: Vec<_> = results.iter().filter(|r| r.graded()).collect();
    let count = |pick: fn(&Outcome) -> bool| {
        graded.iter().flat_map(|r| &r.tests).filter(|t| pick(&t.outcome)).count()
    };
    let tests = count(|_| true);
    let failures = count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let time: f64 = graded.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ipc-workbook grade\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    for r in graded {
        let failures = r.tests.iter().filter(|t| matches!(t.outcome, Outcome::Failed(_))).count();
        let skipped = r.tests.iter().filter(|t| matches!(t.outcome, Outcome::Skipped(_))).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml(&r.id),
            r.tests.len(),
            r.seconds
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"points\" value=\"{}/{}\"/></properties>",
            r.points(),
            r.max_points
        );
        for t in &r.tests {
            let classname = xml(&format!("{}::{}", t.krate, t.target));
            let name = xml(&t.name);
            match &t.outcome {
                Outcome::Passed => {
                    let _ = writeln!(out, "    <testcase classname=\"{classname}\" name=\"{name}\"/>");
                }
                Outcome::Failed(why) => {
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{classname}\" name=\"{name}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(why),
                        xml(why)
                    );
                }
                Outcome::Skipped(why) => {
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{classname}\" name=\"{name}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(why)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Gradescope's results.json (gradescope-autograders.readthedocs.io, "Autograder Specifications"):
/// one entry per graded exercise, its points all or nothing. `max_score` at the top is ours, for
/// other readers; Gradescope takes the maximum from the assignment.
pub fn gradescope(results: &[ExerciseResult], note: &str) -> String {
    let (score, max) = totals(results);
    let tests: Vec<_> = results
        .iter()
        .filter(|r| r.graded())
        .map(|r| {
            json!({
                "name": r.id,
                "score": r.points(),
                "max_score": r.max_points,
                "status": if r.status == Status::Passed { "passed" } else { "failed" },
                "output": r.details(),
            })
        })
        .collect();
    let seconds: f64 = results.iter().map(|r| r.seconds).sum();
    let value = json!({
        "score": score,
        "max_score": max,
        "execution_time": seconds.round() as u64,
        "output": note,
        "tests": tests,
    });
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<ExerciseResult> {
        let test = |name: &str, outcome| TestResult {
            krate: "ch10-msgq".into(),
            target: "mkq_qctl".into(),
            name: name.into(),
            outcome,
        };
        vec![
            ExerciseResult {
                id: "mkq".into(),
                max_points: 10,
                status: Status::Passed,
                tests: vec![test("a", Outcome::Passed)],
                reason: String::new(),
                seconds: 1.0,
            },
            ExerciseResult {
                id: "qctl".into(),
                max_points: 5,
                status: Status::Failed,
                tests: vec![
                    test("b", Outcome::Failed("not yet implemented: qctl: <stat>".into())),
                    test("c", Outcome::Skipped("needs root & setpriv".into())),
                ],
                reason: "not yet implemented: qctl: <stat>".into(),
                seconds: 2.0,
            },
            ExerciseResult {
                id: "fifo".into(),
                max_points: 7,
                status: Status::NotMarked,
                tests: vec![],
                reason: "not yet marked".into(),
                seconds: 0.0,
            },
        ]
    }

    #[test]
    fn the_table_shows_points_reasons_and_the_score_without_unmarked_exercises() {
        let table = table(&results());
        assert!(table.contains("mkq          1/1    10/10  ok"), "{table}");
        assert!(table.contains("qctl         0/2      0/5  not yet implemented: qctl: <stat>"), "{table}");
        assert!(table.contains("fifo           -        -  not yet marked (not graded)"), "{table}");
        assert!(table.ends_with("Score: 10/15\n"), "{table}");
    }

    #[test]
    fn junit_counts_failures_and_skips_and_escapes() {
        let xml = junit(&results());
        assert!(xml.contains("<testsuites name=\"ipc-workbook grade\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("<testsuite name=\"qctl\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<failure message=\"not yet implemented: qctl: &lt;stat&gt;\">"));
        assert!(xml.contains("<skipped message=\"needs root &amp; setpriv\"/>"));
        assert!(!xml.contains("fifo"), "unmarked exercises are not graded");
        assert_eq!(xml.matches("<testcase ").count(), 3);
    }

    #[test]
    fn gradescope_has_score_max_score_and_one_test_per_exercise() {
        let value: serde_json::Value =
            serde_json::from_str(&gradescope(&results(), "isolation: none")).unwrap();
        assert_eq!(value["score"], 10);
        assert_eq!(value["max_score"], 15);
        assert_eq!(value["output"], "isolation: none");
        let tests = value["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[1]["name"], "qctl");
        assert_eq!(tests[1]["score"], 0);
        assert_eq!(tests[1]["max_score"], 5);
        assert_eq!(tests[1]["status"], "failed");
        let output = tests[1]["output"].as_str().unwrap();
        assert!(
            output.contains("ch10-msgq/mkq_qctl::c: skipped (counts as not passed): needs root & setpriv"),
            "{output}"
        );
    }
}
