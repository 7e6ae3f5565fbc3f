//! `qsnd_pid`: the slides' qsnd_pid.c. A message's type can address a process: the child sends
//! with `mtype = getppid()`, its parent's pid, and the parent asks msgrcv only for messages of type
//! `getpid()`. However many processes share the queue, each takes only the mail addressed to it.

use std::io::BufRead;

use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, IPC_EXCL, IPC_NOWAIT, MsqId};
use shared::key::Key;
use shared::msg::{msgctl_rmid, msgget, msgrcv, msgsnd};
use shared::process::{Fork, exit_child, fork, getpid, getppid};
use shared::{CallContext, Errno, Error, Result};

use ch10_msgq::{text_of, with_nul};

/// The most text a message may carry on Linux by default (/proc/sys/kernel/msgmax).
const MAX_TEXT: usize = 8192;

/// The child posts a line to its parent through the queue for KEY, typed with the parent's pid.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  qsnd_pid 1234                     type a line for the child to post\n  qsnd_pid 1234 -m 'Hi! my parent'  post this text (14 bytes with its NUL)\n\nThe queue is created (0600) and removed at the end; a queue that exists already\n(made by mkq) is used and left for qctl to remove."
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// The message for the child to post, instead of reading a line from standard input.
    #[arg(short, long, value_name = "TEXT")]
    message: Option<String>,
}

fn main() -> std::process::ExitCode {
    let mut child_failed = false;
    let status = shared::cli::run(|| {
        let args = Args::parse();
        // ANCHOR: parent
        // A queue of our own, removed at the end; or the one `mkq KEY` left, which we leave for
        // `qctl KEY` (the slides' qsnd_pid removes whatever it finds: we never remove another's).
        let (queue, ours) = match Owned::create(|| msgget(args.key, IPC_CREAT | IPC_EXCL | 0o600)) {
            Ok(owned) => (owned.id(), Some(owned)),
            Err(err) if err.errno() == Some(Errno::EEXIST) => (msgget(args.key, 0)?, None),
            Err(err) => return Err(err),
        };
        let me = getpid();
        // Printed before the fork, so it always comes first (in the slides it races the prompt).
        println!("{me} process waiting to read the message queue..");

        let child = match fork()? {
            // A panic (println! on a closed stdout: `| head -1`) must wake the parent as well.
            Fork::Child => {
                exit_child(match std::panic::catch_unwind(|| post(queue, args.message.as_deref())) {
                    Ok(Ok(())) => 0,
                    failed => {
                        if let Ok(Err(err)) = failed {
                            eprintln!("{}: {err}", shared::cli::program_name());
                        }
                        wake_parent(queue);
                        1
                    }
                })
            }
            Fork::Parent { child } => child,
        };

        // Only messages of type getpid(): mail addressed to this process. Blocks until one comes.
        let received = msgrcv(queue, MAX_TEXT, me.as_raw().into(), 0);
        // Reap the child before printing, so its lines always come before ours.
        let child_status = child.wait()?;
        if !child_status.success() {
            child_failed = true; // it has said why on stderr
            return Ok(());
        }
        let message = received?;
        println!("recv = {} bytes", message.text.len());
        println!("type = {}", message.mtype);
        println!("receiving process PID = {me}");
        println!("value = {}", text_of(&message.text));
        match ours {
            Some(owned) => {
                owned.ipc_rmid()?;
                println!("message queue {queue} removed");
            }
            None => {
                println!("message queue {queue} left for its creator: qctl {} removes it", args.key.raw())
            }
        }
        // ANCHOR_END: parent
        Ok(())
    });
    if child_failed { std::process::ExitCode::FAILURE } else { status }
}

/// The child failed: the parent waits in msgrcv for a message of its type and would wait for
/// ever. An empty message (a real one always has at least its NUL) wakes it; if even that cannot
/// be sent, removing the queue does (msgrcv fails with EIDRM).
fn wake_parent(queue: MsqId) {
    if msgsnd(queue, getppid().as_raw().into(), &[], IPC_NOWAIT).is_err() {
        let _ = msgctl_rmid(queue);
    }
}

// ANCHOR: child
/// The child: read a line and post it, addressed to the parent by the parent's pid.
fn post(queue: MsqId, message: Option<&str>) -> Result<()> {
    println!("Enter message to post :");
    let line = match message {
        Some(text) => text.to_owned(),
        None => read_line()?,
    };
    // Sent with its NUL, like the C original: "Hi! my parent" is 13 characters and 14 bytes.
    msgsnd(queue, getppid().as_raw().into(), &with_nul(&line), 0)?;
    println!("message posted");
    Ok(())
}
// ANCHOR_END: child

/// One line of standard input, without its line ending.
fn read_line() -> Result<String> {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).call("read(stdin)")? == 0 {
        return Err(Error::other("no message to post: standard input ended before a line"));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
