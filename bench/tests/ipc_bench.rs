//! `ipc-bench`: a tiny configuration runs end to end, and what matters is checked, never a time:
//! every message arrives intact (the benchmark checks each byte and fails otherwise, which
//! `--inject-fault` proves), every figure has its C twin and a ratio, the CSV and SVG are complete,
//! and nothing is left behind: no System V object (both sides use the tests' keys), no FIFO or
//! temporary directory (TMPDIR is a scratch directory), on success, on error and on a signal.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use testkit::{Cmd, ScratchDir, Signal, TestKey};

const MECHANISMS: [&str; 6] =
    ["pipe", "FIFO", "socketpair", "SysV msg queue", "POSIX mqueue", "SysV shm + sem"];

fn scratch_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_tiny_run_measures_every_mechanism_beside_c_and_leaves_nothing() {
    let cpu = testkit::first_allowed_cpu();
    let (rust_key, c_key) = (TestKey::new(), TestKey::new());
    let scratch = ScratchDir::new();
    let csv = scratch.path().join("bench.csv");
    let svg = scratch.path().join("bench.svg");
    let out = Cmd::new("ipc-bench")
        .args([
            "--runs",
            "2",
            "--max-runs",
            "2",
            "--run-ms",
            "1",
            "--sizes",
            "64,4K",
            "--verify",
            "--cpus",
            &cpu,
        ])
        .args(["--key", &rust_key.arg(), "--c-key", &c_key.arg()])
        .args(["--csv", csv.to_str().unwrap(), "--svg", svg.to_str().unwrap()])
        .env("TMPDIR", scratch.path())
        .run();
    out.assert_success();
    let stdout = &out.stdout;

    // Every mechanism: two latency rows, two bandwidth rows and (but a FIFO) a calls row, each
    // with a C figure and a ratio.
    for mechanism in MECHANISMS {
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&format!("  {mechanism} "))).collect();
        let calls = usize::from(mechanism != "FIFO");
        assert_eq!(
            lines.len(),
            4 + calls,
            "{mechanism}: 1 B and 64 B round trips, 64 B and 4 KiB transfers, 64 B calls:\n{stdout}"
        );
        for line in lines {
            let figures = line.matches('(').count();
            assert_eq!(figures, 2, "a Rust and a C figure, each with its spread: {line}");
            let ratio =
                line.split_whitespace().rev().find(|word| word.trim_end_matches('*').parse::<f64>().is_ok());
            assert!(ratio.is_some(), "a Rust/C ratio: {line}");
        }
    }
    let memcpy = stdout.lines().filter(|l| l.starts_with("  memcpy (1 process)")).count();
    assert_eq!(memcpy, 2, "the machine's limit at both sizes:\n{stdout}");
    let placement = format!("CPUs {cpu}: both processes on CPU {cpu}");
    assert!(stdout.contains(&placement), "the placement is stated:\n{stdout}");
    assert!(
        stdout.contains("checked: in every run, every message arrived once, in order, every byte intact")
    );
    assert!(stdout.contains("small messages (1-byte round trip): fastest"));
    assert!(stdout.contains("what the Rust side adds to a send and a receive (calls test)"));
    assert!(stdout.contains("note: a debug build"), "a debug build says its Rust figures mean nothing");

    // The CSV: a header and one line per figure (12 latency, 12 IPC bandwidth, 2 memcpy, 5 calls),
    // all paired.
    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("cpus,test,mechanism,bytes,count,runs,unit,rust_median"));
    assert_eq!(lines.len(), 1 + 12 + 12 + 2 + 5, "{csv}");
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 18, "{line}");
        assert_eq!(fields[5], "2", "two timed runs: {line}");
        for value in [fields[7], fields[10], fields[13]] {
            assert!(value.parse::<f64>().is_ok_and(|v| v > 0.0), "Rust, C and ratio are numbers: {line}");
        }
        // On one CPU every hand-over is a context switch: a round trip makes at least two, on
        // each side. (Counted with getrusage in both processes of both sides.)
        let switches = [fields[14], fields[15]].map(|value| value.parse::<f64>().unwrap_or(-1.0));
        assert!(switches.iter().all(|&n| n >= 0.0), "switches per message are numbers: {line}");
        if fields[1] == "lat" {
            assert!(switches.iter().all(|&n| n >= 1.9), "two switches or more per round trip: {line}");
        }
    }

    // The SVG: one document, a line per mechanism and a bar per figure.
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>")
    );
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<polyline").count(), 7 + 7, "Rust and C lines for 6 mechanisms and memcpy");
    assert_eq!(
        svg.matches("<rect x=").count(),
        1 + (6 * 2 + 5) * 2,
        "the frame, and a Rust and a C bar per round trip and per calls figure"
    );
    for mechanism in MECHANISMS {
        assert!(svg.contains(&format!(">{mechanism}</text>")), "{mechanism} is labelled");
    }

    assert_eq!(scratch_entries(scratch.path()), ["bench.csv", "bench.svg"], "no FIFO or directory left");
}

