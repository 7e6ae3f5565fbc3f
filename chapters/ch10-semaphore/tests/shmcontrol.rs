//! `shmcontrol`: shmbusyaccess's race inside a semaphore: zero errors on every run, on two CPUs and
//! pinned to one, and neither the segment nor the set outlives the program.

use std::process::Command;

use ch10_shm::race::{PID_TEXT, SIZE, window};
use shared::sem::{SemOp, semget, semop};
use shared::shm::{shmat, shmget};
use testkit::{Cmd, Signal, TestKey, assert_transcript};

fn assert_no_errors(stdout: &str, iterations: u64) {
    let (racers, total) = testkit::tallies(stdout);
    assert_eq!(racers, vec![(iterations, 0); 3], "three racers, every access right:\n{stdout}");
    assert_eq!(total, (3 * iterations, 0), "{stdout}");
    assert!(!stdout.contains("Error(count="), "{stdout}");
    // The slides' progress dots: one per thousand accesses of each racer.
    let dots = stdout.lines().find(|line| line.starts_with('.')).unwrap_or_default();
    assert_eq!(dots, ".".repeat(3 * iterations as usize / 1000), "{stdout}");
}

fn the_semaphore_removes_every_error() {
    let key = TestKey::new(); // one key for the segment and the set; its drop checks both are gone
    let out = Cmd::new("shmcontrol").args([&key.arg(), &key.arg(), "--iterations", "3000"]).run();
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
        .args([&key.arg(), &key.arg(), "--iterations", "3000"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run timeout taskset shmcontrol");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_no_errors(&stdout, 3000);
}

/// An observer of our own joins the race by the keys, taking the same semaphore around the same
/// access: if every racer of shmcontrol holds it too, nobody ever writes inside the observer's
/// window. Its count, not shmcontrol's tally, is the verdict.
fn an_observer_holding_the_semaphore_is_never_disturbed() {
    let key = TestKey::new();
    let mut running =
        Cmd::new("shmcontrol").args([&key.arg(), &key.arg(), "--iterations", "2147483647"]).start();
    running.expect_line("racing two children");
    let shm = shmat(shmget(key.key(), SIZE, 0).expect("find the segment"), 0).expect("attach");
    let sem = semget(key.key(), 0, 0).expect("find the set");
    let me = std::process::id().to_string();
    let mut disturbed = 0;
    for _ in 0..2000 {
        semop(sem, &[SemOp::new(0, -1).undo()]).expect("P");
        shm.write_cstr(PID_TEXT, me.as_bytes());
        window(500, true);
        if shm.read_cstr(PID_TEXT) != me.as_bytes() {
            disturbed += 1;
        }
        semop(sem, &[SemOp::new(0, 1).undo()]).expect("V");
    }
    drop(shm);
    running.signal_group(Signal::SIGINT);
    running.finish();
    assert_eq!(disturbed, 0, "another process wrote the segment inside the observer's locked window");
}

/// The slides' command line: `shmcotrol 1234 2345` (sic), keys 1234 and 2345 by default. Run in a
/// private IPC namespace, so the slides' keys meet nobody else's.
fn the_slides_command_line_runs_as_printed() {
    let Some(namespace) = testkit::IpcNamespace::new() else {
        testkit::skip(testkit::NO_NAMESPACE);
    };
    let out = namespace.cmd("shmcontrol").args(["1234", "2345", "--iterations", "1000"]).run();
    out.assert_success();
    assert!(out.stdout.contains("shmget(key=0x4d2, 128)"), "{}", out.stdout);
    assert!(out.stdout.contains("semget(key=0x929, 1)"), "{}", out.stdout);
    assert_no_errors(&out.stdout, 1000);
    let defaults = namespace.cmd("shmcontrol").args(["--iterations", "1000"]).run();
    assert!(defaults.stdout.contains("shmget(key=0x4d2, 128)"), "{}", defaults.stdout);
    assert_eq!(namespace.objects(), Vec::<String>::new(), "shmcontrol left objects behind");
}

fn separate_keys_for_segment_and_set() {
    let (shm_key, sem_key) = (TestKey::new(), TestKey::new());
    let out = Cmd::new("shmcontrol").args([&shm_key.arg(), &sem_key.arg(), "--iterations", "1000"]).run();
    out.assert_success();
    assert!(out.stdout.contains(&format!("shmget(key={}", shm_key.arg())), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("semget(key={}", sem_key.arg())), "{}", out.stdout);
    assert_no_errors(&out.stdout, 1000);
}

fn ctrl_c_mid_run_leaves_no_segment_set_or_process() {
    let key = TestKey::new();
    let mut running =
        Cmd::new("shmcontrol").args([&key.arg(), &key.arg(), "--iterations", "2147483647"]).start();
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
    let out = Cmd::new("shmcontrol").args([&key.arg(), &key.arg(), "--iterations", "10"]).run();
    out.assert_error(1, "EEXIST (File exists): a semaphore set with key")
        .assert_error(1, "use another SEMKEY");
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

testkit::main!(
    the_semaphore_removes_every_error,
    no_errors_on_one_cpu_either,
    separate_keys_for_segment_and_set,
    an_observer_holding_the_semaphore_is_never_disturbed,
    the_slides_command_line_runs_as_printed,
    ctrl_c_mid_run_leaves_no_segment_set_or_process,
    an_existing_set_is_refused_and_the_new_segment_removed,
);
