//! `qsnd_pid`: the slides' qsnd_pid.c. A message's type can address a process: the child sends
//! with `mtype = getppid()`, its parent's pid, and the parent asks msgrcv only for messages of type
//! `getpid()`. However many processes share the queue, each takes only the mail addressed to it.

use std::io::BufRead;

use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, MsqId};
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
    after_help = "Examples:\n  qsnd_pid 1234                  type a line for the child to post\n  qsnd_pid 1234 -m 'Hi! my parent'   post this text (14 bytes with its NUL)\n\nThe queue is created if needed (0600) and removed at the end."
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
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
        let queue = Owned::new(msgget(args.key, IPC_CREAT | 0o600)?);
        let me = getpid();
        // Printed before the fork, so it always comes first (in the slides it races the prompt).
        println!("{me} process waiting to read the message queue..");

        let child = match fork()? {
            Fork::Child => exit_child(match post(queue.id(), args.message.as_deref()) {
                Ok(()) => 0,
                Err(err) => {
                    eprintln!("{}: {err}", shared::cli::program_name());
                    // The parent is blocked in msgrcv and would wait for ever: removing the queue
                    // wakes it with EIDRM (or, if it had not called msgrcv yet, makes it EINVAL).
                    let _ = msgctl_rmid(queue.id());
                    1
                }
            }),
            Fork::Parent { child } => child,
        };

        // Only messages of type getpid(): mail addressed to this process. Blocks until one comes.
        let received = msgrcv(queue.id(), MAX_TEXT, me.as_raw().into(), 0);
        // Reap the child before printing, so its lines always come before ours.
        let child_status = child.wait()?;
        let message = match received {
            Ok(message) => message,
            Err(err)
                if matches!(err.errno(), Some(Errno::EIDRM | Errno::EINVAL)) && !child_status.success() =>
            {
                child_failed = true; // it has said why, and removed the queue
                queue.keep();
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        println!("recv = {} bytes", message.text.len());
        println!("type = {}", message.mtype);
        println!("receiving process PID = {me}");
        println!("value = {}", text_of(&message.text));
        let id = queue.id();
        queue.remove()?;
        println!("message queue {id} removed");
        // ANCHOR_END: parent
        Ok(())
    });
    if child_failed { std::process::ExitCode::FAILURE } else { status }
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
