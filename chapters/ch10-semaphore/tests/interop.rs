//! The textbook's C `semlock` and ours on one key: a C program of our own that behaves as the
//! listing (tests/c/semlock.c says what is the text's and what is ours), built with the system's C
//! compiler. Mutual exclusion is judged from the witness file every child appends to inside its
//! critical section, not from stdout (the C children's stdout is a pipe: fully buffered).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{Cmd, ScratchDir, TestKey};

/// Build tests/c/semlock.c into `dir`, or skip the test (no compiler).
fn build_c_semlock(dir: &Path) -> PathBuf {
    testkit::build_c(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/semlock.c"), dir)
}

/// Start the C semlock: its main returns at once, its three children keep its stdout and stderr.
fn start_c(program: &Path, key: &TestKey, witness: &Path) -> std::process::Child {
    Command::new(program)
        .arg(key.arg())
        .env("SEMLOCK_WITNESS", witness)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C semlock")
}

/// Wait until the C children are done (they hold the pipes until they exit): they must not fail.
fn finish_c(c: std::process::Child) -> String {
    let out = c.wait_with_output().expect("read the C semlock's output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "C semlock: {}\n{stderr}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The set for `key` exists (polled, with a deadline).
fn wait_for_set(key: &TestKey) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !shared::sysvipc::list().iter().any(|object| object.key == key.key()) {
        assert!(Instant::now() < deadline, "the C semlock made no set");
        std::thread::yield_now();
    }
}

fn witness_args(witness: &Path) -> [String; 2] {
    ["--witness".to_owned(), witness.to_str().unwrap().to_owned()]
}

/// The C children make the set (SETVAL 1, no semop); ours find it, queue with them, and leave it.
fn c_children_first_then_ours() {
    let dir = ScratchDir::new();
    let program = build_c_semlock(dir.path());
    let (key, witness) = (TestKey::new(), dir.path().join("witness"));
    let c = start_c(&program, &key, &witness);
    wait_for_set(&key);
    let ours = Cmd::new("semlock")
        .args(["--key", &key.arg(), "--hold-ms", "300"])
        .args(witness_args(&witness))
        .run();
    ours.assert_success();
    assert!(ours.stdout.contains("left to the process that created it"), "{}", ours.stdout);
    let c_out = finish_c(c);
    assert_eq!(c_out.matches("Unlock : process").count(), 3, "{c_out}");
    assert_eq!(common::one_at_a_time(&witness).len(), 6, "three C and three Rust critical sections");
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

/// Ours make the set (SETVAL 0, a +1 semop); the C children find it by EEXIST and queue with ours;
/// our parent takes the lock last, after them, and removes the set.
fn our_children_first_then_c() {
    let dir = ScratchDir::new();
    let program = build_c_semlock(dir.path());
    let (key, witness) = (TestKey::new(), dir.path().join("witness"));
    let mut ours = Cmd::new("semlock")
        .args(["--key", &key.arg(), "--hold-ms", "1000"])
        .args(witness_args(&witness))
        .start();
    ours.expect_line("parent: initsem");
    let c = start_c(&program, &key, &witness);
    let c_out = finish_c(c);
    assert_eq!(c_out.matches("Unlock : process").count(), 3, "{c_out}");
    let ours = ours.finish();
    ours.assert_success();
    assert!(ours.stdout.contains("semaphore set removed"), "{}", ours.stdout);
    assert_eq!(common::one_at_a_time(&witness).len(), 6, "three Rust and three C critical sections");
}

/// Our initsem takes a set as the C initsem leaves it (value 1, sem_otime 0) as initialised.
fn our_initsem_accepts_the_c_initsems_set() {
    let dir = ScratchDir::new();
    let program = build_c_semlock(dir.path());
    let key = TestKey::new();
    let made = Command::new(&program).args([key.arg().as_str(), "init"]).output().expect("run the C initsem");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(Cmd::new("semtool").args(["show", &key.arg()]).run().stdout.contains("last semop: never"));
    let ours =
        Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "0", "--init-wait-ms", "100"]).run();
    ours.assert_success();
    assert!(!ours.stdout.contains("not initialised yet"), "{}", ours.stdout);
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

testkit::main!(c_children_first_then_ours, our_children_first_then_c, our_initsem_accepts_the_c_initsems_set,);
