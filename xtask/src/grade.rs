//! Running an exercise's tests: build once with cargo, then run each test executable directly
//! (as cargo-nextest does), in a private IPC namespace, with a process cap, a pinned locale, no
//! inherited descriptors and a deadline after which the whole process tree is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::exercises::{Exercise, Exercises};
use crate::libtest::{self, Outcome};
use crate::report::{ExerciseResult, Status, TestResult};

/// How the graded tests are kept apart from the machine and from other graders.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The command that puts what follows into a private IPC namespace (empty: none could be made).
    pub prefix: Vec<String>,
    /// One line for the output.
    pub note: String,
}

/// Above what the user already runs, how many more processes a graded run may have.
const EXTRA_PROCESSES: usize = 2000;

/// More live processes than this under one graded run (the tests start a few each) is a fork bomb:
/// the grader kills the run. This cap binds root too, whom RLIMIT_NPROC does not.
pub const MAX_PROCESSES: usize = 500;

/// How often the grader counts the run's processes.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Marks every inherited descriptor above 2 close-on-exec, then runs the test: a graded program
/// sees only stdin, stdout and stderr, whatever the grader itself inherited.
const CLOSE_FDS: &str = r#"for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null; fi; done; exec "$@""#;

impl Isolation {
    /// Find out whether a private IPC namespace can be made here, as root or as a user.
    pub fn probe() -> Isolation {
        let root = nix::unistd::geteuid().is_root();
        let candidates: &[&[&str]] = if root {
            &[&["unshare", "--ipc", "--"]]
        } else {
            &[
                &["unshare", "--user", "--map-current-user", "--ipc", "--"],
                &["unshare", "--user", "--map-root-user", "--ipc", "--"],
            ]
        };
        let mut why = String::from("no `unshare` command");
        for prefix in candidates {
            match Command::new(prefix[0]).args(&prefix[1..]).arg("true").stderr(Stdio::piped()).output() {
                Ok(out) if out.status.success() => {
                    return Isolation {
                        prefix: prefix.iter().map(|s| s.to_string()).collect(),
                        note: format!(
                            "isolation: each exercise runs in a private IPC namespace ({})",
                            prefix[..prefix.len() - 1].join(" ")
                        ),
                    };
                }
                Ok(out) => why = String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                Err(err) => why = format!("unshare: {err}"),
            }
        }
        Isolation {
            prefix: vec![],
            note: format!(
                "isolation: NONE, no private IPC namespace could be made ({why}): the tests use the machine's IPC namespace, with unique keys"
            ),
        }
    }

    fn nproc_note(&self) -> String {
        if nix::unistd::geteuid().is_root() {
            format!(
                "process cap: a run with more than {MAX_PROCESSES} processes is killed (RLIMIT_NPROC does not bind root)"
            )
        } else {
            format!(
                "process cap: RLIMIT_NPROC at your current count + {EXTRA_PROCESSES}; a run with more than {MAX_PROCESSES} processes is killed"
            )
        }
    }

    pub fn describe(&self) -> String {
        format!("{}\n{}", self.note, self.nproc_note())
    }
}

/// A built test executable and the directory cargo would run it in.
#[derive(Debug, Clone)]
struct TestExe {
    path: PathBuf,
    package_dir: PathBuf,
}

/// What building the exercises' tests gave: the test executables, the packages that did not
/// compile (with the first error), and the compiler's warnings.
struct Built {
    exes: BTreeMap<(String, String), TestExe>,
    broken: BTreeMap<String, String>,
    warnings: Vec<String>,
}

