//! `ipcls`: the System V objects on this machine, listed the way `ipcs` lists them, and one object's
//! whole `ipc_perm` and `*_ds` structure with `--id`.
//!
//! The listing reads `/proc/sysvipc/{msg,shm,sem}`, the same files `ipcs` reads, so it shows every
//! object, readable or not. `--id` asks the kernel itself with `IPC_STAT`, which needs read
//! permission on the object: the textbook's fields, live, and EACCES when they are not yours to see.

use std::path::PathBuf;

use ch10_keys::{chosen_kinds, kind_of, shm_status, show_perm};
use clap::Parser;
use shared::Result;
use shared::ipc::{Kind, MsqId, SemId, ShmId};
use shared::key::{Key, ftok};
use shared::sysvipc::list_kind;
use shared::time::format_time;
use shared::user::user_name;

/// List System V IPC objects like ipcs, or show one object's IPC_STAT in full (the workbook's own,
/// after textbook ch. 10 §10-2-3 ipcs).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  ipcls                 every message queue, shared memory segment and semaphore set\n  ipcls -q              message queues only\n  ipcls --key 0x7b      only the objects made with key 0x7b (123)\n  ipcls -q --id 229377  the queue's ipc_perm and msqid_ds, from msgctl(IPC_STAT)"
)]
struct Args {
    /// Message queues.
    #[arg(short = 'q', long = "queues")]
    queues: bool,
    /// Shared memory segments.
    #[arg(short = 'm', long = "shmems")]
    shmems: bool,
    /// Semaphore sets.
    #[arg(short = 's', long = "semaphores")]
    semaphores: bool,
    /// Only objects made with this key (decimal or 0x hex).
    #[arg(long, value_name = "KEY", conflicts_with = "keyfile")]
    key: Option<Key>,
    /// Only objects made with the key ftok(PATH, 1).
    #[arg(long, value_name = "PATH")]
    keyfile: Option<PathBuf>,
    /// Show this object's whole ipc_perm and *_ds (from IPC_STAT) instead of the list.
    #[arg(long, value_name = "N", conflicts_with_all = ["key", "keyfile"])]
    id: Option<i32>,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let kinds = chosen_kinds(args.queues, args.shmems, args.semaphores);
        if let Some(id) = args.id {
            return show_one(&kinds, id);
        }
        let key = match &args.keyfile {
            Some(path) => Some(ftok(path, 1)?),
            None => args.key,
        };
        for kind in kinds {
            list(kind, key);
        }
        Ok(())
    })
}

// ANCHOR: list
/// One `ipcs`-style table: the columns common to all kinds, then the kind's own.
fn list(kind: Kind, only_key: Option<Key>) {
    let (title, id_name, own_columns) = match kind {
        Kind::MessageQueue => ("Message Queues", "msqid", "used-bytes   messages"),
        Kind::SharedMemory => ("Shared Memory Segments", "shmid", "bytes      nattch     status"),
        Kind::SemaphoreSet => ("Semaphore Arrays", "semid", "nsems"),
    };
    println!("------ {title} --------");
    println!("{:<10} {:<10} {:<10} {:<10} {own_columns}", "key", id_name, "owner", "perms");
    let objects = list_kind(kind).into_iter().filter(|object| only_key.is_none_or(|key| object.key == key));
    for object in objects {
        let common = format!(
            "{:#010x} {:<10} {:<10} {:<10o}",
            object.key.raw() as u32,
            object.id,
            user_name(object.uid),
            object.perms
        );
        let own = match kind {
            Kind::MessageQueue => format!("{:<12} {}", object.column("cbytes"), object.column("qnum")),
            Kind::SharedMemory => {
                format!(
                    "{:<10} {:<10} {}",
                    object.column("size"),
                    object.column("nattch"),
                    shm_status(&object)
                )
            }
            Kind::SemaphoreSet => object.column("nsems").to_string(),
        };
        println!("{}", format!("{common} {own}").trim_end());
    }
    println!();
}
// ANCHOR_END: list

// ANCHOR: show_one
/// `IPC_STAT` one object and print every field the kernel returns.
fn show_one(kinds: &[Kind], id: i32) -> Result<()> {
    let kind = kind_of(kinds, id)?;
    match kind {
        Kind::MessageQueue => {
            let ds = shared::msg::msgctl_stat(MsqId(id))?;
            println!("message queue {id}: msgctl(IPC_STAT) gives struct msqid_ds");
            show_perm("msg_perm", &ds.perm, id);
            println!("  msg_qbytes = {:<10} most bytes of text the queue may hold", ds.qbytes);
            println!("  msg_qnum   = {:<10} messages on the queue now", ds.qnum);
            println!("  msg_cbytes = {:<10} bytes of text on the queue now", ds.cbytes);
            println!("  msg_lspid  = {:<10} pid of the last msgsnd", ds.lspid);
            println!("  msg_lrpid  = {:<10} pid of the last msgrcv", ds.lrpid);
            println!("  msg_stime  = {} (last msgsnd)", format_time(ds.stime));
            println!("  msg_rtime  = {} (last msgrcv)", format_time(ds.rtime));
            println!("  msg_ctime  = {} (created, or last IPC_SET)", format_time(ds.ctime));
        }
        Kind::SharedMemory => {
            let ds = shared::shm::shmctl_stat(ShmId(id))?;
            println!("shared memory segment {id}: shmctl(IPC_STAT) gives struct shmid_ds");
            show_perm("shm_perm", &ds.perm, id);
            println!("  shm_segsz  = {:<10} size in bytes", ds.segsz);
            println!("  shm_nattch = {:<10} attachments now", ds.nattch);
            println!("  shm_cpid   = {:<10} pid of the creator", ds.cpid);
            println!("  shm_lpid   = {:<10} pid of the last shmat or shmdt", ds.lpid);
            println!("  shm_atime  = {} (last shmat)", format_time(ds.atime));
            println!("  shm_dtime  = {} (last shmdt)", format_time(ds.dtime));
            println!("  shm_ctime  = {} (created, or last IPC_SET)", format_time(ds.ctime));
        }
        Kind::SemaphoreSet => {
            let ds = shared::sem::semctl_stat(SemId(id))?;
            println!("semaphore set {id}: semctl(IPC_STAT) gives struct semid_ds");
            show_perm("sem_perm", &ds.perm, id);
            println!("  sem_nsems  = {:<10} semaphores in the set", ds.nsems);
            println!("  sem_otime  = {} (last semop)", format_time(ds.otime));
            println!("  sem_ctime  = {} (created, or last semctl change)", format_time(ds.ctime));
        }
    }
    Ok(())
}
// ANCHOR_END: show_one
