//! `exercises.toml`: the list of coding exercises, read by the grader, the hint command and the book.

use std::path::Path;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercises {
    /// Deadline for one exercise's test run, unless the exercise sets its own.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

fn default_timeout() -> u64 {
    180
}

/// One exercise: a marked region (or several) in one program, and the tests that grade it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: String,
    /// The package (`ch10-semaphore`) whose program the student writes.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The binary the exercise is about.
    pub bin: String,
    /// The source file(s) holding the marked region(s), relative to the repository root.
    pub files: Vec<String>,
    pub difficulty: Difficulty,
    pub points: u32,
    /// What the student writes, one sentence (the book lists it).
    pub summary: String,
    /// Shown one at a time by `cargo xtask hint ID`, gentlest first.
    pub hints: Vec<String>,
    pub tests: Vec<TestGroup>,
    /// false while nobody has put the EXERCISE markers into `files` yet: the grader skips it.
    #[serde(default = "yes")]
    pub marked: bool,
    /// Patch files (relative to exercises/wrong/) of plausible wrong answers; each must lose points.
    #[serde(default)]
    pub wrong_answers: Vec<String>,
    pub timeout_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }
}

/// Tests of one test target (`chapters/ch09-pipe/tests/pipe.rs` is target `pipe` of `ch09-pipe`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// The package holding the test target; the exercise's crate when absent.
    #[serde(rename = "crate")]
    pub krate: Option<String>,
    /// The test target: the file name of `tests/NAME.rs`.
    pub target: String,
    /// Exact test names (libtest `--exact`); each must pass.
    pub names: Vec<String>,
}

impl Exercises {
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed: Exercises = toml::from_str(text).map_err(|err| err.to_string())?;
        parsed.check()?;
        Ok(parsed)
    }

    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join("exercises.toml");
        let text = std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for ex in &self.exercises {
            let id = &ex.id;
            if !seen.insert(id.as_str()) {
                return Err(format!("exercise `{id}` is listed twice"));
            }
            if !is_id(id) {
                return Err(format!("exercise id `{id}`: use lower-case letters, digits, `-` and `_`"));
            }
            if !(2..=3).contains(&ex.hints.len()) {
                return Err(format!("exercise `{id}`: give 2 or 3 hints, not {}", ex.hints.len()));
            }
            if ex.files.is_empty() || ex.tests.is_empty() || ex.tests.iter().any(|t| t.names.is_empty()) {
                return Err(format!("exercise `{id}`: needs files and tests, each test group with names"));
            }
            if ex.points == 0 {
                return Err(format!("exercise `{id}`: points must be at least 1"));
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|ex| ex.id == id)
    }
}

impl Exercise {
    pub fn timeout(&self, all: &Exercises) -> u64 {
        self.timeout_secs.unwrap_or(all.timeout_secs)
    }

    pub fn test_count(&self) -> usize {
        self.tests.iter().map(|t| t.names.len()).sum()
    }
}

impl TestGroup {
    pub fn krate<'a>(&'a self, exercise: &'a Exercise) -> &'a str {
        self.krate.as_deref().unwrap_or(&exercise.krate)
    }
}

/// An exercise id: what may follow `EXERCISE(` in a marker.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
timeout_secs = 60
[[exercise]]
id = "mkq"
crate = "ch10-msgq"
bin = "mkq"
files = ["chapters/ch10-msgq/src/bin/mkq.rs"]
difficulty = "easy"
points = 5
summary = "create the queue"
hints = ["one", "two"]
tests = [{ target = "mkq_qctl", names = ["a", "b"] }, { crate = "ipc-workbook", target = "leaks", names = ["c"] }]
wrong_answers = ["mkq-no-creat.patch"]
"#;

    #[test]
    fn parses_an_exercise_with_defaults() {
        let all = Exercises::parse(ONE).unwrap();
        let ex = all.get("mkq").unwrap();
        assert!(ex.marked);
        assert_eq!(ex.difficulty, Difficulty::Easy);
        assert_eq!(ex.test_count(), 3);
        assert_eq!(ex.tests[0].krate(ex), "ch10-msgq");
        assert_eq!(ex.tests[1].krate(ex), "ipc-workbook");
        assert_eq!(ex.timeout(&all), 60);
        assert_eq!(ex.wrong_answers, ["mkq-no-creat.patch"]);
    }

    #[test]
    fn rejects_duplicates_bad_hints_unknown_fields_and_bad_ids() {
        let twice = format!("{ONE}{}", ONE.replace("timeout_secs = 60", ""));
        assert!(Exercises::parse(&twice).unwrap_err().contains("twice"));
        let one_hint = ONE.replace(r#"hints = ["one", "two"]"#, r#"hints = ["one"]"#);
        assert!(Exercises::parse(&one_hint).unwrap_err().contains("2 or 3 hints"));
        let typo = ONE.replace("points = 5", "point = 5");
        assert!(Exercises::parse(&typo).is_err());
        let bad_id = ONE.replace(r#"id = "mkq""#, r#"id = "Mkq!""#);
        assert!(Exercises::parse(&bad_id).unwrap_err().contains("lower-case"));
    }

    #[test]
    fn the_repositorys_list_parses_and_covers_every_program_the_texts_teach() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let all = Exercises::load(root).unwrap();
        assert!(all.exercises.len() >= 14);
        for ex in &all.exercises {
            for file in &ex.files {
                assert!(root.join(file).is_file(), "{}: no file {file}", ex.id);
            }
            for patch in &ex.wrong_answers {
                assert!(
                    patch.starts_with(&format!("{}-", ex.id)) && patch.ends_with(".patch"),
                    "{}: name {patch} ID-WHAT.patch",
                    ex.id
                );
                // The student edition leaves exercises/wrong/ out: there, the list names absent files.
                if !root.join(crate::edition::STUDENT_EDITION_FILE).exists() {
                    assert!(
                        root.join("exercises/wrong").join(patch).is_file(),
                        "{}: no exercises/wrong/{patch}",
                        ex.id
                    );
                }
            }
            for group in &ex.tests {
                let dir = if group.krate(ex) == "ipc-workbook" {
                    root.to_path_buf()
                } else {
                    root.join("chapters").join(group.krate(ex))
                };
                let target = dir.join("tests").join(format!("{}.rs", group.target));
                let text = std::fs::read_to_string(&target)
                    .unwrap_or_else(|err| panic!("{}: {}: {err}", ex.id, target.display()));
                for name in &group.names {
                    assert!(
                        text.contains(&format!("fn {name}()")),
                        "{}: no test {name} in {}",
                        ex.id,
                        target.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_classroom_workflow_grades_exactly_the_marked_exercises_with_their_points() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let all = Exercises::load(root).unwrap();
        let workflow = std::fs::read_to_string(root.join(".github/workflows/classroom.yml")).unwrap();
        for ex in &all.exercises {
            let command = format!("command: cargo xtask grade --exercise {}\n", ex.id);
            let Some(at) = workflow.find(&command) else {
                assert!(!ex.marked, "classroom.yml does not grade the marked exercise {}", ex.id);
                continue;
            };
            assert!(
                ex.marked,
                "classroom.yml grades {}, which is not marked yet (it would score full points)",
                ex.id
            );
            let rest = &workflow[at..];
            let points = rest.lines().find_map(|line| line.trim().strip_prefix("max-score: ")).unwrap();
            assert_eq!(points, ex.points.to_string(), "{}: max-score in classroom.yml", ex.id);
        }
    }
}
