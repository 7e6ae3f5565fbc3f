//! `shmbusyaccess`: without turns, the racers catch each other every run, on two CPUs and on one;
//! and the segment never outlives the program.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use shared::ipc::IPC_CREAT;
use shared::shm::{shmctl_rmid, shmget};
use testkit::{Cmd, Signal, TestKey};

/// The tallies: `(accesses, errors)` of each `[pid:N] accesses=A, errors=E` line, then the total's.
fn tallies(stdout: &str) -> (Vec<(u64, u64)>, (u64, u64)) {
    let numbers = |line: &str| {
        let value = |name: &str| -> u64 {
            let rest = line.split(name).nth(1).unwrap_or_else(|| panic!("no {name} in {line:?}"));
            rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
        };
        (value("accesses="), value("errors="))
    };
    let racers =
        stdout.lines().filter(|l| l.starts_with("[pid:") && l.contains("accesses=")).map(numbers).collect();
    let total = stdout.lines().find(|l| l.starts_with("total: ")).map(numbers).expect("a total line");
    (racers, total)
}

fn assert_collisions(stdout: &str, iterations: u64) {
    let (racers, total) = tallies(stdout);
    assert_eq!(racers.len(), 3, "one line per racer:\n{stdout}");
    assert!(racers.iter().all(|(accesses, _)| *accesses == iterations), "{stdout}");
    assert_eq!(total.0, 3 * iterations);
    assert_eq!(total.1, racers.iter().map(|(_, errors)| errors).sum::<u64>());
    assert!(total.1 > 0, "the race should show in every run:\n{stdout}");
    assert!(stdout.contains("Error(count="), "errors are reported as they happen");
}

fn three_racers_overwrite_each_other() {
    let key = TestKey::new();
    let out = Cmd::new("shmbusyaccess").args(["--key", &key.arg(), "--iterations", "3000"]).run();
    out.assert_success();
    assert_collisions(&out.stdout, 3000);
    // Drop of `key` checks the segment is gone.
}

fn they_collide_on_one_cpu_too() {
    if Command::new("taskset").arg("--version").output().is_err() {
        testkit::skip("no `taskset` (util-linux) to pin the racers to one CPU");
    }
    let key = TestKey::new();
    let program = testkit::bin("shmbusyaccess");
    // `timeout` gives the run the deadline testkit's Cmd would.
    let out = Command::new("timeout")
        .args(["30", "taskset", "-c", &testkit::first_allowed_cpu()])
        .arg(&program)
        .args(["--key", &key.arg(), "--iterations", "3000"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run timeout taskset shmbusyaccess");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_collisions(&stdout, 3000);
}

fn ctrl_c_mid_race_stops_the_children_and_removes_the_segment() {
    let key = TestKey::new();
    let mut running =
        Cmd::new("shmbusyaccess").args(["--key", &key.arg(), "--iterations", "2147483647"]).start();
    running.expect_line("racing children");
    // To the parent alone: its clean-up must stop the children (finish() fails if one survives
    // holding stdout) before it removes the segment (`key`'s drop checks that).
    running.signal(Signal::SIGINT);
    let out = running.finish();
    assert_eq!(out.status.signal(), Some(Signal::SIGINT as i32));
}

fn an_existing_segment_under_the_key_is_refused() {
    let key = TestKey::new();
    let stale = shmget(key.key(), 128, IPC_CREAT | 0o600).unwrap();
    let out = Cmd::new("shmbusyaccess").args(["--key", &key.arg(), "--iterations", "10"]).run();
    shmctl_rmid(stale).unwrap();
    out.assert_error(1, "EEXIST (File exists): a shared memory segment with key")
        .assert_error(1, "it is yours");
    out.assert_error(1, "use --key KEY for a run of your own");
}

fn zero_iterations_is_a_usage_error() {
    Cmd::new("shmbusyaccess").args(["--iterations", "0"]).run().assert_error(2, "invalid value '0'");
}

testkit::main!(
    three_racers_overwrite_each_other,
    they_collide_on_one_cpu_too,
    ctrl_c_mid_race_stops_the_children_and_removes_the_segment,
    an_existing_segment_under_the_key_is_refused,
    zero_iterations_is_a_usage_error,
);