#[test]
fn a_message_out_of_order_is_caught_and_reported_as_one_line() {
    // The writer sends message 2 as number 1002; the reader must say so. Over the queue and the
    // ring too, where a reader that stopped reading would leave the writer blocked forever.
    for mechanism in ["pipe", "svmsg", "svshm"] {
        let key = TestKey::new();
        let out = Cmd::new("ipc-bench")
            .args(["--only", mechanism, "--test", "bandwidth", "--sizes", "64", "--runs", "1", "--no-c"])
            .args(["--key", &key.arg(), "--inject-fault"])
            .run();
        out.assert_error(1, "the child: message 2 arrived as number 1002");
        assert!(out.stderr.contains(&format!("bandwidth {mechanism} 64 B (Rust)")), "{}", out.stderr);
    }
}

#[test]
fn a_key_in_use_is_refused_with_eexist_and_left_alone() {
    let key = TestKey::new();
    let queue = shared::msg::msgget(key.key(), shared::ipc::IPC_CREAT | 0o600).unwrap();
    let out = Cmd::new("ipc-bench")
        .args(["--only", "svmsg", "--test", "latency", "--no-c", "--key", &key.arg()])
        .run();
    out.assert_error(1, &format!("msgget(key={}): EEXIST", key.arg()));
    assert!(shared::msg::msgctl_stat(queue).is_ok(), "someone else's queue is not removed");
    shared::msg::msgctl_rmid(queue).unwrap();
}

#[test]
fn a_c_side_failure_is_one_line_and_both_sides_clean_up() {
    // The C baseline's key is taken: its msgget fails after the Rust side made its own queue.
    let (rust_key, c_key) = (TestKey::new(), TestKey::new());
    let queue = shared::msg::msgget(c_key.key(), shared::ipc::IPC_CREAT | 0o600).unwrap();
    let out = Cmd::new("ipc-bench")
        .args(["--only", "svmsg", "--test", "latency", "--key", &rust_key.arg(), "--c-key", &c_key.arg()])
        .run();
    out.assert_error(1, &format!("latency svmsg 1 B: C baseline: msgget(key={}): EEXIST", c_key.arg()));
    shared::msg::msgctl_rmid(queue).unwrap();
    // rust_key's TestKey checks, when dropped, that the Rust side's queue was removed.
}

/// Start a long run, wait until both sides' objects exist, signal it, and check it left nothing.
fn interrupted(mechanism: &str, signal: Signal, whole_group: bool) {
    let (rust_key, c_key) = (TestKey::new(), TestKey::new());
    let scratch = ScratchDir::new();
    let mut running = Cmd::new("ipc-bench")
        .args(["--only", mechanism, "--test", "latency", "--runs", "1000", "--run-ms", "50"])
        .args(["--key", &rust_key.arg(), "--c-key", &c_key.arg()])
        .env("TMPDIR", scratch.path())
        .start();
    running.expect_line("Latency: one round trip");
    // Both sides set up before their first run; wait (with the command's deadline) until they have.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ready = || match mechanism {
        // Each side's directory, with its two FIFOs (down and up) in it.
        "fifo" => {
            let dirs = scratch_entries(scratch.path());
            dirs.len() == 2 && dirs.iter().all(|dir| scratch_entries(&scratch.path().join(dir)).len() == 2)
        }
        _ => {
            // The semaphore set is made last: once both sides have theirs, everything exists.
            let sets = shared::sysvipc::list_kind(shared::ipc::Kind::SemaphoreSet);
            let keys: Vec<_> = sets.into_iter().map(|object| object.key).collect();
            keys.contains(&rust_key.key()) && keys.contains(&c_key.key())
        }
    };
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "the objects never appeared");
        std::thread::sleep(std::time::Duration::from_millis(2)); // polling a condition, not a guess
    }
    if whole_group {
        running.signal_group(signal); // ^C on a terminal: every process of the job gets it
    } else {
        running.signal(signal); // kill PID: only ipc-bench; it must stop its children itself
    }
    let out = running.finish();
    assert_eq!(out.status.signal(), Some(signal as i32), "dies of the signal after cleaning up: {out:?}");
    assert!(scratch_entries(scratch.path()).is_empty(), "FIFOs and directories removed");
    // The TestKeys check, when dropped, that no object with either key remains.
}

#[test]
fn ctrl_c_mid_run_removes_both_sides_shared_memory_and_semaphores() {
    interrupted("svshm", Signal::SIGINT, true);
}

#[test]
fn sigterm_to_ipc_bench_alone_stops_the_c_side_and_removes_the_fifos() {
    interrupted("fifo", Signal::SIGTERM, false);
}

#[test]
fn bad_input_is_one_line() {
    Cmd::new("ipc-bench").args(["--sizes", "3"]).run().assert_error(2, "between 8 bytes and 64M");
    Cmd::new("ipc-bench").args(["--only", "carrier-pigeon"]).run().assert_error(2, "invalid value");
    Cmd::new("ipc-bench")
        .args(["--cpus", "1000", "--only", "pipe", "--no-c"])
        .run()
        .assert_error(1, "--cpus: CPU 1000 is not one this process may use");
}
