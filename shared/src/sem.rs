//! Semaphore sets: `semget(2)`, `semop(2)`, `semctl(2)`.
//!
//! `semctl` takes a fourth argument of type `union semun`, which every program must declare itself
//! (`man 2 semctl` says so, and `libc` does not have it); [`semun`] below is that union. Each
//! `semctl` command gets its own function, named `semctl_` + the command, so `GETALL` is
//! [`semctl_getall`].

use std::fmt;
use std::str::FromStr;

pub use libc::SEM_UNDO;

use crate::error::{Errno, Result, check};
use crate::ipc::{IPC_NOWAIT, IpcPerm, SemId};
use crate::key::Key;

/// `semget(key, nsems, semflg)`: find the set for `key`, or create one of `nsems` semaphores (all 0).
pub fn semget(key: Key, nsems: i32, semflg: libc::c_int) -> Result<SemId> {
    // SAFETY: semget takes plain integers and touches no memory of ours.
    let id = unsafe { libc::semget(key.raw(), nsems, semflg) };
    check(id, || format!("semget(key={key}, nsems={nsems})")).map(SemId)
}

/// One `struct sembuf`: add `op` to semaphore `num` (negative waits and takes, positive gives,
/// zero waits for zero), with flags `IPC_NOWAIT` and/or `SEM_UNDO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemOp {
    pub num: u16,
    pub op: i16,
    pub flags: i16,
}

impl SemOp {
    /// `{num, op, 0}`.
    pub fn new(num: u16, op: i16) -> Self {
        SemOp { num, op, flags: 0 }
    }

    /// The same operation with `SEM_UNDO`: the kernel reverses it if this process dies.
    pub fn undo(mut self) -> Self {
        self.flags |= SEM_UNDO as i16;
        self
    }

    /// The same operation with `IPC_NOWAIT`: fail with EAGAIN instead of blocking.
    pub fn nowait(mut self) -> Self {
        self.flags |= IPC_NOWAIT as i16;
        self
    }

    fn raw(self) -> libc::sembuf {
        libc::sembuf { sem_num: self.num, sem_op: self.op, sem_flg: self.flags }
    }
}

/// Written like Kerrisk's `svsem_op`: `0-1` (take one from member 0), `1+2` (give two to member 1),
/// `0=0` (wait until member 0 is zero).
impl FromStr for SemOp {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a semaphore operation: write NUM-N, NUM+N or NUM=0 (e.g. 0-1)");
        let at = text.find(['-', '+', '=']).ok_or_else(bad)?;
        let num: u16 = text[..at].parse().map_err(|_| bad())?;
        let amount: i16 = text[at + 1..].parse().map_err(|_| bad())?;
        let op = match &text[at..=at] {
            "-" => -amount,
            "+" => amount,
            _ if amount == 0 => 0,
            _ => return Err(bad()),
        };
        Ok(SemOp::new(num, op))
    }
}

impl fmt::Display for SemOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            0 => write!(f, "{}=0", self.num),
            op if op < 0 => write!(f, "{}{}", self.num, op),
            op => write!(f, "{}+{}", self.num, op),
        }
    }
}

/// `semop(semid, sops, nsops)`: do all of `ops` at once, or none of them (it waits until all can
/// be done, unless one has `IPC_NOWAIT`).
///
/// A wait interrupted by a signal is started again: Linux never restarts `semop` by itself, not
/// even after a stop and continue (^Z, `fg`), which would otherwise fail with EINTR. (SIGINT and
/// SIGTERM still end the program: the clean-up handler exits.)
pub fn semop(semid: SemId, ops: &[SemOp]) -> Result<()> {
    let mut raw: Vec<libc::sembuf> = ops.iter().map(|op| op.raw()).collect();
    loop {
        // SAFETY: `raw` holds exactly `raw.len()` initialised sembufs for the call's duration.
        let ret = unsafe { libc::semop(semid.0, raw.as_mut_ptr(), raw.len()) };
        if ret != -1 {
            return Ok(());
        }
        if Errno::last() != Errno::EINTR {
            // `semop(semid=N, [0-1 1-1]): EAGAIN (...)`
            let list: Vec<String> = ops.iter().map(SemOp::to_string).collect();
            return Err(crate::Error::last(format!("semop(semid={semid}, [{}])", list.join(" "))));
        }
    }
}

/// `union semun`, the fourth argument of `semctl`, which the caller must define.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
pub union semun {
    /// For SETVAL.
    pub val: libc::c_int,
    /// For IPC_STAT and IPC_SET.
    pub buf: *mut libc::semid_ds,
    /// For GETALL and SETALL.
    pub array: *mut libc::c_ushort,
}

