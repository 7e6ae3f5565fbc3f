//! `mkq` and `qctl`, as the slides use them: create a queue and leave it, see it in `ipcs -q`, then
//! report on it and remove it.

use std::process::Command;

use testkit::{Cmd, TestKey, assert_transcript, is_root};

/// The test's key (in the command line, in hex, and in `key is =`, in decimal) and the queue ids.
fn redacted(out: &testkit::Output, key: &TestKey) -> String {
    let decimal = format!("key is = {}", key.key().raw());
    out.redacted(&[
        (key.arg().as_str(), "[KEY]"),
        (decimal.as_str(), "key is = [KEY]"),
        (r"queue id = \d+", "queue id = [ID]"),
        (r"message queue \d+", "message queue [ID]"),
        (r"(owner UID +): \d+", "$1: [UID]"),
        (r"(owner GID +): \d+", "$1: [GID]"),
        (r"(max bytes of the queue) : \d+", "$1 : [MSGMNB]"),
    ])
}

/// The number after `label` on its line in `stdout`.
fn number_after(stdout: &str, label: &str) -> i64 {
    let line =
        stdout.lines().find(|line| line.starts_with(label)).unwrap_or_else(|| panic!("{label} in {stdout}"));
    line[label.len()..]
        .trim_start_matches([' ', ':', '='])
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn mkq_prints_the_slides_three_lines_and_leaves_the_queue_for_qctl() {
    let key = TestKey::new();
    let made = Cmd::new("mkq").arg(key.arg()).run();
    made.assert_success();
    assert_eq!(made.stdout.lines().count(), 3);
    let created = number_after(&made.stdout, "created queue id");
    assert_eq!(number_after(&made.stdout, "opened queue id"), created, "the key finds the same queue");
    assert_eq!(number_after(&made.stdout, "key is"), i64::from(key.key().raw()));
    assert_transcript!("mkq", redacted(&made, &key));

    // mkq left it: a third program finds it by key.
    let id = shared::msg::msgget(key.key(), 0).expect("the queue outlives mkq");
    assert_eq!(i64::from(id.0), created);

    let report = Cmd::new("qctl").arg(key.arg()).run();
    report.assert_success();
    let msgmnb: i64 = std::fs::read_to_string("/proc/sys/kernel/msgmnb").unwrap().trim().parse().unwrap();
    assert_eq!(number_after(&report.stdout, "max bytes of the queue"), msgmnb);
    assert_eq!(number_after(&report.stdout, "queue owner UID"), i64::from(nix::unistd::geteuid().as_raw()));
    assert!(report.stdout.contains("queue permissions      : 0600"));
    assert!(report.stdout.contains(&format!("message queue {created} removed")));
    assert!(shared::msg::msgget(key.key(), 0).is_err(), "qctl removed it");
    assert_transcript!("qctl", redacted(&report, &key));
}

fn qctl_shows_the_traffic_and_keep_leaves_the_queue() {
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    Cmd::new("qsend").args([key.arg().as_str(), "1", "Hi! my parent"]).run().assert_success();

    let kept = Cmd::new("qctl").args(["--keep", &key.arg()]).run();
    kept.assert_success();
    assert_eq!(number_after(&kept.stdout, "messages on the queue"), 1);
    assert_eq!(number_after(&kept.stdout, "bytes on the queue"), 14, "13 characters and the NUL");
    assert!(number_after(&kept.stdout, "last sender PID") > 0);
    assert_eq!(number_after(&kept.stdout, "last receiver PID"), 0);
    assert!(!kept.stdout.contains("last msgsnd            : never"));
    assert!(kept.stdout.contains("last msgrcv            : never"));
    assert!(kept.stdout.contains("kept (--keep)"));
    assert_transcript!("qctl_keep", redacted(&kept, &key));

    Cmd::new("qsend").args([key.arg().as_str(), "2", "unread"]).run().assert_success();
    Cmd::new("qrecv").args([key.arg().as_str(), "--type", "1"]).run().assert_success();
    let removed = Cmd::new("qctl").arg(key.arg()).run();
    removed.assert_success();
    assert!(number_after(&removed.stdout, "last receiver PID") > 0);
    assert!(removed.stdout.contains("removed, with its 1 unread message(s)"), "{}", removed.stdout);
}

fn the_queue_shows_in_the_systems_ipcs() {
    let key = TestKey::new();
    Cmd::new("mkq").args(["--mode", "640", &key.arg()]).run().assert_success();
    Cmd::new("qsend").args([key.arg().as_str(), "1", "abc"]).run().assert_success();
    let ipcs = Command::new("ipcs").arg("-q").output();
    // Remove it before asserting, so a failure does not also leak it.
    let removed = Cmd::new("qctl").arg(key.arg()).run();
    let Ok(ipcs) = ipcs else {
        testkit::skip("no `ipcs` (util-linux) on this system");
    };
    removed.assert_success();
    let ipcs = String::from_utf8_lossy(&ipcs.stdout);
    // ipcs prints keys as 0x%08x; the test keys have 8 hex digits already.
    let row: Vec<&str> = ipcs
        .lines()
        .find(|line| line.starts_with(&format!("{:#010x} ", key.key().raw() as u32)))
        .unwrap_or_else(|| panic!("{} in\n{ipcs}", key.arg()))
        .split_whitespace()
        .collect();
    let id = removed.stdout.lines().last().unwrap().split_whitespace().nth(2).unwrap().to_owned();
    let owner = current_user();
    assert_eq!(
        row,
        [key.arg().as_str(), id.as_str(), owner.as_str(), "640", "4", "1"],
        "key, id, owner, perms, bytes, messages"
    );
}

/// The current user's name, as ipcs shows it in the owner column.
fn current_user() -> String {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid).ok().flatten().map(|user| user.name).unwrap_or_else(|| uid.to_string())
}

