//! Our messages are C's messages. Small C programs of our own (tests/c/), built with the system's C
//! compiler, meet the Rust programs on one queue in both directions:
//! - peer.c speaks qsend's and qrecv's wire format (`struct { long mtype; char mtext[]; }`);
//! - mkq_qctl.c and qsnd_pid.c do what slides 17–23 describe and print what their runs show.
//!   The slides show none of their code (only qsnd_pid's `msgctl(qid, IPC_RMID, 0)`): the C is ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{Cmd, ScratchDir, TestKey};

/// Build tests/c/NAME.c into `dir`, or skip the test (no compiler).
fn build(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let exe = dir.join(name);
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&source)
        .output();
    match built {
        Ok(out) if out.status.success() => exe,
        Ok(out) => panic!("cc failed on {}:\n{}", source.display(), String::from_utf8_lossy(&out.stderr)),
        Err(err) => {
            testkit::skip(format!("no C compiler (`cc`: {err}); install gcc or clang to run this test"))
        }
    }
}

/// Run a C program to completion and return its stdout, failing the test if it fails.
fn run_c(path: &Path, args: &[&str]) -> String {
    let out = Command::new(path).args(args).output().expect("run the C program");
    assert!(out.status.success(), "{} {args:?}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A C program under testkit's deadline and line reader: `sh` execs it in place of the workbook
/// binary the command names (which only lends its name).
fn c_cmd(path: &Path) -> Cmd {
    Cmd::new("qsend").wrapped(["sh", "-c", &format!("exec '{}' \"$@\"", path.display())]).env("LC_ALL", "C")
}

/// The first word of `line`: the pid in "PID process waiting ..." (either language).
fn first_word(line: &str) -> String {
    line.split_whitespace().next().unwrap().to_owned()
}

/// The kernel's word that the queue for `key` is gone, after proving it existed.
fn assert_removed(key: &TestKey) {
    let err = shared::msg::msgget(key.key(), 0).expect_err("the queue was removed");
    assert_eq!(err.errno(), Some(shared::Errno::ENOENT));
}

fn typed_messages_cross_between_c_and_rust_both_ways() {
    let dir = ScratchDir::new();
    let peer_path = build(dir.path(), "peer");
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    let arg = key.arg();

    // Rust -> C: qsend's `long mtype` + text + NUL is what a C struct msgbuf receives.
    Cmd::new("qsend").args([arg.as_str(), "7", "from Rust"]).run().assert_success();
    Cmd::new("qsend").args([arg.as_str(), "2", "other type"]).run().assert_success();
    assert_eq!(run_c(&peer_path, &["recv", &arg, "7"]), "type=7; length=10; body=from Rust\n");

    // C -> Rust: a C sender, a typed receive by qrecv, the same line either way.
    assert_eq!(run_c(&peer_path, &["send", &arg, "9", "from C"]), "sent: type=9; length=7\n");
    let got = Cmd::new("qrecv").args([arg.as_str(), "--type", "9"]).run();
    got.assert_success();
    assert_eq!(got.stdout, "type=9; length=7; body=from C\n");

    // And a priority receive by the C side sees qsend's other message.
    assert_eq!(run_c(&peer_path, &["recv", &arg, "-9"]), "type=2; length=11; body=other type\n");
    Cmd::new("qctl").arg(arg.as_str()).env("LC_ALL", "C").run().assert_success();
}

/// A C sender addresses the Rust qsnd_pid's parent by its pid: `{ long mtype = PID; "Hi! my
/// parent\0" }`, 14 bytes. The parent asked msgrcv for type getpid() only, and gets it.
fn c_sender_rust_receiver_msgtyp_is_the_pid() {
    let dir = ScratchDir::new();
    let peer_path = build(dir.path(), "peer");
    let key = TestKey::new();
    let mut rust = Cmd::new("qsnd_pid").args(["--lang", "en", &key.arg()]).stdin("").start();
    let parent = first_word(&rust.expect_line("process waiting to read the message queue"));
    testkit::wait_until_sleeping_in(parent.parse().unwrap(), "do_msgrcv").unwrap();
    assert!(shared::msg::msgget(key.key(), 0).is_ok(), "qsnd_pid made the queue");
    let sent = run_c(&peer_path, &["send", &key.arg(), &parent, "Hi! my parent"]);
    assert_eq!(sent, format!("sent: type={parent}; length=14\n"));
    // The child's own line comes after: the parent has already taken the C message.
    rust.write_line("from the child");
    let out = rust.finish();
    out.assert_success();
    for line in ["recv = 14 bytes", &format!("type = {parent}"), "value = Hi! my parent"] {
        assert!(out.stdout.lines().any(|l| l == line), "{line:?} in\n{}", out.stdout);
    }
    assert_removed(&key);
}

/// The reverse: the C qsnd_pid's parent waits for type getpid(); Rust qsend addresses it by pid.
fn rust_sender_c_receiver_msgtyp_is_the_pid() {
    let dir = ScratchDir::new();
    let qsnd_pid = build(dir.path(), "qsnd_pid");
    let key = TestKey::new();
    let mut c = c_cmd(&qsnd_pid).arg(key.arg()).stdin("").start();
    let parent = first_word(&c.expect_line("프로세스메시지큐읽기대기중.."));
    testkit::wait_until_sleeping_in(parent.parse().unwrap(), "do_msgrcv").unwrap();
    let sent = Cmd::new("qsend").args([key.arg().as_str(), &parent, "Hi! my parent"]).run();
    sent.assert_success();
    assert_eq!(sent.stdout, format!("sent: type={parent}; length=14\n"));
    c.expect_line("value = Hi! my parent");
    c.close_stdin(); // the C child, still at its prompt, reads end of file and ends
    let out = c.finish();
    out.assert_success();
    for line in ["recv = 14 bytes", &format!("type = {parent}"), &format!("수신프로세스 PID= {parent}")]
    {
        assert!(out.stdout.lines().any(|l| l == line), "{line:?} in\n{}", out.stdout);
    }
    assert_removed(&key);
}

/// A queue made by the C mkq (mkq_qctl.c; 0666, as slide 23 shows) is reported and removed by our qctl; one
/// made by our mkq (0600) by the C qctl. Ours in Korean prints the C's lines, spaces aside.
fn mkq_and_qctl_on_a_queue_the_other_side_made() {
    let dir = ScratchDir::new();
    let c = build(dir.path(), "mkq_qctl");
    let key = TestKey::new();
    let decimal = key.key().raw().to_string();

    let made = run_c(&c, &["mkq", &decimal]);
    assert!(made.contains(&format!("key is = {decimal}\n")), "{made}");
    let id = shared::msg::msgget(key.key(), 0).expect("the C mkq made it");
    let report = Cmd::new("qctl").args(["--lang", "en", &key.arg()]).run();
    report.assert_success();
    assert!(report.stdout.contains("queue permissions      : 0666"), "{}", report.stdout);
    assert!(report.stdout.ends_with(&format!("message queue {id} removed\n")), "{}", report.stdout);
    assert_removed(&key);

    Cmd::new("mkq").arg(&decimal).run().assert_success();
    let id = shared::msg::msgget(key.key(), 0).expect("our mkq made it");
    let ours = Cmd::new("qctl").args(["--lang", "ko", "--keep", &key.arg()]).run();
    ours.assert_success();
    let theirs = run_c(&c, &["qctl", &decimal]);
    let squeeze =
        |text: &str| -> Vec<String> { text.lines().map(|l| l.split_whitespace().collect()).collect() };
    assert_eq!(squeeze(&ours.stdout)[..4], squeeze(&theirs)[..4], "the same four fields, the same labels");
    assert!(theirs.contains("큐접근권한 : 0600"), "{theirs}");
    assert!(theirs.ends_with(&format!("메시지큐 {id} 삭제됨\n")), "{theirs}");
    assert_removed(&key);
}

/// The slides' msg_t crosses from our msgq_echoserv to a C res_send that reads it with the slides'
/// struct, and the C sends the echo to the address in it, from a port of its own (res_send.c).
fn a_c_res_send_answers_from_our_servers_queue() {
    let dir = ScratchDir::new();
    let res_send = build(dir.path(), "res_send");
    let key = TestKey::new();
    let mut server = Cmd::new("msgq_echoserv").args([key.arg().as_str(), "0", "--workers", "0"]).start();
    let port: u16 =
        server.expect_line("listening on 127.0.0.1:").rsplit(':').next().unwrap().parse().unwrap();
    let mut c = c_cmd(&res_send).args([key.key().raw().to_string(), port.to_string()]).start();

    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    for text in ["aaaaaaaaaaaaaaaaaaaaaa", "bbbbb"] {
        client.send_to(text.as_bytes(), ("127.0.0.1", port)).unwrap();
        let (len, from) = client.recv_from(&mut buf).expect("the C res_send's echo");
        assert_eq!(&buf[..len], text.as_bytes());
        assert_ne!(from.port(), port, "a C res_send given KEY and PORT replies from its own socket");
        let line = c.expect_line("reply process PID = ");
        assert!(line.ends_with(&format!(" {text}")), "{line}");
    }
    // Stopping the server removes the queue; the C worker's msgrcv fails with EIDRM and it ends.
    server.signal(testkit::Signal::SIGTERM);
    server.finish().assert_success();
    c.finish().assert_success();
    assert_removed(&key);
}

testkit::main!(
    a_c_res_send_answers_from_our_servers_queue,
    typed_messages_cross_between_c_and_rust_both_ways,
    c_sender_rust_receiver_msgtyp_is_the_pid,
    rust_sender_c_receiver_msgtyp_is_the_pid,
    mkq_and_qctl_on_a_queue_the_other_side_made,
);
