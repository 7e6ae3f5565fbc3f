//! What the chapter's programs share: the listener/talker agreement (key file, size, where the
//! talker leaves its pid), an `ipcs`-like line from `IPC_STAT`, and the tally lines that
//! `shmbusyaccess` prints (and the semaphore chapter's `shmcontrol` prints in the same form, so the
//! two runs compare line by line).

use std::fmt;

use shared::Result;
use shared::ipc::ShmId;
use shared::shm::shmctl_stat;

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