fn semctl(semid: SemId, semnum: i32, cmd: libc::c_int, arg: semun, name: &str) -> Result<libc::c_int> {
    // SAFETY: `arg` carries whatever `cmd` reads; each caller below passes the member its command
    // uses, pointing at memory that is valid (and large enough for the set) for the call.
    let ret = unsafe { libc::semctl(semid.0, semnum, cmd, arg) };
    check(ret, || format!("semctl(semid={semid}, semnum={semnum}, {name})"))
}

const NO_ARG: semun = semun { val: 0 };

/// `semctl(semid, semnum, GETVAL)`: the current value of one semaphore.
pub fn semctl_getval(semid: SemId, semnum: u16) -> Result<i32> {
    semctl(semid, semnum.into(), libc::GETVAL, NO_ARG, "GETVAL")
}

/// `semctl(semid, semnum, SETVAL, arg.val)`: set one semaphore (undo entries for it are cleared).
pub fn semctl_setval(semid: SemId, semnum: u16, value: i32) -> Result<()> {
    semctl(semid, semnum.into(), libc::SETVAL, semun { val: value }, "SETVAL").map(drop)
}

/// `semctl(semid, 0, GETALL, arg.array)`: every value in the set.
pub fn semctl_getall(semid: SemId) -> Result<Vec<u16>> {
    let mut values = vec![0u16; semctl_stat(semid)?.nsems as usize];
    semctl(semid, 0, libc::GETALL, semun { array: values.as_mut_ptr() }, "GETALL")?;
    Ok(values)
}

/// `semctl(semid, 0, SETALL, arg.array)`: set every value; `values` must have one per member.
pub fn semctl_setall(semid: SemId, values: &[u16]) -> Result<()> {
    let nsems = semctl_stat(semid)?.nsems as usize;
    if values.len() != nsems {
        return Err(crate::error::Error::other(format!(
            "semctl(semid={semid}, SETALL): the set has {nsems} members but {} values were given",
            values.len()
        )));
    }
    let mut values = values.to_vec();
    semctl(semid, 0, libc::SETALL, semun { array: values.as_mut_ptr() }, "SETALL").map(drop)
}

/// `semctl(semid, semnum, GETPID)`: the pid of the last process to `semop` this member.
pub fn semctl_getpid(semid: SemId, semnum: u16) -> Result<i32> {
    semctl(semid, semnum.into(), libc::GETPID, NO_ARG, "GETPID")
}

/// `semctl(semid, semnum, GETNCNT)`: how many processes wait for this member to increase.
pub fn semctl_getncnt(semid: SemId, semnum: u16) -> Result<i32> {
    semctl(semid, semnum.into(), libc::GETNCNT, NO_ARG, "GETNCNT")
}

/// `semctl(semid, semnum, GETZCNT)`: how many processes wait for this member to become zero.
pub fn semctl_getzcnt(semid: SemId, semnum: u16) -> Result<i32> {
    semctl(semid, semnum.into(), libc::GETZCNT, NO_ARG, "GETZCNT")
}

/// `struct semid_ds` as `semctl(IPC_STAT)` fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemidDs {
    pub perm: IpcPerm,
    /// Time of the last `semop` (0 = never: the set has not been used since it was created).
    pub otime: i64,
    /// Time of the last change by `semctl`.
    pub ctime: i64,
    /// Members in the set.
    pub nsems: u64,
}

/// `semctl(semid, 0, IPC_STAT, arg.buf)`: the set's `semid_ds`.
pub fn semctl_stat(semid: SemId) -> Result<SemidDs> {
    // SAFETY: semid_ds is plain old data; all-zero is a valid value that IPC_STAT overwrites.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    semctl(semid, 0, libc::IPC_STAT, semun { buf: &mut ds }, "IPC_STAT")?;
    Ok(SemidDs {
        perm: IpcPerm::from_raw(&ds.sem_perm),
        otime: ds.sem_otime,
        ctime: ds.sem_ctime,
        nsems: ds.sem_nsems,
    })
}

