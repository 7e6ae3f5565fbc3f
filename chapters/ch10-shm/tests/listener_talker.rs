//! `listener` and `talker`: two independent programs meet in one segment by key, take turns by
//! signal (no sleeps, here or in them), and leave nothing behind.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use shared::ipc::ShmId;
use shared::shm::shmctl_stat;
use testkit::{Cmd, Running, ScratchDir, Signal, TestKey, assert_transcript};

const REDACTIONS: &[(&str, &str)] = &[
    (r"(shmid[ =])\d+", "${1}[ID]"),
    (r"\bkey 0x[0-9a-f]+", "key [KEY]"),
    (r"\b(c|l)pid=\d+", "${1}pid=[PID]"),
    (r"(talker|listener) \d+", "$1 [PID]"),
    (r"/\S*/shmfile", "[TMPDIR]/shmfile"),
];

/// Start a listener and wait for its "Listener wait for Talker: pid N, key K, shmid S" line.
fn start_listener(cmd: Cmd) -> (Running, String, ShmId) {
    let mut listener = cmd.start();
    let line = listener.expect_line("Listener wait for Talker");
    let pid = field(&line, "pid ");
    let shmid = field(&line, "shmid ").parse().expect("shmid");
    assert!(shmctl_stat(shmid).is_ok(), "the listener's segment {shmid} exists while it waits");
    (listener, pid, shmid)
}

/// The value after `name` in `line`, up to a comma or the end.
fn field(line: &str, name: &str) -> String {
    let rest = line.split(name).nth(1).unwrap_or_else(|| panic!("no {name:?} in {line:?}"));
    rest.split(',').next().unwrap().to_owned()
}

fn assert_gone(shmid: ShmId) {
    assert!(shmctl_stat(shmid).is_err(), "shmid {shmid} should be removed");
}

#[test]
fn the_talker_greets_the_listener_and_reads_its_answer() {
    let key = TestKey::new();
    let (listener, pid, shmid) = start_listener(Cmd::new("listener").args(["--key", &key.arg()]));
    let talker = Cmd::new("talker").args([pid.as_str(), "--key", &key.arg()]).run();
    talker.assert_success();
    let listener = listener.finish();
    listener.assert_success();

    assert!(listener.stdout.contains("Listener received : Hello, I'm talker\n"));
    assert!(talker.stdout.contains("Listener said : have a nice day\n"));
    assert!(talker.stdout.contains("nattch=2"), "both still attached when the talker looks");
    assert!(talker.stdout.contains(&format!("cpid={pid} (listener)")));
    assert_gone(shmid);
    let both = format!("{}\n{}", listener.redacted(REDACTIONS), talker.redacted(REDACTIONS));
    assert_transcript!("listener_talker", both);
}

#[test]
fn with_the_default_key_file_in_the_current_directory() {
    let dir = ScratchDir::new();
    let (listener, pid, shmid) = start_listener(Cmd::new("listener").current_dir(dir.path()));
    assert!(dir.path().join("shmfile").exists(), "the listener made the key file");
    let talker = Cmd::new("talker").arg(pid).current_dir(dir.path()).run();
    talker.assert_success();
    let listener = listener.finish();
    listener.assert_success();
    assert!(
        listener
            .stdout
            .starts_with("listener: created the key file shmfile (ftok needs a file that exists)\n")
    );
    assert!(talker.stdout.contains("Listener said : have a nice day\n"));
    assert!(!dir.path().join("shmfile").exists(), "the listener removes the key file it made");
    assert_gone(shmid);
}

#[test]
fn the_demo_runs_both_programs() {
    let out = Cmd::new("listener").arg("--demo").run();
    out.assert_success();
    let key_file = field(out.stdout.lines().next().unwrap(), "key file ");
    let key_file = key_file.split(' ').next().unwrap();
    assert!(!Path::new(key_file).parent().unwrap().exists(), "the demo's directory is removed");
    let shmid =
        field(&out.stdout, "shmid ").split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    assert_gone(shmid);
    assert_transcript!("listener_demo", out.redacted(REDACTIONS));
}

