//! `semlock`: with the semaphore the critical sections take turns; without it they overlap; the set
//! is removed however the demo ends; initsem waits for its creator.

mod common;

use testkit::{Cmd, IpcNamespace, ScratchDir, Signal, TestKey, assert_transcript, process_group_alive};

/// What differs between runs besides pids: the test's key and the set's id.
const REDACT: &[(&str, &str)] = &[
    (r"--key 0x[0-9a-f]+", "--key KEY"),
    (r"key=0x[0-9a-f]+", "key=KEY"),
    (r"semaphore set \d+", "semaphore set ID"),
];

/// The child lines in order: `("Lock", Some(pid))`, `("Critical", None)`, `("Unlock", Some(pid))`.
fn steps(stdout: &str) -> Vec<(&'static str, Option<u32>)> {
    let pid = |line: &str| line.rsplit(' ').next().and_then(|pid| pid.parse().ok());
    stdout
        .lines()
        .filter_map(|line| {
            if line.starts_with("Lock : process ") {
                Some(("Lock", pid(line)))
            } else if line == "** Lock Mode : Critical Section" {
                Some(("Critical", None))
            } else if line.starts_with("Unlock : process ") {
                Some(("Unlock", pid(line)))
            } else {
                None
            }
        })
        .collect()
}

fn critical_sections_take_turns() {
    let key = TestKey::new();
    let out = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "50"]).run();
    out.assert_success();
    let steps = steps(&out.stdout);
    assert_eq!(steps.len(), 9, "three children, three lines each:\n{}", out.stdout);
    let mut seen = Vec::new();
    for section in steps.chunks(3) {
        // Each Lock is followed by its own Critical and Unlock before anyone else's Lock.
        let (lock, critical, unlock) = (section[0], section[1], section[2]);
        assert_eq!((lock.0, critical.0, unlock.0), ("Lock", "Critical", "Unlock"), "{}", out.stdout);
        assert_eq!(lock.1, unlock.1, "another process unlocked inside this section:\n{}", out.stdout);
        seen.push(lock.1.expect("a pid"));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three different children:\n{}", out.stdout);
    assert_transcript!("semlock", out.redacted(REDACT));
}

/// The witness file, written inside each critical section, shows one holder at a time, and the
/// set's value is 1 again at the end: the kernel's record, not the program's stdout.
fn the_witness_sees_one_holder_at_a_time() {
    let key = TestKey::new();
    let dir = ScratchDir::new();
    let witness = dir.path().join("witness");
    let args = ["--key", &key.arg(), "--hold-ms", "50", "--children", "5"];
    let out = Cmd::new("semlock").args(args).arg("--witness").arg(witness.to_str().unwrap()).run();
    out.assert_success();
    let mut order = common::one_at_a_time(&witness);
    order.sort();
    order.dedup();
    assert_eq!(order.len(), 5, "five different children went in");
}

/// SEM_UNDO: kill the child that holds the lock, and the kernel gives it back to the next one.
fn a_killed_holder_gives_the_lock_back() {
    let key = TestKey::new();
    let mut running = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "600000"]).start();
    let line = running.expect_line("Lock : process");
    let holder: i32 = line.rsplit(' ').next().and_then(|pid| pid.parse().ok()).expect("a pid");
    common::wait_until(&key.arg(), "two children waiting for the lock", |set| set[0].ncnt == 2);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(holder), Signal::SIGKILL).expect("kill the holder");
    // Without SEM_UNDO on its P the value stays 0, and this line never comes.
    let next = running.expect_line("Lock : process");
    assert!(!next.ends_with(&format!(" {holder}")), "{next}");
    running.signal_group(Signal::SIGINT);
    running.finish();
}

fn without_the_lock_every_child_is_inside_at_once() {
    let key = TestKey::new();
    let dir = ScratchDir::new();
    let witness = dir.path().join("witness");
    let out = Cmd::new("semlock")
        .args(["--key", &key.arg(), "--no-lock", "--hold-ms", "0", "--witness", witness.to_str().unwrap()])
        .run();
    out.assert_success();
    let records = std::fs::read_to_string(&witness).unwrap();
    assert!(
        records.starts_with("enter ") && records.lines().nth(1).unwrap().starts_with("enter "),
        "{records}"
    );
    let steps = steps(&out.stdout);
    let first_unlock = steps.iter().position(|step| step.0 == "Unlock").expect("an Unlock");
    let locks_before = steps[..first_unlock].iter().filter(|step| step.0 == "Lock").count();
    assert_eq!(locks_before, 3, "all three Locks come before the first Unlock:\n{}", out.stdout);
}

fn no_set_or_child_is_left_after_ctrl_c() {
    let key = TestKey::new(); // its drop fails the test if the set is still there
    let mut running = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "20000"]).start();
    running.expect_line("Lock : process");
    // One child holds the lock; wait until the other two are blocked on it (GETNCNT = 2), so every
    // child has been forked before the signal comes.
    common::wait_until(&key.arg(), "two children waiting for the lock", |set| set[0].ncnt == 2);
    let group = running.pid();
    running.signal(Signal::SIGINT); // the parent alone: it must stop its children itself
    let out = running.finish();
    assert_eq!(out.code(), None, "killed by SIGINT, as the shell would report:\n{}", out.stderr);
    assert!(!process_group_alive(group), "a child of semlock is still running");
}

