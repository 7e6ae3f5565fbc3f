//! `msgq_demo`: a message queue keeps every message's type, and msgrcv's `msgtyp` chooses which
//! message to take. The same five messages (types 3, 1, 2, 1, 5) are sent three times and taken
//! three ways: in arrival order, lowest type first (a priority queue), and by one type only.
//!
//! It uses a queue of its own (IPC_PRIVATE) and removes it at the end, messages and all.

use clap::Parser;
use shared::cleanup::Owned;
use shared::error::strerror;
use shared::ipc::{IPC_CREAT, IPC_NOWAIT, MsqId};
use shared::key::IPC_PRIVATE;
use shared::msg::{c_long, msgctl_stat, msgget, msgrcv, msgsnd};
use shared::{Errno, Result};

use ch10_msgq::{text_of, with_nul};

/// Send types 3,1,2,1,5 and receive them by arrival, by priority and by type.
#[derive(Parser)]
#[command(
    after_help = "Example:\n  msgq_demo     the three ways msgrcv's msgtyp picks a message\n\nTo try them by hand: mkq 123; qsend 123 3 three; qsend 123 1 one; qrecv 123 --type -5; qctl 123"
)]
struct Args {}

/// What is sent each round, in this order: (mtype, text).
const MESSAGES: [(c_long, &str); 5] = [(3, "three"), (1, "one-a"), (2, "two"), (1, "one-b"), (5, "five")];

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        Args::parse();
        // ANCHOR: demo
        // IPC_PRIVATE: a new queue no other program can find by key; removed when `queue` drops.
        let queue = Owned::create(|| msgget(IPC_PRIVATE, IPC_CREAT | 0o600))?;
        println!("msgget(IPC_PRIVATE) made queue {}", queue.id());

        round(queue.id(), 0, "the oldest message first, whatever its type (first in, first out)")?;
        round(queue.id(), -5, "the lowest type <= 5 first: a priority queue (arrival order within a type)")?;
        round(queue.id(), 1, "only messages of type 1: one queue per type, e.g. per reader")?;

        // IPC_RMID does not wait for the queue to be empty: unread messages are thrown away.
        let left = msgctl_stat(queue.id())?.qnum;
        let id = queue.id();
        queue.ipc_rmid()?;
        println!("\nmsgctl(IPC_RMID) removed queue {id} with its {left} unread messages");
        // ANCHOR_END: demo
        Ok(())
    })
}

// ANCHOR: round
/// Send the five messages, then take messages with `msgtyp` until none matches.
fn round(queue: MsqId, msgtyp: c_long, what: &str) -> Result<()> {
    let sent: Vec<String> = MESSAGES.iter().map(|(mtype, text)| format!("{mtype}:{text}")).collect();
    for (mtype, text) in MESSAGES {
        msgsnd(queue, mtype, &with_nul(text), 0)?;
    }
    println!("\nsent      {}", sent.join(" "));
    println!("msgtyp = {msgtyp}: {what}");
    loop {
        // IPC_NOWAIT: when nothing matches, ENOMSG at once instead of waiting for a sender.
        match msgrcv(queue, 64, msgtyp, IPC_NOWAIT) {
            Ok(message) => println!("  received {}:{}", message.mtype, text_of(&message.text)),
            Err(err) if err.errno() == Some(Errno::ENOMSG) => {
                println!(
                    "  then ENOMSG ({}): {} left on the queue",
                    strerror(Errno::ENOMSG),
                    msgctl_stat(queue)?.qnum
                );
                return Ok(());
            }
            Err(err) => return Err(err),
        }
    }
}
// ANCHOR_END: round