/// `semctl(semid, 0, IPC_RMID)`: remove the set now; blocked `semop` callers get EIDRM.
pub fn semctl_rmid(semid: SemId) -> Result<()> {
    semctl(semid, 0, libc::IPC_RMID, NO_ARG, "IPC_RMID").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::Owned;
    use crate::error::Errno;
    use crate::ipc::IPC_CREAT;
    use crate::key::IPC_PRIVATE;
    use crate::process::{Fork, exit_child, fork};

    #[test]
    fn ops_parse_and_print_like_svsem_op() {
        assert_eq!("0-1".parse::<SemOp>(), Ok(SemOp::new(0, -1)));
        assert_eq!("1+2".parse::<SemOp>(), Ok(SemOp::new(1, 2)));
        assert_eq!("0=0".parse::<SemOp>(), Ok(SemOp::new(0, 0)));
        assert!("0=1".parse::<SemOp>().is_err());
        assert!("x-1".parse::<SemOp>().is_err());
        assert_eq!(SemOp::new(1, -3).to_string(), "1-3");
    }

    #[test]
    fn values_set_get_and_operate_atomically() {
        let owned = Owned::new(semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600).unwrap());
        let set = owned.id();
        assert_eq!(semctl_stat(set).unwrap().otime, 0, "no semop yet");
        semctl_setall(set, &[1, 2]).unwrap();
        semop(set, &[SemOp::new(0, -1), SemOp::new(1, -1)]).unwrap();
        assert_eq!(semctl_getall(set).unwrap(), vec![0, 1]);
        assert_eq!(semctl_getpid(set, 0).unwrap(), std::process::id() as i32);
        assert_ne!(semctl_stat(set).unwrap().otime, 0);
        // All or nothing: member 0 is empty, so member 1 is not taken either.
        let err = semop(set, &[SemOp::new(1, -1), SemOp::new(0, -1).nowait()]).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EAGAIN));
        assert_eq!(
            err.to_string(),
            format!("semop(semid={set}, [1-1 0-1]): EAGAIN (Resource temporarily unavailable)")
        );
        assert_eq!(semctl_getval(set, 1).unwrap(), 1);
        semctl_setval(set, 1, 5).unwrap();
        assert_eq!(semctl_getval(set, 1).unwrap(), 5);
        assert!(semctl_setall(set, &[1]).is_err());
        owned.ipc_rmid().unwrap();
    }

    #[test]
    fn sem_undo_gives_back_what_a_dead_process_took() {
        let owned = Owned::new(semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600).unwrap());
        let set = owned.id();
        semctl_setval(set, 0, 1).unwrap();
        match fork().unwrap() {
            Fork::Child => {
                let ok = semop(set, &[SemOp::new(0, -1).undo()]).is_ok();
                exit_child(if ok { 0 } else { 1 });
            }
            Fork::Parent { child } => {
                assert!(child.wait().unwrap().success());
            }
        }
        assert_eq!(semctl_getval(set, 0).unwrap(), 1, "the child's -1 was undone at its exit");
        owned.ipc_rmid().unwrap();
    }

    #[test]
    fn every_kind_of_op_prints_as_it_parses() {
        for text in ["1+2", "0-1", "0=0", "3+1"] {
            assert_eq!(text.parse::<SemOp>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn ipc_rmid_removes_the_set() {
        let owned = Owned::new(semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600).unwrap());
        let set = owned.id();
        assert!(semctl_stat(set).is_ok(), "the set exists before");
        owned.ipc_rmid().unwrap();
        let err = semctl_stat(set).unwrap_err();
        assert!(matches!(err.errno(), Some(Errno::EINVAL | Errno::EIDRM)), "{err}");
    }

    /// Polls `count` (a kernel counter) until it is `want`, for at most 20 s.
    fn until(want: i32, count: impl Fn() -> i32) -> i32 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let now = count();
            if now == want || std::time::Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn ncnt_and_zcnt_count_the_processes_waiting() {
        let owned = Owned::new(semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600).unwrap());
        let set = owned.id();
        // Member 0 is 0: taking one waits (ncnt). Member 1 is 1: waiting for zero waits (zcnt).
        semctl_setall(set, &[0, 1]).unwrap();
        assert_eq!((semctl_getncnt(set, 0).unwrap(), semctl_getzcnt(set, 1).unwrap()), (0, 0));
        let mut children = Vec::new();
        for op in [SemOp::new(0, -1), SemOp::new(1, 0)] {
            match fork().unwrap() {
                Fork::Child => exit_child(if semop(set, &[op]).is_ok() { 0 } else { 1 }),
                Fork::Parent { child } => children.push(child),
            }
        }
        assert_eq!(until(1, || semctl_getncnt(set, 0).unwrap()), 1, "one waits for member 0 to rise");
        assert_eq!(until(1, || semctl_getzcnt(set, 1).unwrap()), 1, "one waits for member 1 to be 0");
        assert_eq!((semctl_getzcnt(set, 0).unwrap(), semctl_getncnt(set, 1).unwrap()), (0, 0));
        semctl_setall(set, &[1, 0]).unwrap();
        for child in children {
            assert!(child.wait().unwrap().success());
        }
        owned.ipc_rmid().unwrap();
    }
}
