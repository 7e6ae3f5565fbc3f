//! `cargo xtask speed`: the grader's cost, measured (README, "Exercises and the grader").
//!
//! It times `cargo xtask grade` on this repository against `cargo test` running exactly the same
//! tests (one `cargo test -p CRATE --test TARGET` per test file, selecting the graded tests), and
//! `cargo xtask student-edition` with and without its git commit. Everything is built first, so
//! both sides time running the tests, not compiling them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::exercises::Exercises;

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// Run `command` and return its wall time, or why it failed.
fn timed(command: &mut Command, what: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let status = command.status().map_err(|err| format!("{what}: {err}"))?;
    if !status.success() {
        return Err(format!("{what}: {status}"));
    }
    Ok(start.elapsed())
}

/// The graded tests by test file: (crate, target) → names.
fn graded_tests(all: &Exercises) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut files: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for ex in all.exercises.iter().filter(|ex| ex.marked) {
        for group in &ex.tests {
            let key = (group.krate(ex).to_owned(), group.target.clone());
            files.entry(key).or_default().extend(group.names.iter().cloned());
        }
    }
    files
}

/// `cargo test` of exactly the graded tests: every other test of each file skipped by exact name.
fn cargo_test_commands(root: &Path, all: &Exercises) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    for ((krate, target), names) in graded_tests(all) {
        let listed = cargo()
            .args(["test", "-q", "-p", &krate, "--test", &target, "--", "--list"])
            .current_dir(root)
            .stdout(Stdio::piped())
            .output()
            .map_err(|err| format!("cargo test --list: {err}"))?;
        let mut command = cargo();
        command.args(["test", "-q", "-p", &krate, "--test", &target, "--", "--exact"]).current_dir(root);
        for test in String::from_utf8_lossy(&listed.stdout).lines().filter_map(|l| l.strip_suffix(": test")) {
            if !names.contains(test) {
                command.args(["--skip", test]);
            }
        }
        commands.push(command);
    }
    Ok(commands)
}

pub fn measure(root: &Path, runs: usize) -> Result<(), String> {
    let all = Exercises::load(root)?;
    let xtask = std::env::current_exe().map_err(|err| err.to_string())?;
    timed(cargo().args(["build", "--workspace", "--all-targets"]).current_dir(root), "cargo build")?;
    let mut tests = cargo_test_commands(root, &all)?;
    let scratch = std::env::temp_dir().join(format!("xtask-speed.{}", std::process::id()));
    let (mut grade, mut test, mut bare, mut git) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        grade.push(timed(
            Command::new(&xtask).arg("grade").stdout(Stdio::null()).stderr(Stdio::null()),
            "cargo xtask grade",
        )?);
        let mut total = Duration::ZERO;
        for command in &mut tests {
            total += timed(command, "cargo test")?;
        }
        test.push(total);
        for (no_git, times) in [(true, &mut bare), (false, &mut git)] {
            let dir = scratch.join(format!("{run}-{no_git}"));
            let mut command = Command::new(&xtask);
            command.arg("student-edition").arg(&dir).stdout(Stdio::null()).stderr(Stdio::null());
            if no_git {
                command.arg("--no-git");
            }
            times.push(timed(&mut command, "cargo xtask student-edition")?);
        }
        println!(
            "run {}: grade {:.1} s, cargo test {:.1} s, student-edition {:.2} s (--no-git) {:.2} s (git)",
            run + 1,
            grade[run].as_secs_f64(),
            test[run].as_secs_f64(),
            bare[run].as_secs_f64(),
            git[run].as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (grade, test) = (median(&mut grade), median(&mut test));
    let count: usize = graded_tests(&all).values().map(BTreeSet::len).sum();
    println!(
        "median of {runs}: `cargo xtask grade` {grade:.1} s, `cargo test` of the same {count} tests {test:.1} s \
         ({:.2}x); student-edition {:.2} s (--no-git), {:.2} s (git)",
        grade / test,
        median(&mut bare),
        median(&mut git)
    );
    Ok(())
}
