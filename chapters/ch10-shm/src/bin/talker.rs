//! `talker PID`: the textbook's shared-memory client. It finds the listener's segment through the
//! same `ftok("shmfile", 1)`, writes its greeting there, wakes the listener (pid PID) with SIGUSR1,
//! waits for the answer, reads it, shows that both are attached (nattch=2), then detaches and
//! removes the segment.
//!
//! A workbook listener leaves its pid in the segment and signals back when it has answered; a
//! listener that does not (the textbook's C one) gets the textbook's protocol: we watch the segment
//! until the answer is there.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ch10_shm::{KEY_FILE, KEY_ID, LISTENER_AT, REPLY_TO, TALK_SIZE, alive, ipcs, poll_until};
use clap::Parser;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::unistd::Pid;
use shared::cli::KeyArgs;
use shared::process::{getpid, sigtimedwait};
use shared::shm::{Attached, shmat, shmctl_rmid, shmctl_stat, shmdt, shmget};
use shared::{CallContext, Error, Result};

/// Greet a waiting `listener` through shared memory and read its answer (textbook ch. 10 §10-4-2).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  listener &                start the listener; it prints its pid\n  talker 4946               talk to it (same directory: the key is ftok(\"shmfile\", 1))\n  talker --key 0x1234 4946  when the listener was started with --key 0x1234"
)]
struct Args {
    /// The listener's pid, as it printed it.
    #[arg(value_name = "PID", value_parser = clap::value_parser!(i32).range(1..))]
    listener: i32,
    #[command(flatten)]
    key: KeyArgs,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let listener = Pid::from_raw(args.listener);
        let me = getpid();

        // Block SIGUSR1 before we signal the listener: its answer may come back before we reach
        // sigwait, and a blocked signal waits for us instead of killing us (its default action).
        let usr1 = SigSet::from(Signal::SIGUSR1);
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&usr1), None).call("sigprocmask(SIG_BLOCK, SIGUSR1)")?;

        // ANCHOR: find
        // The same file and id as the listener give the same key. Without the file, ftok fails
        // (ENOENT); the textbook does not check and goes on with key -1.
        let key = args.key.resolve_ftok(Path::new(KEY_FILE), KEY_ID)?;
        // No IPC_CREAT: find the listener's segment, never make one (ENOENT if it is not running).
        let shmid = shmget(key, TALK_SIZE, 0)?;
        // ANCHOR_END: find

        // SIGUSR1 kills a process that does not expect it: PID must exist (signal 0 only checks)
        // and be the segment's creator. The textbook signals whatever pid it is given.
        kill(listener, None).call(format!("kill({listener}, 0)"))?;
        let creator = shmctl_stat(shmid)?.cpid;
        if creator != listener.as_raw() {
            return Err(Error::other(format!(
                "pid {listener} is not the listener: shmid {shmid} was created by pid {creator}"
            )));
        }

        // ANCHOR: talk
        let shmaddr = shmat(shmid, 0)?;
        // The listener's half of the handshake: its pid in the segment says it will signal back.
        let signals_back = shmaddr.atomic_i32(LISTENER_AT).load(Ordering::SeqCst) == listener.as_raw();
        if !signals_back {
            println!("talker: no listener pid in the segment: the textbook's protocol, no signal back");
        }
        greet(&shmaddr, listener)?;
        wait_for_answer(&shmaddr, &usr1, listener, signals_back)?;
        let answer = shmaddr.read_cstr(0);
        println!("Listener said : {}", String::from_utf8_lossy(&answer));
        // ANCHOR_END: talk

        // ANCHOR: remove
        // What the textbook's system("ipcs -mo") shows: the listener is still attached, so 2.
        let names = [(listener.as_raw(), "listener"), (me.as_raw(), "talker")];
        println!("talker: {}", ipcs(shmid, &names)?);
        // EXERCISE(listener_talker): detach, then remove the segment (the listener is still attached)
        shmdt(shmaddr)?;
        shmctl_rmid(shmid)?;
        // END EXERCISE
        if signals_back {
            // The listener is still attached: Linux frees the segment when it detaches.
            println!("talker: detached and removed shmid {shmid}; SIGUSR1 to listener: you may detach");
            kill(listener, Signal::SIGUSR1).call(format!("kill({listener}, SIGUSR1)"))?;
        } else {
            println!("talker: detached and removed shmid {shmid}");
        }
        // ANCHOR_END: remove
        Ok(())
    })
}

/// The greeting at offset 0, as the textbook's `strcpy(shmaddr, ...)`, our return address at
/// REPLY_TO (sigwait cannot tell the listener who sent a signal), then SIGUSR1 to the listener.
fn greet(shmaddr: &Attached, listener: Pid) -> Result<()> {
    // EXERCISE(listener_talker): write the greeting at 0 and our pid at REPLY_TO, then SIGUSR1 the listener
    shmaddr.write_cstr(0, b"Hello, I'm talker");
    shmaddr.atomic_i32(REPLY_TO).store(getpid().as_raw(), Ordering::SeqCst);
    println!("talker: wrote \"Hello, I'm talker\" in shmid {}; SIGUSR1 to listener {listener}", shmaddr.id());
    kill(listener, Signal::SIGUSR1).call(format!("kill({listener}, SIGUSR1)"))
    // END EXERCISE
}

/// Until the answer is there: the listener's SIGUSR1, or (textbook's protocol) until the greeting
/// has been overwritten. Either way we give up when the listener is gone (a killed one never answers).
fn wait_for_answer(shmaddr: &Attached, usr1: &SigSet, listener: Pid, signals_back: bool) -> Result<()> {
    let gone = || {
        Error::other(format!(
            "listener {listener} ended without answering; its segment {} is left (`ipcclean --yes` removes it if it is yours)",
            shmaddr.id()
        ))
    };
    // EXERCISE(listener_talker): wait for SIGUSR1 (sigtimedwait, checking the listener lives), or poll until the greeting is overwritten
    if signals_back {
        while sigtimedwait(usr1, Duration::from_millis(100))?.is_none() {
            if !alive(listener) {
                return Err(gone());
            }
        }
        Ok(())
    } else {
        poll_until(|| {
            if shmaddr.read_cstr(0) != b"Hello, I'm talker" {
                Ok(true)
            } else if alive(listener) {
                Ok(false)
            } else {
                Err(gone())
            }
        })
    }
    // END EXERCISE
}
