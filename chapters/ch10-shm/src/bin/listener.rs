//! `listener`: the textbook's shared-memory server. It makes a segment under `ftok("shmfile", 1)`,
//! says its pid, and waits for SIGUSR1; then it reads what `talker` wrote there and writes its
//! answer in the same bytes. Shared memory carries the data; signals say "your turn", because
//! nothing in a segment tells a process that another one has written to it.
//!
//! With the workbook's `talker` it signals back; with a talker that leaves no pid (the textbook's
//! C one) it keeps the textbook's protocol: it stays attached until the talker has gone.

use std::sync::atomic::Ordering;

use ch10_shm::{KEY_ID, LISTENER_AT, REPLY_TO, TALK_SIZE};
use ch10_shm::{key_file_path, make_key_file, spawn_talker, wait_until_the_talker_leaves};
use clap::Parser;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::unistd::Pid;
use shared::cleanup::{Owned, TempDir};
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, Kind, ShmId};
use shared::key::Key;
use shared::process::getpid;
use shared::shm::{Attached, shmat, shmctl_stat, shmdt, shmget};
use shared::sysvipc::explain_key_error;
use shared::{CallContext, Error, Result};

/// Wait for a talker's SIGUSR1, read its greeting from shared memory, answer in the same segment
/// (textbook ch. 10 §10-4-2).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  listener &                then, in the same directory: talker PID\n  listener --demo           run the whole exchange: the listener starts `talker` itself\n  listener --key 0x1234     use this key instead of ftok(\"shmfile\", 1) (talker --key 0x1234 PID)"
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
        let mut waited = SigSet::from(Signal::SIGUSR1);
        if args.demo {
            // The demo's talker is our child: its SIGCHLD wakes us if it fails before signalling.
            waited.add(Signal::SIGCHLD);
        }
        block(&waited)?;
        // ANCHOR_END: block

        // The demo's directory is declared first, so it is removed last, after the file in it.
        let demo_dir = if args.demo { Some(TempDir::new("listener-demo")?) } else { None };
        let key_file = key_file_path(args.key.keyfile.as_deref(), demo_dir.as_ref().map(TempDir::path));
        let _made_key_file = if args.key.key.is_none() { make_key_file(&key_file)? } else { None };
        let key = args.key.resolve_ftok(&key_file, KEY_ID)?;

        // ANCHOR: create
        let (segment, shmaddr) = create(key)?;
        let shmid = segment.id();
        let me = getpid();
        println!("Listener wait for Talker: pid {me}, key {key}, shmid {shmid}");
        // ANCHOR_END: create

        let talker_process = if args.demo { Some(spawn_talker(me, &args.key, &key_file)?) } else { None };

        // ANCHOR: answer
        wait_for_talker(&waited)?;
        println!("Listener Start ===");
        let greeting = shmaddr.read_cstr(0);
        println!("Listener received : {}", String::from_utf8_lossy(&greeting));
        if greeting.is_empty() {
            return Err(Error::other(format!(
                "got SIGUSR1, but nobody wrote in shmid {shmid} (was it `kill -USR1`?)"
            )));
        }
        answer(&shmaddr, &waited)?;
        shmdt(shmaddr)?;
        // ANCHOR_END: answer

        // The talker removes the segment, as in the textbook; if it did not, we do.
        if shmctl_stat(shmid).is_err() {
            segment.keep();
            println!("listener: detached, and the segment is gone (the talker removed it)");
        } else {
            segment.ipc_rmid()?;
            println!("listener: detached, and removed shmid {shmid}: the talker left it");
        }
        if let Some(child) = talker_process {
            let status = child.wait()?;
            if !status.success() {
                return Err(Error::other(format!("talker {status}")));
            }
        }
        Ok(())
    })
}

/// Block the signals we wait for before the segment exists and before we print our pid: a
/// talker's SIGUSR1 then waits for sigwait, neither lost nor fatal (errata: listener).
fn block(signals: &SigSet) -> Result<()> {
    // EXERCISE(listener_talker): block the signals in SIGNALS (sigprocmask SIG_BLOCK) so they wait for sigwait
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(signals), None).call("sigprocmask(SIG_BLOCK, SIGUSR1)")
    // END EXERCISE
}

/// Make the segment, attach it, and leave our pid in it: a talker that finds it there signals back.
fn create(key: Key) -> Result<(Owned<ShmId>, Attached)> {
    // EXERCISE(listener_talker): shmget IPC_CREAT|IPC_EXCL|0600 (owned), shmat it, store our pid at LISTENER_AT
    // IPC_EXCL: a segment left by a killed run is refused (EEXIST), not reused with its stale bytes.
    let segment = Owned::create(|| shmget(key, TALK_SIZE, IPC_CREAT | IPC_EXCL | 0o600))
        .map_err(|err| explain_key_error(err, Kind::SharedMemory, key, "--key KEY"))?;
    let shmaddr = shmat(segment.id(), 0)?;
    shmaddr.atomic_i32(LISTENER_AT).store(getpid().as_raw(), Ordering::SeqCst);
    Ok((segment, shmaddr))
    // END EXERCISE
}

/// Write the answer where the greeting was; then tell the talker (the workbook's protocol), or,
/// when it left no pid, stay attached until it has read and gone (the textbook's).
fn answer(shmaddr: &Attached, waited: &SigSet) -> Result<()> {
    // EXERCISE(listener_talker): write the answer at 0; SIGUSR1 the pid at REPLY_TO and wait, or if none, wait for the talker to leave
    // The textbook's strings end in "\n" and its printf adds another; we store the text alone.
    shmaddr.write_cstr(0, b"have a nice day");
    let talker = Pid::from_raw(shmaddr.atomic_i32(REPLY_TO).load(Ordering::SeqCst));
    if talker.as_raw() > 0 {
        println!("listener: answered; SIGUSR1 to talker {talker}");
        kill(talker, Signal::SIGUSR1).call(format!("kill({talker}, SIGUSR1)"))?;
        // Its SIGUSR1 back says it has read, looked at nattch=2, and removed the segment.
        wait_for_talker(waited)
    } else {
        println!(
            "listener: answered; no talker pid in the segment: the textbook's protocol, attached until it leaves"
        );
        wait_until_the_talker_leaves(shmaddr.id())
    }
    // END EXERCISE
}

/// sigwait: sleep until one of `signals` (blocked) is pending and take it. SIGUSR1 is the talker's
/// "your turn"; SIGCHLD (demo only) means the talker ended without giving it.
fn wait_for_talker(signals: &SigSet) -> Result<()> {
    match signals.wait().call("sigwait(SIGUSR1)")? {
        Signal::SIGUSR1 => Ok(()),
        other => Err(Error::other(format!("the talker ended without signalling us ({other})"))),
    }
}