/// Build the test targets of these exercises, one cargo call per package. A package that does not
/// compile gives the first compiler error for each of its exercises.
fn build(root: &Path, target_dir: Option<&Path>, exercises: &[&Exercise]) -> Built {
    let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ex in exercises {
        for group in &ex.tests {
            targets.entry(group.krate(ex).to_owned()).or_default().insert(group.target.clone());
        }
    }
    let mut exes = BTreeMap::new();
    let mut broken = BTreeMap::new();
    let mut warnings = Vec::new();
    for (krate, names) in targets {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        if let Some(dir) = target_dir {
            cargo.env("CARGO_TARGET_DIR", dir);
        }
        cargo.current_dir(root).args([
            "test",
            "--no-run",
            "--message-format=json-diagnostic-short",
            "-p",
            &krate,
        ]);
        for name in &names {
            cargo.args(["--test", name]);
        }
        eprintln!("grade: building {krate} ({})", names.iter().cloned().collect::<Vec<_>>().join(", "));
        let out = match cargo.stderr(Stdio::inherit()).output() {
            Ok(out) => out,
            Err(err) => {
                broken.insert(krate, format!("cargo: {err}"));
                continue;
            }
        };
        let mut first_error = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            match message["reason"].as_str() {
                Some("compiler-artifact") if message["profile"]["test"] == true => {
                    let (Some(exe), Some(name), Some(manifest)) = (
                        message["executable"].as_str(),
                        message["target"]["name"].as_str(),
                        message["manifest_path"].as_str(),
                    ) else {
                        continue;
                    };
                    let package_dir = Path::new(manifest).parent().unwrap().to_path_buf();
                    exes.insert((krate.clone(), name.to_owned()), TestExe { path: exe.into(), package_dir });
                }
                Some("compiler-message")
                    if message["message"]["level"] == "error" && first_error.is_none() =>
                {
                    let rendered = message["message"]["rendered"].as_str().unwrap_or("error");
                    first_error =
                        Some(format!("does not compile: {}", rendered.lines().next().unwrap_or("").trim()));
                }
                Some("compiler-message") if message["message"]["level"] == "warning" => {
                    let rendered = message["message"]["rendered"].as_str().unwrap_or("warning");
                    warnings.push(rendered.lines().next().unwrap_or("").trim().to_owned());
                }
                _ => {}
            }
        }
        if !out.status.success() {
            broken.insert(
                krate,
                first_error.unwrap_or_else(|| "does not compile (see cargo's output above)".to_owned()),
            );
        }
    }
    Built { exes, broken, warnings }
}

/// Grade these exercises of the repository at `root`, printing progress on stderr. Also returns
/// the compiler's warnings (the student edition must build without any).
pub fn grade(
    root: &Path,
    target_dir: Option<&Path>,
    all: &Exercises,
    chosen: &[&Exercise],
    isolation: &Isolation,
) -> (Vec<ExerciseResult>, Vec<String>) {
    let marked: Vec<&Exercise> = chosen.iter().copied().filter(|ex| ex.marked).collect();
    let Built { exes, broken, warnings } = build(root, target_dir, &marked);
    let mut results = Vec::new();
    for ex in chosen {
        if !ex.marked {
            results.push(ExerciseResult {
                id: ex.id.clone(),
                max_points: ex.points,
                status: Status::NotMarked,
                tests: vec![],
                reason: "not yet marked".into(),
                seconds: 0.0,
            });
            continue;
        }
        eprintln!("grade: {} ...", ex.id);
        results.push(grade_one(ex, all, &exes, &broken, isolation));
    }
    (results, warnings)
}

fn grade_one(
    ex: &Exercise,
    all: &Exercises,
    exes: &BTreeMap<(String, String), TestExe>,
    broken: &BTreeMap<String, String>,
    isolation: &Isolation,
) -> ExerciseResult {
    let started = Instant::now();
    let deadline = Duration::from_secs(ex.timeout(all));
    let mut tests = Vec::new();
    let mut reason = String::new();
    for group in &ex.tests {
        let krate = group.krate(ex).to_owned();
        let mut record = |name: &str, outcome: Outcome| {
            tests.push(TestResult {
                krate: krate.clone(),
                target: group.target.clone(),
                name: name.to_owned(),
                outcome,
            })
        };
        let exe = match (broken.get(&krate), exes.get(&(krate.clone(), group.target.clone()))) {
            (Some(error), _) => {
                group.names.iter().for_each(|name| record(name, Outcome::Failed(error.clone())));
                continue;
            }
            (None, None) => {
                let why = format!("no test target `{}` in {krate} (check exercises.toml)", group.target);
                group.names.iter().for_each(|name| record(name, Outcome::Failed(why.clone())));
                continue;
            }
            (None, Some(exe)) => exe,
        };
        let remaining = deadline.saturating_sub(started.elapsed());
        let run = run_tests(exe, &group.names, remaining, isolation);
        let outcomes = libtest::parse(&run.stdout);
        for name in &group.names {
            let outcome = match outcomes.get(name) {
                Some(outcome) => outcome.clone(),
                None if run.timed_out => Outcome::Failed(format!("timed out after {}s", deadline.as_secs())),
                None if run.capped => Outcome::Failed(format!(
                    "started more than {MAX_PROCESSES} processes at once (a fork bomb?): all killed"
                )),
                None if !run.error.is_empty() => Outcome::Failed(run.error.clone()),
                None => {
                    Outcome::Failed("did not run: no test by this name (check exercises.toml)".to_owned())
                }
            };
            record(name, outcome);
        }
        if run.leftovers > 0 && reason.is_empty() {
            reason = format!("left {} process(es) running (killed)", run.leftovers);
        }
    }
    let passed = tests.iter().all(|t| t.outcome.passed());
    if !passed {
        // A student is best told of the todo!() left, then of the first failure.
        let todo = |t: &&TestResult| matches!(&t.outcome, Outcome::Failed(why) if why.contains("not yet implemented"));
        let first = tests.iter().find(todo).or_else(|| tests.iter().find(|t| !t.outcome.passed())).unwrap();
        reason = match &first.outcome {
            Outcome::Failed(why) => why.clone(),
            Outcome::Skipped(why) => format!("skipped: {why}"),
            Outcome::Passed => unreachable!(),
        };
    }
    ExerciseResult {
        id: ex.id.clone(),
        max_points: ex.points,
        status: if passed { Status::Passed } else { Status::Failed },
        tests,
        reason: if passed { String::new() } else { reason },
        seconds: started.elapsed().as_secs_f64(),
    }
}

