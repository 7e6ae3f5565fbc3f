//! `mkq`: the slides' mkq.c. `msgget(key, IPC_CREAT | 0600)` makes the queue for a key (or finds
//! the one that already has it); `msgget(key, 0)` then opens it by the key alone, as an unrelated
//! process would, and gets the same id: the key is how processes meet, the id is what they use.
//!
//! mkq is the workbook's one program that leaves what it creates behind, on purpose: the queue is
//! there for you to look at (`ipcs -q`, `ipcls -q`) and to use (`qsend`, `qrecv`, `qsnd_pid`), and
//! `qctl KEY` reports on it and removes it.

use clap::Parser;
use shared::ipc::{IPC_CREAT, IPC_EXCL};
use shared::key::Key;
use shared::msg::msgget;

/// Create a message queue for KEY, open it again by key, print both ids (and leave the queue).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  mkq 123          create queue 123 (0x7b), print its id twice, leave it for you\n  ipcs -q          see it (or: ipcls -q)\n  qctl 123         report on it, then remove it\n  mkq --excl 123   EEXIST if a queue with key 123 already exists\n\nThe queue is NOT removed when mkq ends: that is its purpose. Remove it with `qctl KEY`."
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
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
        // ANCHOR: mkq
        // EXERCISE(mkq): msgget(key, IPC_CREAT, IPC_EXCL if --excl, mode), print, msgget(key, 0) again
        // IPC_CREAT alone also succeeds when the queue exists (then "created" is the slides' word for
        // "found"); with IPC_EXCL an existing queue is an error, EEXIST.
        let flags = IPC_CREAT | if args.excl { IPC_EXCL } else { 0 } | args.mode;
        let created = msgget(args.key, flags)?;
        println!("created queue id = {created}");
        // key_t printed as the slides' printf("%d") prints it: decimal.
        println!("key is = {}", args.key.raw());
        // No flags: only find. This is how another program gets the id from the key.
        let opened = msgget(args.key, 0)?;
        println!("opened queue id = {opened}");
        // END EXERCISE
        // ANCHOR_END: mkq
        // Deliberately no IPC_RMID: the queue outlives mkq until `qctl KEY` removes it.
        Ok(())
    })
}
