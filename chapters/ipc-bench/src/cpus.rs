//! Which CPUs the processes may run on: `--cpus 0` (one CPU) or `--cpus 0,1` (two).
//!
//! On one CPU the two processes take turns: every hand-over is a context switch on that CPU, and
//! nothing runs in parallel. On two, the reader can copy while the writer writes, but a wake-up
//! often crosses to the other CPU (an inter-processor interrupt, and the cache lines of the
//! message follow). Which one wins depends on the mechanism and the size, so the benchmark can
//! measure under both. The set is applied to this process with `sched_setaffinity(2)` before
//! anything forks; children, and the C baseline after its `exec`, inherit it.

use std::fmt;
use std::str::FromStr;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use shared::{CallContext, Error, Result};

/// A set of CPU numbers, written `0`, `0,1` or `0-3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

impl FromStr for CpuList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a CPU list: write e.g. 0, 0,1 or 0-3");
        let mut cpus = Vec::new();
        for part in text.split(',') {
            let (first, last) = match part.split_once('-') {
                Some((first, last)) => (first, last),
                None => (part, part),
            };
            let first: usize = first.trim().parse().map_err(|_| bad())?;
            let last: usize = last.trim().parse().map_err(|_| bad())?;
            if first > last || last >= CpuSet::count() {
                return Err(bad());
            }
            cpus.extend(first..=last);
        }
        cpus.sort_unstable();
        cpus.dedup();
        Ok(CpuList(cpus))
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&list.join(","))
    }
}

impl CpuList {
    /// What this set means for two processes passing messages.
    pub fn story(&self) -> &'static str {
        if self.0.len() == 1 {
            "one CPU: the processes take turns, every hand-over is a context switch"
        } else {
            "the processes can run at once; a wake-up may cross to another CPU"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        assert_eq!("0".parse(), Ok(CpuList(vec![0])));
        assert_eq!("1,0".parse(), Ok(CpuList(vec![0, 1])));
        assert_eq!("0-2,5".parse(), Ok(CpuList(vec![0, 1, 2, 5])));
        assert!("2-1".parse::<CpuList>().is_err());
        assert!("x".parse::<CpuList>().is_err());
        assert_eq!(CpuList(vec![0, 1]).to_string(), "0,1");
    }
}
