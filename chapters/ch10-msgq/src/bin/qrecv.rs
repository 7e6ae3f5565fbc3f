//! `qrecv`: one `msgrcv` from the shell, like Kerrisk's svmsg_receive. `--type` is msgrcv's
//! `msgtyp`, which picks the message to take:
//!
//! - `0`: the first message on the queue, whatever its type (first in, first out);
//! - `T > 0`: the first message of type T (a queue per type: address a message to one reader);
//! - `T < 0`: the first message of the lowest type <= |T| (a priority queue: 1 beats 2 beats 3).

use clap::Parser;
use shared::ipc::IPC_NOWAIT;
use shared::key::Key;
use shared::msg::{MSG_NOERROR, c_long, msgget, msgrcv};

use ch10_msgq::text_of;

/// Receive one message from the queue for KEY and print its type, length and body.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  qrecv 123                    the first message (waits for one if the queue is empty)\n  qrecv 123 --type 2           the first message of type 2\n  qrecv 123 --type -5          the lowest type <= 5 first: a priority queue\n  qrecv 123 --type 7 --nowait  ENOMSG instead of waiting when there is none\n  qrecv 123 --max 4            E2BIG if the message is longer than 4 bytes (it stays queued)\n  qrecv 123 --max 4 --noerror  take it anyway, cut to 4 bytes"
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// msgtyp: 0 = first message; T > 0 = first of type T; T < 0 = lowest type <= |T| first.
    #[arg(short = 't', long = "type", value_name = "T", default_value_t = 0, allow_negative_numbers = true)]
    msgtyp: c_long,
    /// IPC_NOWAIT: if no message matches, fail with ENOMSG instead of waiting.
    #[arg(long)]
    nowait: bool,
    /// MSG_NOERROR: cut a message longer than --max instead of failing with E2BIG.
    #[arg(long)]
    noerror: bool,
    /// msgsz: the most bytes of text to accept.
    #[arg(long, value_name = "BYTES", default_value_t = 8192, value_parser = clap::value_parser!(u32).range(0..=1 << 20))]
    max: u32,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // ANCHOR: qrecv
        // Flags 0: find only. Permission is checked by msgrcv, which needs read access (EACCES).
        let queue = msgget(args.key, 0)?;
        let mut flags = 0;
        if args.nowait {
            flags |= IPC_NOWAIT;
        }
        if args.noerror {
            flags |= MSG_NOERROR;
        }
        // Blocks until a message matches msgtyp, unless IPC_NOWAIT (then ENOMSG). If the queue is
        // removed meanwhile, it fails with EIDRM. A message longer than --max is E2BIG and stays on
        // the queue, unless MSG_NOERROR: then the rest of it is lost.
        let message = msgrcv(queue, args.max as usize, args.msgtyp, flags)?;
        println!("type={}; length={}; body={}", message.mtype, message.text.len(), text_of(&message.text));
        // ANCHOR_END: qrecv
        Ok(())
    })
}
