//! `qctl`: the slides' qctl.c. `msgctl(IPC_STAT)` copies the kernel's `struct msqid_ds` for a queue
//! into our memory; we print it, then `msgctl(IPC_RMID)` removes the queue, unread messages and all
//! (every process blocked on it wakes with EIDRM).

use clap::Parser;
use shared::Result;
use shared::key::Key;
use shared::msg::{msgctl_rmid, msgctl_stat, msgget};

use shared::out::format_time;

/// Report on the message queue for KEY (msgctl IPC_STAT), then remove it (IPC_RMID).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  mkq 1234; qctl 1234    create a queue, then report on it and remove it\n  qctl --keep 1234       report only; the queue stays"
)]
struct Args {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// Report only: do not remove the queue.
    #[arg(long)]
    keep: bool,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        report_and_remove(args.key, args.keep)
    })
}

// ANCHOR: qctl
fn report_and_remove(key: Key, keep: bool) -> Result<()> {
    // EXERCISE(qctl): msgget(key, 0), msgctl_stat and print its fields, then msgctl_rmid unless keep
    // Flags 0: find the queue, never create it (ENOENT if no queue has this key).
    let id = msgget(key, 0)?;
    // IPC_STAT needs read permission on the queue: another user's 0600 queue gives EACCES.
    let ds = msgctl_stat(id)?;
    println!("max bytes of the queue : {}", ds.qbytes);
    println!("queue owner UID        : {}", ds.perm.uid);
    println!("queue owner GID        : {}", ds.perm.gid);
    println!("queue permissions      : {:04o}", ds.perm.permissions());
    println!("messages on the queue  : {}", ds.qnum);
    println!("bytes on the queue     : {}", ds.cbytes);
    println!("last sender PID        : {}", ds.lspid);
    println!("last receiver PID      : {}", ds.lrpid);
    println!("last msgsnd            : {}", format_time(ds.stime));
    println!("last msgrcv            : {}", format_time(ds.rtime));
    println!("last change            : {}", format_time(ds.ctime));

    if keep {
        println!("message queue {id} kept (--keep)");
        return Ok(());
    }
    // Only the owner, the creator or root may remove it (EPERM otherwise). Unread messages go too.
    msgctl_rmid(id)?;
    match ds.qnum {
        0 => println!("message queue {id} removed"),
        unread => println!("message queue {id} removed, with its {unread} unread message(s)"),
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: qctl
