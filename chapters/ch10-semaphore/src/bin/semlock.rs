//! `semlock`: the textbook's semaphore program. Three children each find the semaphore through
//! `initsem(key)`, lock it (P: `sem_op = -1`), run their critical section, and unlock it
//! (V: `sem_op = +1`), so the three sections run one after the other. `--no-lock` skips P and V
//! and shows what the lock prevents: all three inside at once.

use std::time::{Duration, Instant};

use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind, SemId};
use shared::key::{IPC_PRIVATE, Key};
use shared::process::{Child, ExitStatus, exit_child, fork_child, wait_all};
use shared::sem::{SemOp, semctl_setval, semctl_stat, semget, semop};
use shared::sysvipc::explain_key_error;
use shared::{Errno, Error, Result};

/// Three processes take turns in a critical section guarded by a System V semaphore.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  semlock                   key 1, as in the textbook: Lock/Unlock pairs never overlap\n  semlock --no-lock         no semaphore: every Lock comes before the Unlocks\n  semlock --hold-ms 1000    stay longer in the critical section (time to run `ipcs -s -i ID`)"
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// How long each child stays in its critical section (the textbook's sleep(1)).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    hold_ms: u64,
    /// Do not lock: run the critical sections without the semaphore.
    #[arg(long)]
    no_lock: bool,
    /// How many children to fork.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    children: u16,
    /// How long initsem waits for another process to finish initialising the set.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    init_wait_ms: u64,
}

/// The textbook's key: `initsem(1)`.
const TEXTBOOK_KEY: Key = Key(1);

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = args.key.resolve(TEXTBOOK_KEY, 1)?;
        let init_wait = Duration::from_millis(args.init_wait_ms);
        let hold = Duration::from_millis(args.hold_ms);

        // The textbook's main forks and returns at once, leaving its children running and the set
        // in the system ("remove it with ipcrm -s"). Here the parent makes the set first, so it
        // knows what to remove even if Ctrl-C interrupts the demo, waits for every child, and
        // removes the set at the end.
        // Only a set this run created is this run's to remove: a set found under the key belongs
        // to another run (or user), which removes it.
        let (semid, created) = initsem(key, init_wait)
            .map_err(|err| explain_key_error(err, Kind::SemaphoreSet, key, "--key KEY"))?;
        println!("parent: initsem(key={key}) gave semaphore set {semid} with value 1");

        // --no-lock: a barrier (a second, private set) keeps each child inside its critical section
        // until all of them are in, so the overlap shows on every run, not only when the scheduler
        // happens to interleave them.
        let barrier = if args.no_lock {
            let barrier = Owned::create(|| semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600))?;
            semctl_setval(barrier.id(), 0, args.children.into())?;
            Some(barrier)
        } else {
            None
        };
        let barrier_id = barrier.as_ref().map(Owned::id);

        let children: Vec<Child> = (0..args.children)
            .map(|_| fork_child(|| semhandle(key, init_wait, hold, barrier_id)))
            .collect::<Result<_>>()?;
        let statuses = wait_all(children)?;
        if statuses.iter().any(|(_, status)| *status == ExitStatus::Exited(SET_REMOVED)) {
            return Err(removed_under_us(key)); // one line for the run, not one per child
        }
        for (pid, status) in statuses {
            if !status.success() {
                return Err(Error::other(format!("child {pid} {status}")));
            }
        }
        match created {
            Some(created) => {
                created.ipc_rmid()?;
                println!("parent: all {} children are done; semaphore set removed", args.children);
            }
            None => println!(
                "parent: all {} children are done; semaphore set {semid} left to the process that created it",
                args.children
            ),
        }
        Ok(())
    })
}

