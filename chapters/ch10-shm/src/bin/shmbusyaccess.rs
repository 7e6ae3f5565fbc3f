//! `shmbusyaccess`: the slides' race. Three processes (the parent and two children) share one
//! segment. Over and over, each writes its pid there, waits a moment, and reads it back; when it
//! reads someone else's pid, another process used the segment in the meantime: `Error(count=N)`.
//! Nothing here is wrong with shared memory itself; the processes simply do not take turns. The
//! semaphore chapter's `shmcontrol` runs the same loop inside a semaphore and the errors vanish.

use std::sync::atomic::Ordering;

use ch10_shm::Tally;
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL};
use shared::key::Key;
use shared::process::{fork_child, getpid, wait_all};
use shared::shm::{Attached, shmat, shmget};
use shared::{Error, Result, say};

/// Three processes write and read one segment without taking turns, and catch each other at it.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  shmbusyaccess                           three racers, 10000 accesses each\n  taskset -c 0 shmbusyaccess              the same on one CPU: still collides\n  taskset -c 0 shmbusyaccess --no-yield   spin only: on one CPU the race nearly hides\n  shmbusyaccess --key 12345               the slides' `shmbusyaccess 12345`"
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// Accesses per process (the slides do 500000; a few thousand show the race).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(i32).range(1..))]
    iterations: i32,
    /// Spin this many times inside the window (the slides' empty `for` loop of 1000, which an
    /// optimising C compiler deletes; spin_loop() stays).
    #[arg(long, value_name = "SPINS", default_value_t = 500)]
    delay: u32,
    /// Do not sched_yield() inside the window: on one CPU the errors become rare (one per time
    /// slice), and a short run may show none.
    #[arg(long)]
    no_yield: bool,
}

/// The slides' key (`shmbusyaccess 12345`) and size (`shmget(shmkey, 128, ...)`).
const DEFAULT_KEY: Key = Key(12345);
const SIZE: usize = 128;
/// Where the pid is written: the first bytes, as text, as the slides' `sprintf(shm_data, "%d", ...)`.
const PID_TEXT: usize = 0;
/// Where racer k leaves its tally for the parent (accesses, errors): 8 bytes per racer from here,
/// well away from the bytes being fought over.
const TALLIES: usize = 64;
const RACERS: usize = 3;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = args.key.resolve(DEFAULT_KEY, 1)?;

        // ANCHOR: setup
        // IPC_EXCL: the slides' IPC_CREAT alone would join a segment left by an earlier run that
        // was killed, stale bytes and all; here that is EEXIST (remove it with `ipcrm -M KEY`).
        let segment = Owned::new(shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0o600)?);
        // Attached once, before fork: each child inherits the attachment (nattch counts 3).
        let shm = shmat(segment.id(), 0)?;
        println!("shmget(key={key}, {SIZE}) = shmid {}", segment.id());

        // The slides' fork_and_run(), twice; then the parent races too.
        let children = vec![fork_child(|| busy(&shm, 1, &args))?, fork_child(|| busy(&shm, 2, &args))?];
        say!(
            "racing children {} and {} and myself: {} accesses each",
            children[0].pid(),
            children[1].pid(),
            args.iterations
        );
        busy(&shm, 0, &args)?;
        // ANCHOR_END: setup

        // ANCHOR: summary
        let mut pids = vec![getpid().as_raw()];
        for (pid, status) in wait_all(children)? {
            if !status.success() {
                return Err(Error::other(format!("child {pid} {status}")));
            }
            pids.push(pid.as_raw());
        }
        let tallies: Vec<Tally> = (0..RACERS).map(|racer| read_tally(&shm, racer)).collect();
        for (pid, tally) in pids.iter().zip(&tallies) {
            println!("{}", tally.line(*pid));
        }
        println!("{}", Tally::total_line(&tallies));
        drop(shm);
        segment.remove()
        // ANCHOR_END: summary
    })
}

// ANCHOR: busy
/// One racer: `iterations` accesses, then its tally into the segment for the parent to print.
fn busy(shm: &Attached, racer: usize, args: &Args) -> Result<()> {
    let me = getpid().as_raw();
    let mut errors = 0;
    for count in 0..args.iterations {
        if let Some(found) = access_shm(shm, me, args) {
            errors += 1;
            // Every error would be tens of thousands of lines: show the 1st, 2nd, 3rd, 10th,
            // 100th, 1000th... so the count's growth still shows.
            if errors <= 3 || is_power_of_ten(errors) {
                say!(
                    "Error(count={count}) : read {found}, not my pid: another process accessed \
                     the shared memory at the same time (error #{errors})"
                );
            }
        }
    }
    shm.atomic_i32(TALLIES + 8 * racer).store(args.iterations, Ordering::SeqCst);
    shm.atomic_i32(TALLIES + 8 * racer + 4).store(errors, Ordering::SeqCst);
    Ok(())
}

/// Write my pid, wait, read it back: `Some(what was there)` if it is no longer mine.
fn access_shm(shm: &Attached, me: i32, args: &Args) -> Option<String> {
    shm.write_cstr(PID_TEXT, me.to_string().as_bytes());
    window(args);
    let text = String::from_utf8_lossy(&shm.read_cstr(PID_TEXT)).into_owned();
    // A read that overlaps a write can even see a mix of two pids' digits: an error too.
    (text.parse::<i32>() != Ok(me)).then_some(text)
}
// ANCHOR_END: busy

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
fn window(args: &Args) {
    let half = args.delay / 2;
    for _ in 0..half {
        std::hint::spin_loop();
    }
    if !args.no_yield {
        // It cannot fail on Linux; if it did, the window would just be shorter.
        let _ = nix::sched::sched_yield();
    }
    for _ in half..args.delay {
        std::hint::spin_loop();
    }
}
// ANCHOR_END: window

fn read_tally(shm: &Attached, racer: usize) -> Tally {
    let load = |offset: usize| u64::try_from(shm.atomic_i32(offset).load(Ordering::SeqCst)).unwrap_or(0);
    Tally { accesses: load(TALLIES + 8 * racer), errors: load(TALLIES + 8 * racer + 4) }
}

fn is_power_of_ten(mut n: i32) -> bool {
    while n % 10 == 0 && n > 1 {
        n /= 10;
    }
    n == 1
}
