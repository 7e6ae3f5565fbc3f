//! What `/proc` says about a program's processes: its CPUs, its process group, where it sleeps.

use std::time::{Duration, Instant};

/// The first CPU this test process may run on: the one to pin "both on one CPU" runs to. A grader
/// may run the tests in a container or under `taskset` without CPU 0.
pub fn first_allowed_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list in /proc/self/status");
    list.trim().split([',', '-']).next().expect("one CPU at least").to_owned()
}

/// Whether any process is left in process group `pgid` (a program's forgotten child, say).
pub fn process_group_alive(pgid: i32) -> bool {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok()
}

/// The processes still in process group `pgid`, each as `pid (name) state` from `/proc`, to say in a
/// failure message what was left behind (`Z` is a zombie nobody reaped, `S` a sleeper).
pub fn process_group_members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces, so split after its `)`.
            let (head, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            (fields.get(2)?.parse::<i32>().ok()? == pgid).then(|| {
                let name = head.split_once('(').map_or("?", |(_, name)| name);
                format!("{pid} ({name}) {} ppid {}", fields[0], fields[1])
            })
        })
        .collect()
}

/// Wait until process `pid` is asleep in the kernel function `wchan` (`do_msgrcv`, `do_semtimedop`:
/// see `/proc/PID/wchan`), so a test knows a program is blocked on an object before it changes the
/// object. Polls a state the kernel changes, with a 10 s deadline: not a timed sleep. Where the
/// kernel hides wchan (it reads `0`), a sleeping process is taken as blocked.
pub fn wait_until_sleeping_in(pid: i32, wchan: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = wchan.trim_start_matches('_');
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let sleeping = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('S'));
        let hidden = now.is_empty() || now == "0";
        if now.trim_start_matches('_') == want || (hidden && sleeping) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("process {pid} never slept in {wchan} (wchan: {now:?})"));
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_allowed_cpu_is_one_this_process_may_use() {
        let cpu: usize = super::first_allowed_cpu().parse().expect("a CPU number");
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
        assert!(allowed.is_set(cpu).expect("in range"), "CPU {cpu}");
        let lower = (0..cpu).filter(|&c| allowed.is_set(c).unwrap_or(false)).count();
        assert_eq!(lower, 0, "no allowed CPU below {cpu}");
    }
}
