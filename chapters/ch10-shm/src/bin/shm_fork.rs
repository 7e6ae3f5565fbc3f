//! `shm_fork`: the textbook's first shared-memory program. The parent makes a 20-byte segment, the
//! child attaches it and writes `a`..`j`, the parent waits, attaches it too and reads what the child
//! wrote: the same bytes, because both mappings are the same memory. At every stage the program
//! shows the segment's `IPC_STAT` (what `ipcs -m` and `ipcs -mp` would show), so you watch `nattch`
//! count attachments and `lpid` follow whoever attached or detached last.

use std::time::Duration;

use ch10_shm::ipcs;
use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, ShmId};
use shared::key::IPC_PRIVATE;
use shared::process::{fork_child, getpid};
use shared::shm::{shmat, shmctl_stat, shmdt, shmget};
use shared::{Error, Result};

/// Parent and child share 20 bytes of memory: the child writes, the parent reads (textbook ch. 10
/// §10-4-2).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  shm_fork                  create, write in the child, read in the parent, remove\n  shm_fork --pause 10       stay attached 10 s: run `ipcs -m` and `ipcs -mp` meanwhile"
)]
struct Args {
    /// Stay attached this long before detaching, to look with `ipcs` (the textbook's sleep(5)).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pause: u64,
}

/// The textbook's size: 20 bytes (the kernel rounds the mapping up to a page; `bytes` stays 20).
const SIZE: usize = 20;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let parent = getpid().as_raw();

        // ANCHOR: create
        // IPC_PRIVATE always makes a new segment that no other program can find by key; the child
        // needs no key, because fork() gives it our variables, the id included. (The textbook
        // asks for 0644; 0600 is enough, as only this user's processes use it.)
        let segment = Owned::create(|| shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0o600))?;
        let shmid = segment.id();
        println!("parent: shmget(IPC_PRIVATE, {SIZE}, IPC_CREAT|0600) = shmid {shmid}");
        println!("  {}", ipcs(shmid, &[(parent, "parent")])?);
        // ANCHOR_END: create

        // ANCHOR: fork
        let child = fork_child(|| child_writes(shmid, parent))?;
        let child_pid = child.pid().as_raw();
        let names = [(parent, "parent"), (child_pid, "child")];
        // The textbook's wait(0): the parent reads only after the child has written and exited.
        // Shared memory itself gives no such ordering; without the wait the parent could read
        // 20 zero bytes, or half the letters.
        let status = child.wait()?;
        println!("parent: the child {status}");
        if !status.success() {
            return Err(Error::other(format!("the child {status}")));
        }
        println!("  {}", ipcs(shmid, &names)?);

        let shmaddr2 = shmat(shmid, 0)?;
        println!("parent process ===");
        let mut letters = [0u8; 10];
        shmaddr2.read(0, &mut letters);
        println!("{}", String::from_utf8_lossy(&letters));
        println!("  {}", ipcs(shmid, &names)?);
        // ANCHOR_END: fork

        if args.pause > 0 {
            println!("parent: pausing {} s while attached: try `ipcs -m` and `ipcs -mp`", args.pause);
            std::thread::sleep(Duration::from_secs(args.pause));
        }

        // ANCHOR: remove
        shmdt(shmaddr2)?;
        println!("parent: shmdt");
        println!("  {}", ipcs(shmid, &names)?);
        // Detaching never removes a segment (nattch=0 above, yet it is still there): IPC_RMID does.
        segment.ipc_rmid()?;
        match shmctl_stat(shmid) {
            Err(gone) => println!("parent: shmctl(IPC_RMID) removed it: now {gone}"),
            Ok(_) => return Err(Error::other(format!("shmid {shmid} is still there after IPC_RMID"))),
        }
        // ANCHOR_END: remove
        Ok(())
    })
}

// ANCHOR: child
fn child_writes(shmid: ShmId, parent: i32) -> Result<()> {
    // EXERCISE(shm_fork): shmat the segment, write the letters a to j, shmdt
    let shmaddr = shmat(shmid, 0)?;
    println!("child process ===");
    let names = [(parent, "parent"), (getpid().as_raw(), "child")];
    println!("  {}", ipcs(shmid, &names)?);
    // The textbook's loop, with the closing brace it forgot: one byte per letter.
    for i in 0..10u8 {
        shmaddr.write(usize::from(i), &[b'a' + i]);
    }
    println!("child: wrote abcdefghij");
    shmdt(shmaddr)?;
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: child
