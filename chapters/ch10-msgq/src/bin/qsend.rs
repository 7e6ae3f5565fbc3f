//! `qsend`: one `msgsnd` from the shell, like Kerrisk's svmsg_send. With `qrecv` and `ipcs -q` (or
//! `qctl --keep`) between calls, you can watch messages pile up on a queue and leave it by type.

use clap::Parser;
use shared::ipc::IPC_NOWAIT;
use shared::key::Key;
use shared::msg::{c_long, msgget, msgsnd};

use ch10_msgq::with_nul;

/// Send TEXT as one message of type TYPE on the queue for KEY.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  mkq 123; qsend 123 1 hello      one message of type 1 (6 bytes: the text and its NUL)\n  qsend 123 0 hello               EINVAL: a message type must be > 0\n  qsend --nowait 123 1 hello      EAGAIN instead of waiting when the queue is full"
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// The message type (mtype): must be greater than 0.
    #[arg(value_name = "TYPE", allow_negative_numbers = true)]
    mtype: c_long,
    /// The text; it is sent with its terminating NUL, as a C program sends a string.
    #[arg(allow_hyphen_values = true)]
    text: String,
    /// IPC_NOWAIT: if the queue is full, fail with EAGAIN instead of waiting for room.
    #[arg(long)]
    nowait: bool,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // ANCHOR: qsend
        // Flags 0: find only. Permission is checked by msgsnd, which needs write access (EACCES).
        let queue = msgget(args.key, 0)?;
        let mtext = with_nul(&args.text);
        // The kernel refuses mtype <= 0 (EINVAL): 0 and negatives are msgrcv's selectors, not types.
        // A full queue (msg_qbytes reached) blocks the sender, unless IPC_NOWAIT makes it EAGAIN.
        msgsnd(queue, args.mtype, &mtext, if args.nowait { IPC_NOWAIT } else { 0 })?;
        println!("sent: type={}; length={}", args.mtype, mtext.len());
        // ANCHOR_END: qsend
        Ok(())
    })
}