fn excl_fails_on_an_existing_queue_and_qctl_on_a_missing_one() {
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    Cmd::new("mkq")
        .args(["--excl", &key.arg()])
        .run()
        .assert_error(1, &format!("msgget(key={}): EEXIST", key.arg()));
    Cmd::new("mkq").arg(key.arg()).run().assert_success(); // without IPC_EXCL it is found again
    Cmd::new("qctl").arg(key.arg()).run().assert_success();
    Cmd::new("qctl").arg(key.arg()).run().assert_error(1, &format!("msgget(key={}): ENOENT", key.arg()));
    Cmd::new("mkq").arg("0").run().assert_error(2, "no other process can find");
    Cmd::new("mkq").args(["--mode", "800", "5"]).run().assert_error(2, "not a permission mode");
    Cmd::new("mkq").arg("x12").run().assert_error(2, "is not a key");
}

fn another_user_cannot_stat_or_remove_a_0600_queue() {
    let key = TestKey::new();
    // As root: root's 0600 queue and the user nobody. Otherwise our own queue with mode 0, which
    // binds its owner too (only root ignores modes).
    let mode = if is_root() { "600" } else { "000" };
    Cmd::new("mkq").args(["--mode", mode, &key.arg()]).run().assert_success();
    let denied = Cmd::new("qctl").arg(key.arg()).unprivileged().run();
    // The owner may always remove it, whatever the mode.
    shared::msg::msgctl_rmid(shared::msg::msgget(key.key(), 0).unwrap()).unwrap();
    denied.assert_error(1, "IPC_STAT): EACCES (Permission denied)");
}

testkit::main!(
    mkq_prints_the_slides_three_lines_and_leaves_the_queue_for_qctl,
    qctl_shows_the_traffic_and_keep_leaves_the_queue,
    the_queue_shows_in_the_systems_ipcs,
    excl_fails_on_an_existing_queue_and_qctl_on_a_missing_one,
    another_user_cannot_stat_or_remove_a_0600_queue,
);
