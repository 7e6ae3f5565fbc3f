//! `listener`: the textbook's shared-memory server. It makes a segment under `ftok("shmfile", 1)`,
//! says its pid, and waits for SIGUSR1; then it reads what `talker` wrote there, writes its answer
//! in the same bytes and signals the talker back. Shared memory carries the data; signals say
//! "your turn", because nothing in a segment tells a process that another one has written to it.
//!
//! Run `listener` in one terminal and `talker PID` in another, in the same directory; or
//! `listener --demo` to have the listener start the talker itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use ch10_shm::{KEY_FILE, KEY_ID, REPLY_TO, TALK_SIZE};
use clap::Parser;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::unistd::Pid;
use shared::cleanup::{Owned, OwnedPath, TempDir};
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind};
use shared::process::{getpid, spawn_sibling};
use shared::shm::{shmat, shmdt, shmget};
use shared::sysvipc::explain_key_error;
use shared::{CallContext, Error, Result};

/// Wait for a talker's SIGUSR1, read its greeting from shared memory, answer in the same segment.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  listener                  then, in another terminal in the same directory: talker PID\n  listener --demo           run the whole exchange: the listener starts `talker` itself\n  listener --key 0x1234     use this key instead of ftok(\"shmfile\", 1) (talker --key 0x1234 PID)"
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// Start `talker` yourself, in a temporary directory, and answer it.
    #[arg(long)]
    demo: bool,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();

        // ANCHOR: block
        // Block SIGUSR1 before anything else: before the segment exists and before we print our
        // pid, the two ways a talker learns it may signal us. From here on a SIGUSR1 sent to us is
        // held pending until we ask for it with sigwait, so it can be neither lost nor fatal.
        //
        // The textbook installs a handler with sigset() and then calls sigsuspend(). SIGUSR1 is
        // not blocked in between, so a talker that signals early has its signal handled *before*
        // sigsuspend, which then waits forever (the lost wake-up); and before sigset() runs, an
        // early SIGUSR1 simply kills the listener (its default action). The textbook's mask
        // also blocks every other signal while it waits, Ctrl-C included.
        //
        // sigwait is the modern form of "block, then sigsuspend with it unblocked": it takes a
        // pending blocked signal atomically, and needs no handler at all. SIGINT and SIGTERM stay
        // unblocked, so Ctrl-C still ends us (and shared::cleanup removes the segment).
        let mut waited = SigSet::from(Signal::SIGUSR1);
        if args.demo {
            // In the demo the talker is our child: if it fails before signalling, its SIGCHLD
            // wakes us with an error instead of leaving us waiting forever.
            waited.add(Signal::SIGCHLD);
        }
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&waited), None).call("sigprocmask(SIG_BLOCK, SIGUSR1)")?;
        // ANCHOR_END: block

        // ftok needs a file: --keyfile, else ./shmfile; in the demo, shmfile in a private
        // temporary directory (declared first, so it is removed last, after the file in it).
        let demo_dir = if args.demo { Some(TempDir::new("listener-demo")?) } else { None };
        let key_file = match (&args.key.keyfile, &demo_dir) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => dir.path().join(KEY_FILE),
            (None, None) => PathBuf::from(KEY_FILE),
        };
        let _made_key_file = if args.key.key.is_none() { make_key_file(&key_file)? } else { None };
        let key = args.key.resolve_ftok(&key_file, KEY_ID)?;

        // ANCHOR: create
        // IPC_EXCL: a segment left under this key by a run that was killed would otherwise be
        // reused silently, stale bytes and all; EEXIST says so (remove it with `ipcrm -M KEY`).
        let segment = Owned::create(|| shmget(key, TALK_SIZE, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::SharedMemory, key, "--key KEY"))?;
        let shmid = segment.id();
        let me = getpid();
        println!("Listener wait for Talker: pid {me}, key {key}, shmid {shmid}");
        // ANCHOR_END: create

        // The demo starts the talker now that the segment exists and SIGUSR1 is blocked: whenever
        // it signals, the signal waits for us.
        let talker_process = if args.demo {
            let key_args = match args.key.key {
                Some(key) => ["--key".to_owned(), key.to_string()],
                None => ["--keyfile".to_owned(), key_file.display().to_string()],
            };
            Some(spawn_sibling("talker", &[vec![me.to_string()], key_args.to_vec()].concat())?)
        } else {
            None
        };

        // ANCHOR: answer
        wait_for_talker(&waited)?;
        println!("Listener Start ===");
        let shmaddr = shmat(shmid, 0)?;
        let greeting = shmaddr.read_cstr(0);
        println!("Listener received : {}", String::from_utf8_lossy(&greeting));
        // The textbook's strings end in "\n" and its printf adds another, printing a blank line
        // after each; we store the text alone.
        shmaddr.write_cstr(0, b"have a nice day");

        // The textbook now sleeps 3 s and hopes the talker has read the answer by then. Instead we
        // tell it the answer is there: the talker left its pid in the segment's last word.
        let talker = Pid::from_raw(shmaddr.atomic_i32(REPLY_TO).load(Ordering::SeqCst));
        if talker.as_raw() <= 0 {
            return Err(Error::other(format!(
                "got SIGUSR1, but no talker left its pid in shmid {shmid} (was it `kill -USR1`?)"
            )));
        }
        println!("listener: answered; SIGUSR1 to talker {talker}");
        kill(talker, Signal::SIGUSR1).call(format!("kill({talker}, SIGUSR1)"))?;

        // Stay attached until the talker has looked (it shows nattch=2) and removed the segment:
        // its second SIGUSR1 says so.
        wait_for_talker(&waited)?;
        shmdt(shmaddr)?;
        // The talker removed the segment, as in the textbook; it went when we detached.
        segment.keep();
        println!("listener: talker done; detached, and the segment is gone");
        // ANCHOR_END: answer

        if let Some(child) = talker_process {
            let status = child.wait()?;
            if !status.success() {
                return Err(Error::other(format!("talker {status}")));
            }
        }
        Ok(())
    })
}

/// sigwait: sleep until one of `signals` (blocked) is pending and take it. SIGUSR1 is the talker's
/// "your turn"; SIGCHLD (demo only) means the talker ended without giving it.
fn wait_for_talker(signals: &SigSet) -> Result<()> {
    match signals.wait().call("sigwait(SIGUSR1)")? {
        Signal::SIGUSR1 => Ok(()),
        other => Err(Error::other(format!("the talker ended without signalling us ({other})"))),
    }
}

/// ftok needs a file that exists: make `path` if it is missing, and say so. It is removed when
/// the listener ends (the talker has made its key from it by then).
fn make_key_file(path: &Path) -> Result<Option<OwnedPath>> {
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
