//! `shmbusyaccess`: without turns, the racers catch each other every run, on two CPUs and on one;
//! and the segment never outlives the program.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use shared::ipc::IPC_CREAT;
use shared::shm::{shmctl_rmid, shmget};
use testkit::{Cmd, Signal, TestKey, tallies};

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
    let out = Cmd::new("shmbusyaccess").args([&key.arg(), "--iterations", "3000", "--lang", "en"]).run();
    out.assert_success();
    assert_collisions(&out.stdout, 3000);
    assert!(out.stdout.contains("another process accessed the shared memory at the same time"));
    // Drop of `key` checks the segment is gone.
}

/// The slides' error line, `Error(count=N) : 다른프로세스도동시에공유메모리접근함`, in a Korean locale
/// or with `--lang ko` (our spacing: compared with the spaces removed).
fn the_error_line_is_the_slides_in_korean() {
    const SLIDES: &str = "다른프로세스도동시에공유메모리접근함";
    let korean = |cmd: Cmd| {
        let out = cmd.run();
        out.assert_success();
        let line = out.stdout.lines().find(|l| l.contains("Error(count=")).expect("an error line").to_owned();
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(squeezed.contains(&format!(":{SLIDES}(")), "{line}");
        assert!(!line.contains("another process"), "{line}");
    };
    let key = TestKey::new();
    korean(Cmd::new("shmbusyaccess").args([&key.arg(), "--iterations", "3000", "--lang", "ko"]));
    let by_locale = Cmd::new("shmbusyaccess").args([&key.arg(), "--iterations", "3000"]);
    korean(by_locale.env("LC_ALL", "").env("LC_MESSAGES", "").env("LANG", "ko_KR.UTF-8"));
}

/// `$ shmbusyaccess 12345`, as the slides print it, with its key 12345: in a private IPC
/// namespace, so it cannot meet another run's segment.
fn the_slides_command_line_runs_as_printed() {
    let namespace = testkit::IpcNamespace::new().unwrap_or_else(|| testkit::skip(testkit::NO_NAMESPACE));
    let out = namespace.cmd("shmbusyaccess").args(["12345", "--iterations", "3000", "--lang", "en"]).run();
    out.assert_success();
    assert!(out.stdout.starts_with("shmget(key=0x3039, 128) = shmid "), "{}", out.stdout);
    assert_collisions(&out.stdout, 3000);
    assert_eq!(namespace.objects(), Vec::<String>::new());
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
        .args([&key.arg(), "--iterations", "3000", "--lang", "en"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run timeout taskset shmbusyaccess");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_collisions(&stdout, 3000);
}

fn ctrl_c_mid_race_stops_the_children_and_removes_the_segment() {
    let key = TestKey::new();
    let mut running = Cmd::new("shmbusyaccess").args([&key.arg(), "--iterations", "2147483647"]).start();
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
    let out = Cmd::new("shmbusyaccess").args([&key.arg(), "--iterations", "10"]).run();
    shmctl_rmid(stale).unwrap();
    out.assert_error(1, "EEXIST (File exists): a shared memory segment with key")
        .assert_error(1, "it is yours");
    out.assert_error(1, "use another KEY for a run of your own");
}

fn bad_arguments_are_usage_errors() {
    Cmd::new("shmbusyaccess").args(["--iterations", "0"]).run().assert_error(2, "invalid value '0'");
    Cmd::new("shmbusyaccess").arg("0").run().assert_error(2, "IPC_PRIVATE");
    Cmd::new("shmbusyaccess").args(["12345", "--keyfile", "x"]).run().assert_error(2, "cannot be used with");
}

testkit::main!(
    three_racers_overwrite_each_other,
    the_error_line_is_the_slides_in_korean,
    the_slides_command_line_runs_as_printed,
    they_collide_on_one_cpu_too,
    ctrl_c_mid_race_stops_the_children_and_removes_the_segment,
    an_existing_segment_under_the_key_is_refused,
    bad_arguments_are_usage_errors,
);
