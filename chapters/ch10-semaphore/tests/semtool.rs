//! `semtool`: each subcommand does its one call; blocked waiters show in GETNCNT and GETZCNT; the
//! errors a student meets name their errno; SEM_UNDO gives back what a killed process held.

mod common;

use testkit::{Cmd, Signal, TestKey, assert_transcript};

fn semtool(args: &[&str]) -> testkit::Output {
    Cmd::new("semtool").args(args.iter().copied()).run()
}

/// Ids, keys, uids, the pid column and times differ between runs.
const REDACT: &[(&str, &str)] = &[
    (r"0x[0-9a-f]{8}", "KEY"),
    (r"set \d+", "set ID"),
    (r"semid=\d+", "semid=ID"),
    (r"uid \d+", "uid UID"),
    // The "last pid" column: its width varies with the pid, so replace the whole 10-column field.
    (r"(?m)^(\s+\d+\s+\d+)\s+\d+", "${1}       PID"),
    (r"\[TIME\] UTC", "[TIME]"),
];

#[test]
fn create_op_show_set_rm() {
    let key = TestKey::new();
    let k = key.arg();
    let steps = [
        semtool(&["create", &k, "2", "--values", "1", "2"]),
        semtool(&["show", &k]),
        semtool(&["op", &k, "0-1", "1-1"]),
        semtool(&["op", &k, "1=0", "--nowait"]), // member 1 is 1, not zero: EAGAIN
        semtool(&["op", &k, "1-1", "--nowait"]),
        semtool(&["op", &k, "1=0"]),
        semtool(&["show", &k]),
        semtool(&["set", &k, "3", "4"]),
        semtool(&["show", &k]),
        semtool(&["rm", &k]),
    ];
    steps[3].assert_error(1, "EAGAIN");
    for (index, out) in steps.iter().enumerate().filter(|(index, _)| *index != 3) {
        assert!(out.status.success(), "step {index} failed: {}\n{}", out.command, out.stderr);
    }
    // After `0-1 1-1` and `1-1`: both members are 0, and the last semop was this test's.
    let after_ops = &steps[6].stdout;
    assert!(after_ops.contains("     0      0  "), "{after_ops}");
    assert!(after_ops.contains("     1      0  "), "{after_ops}");
    assert!(steps[1].stdout.contains("last semop: never"), "no semop yet: sem_otime is 0");
    // The book shows the error line too, as a terminal would.
    let transcript: String =
        steps.iter().map(|out| out.redacted(REDACT) + &testkit::redact(&out.stderr, REDACT)).collect();
    assert_transcript!("semtool", transcript);
}

#[test]
fn getncnt_counts_a_blocked_waiter_and_a_post_releases_it() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1"]).assert_success(); // value 0: a -1 must wait
    let mut waiter = Cmd::new("semtool").args(["op", &k, "0-1"]).start();
    waiter.expect_line("about to semop [0-1]");
    let set = common::wait_until(&k, "the waiter in GETNCNT", |set| set[0].ncnt == 1);
    assert_eq!((set[0].value, set[0].zcnt), (0, 0));
    semtool(&["op", &k, "0+1"]).assert_success();
    let out = waiter.finish();
    out.assert_success();
    assert!(out.stdout.contains("semop completed: values now [0]"), "{}", out.stdout);
    let set = common::show(&k);
    assert_eq!((set[0].ncnt, set[0].pid), (0, out_pid(&out.stdout)), "GETPID: the waiter did the last semop");
    semtool(&["rm", &k]).assert_success();
}

/// The pid in the `[pid:N]` tag of the first line.
fn out_pid(stdout: &str) -> i32 {
    let tag = stdout.split(']').next().expect("a line");
    tag.trim_start_matches("[pid:").parse().expect("a pid")
}

#[test]
fn sem_op_zero_waits_until_the_value_is_zero() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1", "--values", "2"]).assert_success();
    let mut waiter = Cmd::new("semtool").args(["op", &k, "0=0"]).start();
    waiter.expect_line("about to semop [0=0]");
    common::wait_until(&k, "the waiter in GETZCNT", |set| set[0].zcnt == 1);
    semtool(&["op", &k, "0-1"]).assert_success();
    // Still 1: the waiter must still be waiting.
    let set = common::show(&k);
    assert_eq!((set[0].value, set[0].zcnt), (1, 1));
    semtool(&["op", &k, "0-1"]).assert_success();
    waiter.finish().assert_success();
    semtool(&["rm", &k]).assert_success();
}

#[test]
fn removing_the_set_wakes_a_waiter_with_eidrm() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1"]).assert_success();
    let mut waiter = Cmd::new("semtool").args(["op", &k, "0-1"]).start();
    waiter.expect_line("about to semop");
    common::wait_until(&k, "the waiter in GETNCNT", |set| set[0].ncnt == 1);
    semtool(&["rm", &k]).assert_success();
    waiter.finish().assert_error(1, "EIDRM");
}

/// Take the lock in a process that stays alive (`--hold`), then kill it with SIGKILL, which no
/// program can catch: only the kernel's undo record can give the lock back.
fn kill_a_holder(key: &str, undo: bool) {
    let mut args = vec!["op", key, "0-1", "--hold"];
    if undo {
        args.push("--undo");
    }
    let mut holder = Cmd::new("semtool").args(args).start();
    holder.expect_line("holding");
    assert_eq!(common::show(key)[0].value, 0, "the holder has the lock");
    holder.signal(Signal::SIGKILL);
    assert_eq!(holder.finish().code(), None, "killed by SIGKILL");
}

