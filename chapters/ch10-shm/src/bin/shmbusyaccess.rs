//! `shmbusyaccess`: the slides' race. Three processes (the parent and two children) share one
//! segment. Over and over, each writes its pid there, waits a moment, and reads it back; when it
//! reads someone else's pid, another process used the segment in the meantime: `Error(count=N)`.
//! Nothing here is wrong with shared memory itself; the processes simply do not take turns. The
//! semaphore chapter's `shmcontrol` runs the same loop inside a semaphore and the errors vanish.

use std::path::PathBuf;

use ch10_shm::Tally;
use ch10_shm::race::{PID_TEXT, RACERS, SIZE, error_line, read_tally, store_tally, window};
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::{KeyArgs, shared_key};
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind};
use shared::key::Key;
use shared::lang::{Lang, LangArgs};
use shared::process::{fork_child, getpid, wait_all};
use shared::shm::{Attached, shmat, shmget};
use shared::sysvipc::explain_key_error;
use shared::{Error, Result, say};

/// Three processes write and read one segment without taking turns, and catch each other at it
/// (slides ch. 8 §8.4, slide 35: shmbusyaccess.c, described but not listed).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  shmbusyaccess 12345                     the slides' run: three racers, 10000 accesses each\n  taskset -c 0 shmbusyaccess              the same on one CPU: still collides\n  taskset -c 0 shmbusyaccess --no-yield   spin only: on one CPU the race nearly hides\n  shmbusyaccess --lang ko                 the slides' Korean error line"
)]
struct Args {
    /// The segment's key, decimal or 0x hex [default: 12345, as the slides' run]
    #[arg(value_name = "KEY", value_parser = shared_key, conflicts_with = "keyfile")]
    key: Option<Key>,
    /// Make the key with ftok(PATH, 1) instead.
    #[arg(long, value_name = "PATH")]
    keyfile: Option<PathBuf>,
    #[command(flatten)]
    lang: LangArgs,
    /// Accesses per process (ours: the slides do not say how many; a few thousand show the race).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(i32).range(1..))]
    iterations: i32,
    /// Spin this many times inside the window (ours: the slides say only 지연, a delay).
    #[arg(long, value_name = "SPINS", default_value_t = 500)]
    delay: u32,
    /// Do not sched_yield() inside the window: on one CPU the errors become rare (one per time
    /// slice), and a short run may show none.
    #[arg(long)]
    no_yield: bool,
}

/// The key of the slides' run, `shmbusyaccess 12345` (the slides do not say what 12345 is).
const DEFAULT_KEY: Key = Key(12345);

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = KeyArgs { key: args.key, keyfile: args.keyfile.clone() };
        let key = key.resolve(DEFAULT_KEY, 1)?;
        let lang = args.lang.resolve();

        // ANCHOR: setup
        // IPC_EXCL: a segment left by a killed run is refused (EEXIST), not joined, stale bytes and all.
        let segment = Owned::create(|| shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::SharedMemory, key, "another KEY"))?;
        // Attached once, before fork: each child inherits the attachment (nattch counts 3).
        let shm = shmat(segment.id(), 0)?;
        println!("shmget(key={key}, {SIZE}) = shmid {}", segment.id());

        // Two children, then the parent races too: all three run busy().
        let children =
            vec![fork_child(|| busy(&shm, 1, &args, lang))?, fork_child(|| busy(&shm, 2, &args, lang))?];
        say!(
            "racing children {} and {} and myself: {} accesses each",
            children[0].pid(),
            children[1].pid(),
            args.iterations
        );
        busy(&shm, 0, &args, lang)?;
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
fn busy(shm: &Attached, racer: usize, args: &Args, lang: Lang) -> Result<()> {
    let me = getpid().as_raw();
    let mut errors = 0;
    for count in 0..args.iterations {
        if let Some(found) = access_shm(shm, me, args) {
            errors += 1;
            // Every error would be tens of thousands of lines: show the 1st, 2nd, 3rd, 10th,
            // 100th, 1000th... so the count's growth still shows.
            if errors <= 3 || is_power_of_ten(errors) {
                say!("{}", error_line(lang, count, &found, errors));
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
