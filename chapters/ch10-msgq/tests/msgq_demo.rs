//! `msgq_demo`: the same five messages taken three ways by msgtyp, and the queue removed.

use shared::ipc::MsqId;
use testkit::{Cmd, assert_transcript};

/// The `received T:text` items under the `msgtyp = N:` heading.
fn taken(stdout: &str, msgtyp: i32) -> Vec<&str> {
    let heading = format!("msgtyp = {msgtyp}:");
    let section = stdout.split("\nmsgtyp = ").find(|part| format!("msgtyp = {part}").starts_with(&heading));
    section
        .unwrap_or_else(|| panic!("{heading} in {stdout}"))
        .lines()
        .filter_map(|line| line.trim().strip_prefix("received "))
        .collect()
}

#[test]
fn fifo_then_priority_then_one_type() {
    let out = Cmd::new("msgq_demo").run();
    out.assert_success();
    assert_eq!(taken(&out.stdout, 0), ["3:three", "1:one-a", "2:two", "1:one-b", "5:five"], "arrival order");
    assert_eq!(
        taken(&out.stdout, -5),
        ["1:one-a", "1:one-b", "2:two", "3:three", "5:five"],
        "lowest type first"
    );
    assert_eq!(taken(&out.stdout, 1), ["1:one-a", "1:one-b"], "type 1 only");
    assert!(out.stdout.contains("removed queue") && out.stdout.contains("with its 3 unread messages"));

    // IPC_PRIVATE has no key for a leak check: check that the printed id is gone.
    let id: i32 = out.stdout.lines().next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(shared::msg::msgctl_stat(MsqId(id)).is_err(), "queue {id} was removed");
    assert_transcript!("msgq_demo", out.redacted(&[(r"queue \d+", "queue [ID]")]));
}

#[test]
fn it_takes_no_arguments() {
    Cmd::new("msgq_demo").arg("extra").run().assert_error(2, "unexpected argument");
}
