//! What the chapter's programs share: the listener/talker agreement (key file, size, where the
//! talker leaves its pid), an `ipcs`-like line from `IPC_STAT`, and the tally lines that
//! `shmbusyaccess` prints (and the semaphore chapter's `shmcontrol` prints in the same form, so the
//! two runs compare line by line).

use std::fmt;
use std::sync::atomic::Ordering;

use shared::Result;
use shared::ipc::ShmId;
use shared::shm::{Attached, shmctl_stat};

/// The file both `listener` and `talker` give to `ftok`, as in the textbook: `ftok("shmfile", 1)`.
pub const KEY_FILE: &str = "shmfile";
/// The `ftok` id both use.
pub const KEY_ID: u8 = 1;
/// The segment's size: the textbook's `shmget(key, 1024, ...)`.
pub const TALK_SIZE: usize = 1024;
/// Where the talker leaves its pid so the listener can signal back: the segment's last 4 bytes,
/// out of the way of the text, which starts at offset 0 as the textbook's `strcpy(shmaddr, ...)`.
pub const REPLY_TO: usize = TALK_SIZE - 4;

/// The segment's `IPC_STAT` as one line: the columns `ipcs -m` (bytes, nattch) and `ipcs -mp` (cpid,
/// lpid) show. `names` labels the pids this program knows, e.g. `[(1234, "parent")]`.
///
/// The textbook runs `ipcs -mo` for this: `-o` is a Solaris option that Linux's `ipcs` rejects.
pub fn ipcs(shmid: ShmId, names: &[(i32, &str)]) -> Result<String> {
    let ds = shmctl_stat(shmid)?;
    let name = |pid: i32| match names.iter().find(|(known, _)| *known == pid) {
        Some((_, name)) => format!("{pid} ({name})"),
        None if pid == 0 => "0 (nobody yet)".to_owned(),
        None => pid.to_string(),
    };
    Ok(format!(
        "IPC_STAT shmid {shmid}: bytes={} nattch={} cpid={} lpid={}",
        ds.segsz,
        ds.nattch,
        name(ds.cpid),
        name(ds.lpid)
    ))
}

/// One racer's score: how many times it wrote its pid and read it back, and how many of those
/// times it found another process's pid instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub accesses: u64,
    pub errors: u64,
}

impl Tally {
    /// `[pid:N] accesses=A, errors=E`: one racer's summary line, tagged in its colour.
    pub fn line(&self, pid: i32) -> String {
        let tag = shared::out::in_colour_of(pid as u32, &format!("[pid:{pid}]"));
        format!("{tag} {self}")
    }

    /// `total: accesses=A, errors=E (P%)`: the sum of every racer's tally.
    pub fn total_line(tallies: &[Tally]) -> String {
        let total = tallies.iter().fold(Tally::default(), |sum, tally| Tally {
            accesses: sum.accesses + tally.accesses,
            errors: sum.errors + tally.errors,
        });
        let percent = 100.0 * total.errors as f64 / total.accesses.max(1) as f64;
        format!("total: {total} ({percent:.1}%)")
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accesses={}, errors={}", self.accesses, self.errors)
    }
}

/// The race `shmbusyaccess` runs, and `shmcontrol` (chapter ch10-semaphore) runs again under a
/// semaphore: the segment's layout, the window, and where each racer leaves its tally. Both use
/// these, so the two programs differ only by the semaphore.
pub mod race {
    use super::*;

    /// The slides' size: `shmget(shmkey, 128, ...)`.
    pub const SIZE: usize = 128;
    /// Where the pid is written: the first bytes, as text, as the slides' `sprintf(shm_data, "%d", ...)`.
    pub const PID_TEXT: usize = 0;
    /// Where racer k leaves its tally for the parent (accesses, errors): 8 bytes per racer from here,
    /// well away from the bytes being fought over.
    pub const TALLIES: usize = 64;
    /// The parent and two children.
    pub const RACERS: usize = 3;

    // ANCHOR: window
    /// The moment between writing and reading, where another process can get in.
    ///
    /// On two or more CPUs the racers really run at the same time, and the spin alone gives the
    /// others time to write. On one CPU (`taskset -c 0`) only one process runs at a time, and another
    /// one can get in only if the scheduler switches inside the window: a time slice ends every few
    /// milliseconds, against a window of microseconds, so errors drop to a fraction of a percent and
    /// a short run may show none: the race hides (try `taskset -c 0 shmbusyaccess --no-yield`).
    /// sched_yield() in the middle hands the CPU to another runnable racer right there: the unlucky
    /// preemption, made to happen every time rather than hoped for. The bug is the same either way;
    /// the yield only makes it show. (On several CPUs the yield costs little: with nobody else
    /// runnable on this CPU, it returns at once.)
    pub fn window(delay: u32, yield_cpu: bool) {
        let half = delay / 2;
        for _ in 0..half {
            std::hint::spin_loop();
        }
        if yield_cpu {
            // It cannot fail on Linux; if it did, the window would just be shorter.
            let _ = nix::sched::sched_yield();
        }
        for _ in half..delay {
            std::hint::spin_loop();
        }
    }
    // ANCHOR_END: window

    /// Leave racer `racer`'s tally in the segment for the parent.
    pub fn store_tally(shm: &Attached, racer: usize, tally: Tally) {
        let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        shm.atomic_i32(TALLIES + 8 * racer).store(clamp(tally.accesses), Ordering::SeqCst);
        shm.atomic_i32(TALLIES + 8 * racer + 4).store(clamp(tally.errors), Ordering::SeqCst);
    }

    /// Racer `racer`'s tally, as it left it.
    pub fn read_tally(shm: &Attached, racer: usize) -> Tally {
        let load = |offset: usize| u64::try_from(shm.atomic_i32(offset).load(Ordering::SeqCst)).unwrap_or(0);
        Tally { accesses: load(TALLIES + 8 * racer), errors: load(TALLIES + 8 * racer + 4) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_lines_have_the_shape_shmcontrol_reuses() {
        let tallies = [Tally { accesses: 10, errors: 3 }, Tally { accesses: 10, errors: 0 }];
        // (The tag may be coloured if the test's stdout is a terminal.)
        assert!(tallies[0].line(42).contains("[pid:42]"));
        assert!(tallies[0].line(42).ends_with(" accesses=10, errors=3"));
        assert_eq!(Tally::total_line(&tallies), "total: accesses=20, errors=3 (15.0%)");
    }
}
