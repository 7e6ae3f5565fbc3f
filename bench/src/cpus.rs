//! Where the two processes run: `--cpus 0` (both on one CPU), `--cpus 0,1` (the parent on CPU 0,
//! the child on CPU 1) or `--cpus any` (wherever the scheduler puts them).
//!
//! On one CPU the processes take turns: every hand-over is a context switch on that CPU, and
//! nothing runs in parallel. On two, the reader can copy while the writer writes, but every
//! wake-up crosses to the other CPU (an inter-processor interrupt; in a virtual machine, a trip
//! through the hypervisor) and the message's cache lines follow it. Left alone, the scheduler
//! sometimes keeps both processes on one CPU and sometimes not, so unpinned figures jump between
//! the two stories from run to run; pinning makes each one repeatable. The CPUs are set with
//! `sched_setaffinity(2)`: the parent's before anything forks (the C baseline inherits them
//! through `exec`), each child's right after its fork.

use std::fmt;
use std::str::FromStr;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use shared::process::{Child, fork_child};
use shared::{CallContext, Error, Result};

use crate::sys::{Policy, sched_setscheduler};

/// A placement: a list of CPU numbers (`0`, `0,1`, `0-3`), or none for `any`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

impl FromStr for CpuList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "any" {
            return Ok(CpuList(Vec::new()));
        }
        let bad = || format!("'{text}' is not a CPU list: write e.g. 0, 0,1, 0-3 or any");
        let mut cpus = Vec::new();
        for part in text.split(',') {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let first: usize = first.trim().parse().map_err(|_| bad())?;
            let last: usize = last.trim().parse().map_err(|_| bad())?;
            if first > last || last >= CpuSet::count() {
                return Err(bad());
            }
            cpus.extend(first..=last);
        }
        // The order is kept: the first CPU is the parent's.
        let mut seen = Vec::new();
        cpus.retain(|cpu| {
            !seen.contains(cpu) && {
                seen.push(*cpu);
                true
            }
        });
        Ok(CpuList(cpus))
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("any");
        }
        let list: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&list.join(","))
    }
}

impl CpuList {
    /// The parent's CPUs (and the C baseline's, and memcpy's); `None`: not pinned.
    pub fn parent(&self) -> Option<CpuList> {
        self.0.first().map(|&cpu| CpuList(vec![cpu]))
    }

    /// Each child's CPUs: the same one, or all but the parent's; `None`: not pinned.
    pub fn child(&self) -> Option<CpuList> {
        match self.0.as_slice() {
            [] => None,
            [only] => Some(CpuList(vec![*only])),
            [_, rest @ ..] => Some(CpuList(rest.to_vec())),
        }
    }

    /// What this placement means for two processes passing messages.
    pub fn story(&self) -> String {
        match self.0.as_slice() {
            [] => "not pinned: the scheduler places the processes, and may keep both on one CPU".to_owned(),
            [cpu] => {
                format!("both processes on CPU {cpu}: they take turns, every hand-over is a context switch")
            }
            [parent, ..] => format!(
                "the parent on CPU {parent}, the child on CPU {}: they run at once, every wake-up crosses CPUs",
                self.child().expect("a child's CPUs")
            ),
        }
    }
}

/// The CPUs this process may use now (`sched_getaffinity`).
pub fn allowed() -> Result<CpuList> {
    let set = sched_getaffinity(Pid::from_raw(0)).call("sched_getaffinity(0)")?;
    Ok(CpuList((0..CpuSet::count()).filter(|&cpu| set.is_set(cpu).unwrap_or(false)).collect()))
}

/// Run this process, and everything it starts from now on, on `cpus` only.
pub fn pin(cpus: &CpuList) -> Result<()> {
    let mut set = CpuSet::new();
    for &cpu in &cpus.0 {
        set.set(cpu).map_err(|_| Error::other(format!("CPU {cpu} is out of range")))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).call(format!("sched_setaffinity(0, cpus {cpus})"))
}

