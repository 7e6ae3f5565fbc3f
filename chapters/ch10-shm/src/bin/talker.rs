//! `talker PID`: the textbook's shared-memory client. It finds the listener's segment through the
//! same `ftok("shmfile", 1)`, writes its greeting there, wakes the listener (pid PID) with SIGUSR1,
//! waits for the listener's SIGUSR1 back, reads the answer, shows that both are attached
//! (nattch=2), then detaches and removes the segment.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ch10_shm::{KEY_FILE, KEY_ID, REPLY_TO, TALK_SIZE, ipcs};
use clap::Parser;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::unistd::Pid;
use shared::cli::KeyArgs;
use shared::process::{getpid, sigtimedwait};
use shared::shm::{shmat, shmctl_rmid, shmctl_stat, shmdt, shmget};
use shared::{CallContext, Error};

/// Greet a waiting `listener` through shared memory and read its answer.
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

        // SIGUSR1 kills a process that does not expect it, so make sure PID is our listener before
        // signalling it: it exists (kill with signal 0 sends nothing, it only checks), and it is
        // the process that created the segment. The textbook signals whatever pid it is given.
        kill(listener, None).call(format!("kill({listener}, 0)"))?;
        let creator = shmctl_stat(shmid)?.cpid;
        if creator != listener.as_raw() {
            return Err(Error::other(format!(
                "pid {listener} is not the listener: shmid {shmid} was created by pid {creator}"
            )));
        }

        // ANCHOR: talk
        let shmaddr = shmat(shmid, 0)?;
        shmaddr.write_cstr(0, b"Hello, I'm talker");
        // Our return address, so the listener can signal back (sigwait cannot tell it the sender).
        shmaddr.atomic_i32(REPLY_TO).store(me.as_raw(), Ordering::SeqCst);
        println!("talker: wrote \"Hello, I'm talker\" in shmid {shmid}; SIGUSR1 to listener {listener}");
        kill(listener, Signal::SIGUSR1).call(format!("kill({listener}, SIGUSR1)"))?;

        // The textbook sleeps 2 s here and hopes the answer is written by then. We wait until the
        // listener says it is, checking now and then that it still lives (a killed one never will).
        while sigtimedwait(&usr1, Duration::from_millis(100))?.is_none() {
            if kill(listener, None) == Err(nix::errno::Errno::ESRCH) {
                return Err(Error::other(format!(
                    "listener {listener} ended without answering; its segment {shmid} is left \
                     (`ipcclean --yes` removes it if it is yours)"
                )));
            }
        }
        let answer = shmaddr.read_cstr(0);
        println!("Listener said : {}", String::from_utf8_lossy(&answer));
        // ANCHOR_END: talk

        // ANCHOR: remove
        // What the textbook's system("ipcs -mo") shows: the listener is still attached, so 2.
        let names = [(listener.as_raw(), "listener"), (me.as_raw(), "talker")];
        println!("talker: {}", ipcs(shmid, &names)?);
        shmdt(shmaddr)?;
        shmctl_rmid(shmid)?;
        // The listener is still attached: Linux frees the segment when it detaches.
        println!("talker: detached and removed shmid {shmid}; SIGUSR1 to listener: you may detach");
        kill(listener, Signal::SIGUSR1).call(format!("kill({listener}, SIGUSR1)"))?;
        // ANCHOR_END: remove
        Ok(())
    })
}
