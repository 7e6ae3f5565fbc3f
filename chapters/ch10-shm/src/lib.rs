//! What the chapter's programs share: the listener/talker agreement (key file, size, where each
//! leaves its pid) and the listener's demo driver, an `ipcs`-like line from `IPC_STAT`, and the
//! tally lines that `shmbusyaccess` prints (and the semaphore chapter's `shmcontrol` prints in the
//! same form, so the two runs compare line by line).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use shared::cleanup::OwnedPath;
use shared::cli::KeyArgs;
use shared::ipc::ShmId;
use shared::key::IPC_PRIVATE;
use shared::process::{Child, spawn_sibling};
use shared::shm::{Attached, shmctl_stat};
use shared::{CallContext, Result};

/// The file both `listener` and `talker` give to `ftok`, as in the textbook: `ftok("shmfile", 1)`.
pub const KEY_FILE: &str = "shmfile";
/// The `ftok` id both use.
pub const KEY_ID: u8 = 1;
/// The segment's size: the textbook's `shmget(key, 1024, ...)`.
pub const TALK_SIZE: usize = 1024;
/// Where the talker leaves its pid so the listener can signal back: the segment's last 4 bytes,
/// out of the way of the text, which starts at offset 0 as the textbook's `strcpy(shmaddr, ...)`.
/// The textbook's C talker leaves 0 there: then the listener falls back to the textbook's protocol.
pub const REPLY_TO: usize = TALK_SIZE - 4;
/// Where the listener leaves its pid, its half of the handshake: the talker signals back only a
/// listener that left it there (the textbook's C listener leaves 0 and expects no signal).
pub const LISTENER_AT: usize = TALK_SIZE - 8;
/// How often the texts' protocol looks at the segment, having no signal to wait for.
pub const POLL: Duration = Duration::from_millis(10);

/// The file `listener` gives to `ftok`: `--keyfile`, else `shmfile` in the demo's directory, else
/// `./shmfile`.
pub fn key_file_path(keyfile: Option<&Path>, demo_dir: Option<&Path>) -> PathBuf {
    match (keyfile, demo_dir) {
        (Some(path), _) => path.to_owned(),
        (None, Some(dir)) => dir.join(KEY_FILE),
        (None, None) => PathBuf::from(KEY_FILE),
    }
}

/// ftok needs a file that exists: make `path` if it is missing, and say so. It is removed when
/// the listener ends (the talker has made its key from it by then).
pub fn make_key_file(path: &Path) -> Result<Option<OwnedPath>> {
    let created = OwnedPath::create(path, |path| {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path);
        file.map(drop).call(format!("open({}, O_CREAT|O_EXCL)", path.display()))
    });
    match created {
        Ok(key_file) => {
            println!("listener: created the key file {} (ftok needs a file that exists)", path.display());
            Ok(Some(key_file))
        }
        Err(err) if err.errno() == Some(shared::Errno::EEXIST) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `listener --demo`: start `talker LISTENER` with the listener's key, as a child.
pub fn spawn_talker(listener: Pid, key: &KeyArgs, key_file: &Path) -> Result<Child> {
    let key_args = match key.key {
        Some(key) => ["--key".to_owned(), key.to_string()],
        None => ["--keyfile".to_owned(), key_file.display().to_string()],
    };
    spawn_sibling("talker", &[vec![listener.to_string()], key_args.to_vec()].concat())
}

/// Check `done` every [`POLL`] until it says yes: the texts' protocol, where no signal comes.
pub fn poll_until(mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    while !done()? {
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Whether process `pid` still runs: `kill(pid, 0)` sends nothing, it only checks that the pid
/// exists; a zombie (ended, not yet reaped by its parent) exists too, so /proc says which it is.
pub fn alive(pid: Pid) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
    kill(pid, None) != Err(Errno::ESRCH) && !zombie
}

/// The listener's side of the textbook's protocol: stay attached until the talker has read our
/// answer and gone, that is until it has removed the segment (its key is IPC_PRIVATE then), or
/// detached and ended without removing it.
pub fn wait_until_the_talker_leaves(shmid: ShmId) -> Result<()> {
    poll_until(|| {
        let ds = shmctl_stat(shmid)?;
        Ok(ds.perm.key == IPC_PRIVATE || (ds.nattch <= 1 && !alive(Pid::from_raw(ds.lpid))))
    })
}

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

    /// The segment's size: ours (the slides do not list the code).
    pub const SIZE: usize = 128;
    /// Where the pid is written: the first bytes, as decimal text (ours).
    pub const PID_TEXT: usize = 0;
    /// Where racer k leaves its tally for the parent (accesses, errors): 8 bytes per racer from here,
    /// well away from the bytes being fought over.
    pub const TALLIES: usize = 64;
    /// The parent and two children (slide 35: `3개의프로세스 ( 부모, 2개의자식 )`).
    pub const RACERS: usize = 3;

    /// The slides' error line, `Error(count=N) : 다른프로세스도동시에공유메모리접근함` (spacing ours),
    /// with what was read and the error's number after it.
    pub fn error_line(lang: shared::lang::Lang, count: i32, found: &str, errors: i32) -> String {
        match lang {
            shared::lang::Lang::En => format!(
                "Error(count={count}) : read {found}, not my pid: another process accessed the shared \
                 memory at the same time (error #{errors})"
            ),
            shared::lang::Lang::Ko => format!(
                "Error(count={count}) : 다른 프로세스도 동시에 공유 메모리 접근함 (읽은 pid {found}, 오류 #{errors})"
            ),
        }
    }

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
