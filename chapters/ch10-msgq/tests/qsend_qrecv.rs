//! `qsend` and `qrecv` from the shell: every msgtyp rule, and every error a student can cause,
//! each as one line naming the call and the errno.

use shared::msg::{msgctl_set, msgctl_stat, msgget};
use testkit::{Cmd, Output, TestKey, assert_transcript, is_root};

/// A queue for the test's key, made with `mkq` and removed with `qctl` when dropped, so even a
/// failing test leaves nothing behind (TestKey, dropped after it, checks).
struct Queue<'a>(&'a TestKey);

impl<'a> Queue<'a> {
    fn new(key: &'a TestKey) -> Self {
        Cmd::new("mkq").arg(key.arg()).run().assert_success();
        Queue(key)
    }
}

impl Drop for Queue<'_> {
    fn drop(&mut self) {
        if let Ok(id) = msgget(self.0.key(), 0) {
            let _ = shared::msg::msgctl_rmid(id);
        }
    }
}

fn qsend(key: &TestKey, mtype: &str, text: &str) -> Output {
    Cmd::new("qsend").args([key.arg().as_str(), mtype, text]).run()
}

fn qrecv(key: &TestKey, args: &[&str]) -> Output {
    Cmd::new("qrecv").arg(key.arg()).args(args.iter().copied()).run()
}

/// The message qrecv printed, as `type:body`.
fn received(out: &Output) -> String {
    out.assert_success();
    let line = out.stdout.trim_end();
    let mtype = line.strip_prefix("type=").and_then(|rest| rest.split(';').next()).expect(line);
    let body = line.split("; body=").nth(1).expect(line);
    format!("{mtype}:{body}")
}

#[test]
fn msgtyp_zero_positive_and_negative() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    let mut transcript = String::new();
    for (mtype, text) in [("3", "three"), ("1", "one-a"), ("2", "two"), ("1", "one-b"), ("5", "five")] {
        let out = qsend(&key, mtype, text);
        out.assert_success();
        assert_eq!(out.stdout, format!("sent: type={mtype}; length={}\n", text.len() + 1));
        transcript += &out.redacted(&[(key.arg().as_str(), "[KEY]")]);
    }
    // Each receive is shown in the transcript, stdout or (for errors) stderr.
    let mut take = |args: &[&str]| {
        let out = qrecv(&key, args);
        let shown = if out.status.success() { out.stdout.clone() } else { out.stderr.clone() };
        let rules = [(key.arg(), "[KEY]".to_owned()), (r"msqid=\d+".to_owned(), "msqid=[ID]".to_owned())];
        let rules: Vec<(&str, &str)> = rules.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
        transcript += &testkit::redact(&format!("$ {}\n{shown}", out.command), &rules);
        out
    };
    assert_eq!(received(&take(&["--type", "2"])), "2:two", "T > 0: the first message of type T");
    assert_eq!(received(&take(&["--type", "-5"])), "1:one-a", "T < 0: the lowest type <= |T| ...");
    assert_eq!(received(&take(&["--type=-5"])), "1:one-b", "... first in first out within a type");
    assert_eq!(received(&take(&[])), "3:three", "0: the oldest message, whatever its type");
    take(&["--type", "-4", "--nowait"]).assert_error(1, "ENOMSG (No message of desired type)");
    assert_eq!(received(&take(&["-t", "-5"])), "5:five", "5 is <= 5");
    assert_transcript!("qsend_qrecv_msgtyp", transcript);
}

#[test]
fn type_zero_or_negative_is_einval() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    qsend(&key, "0", "x").assert_error(1, "mtype=0, 2 bytes): EINVAL (Invalid argument)");
    qsend(&key, "-3", "x").assert_error(1, "mtype=-3, 2 bytes): EINVAL");
    Cmd::new("qsend").args([key.arg().as_str(), "one", "x"]).run().assert_error(2, "invalid value 'one'");
}