struct Run {
    stdout: String,
    timed_out: bool,
    /// Killed for running more than MAX_PROCESSES processes.
    capped: bool,
    /// Why the run could not start or what it said on stderr when it printed no result.
    error: String,
    leftovers: usize,
}

/// A directory of its own under the grader's temp dir, removed with everything in it on drop.
struct ScratchTmp(std::path::PathBuf);

impl ScratchTmp {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-grade.{}.{n}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        ScratchTmp(dir)
    }
}

impl Drop for ScratchTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_tests(exe: &TestExe, names: &[String], deadline: Duration, isolation: &Isolation) -> Run {
    let mut argv: Vec<String> = isolation.prefix.clone();
    let nproc = user_process_count() + EXTRA_PROCESSES;
    if !nix::unistd::geteuid().is_root() {
        argv.extend(["prlimit".into(), format!("--nproc={nproc}:{nproc}"), "--".into()]);
    }
    argv.extend(["bash".into(), "-c".into(), CLOSE_FDS.into(), "graded-test".into()]);
    argv.push(exe.path.display().to_string());
    argv.extend(["--color".into(), "never".into()]);
    argv.extend(selection(exe, names));

    // The run's own TMPDIR, removed after it: what a killed or broken program leaves there goes too.
    let scratch = ScratchTmp::new();
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(&exe.package_dir)
        .env("TMPDIR", &scratch.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .env("CARGO_MANIFEST_DIR", &exe.package_dir)
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .env("RUST_BACKTRACE", "0")
        .env("INSTA_UPDATE", "no")
        .env("CI", "true")
        .env_remove("LANGUAGE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("RUST_TEST_THREADS");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LC_") && key != "LC_ALL" {
            command.env_remove(key);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Run {
                stdout: String::new(),
                timed_out: false,
                capped: false,
                error: format!("{}: {err}", argv[0]),
                leftovers: 0,
            };
        }
    };
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let until = Instant::now() + deadline;
    let mut timed_out = false;
    let mut capped = false;
    let mut counted = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= until => {
                timed_out = true;
                kill_tree(child.id() as i32);
                let _ = child.wait();
                break;
            }
            // The grader is the subreaper: its descendants are the run's processes, orphans too.
            Ok(None) if counted.elapsed() >= WATCH_EVERY => {
                counted = Instant::now();
                if descendants(std::process::id() as i32).len() > MAX_PROCESSES {
                    capped = true;
                    kill_tree(child.id() as i32);
                    let _ = child.wait();
                    break;
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    // Whatever the tests left running (in other process groups, or orphaned to us) goes now, before
    // the pipes can reach end of file.
    let leftovers = kill_descendants();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let error = if libtest::parse(&stdout).is_empty() {
        stderr
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("the test run printed nothing")
            .to_owned()
    } else {
        String::new()
    };
    Run { stdout, timed_out, capped, error, leftovers }
}

/// The arguments that run exactly `names` of this test executable. libtest takes several filters,
/// but testkit's runner (libtest-mimic) only one: so for more than one, every other test the
/// executable lists is skipped by its exact name instead, which both understand.
fn selection(exe: &TestExe, names: &[String]) -> Vec<String> {
    let mut args = vec!["--exact".to_owned()];
    if names.len() > 1 {
        let listed = Command::new(&exe.path)
            .args(["--list", "--color", "never"])
            .current_dir(&exe.package_dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        if let Some(out) = listed.ok().filter(|out| out.status.success()) {
            let text = String::from_utf8_lossy(&out.stdout);
            for test in text.lines().filter_map(|line| line.strip_suffix(": test")) {
                if !names.iter().any(|name| name == test) {
                    args.extend(["--skip".to_owned(), test.to_owned()]);
                }
            }
            return args;
        }
    }
    args.extend(names.iter().cloned());
    args
}

/// The processes of this user now, for a cap that leaves room for what they already run.
fn user_process_count() -> usize {
    let uid = nix::unistd::getuid().as_raw();
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("status")).is_ok_and(|status| {
                status.lines().any(|line| {
                    line.strip_prefix("Uid:").and_then(|ids| ids.split_whitespace().next())
                        == Some(&uid.to_string())
                })
            })
        })
        .count()
}

