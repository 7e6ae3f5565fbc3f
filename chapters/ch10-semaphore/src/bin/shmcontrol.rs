//! `shmcontrol`: `shmbusyaccess` (chapter ch10-shm) made correct. The same three processes write
//! their pid into one segment, wait, and read it back, but each access is now a critical section
//! guarded by a semaphore: P before, V after, so no process can get in between the write and the
//! read. The window is the same (it even hands the CPU to another racer in the middle), the errors
//! are gone, and each `.` is a thousand accesses that went right. The summary lines are
//! shmbusyaccess's, so the two runs compare line by line.

use std::io::Write;

use std::path::PathBuf;

use ch10_semaphore::DOT_EVERY;
use ch10_shm::Tally;
use ch10_shm::race::{PID_TEXT, RACERS, SIZE, error_line, read_tally, store_tally, window};
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::shared_key;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind, SemId};
use shared::key::Key;
use shared::lang::{Lang, LangArgs};
use shared::process::{fork_child, getpid, wait_all};
use shared::sem::{SemOp, semctl_setval, semget, semop};
use shared::shm::{Attached, shmat, shmget};
use shared::sysvipc::explain_key_error;
use shared::{CallContext, Error, Result, say};

/// Slides ch. 8 §8.5, slide 51 (shmcontrol.c, described but not listed): shmbusyaccess with the
/// shared memory access inside a semaphore, so no more errors.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  shmcontrol 1234 2345              the slides' run (`shmcotrol 1234 2345`, sic): segment key, set key\n  taskset -c 0 shmcontrol           on one CPU: still no errors\n  shmcontrol 0x5000 0x5000          one key for both (each kind of object has its own keys)\n  shmcontrol --iterations 100000    a longer run, more dots"
)]
struct Args {
    /// The segment's key (decimal or 0x hex).
    #[arg(value_parser = shared_key, default_value = "1234", conflicts_with = "keyfile")]
    shmkey: Key,
    /// The semaphore set's key.
    #[arg(value_parser = shared_key, default_value = "2345")]
    semkey: Key,
    /// Make both keys with ftok(PATH, 1) instead (a segment and a set may share one key).
    #[arg(long, value_name = "PATH")]
    keyfile: Option<PathBuf>,
    /// Accesses per process.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(i32).range(1..))]
    iterations: i32,
    /// Spin this many times inside the window, as shmbusyaccess does.
    #[arg(long, value_name = "SPINS", default_value_t = 500)]
    delay: u32,
    /// Do not sched_yield() inside the window.
    #[arg(long)]
    no_yield: bool,
    #[command(flatten)]
    lang: LangArgs,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let (shm_key, sem_key) = match &args.keyfile {
            Some(path) => (shared::key::ftok(path, 1)?, shared::key::ftok(path, 1)?),
            None => (args.shmkey, args.semkey),
        };

        // ANCHOR: setup
        let segment = Owned::create(|| shmget(shm_key, SIZE, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::SharedMemory, shm_key, "another SHMKEY"))?;
        let shm = shmat(segment.id(), 0)?;
        // A binary semaphore: 1 = the segment is free. The parent makes and initialises it before
        // forking, so the children inherit a ready set and need no initsem dance.
        let sem = Owned::create(|| semget(sem_key, 1, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::SemaphoreSet, sem_key, "another SEMKEY"))?;
        semctl_setval(sem.id(), 0, 1)?;
        println!(
            "shmget(key={shm_key}, {SIZE}) = shmid {}, semget(key={sem_key}, 1) = semid {}",
            segment.id(),
            sem.id()
        );
        say!("racing two children and myself: {} accesses each, one dot per {DOT_EVERY}", args.iterations);

        let children = vec![
            fork_child(|| busy(&shm, sem.id(), 1, &args))?,
            fork_child(|| busy(&shm, sem.id(), 2, &args))?,
        ];
        busy(&shm, sem.id(), 0, &args)?;
        // ANCHOR_END: setup

        let mut pids = vec![getpid().as_raw()];
        for (pid, status) in wait_all(children)? {
            if !status.success() {
                return Err(Error::other(format!("child {pid} {status}")));
            }
            pids.push(pid.as_raw());
        }
        println!(); // end the line of dots
        // ANCHOR: summary
        let tallies: Vec<Tally> = (0..RACERS).map(|racer| read_tally(&shm, racer)).collect();
        for (pid, tally) in pids.iter().zip(&tallies) {
            println!("{}", tally.line(*pid));
        }
        println!("{}", Tally::total_line(&tallies));
        // ANCHOR_END: summary
        drop(shm);
        sem.ipc_rmid()?;
        segment.ipc_rmid()
    })
}

// ANCHOR: busy
/// One racer: `iterations` protected accesses, a dot per thousand, then its tally.
fn busy(shm: &Attached, sem: SemId, racer: usize, args: &Args) -> Result<()> {
    let (me, lang): (i32, Lang) = (getpid().as_raw(), args.lang.resolve());
    let mut errors = 0;
    for count in 1..=args.iterations {
        if let Some(found) = access_shm(shm, sem, me, args)? {
            errors += 1;
            say!("{}", error_line(lang, count, &found, errors as i32));
        }
        if count % DOT_EVERY == 0 {
            print!(".");
            std::io::stdout().flush().call("write(stdout)")?;
        }
    }
    store_tally(shm, racer, Tally { accesses: args.iterations as u64, errors });
    Ok(())
}

/// shmbusyaccess's access, between P and V. SEM_UNDO on both: a racer killed inside the critical
/// section does not leave the others waiting forever.
fn access_shm(shm: &Attached, sem: SemId, me: i32, args: &Args) -> Result<Option<String>> {
    // EXERCISE(shmcontrol): P with SEM_UNDO, write my pid, window, read it back, V; Some(text) if it is not my pid
    semop(sem, &[SemOp::new(0, -1).undo()])?; // P: wait for the segment, take it
    shm.write_cstr(PID_TEXT, me.to_string().as_bytes());
    window(args.delay, !args.no_yield);
    let text = String::from_utf8_lossy(&shm.read_cstr(PID_TEXT)).into_owned();
    semop(sem, &[SemOp::new(0, 1).undo()])?; // V: give it back
    Ok((text.parse::<i32>() != Ok(me)).then_some(text))
    // END EXERCISE
}
// ANCHOR_END: busy
