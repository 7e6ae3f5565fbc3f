//! `mkq` and `qctl`, as the slides use them: create a queue and leave it, see it in `ipcs -q`, then
//! report on it and remove it.

use std::process::Command;

use testkit::{Cmd, TestKey, assert_transcript, is_root};

/// qctl in an English locale, whatever the grader's own.
fn english(name: &str) -> Cmd {
    Cmd::new(name).env("LC_ALL", "C")
}

/// The test's key (in the command line, in hex, and in `key is =`, in decimal) and the queue ids.
fn redacted(out: &testkit::Output, key: &TestKey) -> String {
    let decimal = format!("key is = {}", key.key().raw());
    out.redacted(&[
        (key.arg().as_str(), "[KEY]"),
        (decimal.as_str(), "key is = [KEY]"),
        (r"queue id = \d+", "queue id = [ID]"),
        (r"message queue \d+", "message queue [ID]"),
        (r"메시지 큐 \d+", "메시지 큐 [ID]"),
        (r"(유효 사용자 [UG]ID) : \d+", "$1 : [ID]"),
        (r"(최대 바이트 수) : \d+", "$1 : [MSGMNB]"),
        (r"(마지막 변경) : .*", "$1 : [TIME]"),
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

    let report = english("qctl").arg(key.arg()).run();
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

    let kept = english("qctl").args(["--keep", &key.arg()]).run();
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
    let removed = english("qctl").arg(key.arg()).run();
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
    let removed = english("qctl").arg(key.arg()).run();
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
    english("qctl").arg(key.arg()).run().assert_success();
    english("qctl").arg(key.arg()).run().assert_error(1, &format!("msgget(key={}): ENOENT", key.arg()));
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
    let denied = english("qctl").arg(key.arg()).unprivileged().run();
    // The owner may always remove it, whatever the mode.
    shared::msg::msgctl_rmid(shared::msg::msgget(key.key(), 0).unwrap()).unwrap();
    denied.assert_error(1, "IPC_STAT): EACCES (Permission denied)");
}

/// Slide 23's five lines, in the seed's form (its PDF text lost the spaces): ours match them with
/// the spaces removed, the same fields in the same order; the kernel says the queue is gone.
fn qctl_in_korean_prints_the_slides_lines() {
    let key = TestKey::new();
    Cmd::new("mkq").args(["--mode", "666", &key.arg()]).run().assert_success();
    let id = shared::msg::msgget(key.key(), 0).expect("mkq made it");
    let ds = shared::msg::msgctl_stat(id).unwrap();
    let out = Cmd::new("qctl").arg(key.arg()).env("LC_ALL", "").env("LC_MESSAGES", "ko_KR.UTF-8").run();
    out.assert_success();
    let squeezed: Vec<String> = out.stdout.lines().map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(squeezed[0], format!("큐의최대바이트수:{}", ds.qbytes));
    assert_eq!(squeezed[1], format!("큐의유효사용자UID:{}", ds.perm.uid));
    assert_eq!(squeezed[2], format!("큐의유효사용자GID:{}", ds.perm.gid));
    assert_eq!(squeezed[3], "큐접근권한:0666");
    assert_eq!(squeezed.last().unwrap(), &format!("메시지큐{id}삭제됨"));
    assert_eq!(shared::msg::msgget(key.key(), 0).unwrap_err().errno(), Some(shared::Errno::ENOENT));
    assert_transcript!("qctl_ko", redacted(&out, &key));
    // --lang beats the locale; an error keeps the call and errno name and explains in Korean.
    let missing = Cmd::new("qctl").args(["--lang", "ko", &key.arg()]).env("LC_ALL", "C").run();
    missing.assert_error(1, &format!("msgget(key={}): ENOENT", key.arg()));
    assert!(missing.stderr.contains("그 키의 메시지 큐가 없음"), "{}", missing.stderr);
}

/// The textbook's key: ftok("keyfile", 1). mkq and qctl given the same file meet on one queue.
fn keyfile_makes_the_key_with_ftok() {
    let dir = testkit::ScratchDir::new();
    let keyfile = dir.path().join("keyfile");
    std::fs::write(&keyfile, "").unwrap();
    let key = shared::key::ftok(&keyfile, 1).unwrap();
    let path = keyfile.to_str().unwrap();
    let made = Cmd::new("mkq").args(["--keyfile", path]).run();
    made.assert_success();
    assert!(made.stdout.contains(&format!("key is = {}\n", key.raw())), "{}", made.stdout);
    let id = shared::msg::msgget(key, 0).expect("the queue of ftok(keyfile, 1)");
    let removed = english("qctl").args(["--keyfile", path]).run();
    // Removed before asserting: a failure must not leak the queue.
    if shared::msg::msgget(key, 0).is_ok() {
        let _ = shared::msg::msgctl_rmid(id);
    }
    removed.assert_success();
    assert!(removed.stdout.ends_with(&format!("message queue {id} removed\n")));
    Cmd::new("mkq").args(["--keyfile", path, "5"]).run().assert_error(2, "cannot be used with");
}

/// The workbook's own session on one queue (the slides never run one): mkq makes it, qsend puts
/// a message on it, qctl reports the unread message and removes the queue with it.
fn the_workbooks_session_mkq_qsend_qctl() {
    let key = TestKey::new();
    let made = Cmd::new("mkq").arg(key.arg()).run();
    made.assert_success();
    let sent = Cmd::new("qsend").args([key.arg().as_str(), "1", "Hi! my parent"]).run();
    sent.assert_success();
    let id = shared::msg::msgget(key.key(), 0).unwrap();
    assert_eq!(shared::msg::msgctl_stat(id).unwrap().qnum, 1, "the kernel holds the message");
    let report = english("qctl").arg(key.arg()).run();
    report.assert_success();
    assert_eq!(number_after(&report.stdout, "messages on the queue"), 1);
    assert!(number_after(&report.stdout, "last sender PID") > 0, "qsend sent it");
    assert!(shared::msg::msgget(key.key(), 0).is_err(), "qctl removed it");
    let session: String = [&made, &sent, &report]
        .iter()
        .map(|out| redacted(out, &key).replace(&format!("{} ", key.key().raw()), "[KEY] "))
        .collect();
    assert_transcript!("workbook_session", session);
}

testkit::main!(
    qctl_in_korean_prints_the_slides_lines,
    keyfile_makes_the_key_with_ftok,
    the_workbooks_session_mkq_qsend_qctl,
    mkq_prints_the_slides_three_lines_and_leaves_the_queue_for_qctl,
    qctl_shows_the_traffic_and_keep_leaves_the_queue,
    the_queue_shows_in_the_systems_ipcs,
    excl_fails_on_an_existing_queue_and_qctl_on_a_missing_one,
    another_user_cannot_stat_or_remove_a_0600_queue,
);
