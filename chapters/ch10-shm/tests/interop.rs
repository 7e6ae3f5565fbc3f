//! The workbook's `listener` and `talker` against the textbook's, both ways. The C programs
//! (tests/c/listener.c, tests/c/talker.c, built by build.rs) are ours, written for these tests to
//! do what the textbook's listings do: no pid in the segment, no signal back, `sleep(2)` and
//! `sleep(3)`. Our side sees no handshake and keeps the textbook's protocol; nothing hangs and the
//! segment is gone at the end, checked in the kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use shared::ipc::ShmId;
use shared::shm::{shmctl_stat, shmget};
use testkit::{Cmd, ScratchDir, assert_transcript, redact};

const REDACTIONS: &[(&str, &str)] = &[
    (r"(shmid[ =])\d+", "${1}[ID]"),
    (r"\bkey 0x[0-9a-f]+", "key [KEY]"),
    (r"\b(c|l)pid=\d+", "${1}pid=[PID]"),
    (r"(talker|listener) \d+", "$1 [PID]"),
];

/// The C peer built by build.rs, or skip the test (no C compiler).
fn c_program(path: &'static str) -> PathBuf {
    if path.is_empty() {
        testkit::skip("no C compiler when this crate was built: install gcc or clang to run this test");
    }
    PathBuf::from(path)
}

/// Start a C peer in `dir`, under `timeout` so it cannot outlive a failed test.
fn start_c(program: &Path, args: &[&str], dir: &Path) -> std::process::Child {
    Command::new("timeout")
        .arg("30")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the C peer under timeout")
}

/// Poll a state the kernel changes until `found` gives a value, for at most 10 s: not a timed sleep.
fn wait_for<T>(mut found: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(value) = found() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::yield_now();
    }
}

/// The pid of the program `timeout` runs (its only child).
fn child_of(pid: u32) -> i32 {
    wait_for(|| {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    })
    .expect("the C peer started")
}

/// Wait until the C listener has its SIGUSR1 handler and sleeps (in sigsuspend: it has no other
/// place to sleep), from /proc: the textbook's listener loses a signal that comes earlier.
fn wait_until_waiting(pid: i32) {
    let usr1_caught = |status: &str| {
        let mask = status.lines().find_map(|line| line.strip_prefix("SigCgt:"))?;
        let mask = u64::from_str_radix(mask.trim(), 16).ok()?;
        (mask & (1 << (libc::SIGUSR1 - 1)) != 0).then_some(())
    };
    wait_for(|| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        usr1_caught(&status)?;
        status.lines().any(|line| line.starts_with("State:\tS")).then_some(())
    })
    .expect("the C listener waits in sigsuspend");
}

fn assert_gone(shmid: ShmId) {
    assert!(shmctl_stat(shmid).is_err(), "shmid {shmid} should be removed");
}

fn the_textbooks_listener_and_our_talker() {
    let listener_c = c_program(env!("SHM_C_LISTENER"));
    let dir = ScratchDir::new();
    std::fs::write(dir.path().join("shmfile"), "").unwrap(); // the textbook's ftok needs it
    let listener = start_c(&listener_c, &[], dir.path());
    let pid = child_of(listener.id());
    wait_until_waiting(pid);
    // The segment exists, made by the C listener (0666, no IPC_EXCL).
    let key = shared::key::ftok(&dir.path().join("shmfile"), 1).unwrap();
    let shmid = shmget(key, 0, 0).expect("the C listener's segment");
    assert_eq!(shmctl_stat(shmid).unwrap().perm.mode & 0o777, 0o666);

    let talker = Cmd::new("talker").arg(pid.to_string()).current_dir(dir.path()).run();
    if !talker.status.success() {
        // It never signalled, maybe: do not leave the C listener waiting (nor its segment).
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        let _ = shared::shm::shmctl_rmid(shmid);
    }
    talker.assert_success();
    let listener = listener.wait_with_output().unwrap();
    assert!(listener.status.success(), "C listener: {}", listener.status);
    let listener_out = String::from_utf8(listener.stdout).unwrap();

    // The C listener got our greeting and we got its answer ("have a nice day\n": a blank line).
    assert_eq!(
        listener_out,
        "Listener wait for Talker\nListener Start ===\nListener received : Hello, I'm talker\n"
    );
    assert!(talker.stdout.contains("the textbook's protocol"), "{}", talker.stdout);
    assert!(talker.stdout.contains("Listener said : have a nice day\n\n"), "{}", talker.stdout);
    assert!(talker.stdout.contains("nattch=2"), "the C listener is still attached: {}", talker.stdout);
    assert_gone(shmid);
    let both =
        format!("$ listener &   (the textbook's, in C)\n{listener_out}\n{}", talker.redacted(REDACTIONS));
    assert_transcript!("interop_c_listener", redact(&both, REDACTIONS));
}

fn our_listener_and_the_textbooks_talker() {
    let talker_c = c_program(env!("SHM_C_TALKER"));
    let dir = ScratchDir::new();
    let mut listener = Cmd::new("listener").current_dir(dir.path()).start();
    let line = listener.expect_line("Listener wait for Talker");
    let shmid: ShmId = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(shmctl_stat(shmid).is_ok(), "the listener's segment exists");

    let talker = start_c(&talker_c, &[&listener.pid().to_string()], dir.path()).wait_with_output().unwrap();
    let listener = listener.finish();
    listener.assert_success();
    assert!(talker.status.success(), "C talker: {}", talker.status);
    let talker_out = String::from_utf8(talker.stdout).unwrap();

    // Our answer has no "\n" of its own: the C talker's printf adds the only one.
    assert_eq!(talker_out, "Listener said : have a nice day\n");
    assert!(listener.stdout.contains("Listener received : Hello, I'm talker\n\n"), "{}", listener.stdout);
    assert!(listener.stdout.contains("the textbook's protocol"), "{}", listener.stdout);
    assert!(listener.stdout.contains("the segment is gone (the talker removed it)"), "{}", listener.stdout);
    assert_gone(shmid);
    assert!(!dir.path().join("shmfile").exists(), "the listener removes the key file it made");
    let both =
        format!("{}\n$ talker [PID]   (the textbook's, in C)\n{talker_out}", listener.redacted(REDACTIONS));
    assert_transcript!("interop_c_talker", both);
}

testkit::main!(the_textbooks_listener_and_our_talker, our_listener_and_the_textbooks_talker,);
