//! `shmcontrol`: shmbusyaccess's race inside a semaphore: zero errors on every run, on two CPUs and
//! pinned to one, and neither the segment nor the set outlives the program.

use std::process::Command;

use testkit::{Cmd, Signal, TestKey, assert_transcript};

/// `(accesses, errors)` of each `[pid:N] accesses=A, errors=E` line, then the total's: the
/// summary format shmbusyaccess prints too.
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

fn assert_no_errors(stdout: &str, iterations: u64) {
    let (racers, total) = tallies(stdout);
    assert_eq!(racers, vec![(iterations, 0); 3], "three racers, every access right:\n{stdout}");
    assert_eq!(total, (3 * iterations, 0), "{stdout}");
    assert!(!stdout.contains("Error(count="), "{stdout}");
    // The slides' progress dots: one per thousand accesses of each racer.
    let dots = stdout.lines().find(|line| line.starts_with('.')).unwrap_or_default();
    assert_eq!(dots, ".".repeat(3 * iterations as usize / 1000), "{stdout}");
}

fn the_semaphore_removes_every_error() {
    let key = TestKey::new(); // one key for the segment and the set; its drop checks both are gone
    let out = Cmd::new("shmcontrol").args(["--key", &key.arg(), "--iterations", "3000"]).run();
    out.assert_success();
    assert_no_errors(&out.stdout, 3000);
    let redactions = [(r"0x[0-9a-f]{8}", "KEY"), (r"shmid \d+", "shmid ID"), (r"semid \d+", "semid ID")];
    assert_transcript!("shmcontrol", out.redacted(&redactions));
}

fn no_errors_on_one_cpu_either() {
    if Command::new("taskset").arg("--version").output().is_err() {
        testkit::skip("no `taskset` (util-linux) to pin the racers to one CPU");
    }
    let key = TestKey::new();
    // `timeout` gives the run the deadline testkit's Cmd would.
    let out = Command::new("timeout")
        .args(["30", "taskset", "-c", &testkit::first_allowed_cpu()])
        .arg(testkit::bin("shmcontrol"))
        .args(["--key", &key.arg(), "--iterations", "3000"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run timeout taskset shmcontrol");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_no_errors(&stdout, 3000);
}

fn separate_keys_for_segment_and_set() {
    let (shm_key, sem_key) = (TestKey::new(), TestKey::new());
    let out = Cmd::new("shmcontrol")
        .args(["--key", &shm_key.arg(), "--semkey", &sem_key.arg(), "--iterations", "1000"])
        .run();
    out.assert_success();
    assert!(out.stdout.contains(&format!("shmget(key={}", shm_key.arg())), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("semget(key={}", sem_key.arg())), "{}", out.stdout);
    assert_no_errors(&out.stdout, 1000);
}

fn ctrl_c_mid_run_leaves_no_segment_set_or_process() {
    let key = TestKey::new();
    let mut running =
        Cmd::new("shmcontrol").args(["--key", &key.arg(), "--iterations", "2147483647"]).start();
    running.expect_line("racing two children");
    // ^C as a terminal sends it: to the parent and its children. finish() fails if a process
    // survives holding stdout; the key's drop fails if the segment or the set survives.
    running.signal_group(Signal::SIGINT);
    let out = running.finish();
    assert_eq!(out.code(), None, "killed by SIGINT");
}

fn an_existing_set_is_refused_and_the_new_segment_removed() {
    let key = TestKey::new();
    Cmd::new("semtool").args(["create", &key.arg(), "1"]).run().assert_success();
    let out = Cmd::new("shmcontrol").args(["--key", &key.arg(), "--iterations", "10"]).run();
    out.assert_error(1, "EEXIST (File exists): a semaphore set with key").assert_error(1, "use --semkey KEY");
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

testkit::main!(
    the_semaphore_removes_every_error,
    no_errors_on_one_cpu_either,
    separate_keys_for_segment_and_set,
    ctrl_c_mid_run_leaves_no_segment_set_or_process,
    an_existing_set_is_refused_and_the_new_segment_removed,
);