/// (pid, parent pid, state) of every process.
fn processes() -> Vec<(i32, i32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    dir.flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (_, after) = stat.rsplit_once(')')?;
            let mut fields = after.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

/// Live (not zombie) descendants of `ancestor`.
fn descendants(ancestor: i32) -> Vec<i32> {
    let all = processes();
    let mut found = vec![];
    let mut frontier = vec![ancestor];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, state) in &all {
            if ppid == parent {
                frontier.push(pid);
                if state != 'Z' {
                    found.push(pid);
                }
            }
        }
    }
    found
}

/// SIGKILL `pid`, its process group and every descendant, until none is left.
fn kill_tree(pid: i32) {
    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    kill_descendants();
}

/// SIGKILL every live descendant of the grader (a subreaper, so orphans are ours too), then reap.
/// Returns how many there were.
fn kill_descendants() -> usize {
    let me = std::process::id() as i32;
    let mut killed = BTreeSet::new();
    for _ in 0..200 {
        let alive = descendants(me);
        if alive.is_empty() {
            break;
        }
        for pid in alive {
            // Stop first so a forking process cannot outrun us; then kill.
            let _ = kill(Pid::from_raw(pid), Signal::SIGSTOP);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            killed.insert(pid);
        }
        reap();
    }
    reap();
    killed.len()
}

fn reap() {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Become the subreaper of everything the tests start, so an orphaned process is still ours to kill.
pub fn become_subreaper() {
    let _ = nix::sys::prctl::set_child_subreaper(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in test executable: reports one test, then hangs with a child in a process group of
    /// its own and an orphaned grandchild, as a broken student program might.
    fn hanging_exe(dir: &Path) -> TestExe {
        let script = dir.join("hangs.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'test first ... ok'\nsetsid sleep 1000 &\n( sleep 1000 & ) \nexec sleep 1000\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).unwrap();
        TestExe { path: script, package_dir: dir.to_path_buf() }
    }

    // One test, because the sweep kills every descendant of the test process: a second test starting
    // processes in parallel would lose them.
    #[test]
    fn graded_runs_are_killed_at_their_deadline_and_see_no_inherited_descriptor() {
        a_hanging_run_is_killed_at_its_deadline_with_everything_it_started();
        the_graded_run_sees_no_inherited_descriptor_and_a_pinned_locale();
    }

    fn a_hanging_run_is_killed_at_its_deadline_with_everything_it_started() {
        become_subreaper();
        let dir = std::env::temp_dir().join(format!("xtask-grade-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let none = Isolation { prefix: vec![], note: String::new() };
        let started = Instant::now();
        let run = run_tests(&hanging_exe(&dir), &["first".into()], Duration::from_millis(1500), &none);
        assert!(run.timed_out);
        assert!(started.elapsed() < Duration::from_secs(20), "the grader waited for the orphans");
        assert_eq!(libtest::parse(&run.stdout).get("first"), Some(&Outcome::Passed));
        assert!(descendants(std::process::id() as i32).is_empty(), "something survived the deadline");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn the_graded_run_sees_no_inherited_descriptor_and_a_pinned_locale() {
        let dir = std::env::temp_dir().join(format!("xtask-grade-fds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("fds.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nls /proc/self/fd | tr '\\n' ' '; echo \"LC_ALL=$LC_ALL LANG=$LANG\"\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).unwrap();
        // A descriptor the grader holds without close-on-exec would be inherited but for CLOSE_FDS.
        let held = nix::fcntl::open("/dev/null", nix::fcntl::OFlag::O_RDONLY, nix::sys::stat::Mode::empty())
            .unwrap();
        let none = Isolation { prefix: vec![], note: String::new() };
        let exe = TestExe { path: script, package_dir: dir.clone() };
        let run = run_tests(&exe, &[], Duration::from_secs(20), &none);
        drop(held);
        // `ls` itself opens one descriptor for /proc/self/fd: 0 1 2 and that one.
        assert!(
            run.error.starts_with("0 1 2 3 LC_ALL=C LANG=C")
                || run.stdout.starts_with("0 1 2 3 LC_ALL=C LANG=C"),
            "{}{}",
            run.stdout,
            run.error
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