#[test]
fn nothing_of_that_type_with_nowait_is_enomsg() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    qsend(&key, "1", "x").assert_success();
    qrecv(&key, &["--type", "7", "--nowait"]).assert_error(1, "msgtyp=7, max 8192 bytes): ENOMSG");
    assert_eq!(received(&qrecv(&key, &["--nowait"])), "1:x", "the type-1 message was left alone");
    qrecv(&key, &["--nowait"]).assert_error(1, "ENOMSG");
}

#[test]
fn longer_than_max_is_e2big_unless_noerror_cuts_it() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    qsend(&key, "4", "hello world").assert_success(); // 12 bytes with the NUL
    qrecv(&key, &["--max", "5"]).assert_error(1, "max 5 bytes): E2BIG (Argument list too long)");
    let cut = qrecv(&key, &["--max", "5", "--noerror"]);
    cut.assert_success();
    assert_eq!(
        cut.stdout, "type=4; length=5; body=hello\n",
        "E2BIG left it queued; MSG_NOERROR took 5 bytes"
    );
    let id = msgget(key.key(), 0).unwrap();
    assert_eq!(msgctl_stat(id).unwrap().qnum, 0, "the other 7 bytes are gone for good");
    Cmd::new("qrecv")
        .args([key.arg().as_str(), "--max", "2000000"])
        .run()
        .assert_error(2, "not in 0..=1048576");
}

#[test]
fn a_full_queue_with_nowait_is_eagain() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    // Make the queue hold at most 10 bytes (lowering msg_qbytes needs no privilege, raising it
    // above msgmnb does), so two 6-byte messages do not fit.
    let id = msgget(key.key(), 0).unwrap();
    let mut ds = msgctl_stat(id).unwrap();
    ds.qbytes = 10;
    msgctl_set(id, &ds).unwrap();
    qsend(&key, "1", "hello").assert_success();
    Cmd::new("qsend")
        .args([key.arg().as_str(), "1", "again", "--nowait"])
        .run()
        .assert_error(1, "mtype=1, 6 bytes): EAGAIN (Resource temporarily unavailable)");
    assert_eq!(msgctl_stat(id).unwrap().qnum, 1);
}

#[test]
fn removing_the_queue_under_a_blocked_receiver_is_eidrm() {
    let key = TestKey::new();
    let _queue = Queue::new(&key);
    let receiver = Cmd::new("qrecv").arg(key.arg()).start();
    testkit::wait_until_sleeping_in(receiver.pid(), "do_msgrcv").unwrap();
    Cmd::new("qctl").arg(key.arg()).run().assert_success();
    receiver.finish().assert_error(1, "msgrcv(msqid=").assert_error(1, "EIDRM (Identifier removed)");
}

#[test]
fn another_user_may_not_send_or_receive_on_a_0600_queue() {
    let key = TestKey::new();
    // As root: root's 0600 queue and the user nobody. Otherwise our own queue with mode 0.
    let mode = if is_root() { "600" } else { "000" };
    Cmd::new("mkq").args(["--mode", mode, &key.arg()]).run().assert_success();
    let _queue = Queue(&key);
    // msgget(key, 0) asks for no access, so it succeeds; msgsnd and msgrcv check the mode.
    let sent = Cmd::new("qsend").args([key.arg().as_str(), "1", "hi"]).unprivileged().run();
    sent.assert_error(1, "msgsnd(msqid=").assert_error(1, "EACCES (Permission denied)");
    let got = Cmd::new("qrecv").args([key.arg().as_str(), "--nowait"]).unprivileged().run();
    got.assert_error(1, "msgrcv(msqid=").assert_error(1, "EACCES (Permission denied)");
}

#[test]
fn no_queue_for_the_key_is_enoent() {
    let key = TestKey::new();
    qsend(&key, "1", "x")
        .assert_error(1, &format!("msgget(key={}): ENOENT (No such file or directory)", key.arg()));
    qrecv(&key, &[]).assert_error(1, "ENOENT");
}
