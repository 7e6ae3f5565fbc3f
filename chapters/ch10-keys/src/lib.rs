//! What the chapter's programs share and what would hide their lesson: the key file and its `stat`
//! for `ftok`, and the formatting of `ipc_perm` and shared memory states for `ipcls`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use shared::cleanup::OwnedPath;
use shared::ipc::{IpcPerm, Kind};
use shared::key::{IPC_PRIVATE, Key};
use shared::sysvipc::{IpcObject, list_kind};
use shared::user::{group_name, user_name};
use shared::{CallContext, Error, Result};

/// A key in hex, padded to 32 bits as `ipcs` prints it.
pub fn hex(key: Key) -> String {
    format!("{:#010x}", key.raw() as u32)
}

/// `stat(path)`: print and return the two numbers ftok takes from the file.
pub fn show_stat(path: &Path) -> Result<(u64, u64)> {
    let meta = std::fs::metadata(path).call(format!("stat({})", path.display()))?;
    let (dev, ino) = (meta.dev(), meta.ino());
    println!("stat({}): st_dev = {dev:#x} ({dev}), st_ino = {ino:#x} ({ino})", path.display());
    Ok((dev, ino))
}

/// Create an empty key file that this process will remove, however it ends.
pub fn create_keyfile(path: &Path) -> Result<OwnedPath> {
    OwnedPath::create(path, |path| {
        File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map(drop)
            .call(format!("open({}, O_CREAT)", path.display()))
    })
}

/// The kinds chosen with `-q`, `-m` and `-s`; all three when none is.
pub fn chosen_kinds(queues: bool, shmems: bool, semaphores: bool) -> Vec<Kind> {
    let all = [(queues, Kind::MessageQueue), (shmems, Kind::SharedMemory), (semaphores, Kind::SemaphoreSet)];
    let chosen: Vec<Kind> = all.iter().filter_map(|&(chosen, kind)| chosen.then_some(kind)).collect();
    if chosen.is_empty() { all.map(|(_, kind)| kind).to_vec() } else { chosen }
}

/// `dest` once IPC_RMID has marked a segment that is still attached, `locked` after SHM_LOCK.
pub fn shm_status(object: &IpcObject) -> &'static str {
    // The /proc `perms` column keeps the state bits above the permissions (SHM_DEST 0o1000,
    // SHM_LOCKED 0o2000 in the kernel's ipc/shm.c).
    let mode = object.columns.get("perms").and_then(|perms| u32::from_str_radix(perms, 8).ok()).unwrap_or(0);
    match (mode & 0o1000 != 0, mode & 0o2000 != 0) {
        (true, _) => "dest",
        (false, true) => "locked",
        (false, false) => "",
    }
}

/// Which kind `id` is: the one chosen with -q/-m/-s, else the only kind that lists it.
pub fn kind_of(kinds: &[Kind], id: i32) -> Result<Kind> {
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

/// `struct ipc_perm`, the part every kind shares (Linux field names; `__key` and `__seq` in glibc).
pub fn show_perm(name: &str, perm: &IpcPerm, id: i32) {
    let private = if perm.key == IPC_PRIVATE { " (IPC_PRIVATE: no key, found only by id)" } else { "" };
    println!("  {name}.key  = {:#010x}{private}", perm.key.raw() as u32);
    println!("  {name}.uid  = {:<10} owner ({}); IPC_SET may change it", perm.uid, user_name(perm.uid));
    println!("  {name}.gid  = {:<10} owner's group ({})", perm.gid, group_name(perm.gid));
    println!("  {name}.cuid = {:<10} creator ({}); fixed for life", perm.cuid, user_name(perm.cuid));
    println!("  {name}.cgid = {:<10} creator's group ({})", perm.cgid, group_name(perm.cgid));
    let mode = format!("{:04o}", perm.mode);
    println!("  {name}.mode = {mode:<10} permissions {}", rwx(perm.permissions()));
    // id = seq * 32768 + slot (IPCMNI is 32768 unless booted with ipcmni_extend): see the book.
    let seq = u32::from(perm.seq);
    let index = id as u32 % 32768;
    if id as u32 / 32768 == seq {
        println!("  {name}.seq  = {seq:<10} slot sequence number: id {id} = {seq} * 32768 + slot {index}");
    } else {
        println!("  {name}.seq  = {seq:<10} slot sequence number");
    }
}

/// `rw-------` for 0o600, as `ls -l` shows file modes.
pub fn rwx(permissions: u16) -> String {
    (0..9)
        .map(|bit| match (permissions & (0o400 >> bit) != 0, bit % 3) {
            (false, _) => '-',
            (true, 0) => 'r',
            (true, 1) => 'w',
            (true, _) => 'x',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_ls_shows_them() {
        assert_eq!(rwx(0o600), "rw-------");
        assert_eq!(rwx(0o754), "rwxr-xr--");
    }

    #[test]
    fn no_choice_means_every_kind() {
        assert_eq!(chosen_kinds(false, false, false).len(), 3);
        assert_eq!(chosen_kinds(false, true, false), vec![Kind::SharedMemory]);
    }
}
