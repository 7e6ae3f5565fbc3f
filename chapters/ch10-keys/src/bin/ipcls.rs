//! `ipcls`: the System V objects on this machine, listed the way `ipcs` lists them, and one object's
//! whole `ipc_perm` and `*_ds` structure with `--id`.
//!
//! The listing reads `/proc/sysvipc/{msg,shm,sem}`, the same files `ipcs` reads, so it shows every
//! object, readable or not. `--id` asks the kernel itself with `IPC_STAT`, which needs read
//! permission on the object: the textbook's fields, live, and EACCES when they are not yours to see.

use clap::Parser;
use shared::ipc::{IpcPerm, Kind, MsqId, SemId, ShmId};
use shared::key::{IPC_PRIVATE, Key};
use shared::sysvipc::{IpcObject, list_kind};
use shared::{Error, Result};

use shared::out::{format_time, group_name, user_name};

/// List System V IPC objects like ipcs, or show one object's IPC_STAT in full.
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
    #[arg(long, value_name = "KEY")]
    key: Option<Key>,
    /// Show this object's whole ipc_perm and *_ds (from IPC_STAT) instead of the list.
    #[arg(long, value_name = "N", conflicts_with = "key")]
    id: Option<i32>,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let mut kinds: Vec<Kind> = [
            (args.queues, Kind::MessageQueue),
            (args.shmems, Kind::SharedMemory),
            (args.semaphores, Kind::SemaphoreSet),
        ]
        .into_iter()
        .filter_map(|(chosen, kind)| chosen.then_some(kind))
        .collect();
        if kinds.is_empty() {
            kinds = vec![Kind::MessageQueue, Kind::SharedMemory, Kind::SemaphoreSet];
        }
        match args.id {
            Some(id) => show_one(&kinds, id),
            None => {
                for kind in kinds {
                    list(kind, args.key);
                }
                Ok(())
            }
        }
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

/// `dest` once IPC_RMID has marked a segment that is still attached, `locked` after SHM_LOCK.
fn shm_status(object: &IpcObject) -> &'static str {
    // The /proc `perms` column is the whole mode, with the segment's state bits above the 9
    // permission bits (SHM_DEST 0o1000, SHM_LOCKED 0o2000 in the kernel's ipc/shm.c).
    let mode = object.columns.get("perms").and_then(|perms| u32::from_str_radix(perms, 8).ok()).unwrap_or(0);
    match (mode & 0o1000 != 0, mode & 0o2000 != 0) {
        (true, _) => "dest",
        (false, true) => "locked",
        (false, false) => "",
    }
}

/// Which kind `id` is: the one chosen with -q/-m/-s, else the only kind that lists it.
fn kind_of(kinds: &[Kind], id: i32) -> Result<Kind> {
    if let [kind] = kinds {
        return Ok(*kind);
    }
    // Each kind numbers its objects on its own, so one number may be a queue and a segment at once.
    let found: Vec<Kind> =
        kinds.iter().copied().filter(|kind| list_kind(*kind).iter().any(|object| object.id == id)).collect();
    match found.as_slice() {
        [kind] => Ok(*kind),
        [] => {
            Err(Error::other(format!("no message queue, shared memory segment or semaphore set has id {id}")))
        }
        _ => Err(Error::other(format!("id {id} is used by more than one kind of object: add -q, -m or -s"))),
    }
}

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

/// `struct ipc_perm`, the part every kind shares (Linux field names; `__key` and `__seq` in glibc).
fn show_perm(name: &str, perm: &IpcPerm, id: i32) {
    let private = if perm.key == IPC_PRIVATE { " (IPC_PRIVATE: no key, found only by id)" } else { "" };
    println!("  {name}.key  = {:#010x}{private}", perm.key.raw() as u32);
    println!("  {name}.uid  = {:<10} owner ({}); IPC_SET may change it", perm.uid, user_name(perm.uid));
    println!("  {name}.gid  = {:<10} owner's group ({})", perm.gid, group_name(perm.gid));
    println!("  {name}.cuid = {:<10} creator ({}); fixed for life", perm.cuid, user_name(perm.cuid));
    println!("  {name}.cgid = {:<10} creator's group ({})", perm.cgid, group_name(perm.cgid));
    let mode = format!("{:04o}", perm.mode);
    println!("  {name}.mode = {mode:<10} permissions {}", rwx(perm.permissions()));
    // Linux builds an id from the slot's sequence number and its index: id = seq * 32768 + index
    // (IPCMNI is 32768 unless the kernel was booted with ipcmni_extend), so a re-used slot gets a new id.
    let seq = u32::from(perm.seq);
    let index = id as u32 % 32768;
    if id as u32 / 32768 == seq {
        println!("  {name}.seq  = {seq:<10} slot sequence number: id {id} = {seq} * 32768 + slot {index}");
    } else {
        println!("  {name}.seq  = {seq:<10} slot sequence number");
    }
}

/// `rw-------` for 0o600, as `ls -l` shows file modes.
fn rwx(permissions: u16) -> String {
    (0..9)
        .map(|bit| {
            let set = permissions & (0o400 >> bit) != 0;
            match (set, bit % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect()
}
