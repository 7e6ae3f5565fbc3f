//! Our messages are C's messages: a small C program of our own (tests/c/peer.c), built with the
//! system's C compiler, exchanges typed messages with `qsend` and `qrecv` in both directions.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{Cmd, ScratchDir, TestKey};

/// Build tests/c/peer.c into `dir`, or skip the test (no compiler).
fn build_peer(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/peer.c");
    let peer = dir.join("peer");
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&peer)
        .arg(&source)
        .output();
    match built {
        Ok(out) if out.status.success() => peer,
        Ok(out) => panic!("cc failed on {}:\n{}", source.display(), String::from_utf8_lossy(&out.stderr)),
        Err(err) => {
            testkit::skip(format!("no C compiler (`cc`: {err}); install gcc or clang to run this test"))
        }
    }
}

/// Run the C peer and return its stdout, failing the test if it fails.
fn peer(path: &Path, args: &[&str]) -> String {
    let out = Command::new(path).args(args).output().expect("run the C peer");
    assert!(out.status.success(), "peer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn typed_messages_cross_between_c_and_rust_both_ways() {
    let dir = ScratchDir::new();
    let peer_path = build_peer(dir.path());
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    let arg = key.arg();

    // Rust -> C: qsend's `long mtype` + text + NUL is what a C struct msgbuf receives.
    Cmd::new("qsend").args([arg.as_str(), "7", "from Rust"]).run().assert_success();
    Cmd::new("qsend").args([arg.as_str(), "2", "other type"]).run().assert_success();
    assert_eq!(peer(&peer_path, &["recv", &arg, "7"]), "type=7; length=10; body=from Rust\n");

    // C -> Rust: a C sender, a typed receive by qrecv, the same line either way.
    assert_eq!(peer(&peer_path, &["send", &arg, "9", "from C"]), "sent: type=9; length=7\n");
    let got = Cmd::new("qrecv").args([arg.as_str(), "--type", "9"]).run();
    got.assert_success();
    assert_eq!(got.stdout, "type=9; length=7; body=from C\n");

    // And a priority receive by the C side sees qsend's other message.
    assert_eq!(peer(&peer_path, &["recv", &arg, "-9"]), "type=2; length=11; body=other type\n");
    Cmd::new("qctl").arg(arg.as_str()).run().assert_success();
}

testkit::main!(typed_messages_cross_between_c_and_rust_both_ways,);
