//! `semlock`: the textbook's semaphore program. Three children each find the semaphore through
//! `initsem(key)`, lock it (P: `sem_op = -1`), run their critical section, and unlock it
//! (V: `sem_op = +1`), so the three sections run one after the other.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ch10_semaphore::{Demo, TEXTBOOK_KEY, check_children, if_removed, not_ours};
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind, SemId};
use shared::key::Key;
use shared::process::{Child, fork_child, wait_all};
use shared::sem::{SemOp, semctl_getval, semctl_setval, semctl_stat, semget, semop};
use shared::sysvipc::explain_key_error;
use shared::{Errno, Error, Result};

/// Textbook ch. 10 §10-5-3: three processes take turns in a critical section guarded by a System V
/// semaphore.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  semlock                   key 1, as in the textbook: Lock/Unlock pairs never overlap\n  semlock --no-lock         no semaphore: every Lock comes before the Unlocks\n  semlock --hold-ms 1000    the textbook's sleep(1) (time to run `ipcs -s -i ID`)"
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// How long each child stays in its critical section (the textbook's sleep(1) is 1000).
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
    /// Append `enter PID` and `leave PID` to FILE inside each critical section (for a checker).
    #[arg(long, value_name = "FILE")]
    witness: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = args.key.resolve(TEXTBOOK_KEY, 1)?;
        let (init_wait, hold) =
            (Duration::from_millis(args.init_wait_ms), Duration::from_millis(args.hold_ms));
        let demo = Demo::new(!args.no_lock, args.children, args.witness.as_deref())?;

        // Unlike the textbook's main, the parent makes the set first, waits, and removes it.
        let (semid, created) = initsem(key, init_wait)
            .map_err(|err| explain_key_error(err, Kind::SemaphoreSet, key, "--key KEY"))?;
        println!("parent: initsem(key={key}) gave semaphore set {semid} with value 1");

        let children: Vec<Child> = (0..args.children)
            .map(|_| fork_child(|| semhandle(key, init_wait, hold, &demo)))
            .collect::<Result<_>>()?;
        check_children(key, &wait_all(children)?)?;
        let done = format!("parent: all {} children are done; semaphore set", args.children);
        let Some(created) = created else {
            println!("{done} {semid} left to the process that created it");
            return Ok(());
        };
        semlock(semid)?; // whoever else still queues for the set goes first
        created.ipc_rmid()?;
        println!("{done} removed");
        Ok(())
    })
}

// ANCHOR: initsem
/// Find the one-member set for `key`, creating it with value 1 if nobody has. Returns the set,
/// and `Some` (the caller's to remove) only if this call created it.
///
/// Creating and setting are two calls, so the creator's last step is a semop, which stamps
/// `sem_otime`; a process that gets EEXIST waits for that stamp (the book tells why).
fn initsem(key: Key, max_wait: Duration) -> Result<(SemId, Option<Owned<SemId>>)> {
    // EXERCISE(semlock): create with IPC_EXCL and initialise by SETVAL 0 then a +1 semop; on EEXIST wait for sem_otime
    match Owned::create(|| semget(key, 1, IPC_CREAT | IPC_EXCL | 0o600)) {
        Ok(semid) => {
            semctl_setval(semid.id(), 0, 0)?;
            semop(semid.id(), &[SemOp::new(0, 1)])?;
            Ok((semid.id(), Some(semid)))
        }
        Err(err) if err.errno() == Some(Errno::EEXIST) => {
            let semid = semget(key, 1, 0)?;
            let deadline = Instant::now() + max_wait;
            // A C creator (the textbook's) ends with SETVAL 1 and no semop: its value says it is done.
            let ready = || Ok::<_, Error>(semctl_stat(semid)?.otime != 0 || semctl_getval(semid, 0)? > 0);
            if !ready()? {
                println!("initsem: set {semid} exists but is not initialised yet (sem_otime is 0): waiting");
            }
            while !ready()? {
                if Instant::now() >= deadline {
                    let waited = max_wait.as_millis();
                    return Err(Error::other(format!(
                        "initsem(key={key}): semaphore set {semid} exists but no process has initialised it after {waited} ms (sem_otime is 0); if it is left over, remove it: semtool rm {key}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(10)); // no call waits for "initialised"
            }
            Ok((semid, None))
        }
        Err(err) => Err(err),
    }
    // END EXERCISE
}
// ANCHOR_END: initsem

// ANCHOR: semhandle
/// P: wait until the value is at least 1, and take 1. SEM_UNDO: if this process dies holding the
/// lock, the kernel gives the 1 back, so the others are not locked out forever.
fn semlock(semid: SemId) -> Result<()> {
    // EXERCISE(semlock): one semop on member 0: take 1, with SEM_UNDO
    semop(semid, &[SemOp::new(0, -1).undo()])
    // END EXERCISE
}

/// V: give the 1 back (with SEM_UNDO too, so the two adjustments cancel out).
fn semunlock(semid: SemId) -> Result<()> {
    // EXERCISE(semlock): one semop on member 0: give 1 back, with SEM_UNDO
    semop(semid, &[SemOp::new(0, 1).undo()])
    // END EXERCISE
}

/// One child: get the semaphore by its key, as an unrelated process would, and use it.
fn semhandle(key: Key, init_wait: Duration, hold: Duration, demo: &Demo) -> Result<()> {
    let part = demo.part();
    let (semid, made) = initsem(key, init_wait)?;
    if let Some(made) = made {
        not_ours(made); // the parent's set is gone: do not run on one no one would remove
    }
    let pid = std::process::id();
    if demo.lock {
        semlock(semid).map_err(if_removed)?;
    }
    // Printed while holding the lock, so the output shows the order the lock imposed.
    println!("Lock : process {pid}");
    println!("** Lock Mode : Critical Section");
    part.critical_section(hold)?;
    println!("Unlock : process {pid}");
    if demo.lock {
        semunlock(semid).map_err(if_removed)?;
    }
    Ok(())
}
// ANCHOR_END: semhandle