// ANCHOR: initsem
/// Find the one-member set for `key`, creating it with value 1 if nobody has.
///
/// The textbook's initsem creates with IPC_EXCL, and on EEXIST uses the set at once. But creating
/// a set and setting its value are two calls: a process that gets EEXIST may be between them, and
/// use a semaphore that is not yet initialised (its value is 0, or whatever the system leaves).
/// Here that only delays it (SETVAL wakes it), but a first V would be overwritten by SETVAL and a
/// wait-for-zero would pass at once. The cure (Stevens, UNP vol. 2, ch. 11; Kerrisk, TLPI §47.5): the
/// creator's last step is a semop, and semop is the only call that sets `sem_otime`; so the others
/// wait until `sem_otime` is no longer 0.
///
/// Returns the set, and `Some` (the caller's to remove) only if this call created it.
fn initsem(key: Key, max_wait: Duration) -> Result<(SemId, Option<Owned<SemId>>)> {
    match Owned::create(|| semget(key, 1, IPC_CREAT | IPC_EXCL | 0o600)) {
        Ok(semid) => {
            // We created it (and remove it again if we cannot finish). A new set's values are
            // unspecified by POSIX (Linux: 0), so set 0 explicitly, then add 1 with semop: the
            // value becomes 1 and sem_otime is stamped.
            semctl_setval(semid.id(), 0, 0)?;
            semop(semid.id(), &[SemOp::new(0, 1)])?;
            Ok((semid.id(), Some(semid)))
        }
        Err(err) if err.errno() == Some(Errno::EEXIST) => {
            let semid = semget(key, 1, 0)?;
            let deadline = Instant::now() + max_wait;
            // Poll, with a deadline: there is no call that waits for "initialised".
            if semctl_stat(semid)?.otime == 0 {
                println!("initsem: set {semid} exists but is not initialised yet (sem_otime is 0): waiting");
            }
            while semctl_stat(semid)?.otime == 0 {
                if Instant::now() >= deadline {
                    return Err(Error::other(format!(
                        "initsem(key={key}): semaphore set {semid} exists but no process has initialised it \
                         after {} ms (sem_otime is 0); if it is left over, remove it: semtool rm {key}",
                        max_wait.as_millis()
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok((semid, None))
        }
        Err(err) => Err(err),
    }
}
// ANCHOR_END: initsem

// ANCHOR: semhandle
/// P: wait until the value is at least 1, and take 1. SEM_UNDO: if this process dies holding the
/// lock, the kernel gives the 1 back, so the others are not locked out forever.
fn semlock(semid: SemId) -> Result<()> {
    semop(semid, &[SemOp::new(0, -1).undo()])
}

/// V: give the 1 back (with SEM_UNDO too, so the two adjustments cancel out).
fn semunlock(semid: SemId) -> Result<()> {
    semop(semid, &[SemOp::new(0, 1).undo()])
}

/// One child: get the semaphore by its key, as an unrelated process would, and use it.
fn semhandle(key: Key, init_wait: Duration, hold: Duration, barrier: Option<SemId>) -> Result<()> {
    let (semid, made) = initsem(key, init_wait)?;
    if let Some(made) = made {
        // The parent's set is gone (its creator, another run on this key, ended): do not run on a
        // new one of our own, which no one would remove.
        made.ipc_rmid()?;
        exit_child(SET_REMOVED);
    }
    let pid = std::process::id();
    let lock = barrier.is_none();

    // A child that fails before the barrier (println! on a closed stdout) still arrives, on drop.
    let mut arrival = Arrival(barrier);
    if lock {
        semlock(semid).map_err(if_removed)?;
    }
    // Printed while holding the lock, so the output shows the order the lock imposed.
    println!("Lock : process {pid}");
    println!("** Lock Mode : Critical Section");
    if let Some(barrier) = arrival.0.take() {
        // Arrive (-1), then wait until everyone has (value 0). Two calls: in one semop the two
        // operations would be all-or-nothing, and the "wait for 0" would hold back our own -1.
        semop(barrier, &[SemOp::new(0, -1)])?;
        semop(barrier, &[SemOp::new(0, 0)])?;
    }
    std::thread::sleep(hold); // the work of the critical section
    println!("Unlock : process {pid}");
    if lock {
        semunlock(semid).map_err(if_removed)?;
    }
    Ok(())
}

/// The barrier this child has still to arrive at; arrives when dropped (on an error or a panic),
/// so the other children are not held at the barrier for ever.
struct Arrival(Option<SemId>);

impl Drop for Arrival {
    fn drop(&mut self) {
        if let Some(barrier) = self.0.take() {
            let _ = semop(barrier, &[SemOp::new(0, -1)]);
        }
    }
}

/// A child's exit status for "the set was removed under us": the parent says it, once.
const SET_REMOVED: i32 = 3;

/// EIDRM/EINVAL on a set this child only found: end with SET_REMOVED for the parent to explain.
fn if_removed(err: Error) -> Error {
    match err.errno() {
        Some(Errno::EIDRM | Errno::EINVAL) => exit_child(SET_REMOVED),
        _ => err,
    }
}

fn removed_under_us(key: Key) -> Error {
    Error::other(format!(
        "the semaphore set for key {key} was removed while this run used it (its creator ended, or ipcrm); \
         give each run its own key: semlock --key KEY"
    ))
}
// ANCHOR_END: semhandle
