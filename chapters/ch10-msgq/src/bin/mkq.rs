//! `mkq`: the slides' mkq.c (slides ch. 8 §8.3, slides 17–18; the slides describe it and show its
//! run, not its code). `msgget(key, IPC_CREAT | mode)` makes the queue for a key (or finds the one
//! that has it); `msgget(key, 0)` then opens it by the key alone, as an unrelated process would, and
//! gets the same id: the key is how processes meet, the id is what they use.
//!
//! mkq leaves what it creates behind, on purpose: `qctl KEY` reports on the queue and removes it.

use ch10_msgq::QueueKey;
use clap::Parser;
use shared::ipc::{IPC_CREAT, IPC_EXCL};
use shared::msg::msgget;

/// Create a message queue for KEY, open it again by key, print both ids, leave the queue (slides
/// ch. 8 §8.3, slides 17–18: mkq.c, described but not listed).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  mkq 123                  create queue 123 (0x7b), print its id twice, leave it for you\n  mkq --keyfile keyfile    the key from ftok(\"keyfile\", 1), as the textbook makes one\n  ipcs -q                  see it (or: ipcls -q)\n  qctl 123                 report on it, then remove it\n  mkq --excl 123           EEXIST if a queue with key 123 already exists\n\nThe queue is NOT removed when mkq ends: that is its purpose. Remove it with `qctl KEY`."
)]
struct Args {
    #[command(flatten)]
    key: QueueKey,
    /// Add IPC_EXCL: fail with EEXIST rather than open a queue that already has this key.
    #[arg(long)]
    excl: bool,
    /// Permission bits for a new queue, in octal (0666 lets every user send and take messages).
    #[arg(long, default_value = "600", value_parser = shared::cli::parse_mode)]
    mode: i32,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let key = args.key.resolve()?;
        // ANCHOR: mkq
        // EXERCISE(mkq): msgget(key, IPC_CREAT, IPC_EXCL if --excl, mode), print, msgget(key, 0) again
        // IPC_CREAT alone also succeeds when the queue exists ("created" then means "found");
        // with IPC_EXCL an existing queue is an error, EEXIST.
        let flags = IPC_CREAT | if args.excl { IPC_EXCL } else { 0 } | args.mode;
        let created = msgget(key, flags)?;
        println!("created queue id = {created}");
        // In decimal, as the slides' run shows it.
        println!("key is = {}", key.raw());
        // No flags: only find. This is how another program gets the id from the key.
        let opened = msgget(key, 0)?;
        println!("opened queue id = {opened}");
        // END EXERCISE
        // ANCHOR_END: mkq
        // Deliberately no IPC_RMID: the queue outlives mkq until `qctl KEY` removes it.
        Ok(())
    })
}
