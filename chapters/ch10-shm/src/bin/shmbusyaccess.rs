//! `shmbusyaccess`: the slides' race. Three processes (the parent and two children) share one
//! segment. Over and over, each writes its pid there, waits a moment, and reads it back; when it
//! reads someone else's pid, another process used the segment in the meantime: `Error(count=N)`.
//! Nothing here is wrong with shared memory itself; the processes simply do not take turns. The
//! semaphore chapter's `shmcontrol` runs the same loop inside a semaphore and the errors vanish.

use ch10_shm::Tally;
use ch10_shm::race::{PID_TEXT, RACERS, SIZE, read_tally, store_tally, window};
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind};
use shared::key::Key;
use shared::process::{fork_child, getpid, wait_all};
use shared::shm::{Attached, shmat, shmget};
use shared::sysvipc::explain_key_error;
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

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = args.key.resolve(DEFAULT_KEY, 1)?;

        // ANCHOR: setup
        // IPC_EXCL: the slides' IPC_CREAT alone would join a segment left by an earlier run that
        // was killed, stale bytes and all; here that is EEXIST (remove it with `ipcrm -M KEY`).
        let segment = Owned::create(|| shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::SharedMemory, key, "--key KEY"))?;
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
        segment.ipc_rmid()
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
    store_tally(shm, racer, Tally { accesses: args.iterations as u64, errors: errors as u64 });
    Ok(())
}

/// Write my pid, wait, read it back: `Some(what was there)` if it is no longer mine.
fn access_shm(shm: &Attached, me: i32, args: &Args) -> Option<String> {
    shm.write_cstr(PID_TEXT, me.to_string().as_bytes());
    window(args.delay, !args.no_yield);
    let text = String::from_utf8_lossy(&shm.read_cstr(PID_TEXT)).into_owned();
    // A read that overlaps a write can even see a mix of two pids' digits: an error too.
    (text.parse::<i32>() != Ok(me)).then_some(text)
}
// ANCHOR_END: busy

fn is_power_of_ten(mut n: i32) -> bool {
    while n % 10 == 0 && n > 1 {
        n /= 10;
    }
    n == 1
}