/// Keep each of `cpus` from idling while the returned children live: on each, a process that only
/// spins, at `SCHED_IDLE`, so it runs when nothing else wants the CPU and yields at once to any
/// process that wakes there. An idle virtual CPU halts, and a wake-up sent to a halted one waits
/// for the hypervisor to run it again (tens of microseconds in the book's figures), at moments
/// that depend on how long each side slept: the two sides' figures scattered by 30% and more.
pub fn keep_awake(cpus: &CpuList) -> Result<Vec<Child>> {
    let parent = nix::unistd::getpid();
    let spin = |cpu: usize| {
        fork_child(move || {
            // Killed with its parent, even by SIGKILL: a spinner left behind would spin forever.
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).call("prctl(PR_SET_PDEATHSIG)")?;
            if nix::unistd::getppid() != parent {
                return Ok(()); // the parent died before the line above
            }
            pin(&CpuList(vec![cpu]))?;
            sched_setscheduler(Policy::Idle)?;
            loop {
                std::hint::spin_loop();
            }
        })
    };
    cpus.0.iter().map(|&cpu| spin(cpu)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field `n` (as numbered in proc(5)) of `/proc/PID/stat`, or `None` once the process is gone.
    fn stat_field(pid: impl fmt::Display, n: usize) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command's ")" start at 3.
        stat.rsplit_once(") ")?.1.split(' ').nth(n - 3).map(str::to_owned)
    }

    #[test]
    fn lists_parse_and_split_between_parent_and_child() {
        assert_eq!("0".parse(), Ok(CpuList(vec![0])));
        assert_eq!("1,0".parse(), Ok(CpuList(vec![1, 0])), "the first is the parent's");
        assert_eq!("0-2,5,1".parse(), Ok(CpuList(vec![0, 1, 2, 5])));
        assert_eq!("any".parse(), Ok(CpuList(vec![])));
        assert!("2-1".parse::<CpuList>().is_err());
        assert!("x".parse::<CpuList>().is_err());
        assert_eq!(CpuList(vec![0, 1]).to_string(), "0,1");
        assert_eq!(CpuList(vec![]).to_string(), "any");
        let split = CpuList(vec![0, 1, 2]);
        assert_eq!((split.parent(), split.child()), (Some(CpuList(vec![0])), Some(CpuList(vec![1, 2]))));
        let one = CpuList(vec![3]);
        assert_eq!((one.parent(), one.child()), (Some(CpuList(vec![3])), Some(CpuList(vec![3]))));
        assert_eq!(CpuList(vec![]).child(), None);
    }

    #[test]
    fn a_kept_awake_cpu_has_a_spinner_at_sched_idle_until_dropped() {
        let cpu = allowed().unwrap().0[0];
        let spinners = keep_awake(&CpuList(vec![cpu])).unwrap();
        let pid = spinners[0].pid();
        // Field 39 is the CPU it last ran on, 41 its policy.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while stat_field(pid, 41) != Some(libc::SCHED_IDLE.to_string()) {
            assert!(std::time::Instant::now() < deadline, "never SCHED_IDLE: {:?}", stat_field(pid, 41));
            std::thread::yield_now();
        }
        assert_eq!(stat_field(pid, 39), Some(cpu.to_string()), "pinned");
        drop(spinners);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "stopped and reaped");
    }

    #[test]
    fn a_spinner_dies_with_its_parent_even_by_sigkill() {
        let cpu = allowed().unwrap().0[0];
        // A go-between process makes a spinner and is then killed with SIGKILL: no clean-up runs.
        let (read, write) = nix::unistd::pipe().unwrap();
        let middle = fork_child(move || {
            let spinners = keep_awake(&CpuList(vec![cpu]))?;
            let pid = spinners[0].pid().to_string();
            nix::unistd::write(&write, pid.as_bytes()).call("write")?;
            std::mem::forget(spinners);
            loop {
                nix::unistd::pause();
            }
        })
        .unwrap();
        let mut pid = [0; 16];
        let len = nix::unistd::read(&read, &mut pid).unwrap();
        let spinner: i32 = std::str::from_utf8(&pid[..len]).unwrap().parse().unwrap();
        middle.kill(Signal::SIGKILL).unwrap();
        let status = middle.wait().unwrap();
        assert_eq!(status.to_string(), "killed by SIGKILL");
        // The spinner is the middle's child, now the init process's: it must not be running.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let state = || stat_field(spinner, 3).unwrap_or_else(|| "-".to_owned());
        while !matches!(state().as_str(), "-" | "Z" | "X") {
            assert!(std::time::Instant::now() < deadline, "the spinner outlived its parent");
            std::thread::yield_now();
        }
    }
}