#[test]
fn ctrl_c_while_waiting_removes_the_segment_and_the_key_file() {
    let dir = ScratchDir::new();
    let (listener, _pid, shmid) = start_listener(Cmd::new("listener").current_dir(dir.path()));
    listener.signal(Signal::SIGINT);
    let out = listener.finish();
    assert_eq!(out.status.signal(), Some(Signal::SIGINT as i32));
    assert_gone(shmid);
    assert!(!dir.path().join("shmfile").exists());
}

#[test]
fn a_talker_with_a_pid_that_does_not_exist_signals_nobody() {
    let key = TestKey::new();
    let (listener, _pid, shmid) = start_listener(Cmd::new("listener").args(["--key", &key.arg()]));
    // Pids stay below pid_max, at most 2^22 = 4194304.
    Cmd::new("talker")
        .args(["99999999", "--key", &key.arg()])
        .run()
        .assert_error(1, "kill(99999999, 0): ESRCH");
    // A pid that exists but is not the listener (this test) is refused before any signal is sent.
    let me = std::process::id().to_string();
    Cmd::new("talker").args([me.as_str(), "--key", &key.arg()]).run().assert_error(1, "is not the listener");
    // The listener is still waiting, untouched.
    listener.signal(Signal::SIGINT);
    listener.finish();
    assert_gone(shmid);
}

#[test]
fn a_talker_without_a_listener_finds_no_segment() {
    let key = TestKey::new();
    let out = Cmd::new("talker").args(["1", "--key", &key.arg()]).run();
    out.assert_error(1, "ENOENT");
    assert!(out.stderr.contains(&format!("shmget(key={}", key.arg())), "names the call: {}", out.stderr);
}

#[test]
fn a_talker_without_the_key_file_says_so() {
    let dir = ScratchDir::new();
    Cmd::new("talker").arg("1").current_dir(dir.path()).run().assert_error(1, "ftok(shmfile, 1): ENOENT");
}

#[test]
fn bad_pids_are_usage_errors() {
    Cmd::new("talker").run().assert_error(2, "<PID>");
    Cmd::new("talker").arg("0").run().assert_error(2, "invalid value '0'");
    Cmd::new("talker").arg("abc").run().assert_error(2, "invalid value 'abc'");
}

/// A listener stopped (SIGSTOP) while the talker waits for its answer: the talker waits, and
/// SIGTERM ends it at once; a listener then killed for good is noticed, and the talker says so.
#[test]
fn a_talker_whose_listener_stops_or_dies_does_not_wait_for_ever() {
    let key = TestKey::new();
    let (mut listener, pid, shmid) = start_listener(Cmd::new("listener").args(["--key", &key.arg()]));
    // Stopped: it cannot answer yet, but it could be continued, so the talker keeps waiting.
    listener.signal(Signal::SIGSTOP);
    let mut talker = Cmd::new("talker").args(["--key", &key.arg(), &pid]).start();
    talker.expect_line("SIGUSR1 to listener");
    let asked = std::time::Instant::now();
    talker.signal(Signal::SIGTERM);
    talker.wait_for_exit();
    assert!(asked.elapsed() < std::time::Duration::from_secs(3), "SIGTERM took {:?}", asked.elapsed());

    // Killed while the talker waits: the talker notices and ends with one clear line.
    let mut talker = Cmd::new("talker").args(["--key", &key.arg(), &pid]).start();
    talker.expect_line("SIGUSR1 to listener");
    // Killed only once the talker waits for the answer (its SIGUSR1 sent).
    testkit::wait_until_sleeping_in(talker.pid(), "do_sigtimedwait").unwrap();
    listener.signal(Signal::SIGKILL);
    listener.wait_for_exit(); // reaped: no zombie left to look alive
    let out = talker.finish();
    out.assert_error(1, &format!("listener {pid} ended without answering"));
    // SIGKILL left the listener's segment: remove it, as the message says.
    shared::shm::shmctl_rmid(shmid).expect("remove the killed listener's segment");
}
