//! The grader against a student's broken programs, live: a throwaway crate whose tests fork in a
//! loop, or create a queue and never remove it, graded by the real `cargo xtask grade --root`.
//!
//! - A fork bomb is capped: the run is killed for its process count, long before its deadline,
//!   and none of its processes is left.
//! - A queue never removed is gone after grading (each exercise runs in a private IPC namespace),
//!   and two graders at once, on the same key, both score full marks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use testkit::ScratchDir;

/// The queue's key and the fork bomb's marker: unique to this run of the tests.
fn unique() -> u32 {
    0x6a00_0000 | (std::process::id() & 0x00ff_ffff)
}

/// The fork bomb's children run `sleep MARKER` (a number of seconds no other process uses).
fn marker() -> String {
    format!("999.{}", unique())
}

const EXERCISES: &str = r#"
timeout_secs = 120

[[exercise]]
id = "keeps_queue"
crate = "fixture"
bin = "fixture"
files = ["src/lib.rs"]
difficulty = "easy"
points = 1
summary = "Creates a queue and never removes it."
hints = ["one", "two"]
tests = [{ target = "broken", names = ["keeps_its_queue"] }]

[[exercise]]
id = "fork_bomb"
crate = "fixture"
bin = "fixture"
files = ["src/lib.rs"]
difficulty = "easy"
points = 1
summary = "Forks in a loop."
hints = ["one", "two"]
tests = [{ target = "broken", names = ["forks_in_a_loop"] }]
"#;

/// The student's tests: `msgget` is declared by hand so the crate builds with no dependency.
fn broken_tests() -> String {
    format!(
        r#"
unsafe extern "C" {{
    fn msgget(key: i32, flags: i32) -> i32;
}}

const KEY: i32 = {key};

#[test]
fn keeps_its_queue() {{
    // IPC_CREAT | IPC_EXCL | 0600: EEXIST if another grader's queue with this key were visible.
    let id = unsafe {{ msgget(KEY, 0o1000 | 0o2000 | 0o600) }};
    assert!(id >= 0, "msgget: {{}}", std::io::Error::last_os_error());
    let table = std::fs::read_to_string("/proc/sysvipc/msg").unwrap();
    let key = KEY.to_string();
    assert!(table.lines().any(|line| line.split_whitespace().next() == Some(key.as_str())));
}}

#[test]
fn forks_in_a_loop() {{
    let mut children = Vec::new();
    // Bounded, so a grader without a cap fails this test at its deadline instead of taking the machine.
    for _ in 0..1500 {{
        match std::process::Command::new("sleep").arg("{marker}").spawn() {{
            Ok(child) => children.push(child),
            Err(_) => break,
        }}
    }}
    std::thread::sleep(std::time::Duration::from_secs(1000));
}}
"#,
        key = unique() as i32,
        marker = marker()
    )
}

/// The throwaway crate, written once for all the tests of this file.
fn fixture() -> &'static Path {
    static DIR: OnceLock<ScratchDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = ScratchDir::new();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("tests")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\n\n[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        std::fs::write(root.join("tests/broken.rs"), broken_tests()).unwrap();
        std::fs::write(root.join("exercises.toml"), EXERCISES).unwrap();
        dir
    })
    .path()
}

fn grade(exercise: &str, results: &Path) -> Command {
    let root = fixture();
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["grade", "--exercise", exercise, "--root"])
        .arg(root)
        .arg("--gradescope")
        .arg(results)
        // Its own target directory: the workspace's may be locked by the `cargo test` running us.
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_NET_OFFLINE", "true");
    command
}

fn score(results: &Path) -> (f64, f64, String) {
    let text = std::fs::read_to_string(results).unwrap_or_else(|err| panic!("{}: {err}", results.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    (json["score"].as_f64().unwrap(), json["max_score"].as_f64().unwrap(), text)
}

fn transcript(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Pids of live processes whose command line is `sleep MARKER`.
fn bomb_processes() -> Vec<u32> {
    let wanted = format!("sleep\0{}\0", marker());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            (cmdline.ends_with(wanted.as_bytes())).then_some(pid)
        })
        .collect()
}

fn a_fork_bomb_is_capped_and_cannot_hang_the_grader() {
    let scratch = ScratchDir::new();
    let results: PathBuf = scratch.path().join("results.json");
    let out = grade("fork_bomb", &results).output().unwrap();
    let text = transcript(&out);
    assert!(!out.status.success(), "a fork bomb passed:\n{text}");
    let (points, max, json) = score(&results);
    assert_eq!((points, max), (0.0, 1.0), "{json}");
    // The cap, not the 120-second deadline, ended it.
    assert!(json.contains("a fork bomb?"), "not stopped by the process cap:\n{text}");
    assert!(!json.contains("timed out"), "{text}");
    assert_eq!(bomb_processes(), Vec::<u32>::new(), "the fork bomb's processes survived the grader");
}

/// Removes the queue with this test's key, should a broken grader leave it on the machine.
struct RemoveQueue(u32);

impl Drop for RemoveQueue {
    fn drop(&mut self) {
        let _ = Command::new("ipcrm")
            .args(["-Q", &format!("{:#x}", self.0)])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn a_queue_never_removed_is_gone_and_two_graders_at_once_both_score_full() {
    if testkit::IpcNamespace::new().is_none() {
        testkit::skip(testkit::NO_NAMESPACE);
    }
    let key = unique().to_string();
    let queue_with_key = || {
        std::fs::read_to_string("/proc/sysvipc/msg")
            .unwrap()
            .lines()
            .any(|line| line.split_whitespace().next() == Some(key.as_str()))
    };
    assert!(!queue_with_key(), "a queue with key {key} exists before grading");
    let _cleanup = RemoveQueue(unique());
    let scratch = ScratchDir::new();
    let (first, second) = (scratch.path().join("first.json"), scratch.path().join("second.json"));
    // The same key in both, created with IPC_EXCL and never removed: in one IPC namespace the
    // second would get EEXIST.
    let mut graders: Vec<_> =
        [&first, &second].iter().map(|results| grade("keeps_queue", results).spawn().unwrap()).collect();
    let statuses: Vec<_> = graders.iter_mut().map(|child| child.wait().unwrap()).collect();
    for (results, status) in [&first, &second].iter().zip(statuses) {
        let (points, max, json) = score(results);
        assert_eq!((points, max), (1.0, 1.0), "{json}");
        assert!(json.contains("private IPC namespace"), "{json}");
        assert!(status.success());
    }
    // The test proved its queue existed (it found it in /proc/sysvipc/msg); now it is gone.
    assert!(!queue_with_key(), "the queue the test never removed is still there after grading");
}

testkit::main!(
    a_fork_bomb_is_capped_and_cannot_hang_the_grader,
    a_queue_never_removed_is_gone_and_two_graders_at_once_both_score_full,
);
