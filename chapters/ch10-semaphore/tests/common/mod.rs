//! What several test files need: reading `semtool show`, waiting for a state with a deadline, and
//! reading a witness file.
#![allow(dead_code)] // each test file uses a part of it

use std::time::{Duration, Instant};

use testkit::Cmd;

/// One member's row of `semtool show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub value: i32,
    pub pid: i32,
    pub ncnt: i32,
    pub zcnt: i32,
}

/// Every member of the set for `key`, as `semtool show` reports them.
pub fn show(key: &str) -> Vec<Member> {
    let out = Cmd::new("semtool").args(["show", key]).run();
    out.assert_success();
    out.stdout
        .lines()
        .skip_while(|line| !line.starts_with("member"))
        .skip(1)
        .map(|line| {
            let n: Vec<i32> = line.split_whitespace().map(|n| n.parse().expect("a number")).collect();
            Member { value: n[1], pid: n[2], ncnt: n[3], zcnt: n[4] }
        })
        .collect()
}

/// Poll `semtool show` until `ready` holds for the set (a state check with a deadline, not a
/// timed sleep), and return that state.
pub fn wait_until(key: &str, what: &str, ready: impl Fn(&[Member]) -> bool) -> Vec<Member> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let members = show(key);
        if ready(&members) {
            return members;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}; the set is now {members:?}");
        std::thread::yield_now();
    }
}

/// Read a `--witness` file (`enter PID` / `leave PID` records, appended inside each critical
/// section) and check that no two processes were ever inside at once. Returns the pids, in the
/// order they went in.
pub fn one_at_a_time(path: &std::path::Path) -> Vec<i32> {
    let records = std::fs::read_to_string(path).expect("read the witness file");
    let mut inside: Option<i32> = None;
    let mut order = Vec::new();
    for record in records.lines() {
        let (what, pid) = record.split_once(' ').expect("a record");
        let pid: i32 = pid.parse().expect("a pid");
        match (what, inside) {
            ("enter", None) => {
                inside = Some(pid);
                order.push(pid);
            }
            ("leave", Some(holder)) if holder == pid => inside = None,
            _ => panic!("{what} {pid} while {inside:?} was inside: mutual exclusion broken:\n{records}"),
        }
    }
    assert_eq!(inside, None, "a process never left:\n{records}");
    order
}
