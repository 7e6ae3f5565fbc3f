//! `shm_fork`: the parent reads what the child wrote, `IPC_STAT` follows every stage, and the
//! segment is gone at the end, however the program ends.

use std::os::unix::process::ExitStatusExt;

use shared::ipc::ShmId;
use shared::shm::shmctl_stat;
use testkit::{Cmd, Signal, assert_transcript};

/// The shmid from the first line: `parent: shmget(...) = shmid N`.
fn shmid(stdout: &str) -> ShmId {
    let first = stdout.lines().next().expect("a first line");
    first.rsplit(' ').next().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("no shmid in {first:?}"))
}

/// `nattch=N` of every IPC_STAT line, in order.
fn nattch_per_stage(stdout: &str) -> Vec<u64> {
    stdout
        .lines()
        .filter_map(|line| line.split("nattch=").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_parent_reads_what_the_child_wrote_then_removes_the_segment() {
    let out = Cmd::new("shm_fork").run();
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let child = lines.iter().position(|l| *l == "child process ===").expect("child line");
    let parent = lines.iter().position(|l| *l == "parent process ===").expect("parent line");
    assert!(child < parent, "the parent reads only after the child has written");
    assert_eq!(lines[parent + 1], "abcdefghij");

    // Attach counts: created (0), child attached (1), child gone (0), parent attached (1), detached (0).
    assert_eq!(nattch_per_stage(&out.stdout), [0, 1, 0, 1, 0]);
    assert!(out.stdout.contains("lpid=0 (nobody yet)"));
    assert!(
        lines[child + 1].contains("lpid=") && lines[child + 1].ends_with("(child)"),
        "the child attached last"
    );
    assert!(
        lines.iter().filter(|l| l.starts_with("  IPC_STAT")).all(|l| l.contains("(parent) lpid=")),
        "cpid is the parent"
    );

    let id = shmid(&out.stdout);
    assert!(shmctl_stat(id).is_err(), "shmid {id} should be removed");
    assert!(out.stdout.contains("EINVAL"));

    assert_transcript!(
        "shm_fork",
        out.redacted(&[(r"(shmid[ =])\d+", "${1}[ID]"), (r"\b(c|l)pid=[1-9]\d*", "${1}pid=[PID]")])
    );
}

#[test]
fn ctrl_c_during_the_pause_still_removes_the_segment() {
    let mut running = Cmd::new("shm_fork").args(["--pause", "30"]).start();
    let first = running.expect_line("shmget(IPC_PRIVATE");
    running.expect_line("pausing 30 s");
    running.signal(Signal::SIGINT);
    let out = running.finish();
    assert_eq!(out.status.signal(), Some(Signal::SIGINT as i32), "it dies of the signal it got");
    let id = shmid(&first);
    assert!(shmctl_stat(id).is_err(), "shmid {id} should be removed by the SIGINT clean-up");
}

#[test]
fn a_bad_pause_is_a_usage_error() {
    Cmd::new("shm_fork").args(["--pause", "soon"]).run().assert_error(2, "invalid value 'soon'");
}
