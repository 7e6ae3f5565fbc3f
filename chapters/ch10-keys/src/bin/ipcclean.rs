//! `ipcclean`: remove the System V objects a killed program left behind, and only yours.
//!
//! A queue, segment or semaphore set belongs to no process: it stays in the kernel until someone
//! removes it with IPC_RMID. The workbook's programs remove theirs on every exit they can see, even
//! Ctrl-C, but nothing can catch SIGKILL (`kill -9`). After one, run
//!
//! ```text
//! cargo run -p ch10-keys --bin ipcclean            # see what is left
//! cargo run -p ch10-keys --bin ipcclean -- --yes   # remove it
//! ```
//!
//! Only objects whose owner is you (your effective uid) are listed or touched, never another
//! user's. As root that would still be every object root owns, other programs' included, so root
//! must name the keys (`--key`) or say `--all`.

use std::path::PathBuf;

use ch10_keys::hex;
use clap::Parser;
use nix::unistd::geteuid;
use shared::key::{Key, ftok};
use shared::sysvipc::IpcObject;
use shared::user::user_name;
use shared::{Errno, Error};

/// List your leftover System V IPC objects, and with --yes remove them (the workbook's own, after
/// textbook ch. 10 §10-2-4 ipcrm).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  ipcclean                   list your message queues, segments and semaphore sets\n  ipcclean --yes             remove them all (what to run after kill -9 of a demo)\n  ipcclean --key 0x7b --yes  remove only your objects made with key 0x7b\n  ipcclean --yes --all       as root: every object root owns (other programs' too!)"
)]
struct Args {
    /// Remove the objects listed (without it, nothing is removed).
    #[arg(long)]
    yes: bool,
    /// Only objects made with this key (decimal or 0x hex); repeat for more keys.
    #[arg(long = "key", value_name = "KEY")]
    keys: Vec<Key>,
    /// Only objects made with the key ftok(PATH, 1); repeat for more key files.
    #[arg(long = "keyfile", value_name = "PATH")]
    keyfiles: Vec<PathBuf>,
    /// Needed by root to remove without --key: root owns other programs' objects too.
    #[arg(long)]
    all: bool,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let mut args = Args::parse();
        for path in &args.keyfiles {
            args.keys.push(ftok(path, 1)?);
        }
        let me = geteuid().as_raw();

        // ANCHOR: select
        // Yours means owned by your effective uid: the uid the kernel checks for IPC_RMID.
        let wanted = |object: &IpcObject| {
            object.uid == me && (args.keys.is_empty() || args.keys.contains(&object.key))
        };
        let mine: Vec<IpcObject> = shared::sysvipc::list().into_iter().filter(wanted).collect();
        // ANCHOR_END: select
        let keys: Vec<String> = args.keys.iter().copied().map(hex).collect();
        let whose = match keys.as_slice() {
            [] => format!("{} (uid {me})", user_name(me)),
            keys => format!("{} (uid {me}) with key {}", user_name(me), keys.join(", ")),
        };
        if mine.is_empty() {
            println!("no System V IPC objects of {whose}: nothing to remove");
            return Ok(());
        }
        println!("System V IPC objects of {whose}:");
        for object in &mine {
            let (kind, key) = (object.kind.to_string(), hex(object.key));
            println!("  {kind:<21} key {key}  id {:<10} perms {:o}", object.id, object.perms);
        }
        if !args.yes {
            println!("nothing removed: run again with --yes to remove these {}", mine.len());
            return Ok(());
        }
        if me == 0 && args.keys.is_empty() && !args.all {
            return Err(Error::other(
                "refusing to remove every object root owns (other programs' too): give --key KEY, or add --all",
            ));
        }

        // ANCHOR: remove
        let mut failed = 0;
        for object in &mine {
            let what = format!("{} {}", object.kind, object.id);
            match object.ipc_rmid() {
                Ok(()) if object.column("nattch") > 0 => {
                    println!("removed {what} (still attached: the kernel frees it at the last shmdt)")
                }
                Ok(()) => println!("removed {what}"),
                // Its owner removed it between our listing and now: the goal is met.
                Err(err) if matches!(err.errno(), Some(Errno::EINVAL | Errno::EIDRM)) => {
                    println!("{what} was already gone")
                }
                Err(err) => {
                    println!("could not remove {what}: {err}");
                    failed += 1;
                }
            }
        }
        // ANCHOR_END: remove
        if failed > 0 {
            return Err(Error::other(format!("{failed} of {} objects could not be removed", mine.len())));
        }
        Ok(())
    })
}