fn no_lock_barrier_set_is_removed_after_ctrl_c_too() {
    // The --no-lock barrier is an IPC_PRIVATE set: no key finds it, so look in a private namespace.
    let Some(namespace) = IpcNamespace::new() else {
        testkit::skip(testkit::NO_NAMESPACE);
    };
    let mut running = namespace.cmd("semlock").args(["--no-lock", "--hold-ms", "20000"]).start();
    for _ in 0..3 {
        running.expect_line("** Lock Mode : Critical Section");
    }
    running.signal_group(Signal::SIGINT); // as ^C on a terminal: parent and children
    running.finish();
    assert_eq!(namespace.objects(), Vec::<String>::new(), "semlock left objects behind");
}

fn initsem_waits_for_the_creator_to_initialise() {
    let key = TestKey::new();
    // A set that exists but was never touched by semop: its creator is "still initialising".
    Cmd::new("semtool").args(["create", &key.arg(), "1"]).run().assert_success();
    let out = Cmd::new("semlock").args(["--key", &key.arg(), "--init-wait-ms", "100"]).run();
    out.assert_error(1, "sem_otime is 0");

    // The creator finishes: its semop stamps sem_otime, and the waiter goes on.
    let mut running = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "0"]).start();
    running.expect_line("not initialised yet (sem_otime is 0): waiting");
    Cmd::new("semtool").args(["op", &key.arg(), "0+1"]).run().assert_success();
    let out = running.finish();
    out.assert_success();
    assert_eq!(steps(&out.stdout).len(), 9, "{}", out.stdout);
    // semtool made the set: semlock only found it, so it is still there for semtool to remove.
    assert!(out.stdout.contains("left to the process that created it"), "{}", out.stdout);
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

/// A set found under the key is never removed: not by the parent, not by a child.
fn a_set_it_only_found_is_left_to_its_creator() {
    let key = TestKey::new();
    Cmd::new("semtool").args(["create", &key.arg(), "1"]).run().assert_success();
    Cmd::new("semtool").args(["op", &key.arg(), "0+1"]).run().assert_success(); // initialised
    let out = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "0"]).run();
    out.assert_success();
    assert_eq!(common::show(&key.arg())[0].value, 1, "still there, unlocked");
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

/// Two runs on one key at once: the first creates and removes the set; the second only uses it, and
/// either finishes first (leaving the set) or is told clearly that its creator removed it.
fn two_runs_on_one_key_never_remove_each_others_set() {
    let key = TestKey::new();
    let mut first = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "100"]).start();
    first.expect_line("parent: initsem");
    let second = Cmd::new("semlock").args(["--key", &key.arg(), "--hold-ms", "0"]).run();
    let first = first.finish();
    first.assert_success();
    assert!(first.stdout.contains("semaphore set removed"), "{}", first.stdout);
    if second.code() == Some(0) {
        assert!(second.stdout.contains("left to the process that created it"), "{}", second.stdout);
    } else {
        second.assert_error(
            1,
            "removed while this run used it (its creator ended, or ipcrm); give each run its own key",
        );
    }
}

/// A wait for another process to initialise the set ends at once on SIGTERM (and on Ctrl-C).
fn the_wait_for_initialisation_can_be_interrupted() {
    let key = TestKey::new();
    Cmd::new("semtool").args(["create", &key.arg(), "1"]).run().assert_success();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let mut running = Cmd::new("semlock").args(["--key", &key.arg(), "--init-wait-ms", "60000"]).start();
        running.expect_line("not initialised yet (sem_otime is 0): waiting");
        let asked = std::time::Instant::now();
        running.signal_group(signal);
        running.wait_for_exit();
        assert!(asked.elapsed() < std::time::Duration::from_secs(5), "{signal:?} took {:?}", asked.elapsed());
        assert!(!process_group_alive(running.pid()), "a child outlived {signal:?}");
    }
    // The set was semtool's: still there.
    Cmd::new("semtool").args(["rm", &key.arg()]).run().assert_success();
}

fn bad_input_is_one_clear_line() {
    Cmd::new("semlock").args(["--children", "0"]).run().assert_error(2, "--children");
    Cmd::new("semlock").args(["--key", "bogus"]).run().assert_error(2, "not a key");
}

testkit::main!(
    critical_sections_take_turns,
    the_witness_sees_one_holder_at_a_time,
    a_killed_holder_gives_the_lock_back,
    without_the_lock_every_child_is_inside_at_once,
    no_set_or_child_is_left_after_ctrl_c,
    no_lock_barrier_set_is_removed_after_ctrl_c_too,
    initsem_waits_for_the_creator_to_initialise,
    a_set_it_only_found_is_left_to_its_creator,
    two_runs_on_one_key_never_remove_each_others_set,
    the_wait_for_initialisation_can_be_interrupted,
    bad_input_is_one_clear_line,
);