#[test]
fn sem_undo_gives_the_lock_back_when_its_holder_is_killed() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1", "--values", "1"]).assert_success();
    kill_a_holder(&k, true);
    assert_eq!(common::show(&k)[0].value, 1, "the kernel undid the -1");
    // The others are not blocked: semlock's three children get the lock in turn (and leave the
    // set, which semlock only found, to its creator).
    let out = Cmd::new("semlock").args(["--key", &k, "--hold-ms", "0"]).run();
    out.assert_success();
    assert_eq!(out.stdout.matches("Unlock : process").count(), 3);
    semtool(&["rm", &k]).assert_success();
}

#[test]
fn without_sem_undo_the_lock_stays_taken_after_its_holder_dies() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1", "--values", "1"]).assert_success();
    kill_a_holder(&k, false);
    assert_eq!(common::show(&k)[0].value, 0, "nobody gave the lock back");
    // A blocking lock would wait forever; --nowait shows it at once.
    semtool(&["op", &k, "0-1", "--nowait"]).assert_error(1, "EAGAIN");
    semtool(&["rm", &k]).assert_success();
}

#[test]
fn errors_name_their_errno() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "1", "--values", "32767"]).assert_success();
    semtool(&["create", &k, "1"]).assert_error(1, "EEXIST");
    semtool(&["op", &k, "0+1"]).assert_error(1, "ERANGE");
    semtool(&["set", &k, "32768"]).assert_error(1, "ERANGE");
    semtool(&["op", &k, "1-1"]).assert_error(1, "EFBIG");
    semtool(&["set", &k, "1", "2"]).assert_error(1, "the set has 1 members but 2 values");
    semtool(&["rm", &k]).assert_success();
    semtool(&["rm", &k]).assert_error(1, "ENOENT");
    semtool(&["create", &k, "0"]).assert_error(1, "EINVAL");
    semtool(&["op", &k, "0-x"]).assert_error(2, "is not a semaphore operation");
    semtool(&["op", &k, "0+40000"]).assert_error(2, "is not a semaphore operation");
    semtool(&["create", &k, "1", "--mode", "999"]).assert_error(2, "is not a permission mode");
}

#[test]
fn operating_without_write_permission_is_eacces() {
    let key = TestKey::new();
    let k = key.arg();
    if testkit::is_root() {
        // Root bypasses the check, so root creates and sets the set, and `nobody` (no permission:
        // mode 400 gives others nothing) is refused.
        semtool(&["create", &k, "1", "--values", "1", "--mode", "400"]).assert_success();
        Cmd::new("semtool").args(["op", &k, "0-1"]).unprivileged().run().assert_error(1, "EACCES");
        assert_eq!(common::show(&k)[0].value, 1);
    } else {
        // A student's own read-only set: even its creator may not alter it, not even to give it its
        // first values (the set made for them is removed again).
        semtool(&["create", &k, "1", "--values", "1", "--mode", "400"])
            .assert_error(1, "SETALL): EACCES (Permission denied): mode 400 does not let you alter");
        semtool(&["create", &k, "1", "--mode", "400"]).assert_success();
        semtool(&["op", &k, "0+1"]).assert_error(1, "EACCES");
        assert_eq!(common::show(&k)[0].value, 0);
    }
    semtool(&["rm", &k]).assert_success();
}

/// Slide 46's `semctl(semid, 2, SETVAL, semarg)`: one member changes, the others keep their values.
#[test]
fn setval_sets_one_member() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "3", "--values", "1", "2", "3"]).assert_success();
    let out = semtool(&["setval", &k, "2", "5"]);
    out.assert_success();
    assert!(out.stdout.contains("member 2 set to 5"), "{}", out.stdout);
    let values: Vec<i32> = common::show(&k).iter().map(|member| member.value).collect();
    assert_eq!(values, [1, 2, 5]);
    semtool(&["setval", &k, "0", "32768"]).assert_error(1, "ERANGE");
    semtool(&["setval", &k, "3", "1"]).assert_error(1, "EINVAL");
    semtool(&["rm", &k]).assert_success();
}

/// Several operations in one command are one semop: all or nothing, waiting or not.
#[test]
fn ops_in_one_command_are_all_or_nothing() {
    let key = TestKey::new();
    let k = key.arg();
    semtool(&["create", &k, "2", "--values", "1", "0"]).assert_success();
    semtool(&["op", &k, "0-1", "1-1", "--nowait"]).assert_error(1, "EAGAIN");
    assert_eq!(common::show(&k)[0].value, 1, "member 0 untouched when member 1 cannot be taken");
    let mut waiter = Cmd::new("semtool").args(["op", &k, "0-1", "1-1"]).start();
    waiter.expect_line("about to semop");
    let set = common::wait_until(&k, "the waiter asleep", |set| set[0].ncnt + set[1].ncnt == 1);
    assert_eq!((set[0].value, set[1].value), (1, 0), "asleep holding nothing");
    semtool(&["op", &k, "1+1"]).assert_success();
    waiter.finish().assert_success();
    let set = common::show(&k);
    assert_eq!((set[0].value, set[1].value), (0, 0), "both taken together");
    semtool(&["rm", &k]).assert_success();
}
