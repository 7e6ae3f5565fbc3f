//! Shared memory: `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)`.
//!
//! [`shmat`] returns an [`Attached`] segment that detaches itself when dropped. Its bytes are
//! memory that other processes write at any moment, so this crate never hands out `&[u8]` or
//! `&mut [u8]` to them (Rust would assume nobody else changes them). Instead you copy in and out
//! with [`Attached::read`] and [`Attached::write`], or share a counter or pid through
//! [`Attached::atomic_i32`]. A copy that races with another process's write can see a mix of old
//! and new bytes: that is exactly the lesson of `shmbusyaccess`, and why `shmcontrol` adds a
//! semaphore.

use std::sync::atomic::AtomicI32;

pub use libc::SHM_RDONLY;

use crate::error::{Result, check};
use crate::ipc::{IpcPerm, ShmId};
use crate::key::Key;

/// `shmget(key, size, shmflg)`: find the segment for `key`, or create one of `size` bytes.
pub fn shmget(key: Key, size: usize, shmflg: libc::c_int) -> Result<ShmId> {
    // SAFETY: shmget takes plain integers and touches no memory of ours.
    let id = unsafe { libc::shmget(key.raw(), size, shmflg) };
    check(id, || format!("shmget(key={key}, size={size})")).map(ShmId)
}

/// A segment attached to this process. Dropping it detaches it (`shmdt`).
pub struct Attached {
    addr: *mut u8,
    len: usize,
    id: ShmId,
}

// SAFETY: the mapping belongs to the process, not to a thread; all access goes through raw-pointer
// copies and atomics, which are as valid from any thread as from the one that attached.
unsafe impl Send for Attached {}
// SAFETY: as above: `&Attached` only allows copies through raw pointers and atomic access.
unsafe impl Sync for Attached {}

/// `shmat(shmid, NULL, shmflg)`: map the segment at an address the kernel picks.
pub fn shmat(shmid: ShmId, shmflg: libc::c_int) -> Result<Attached> {
    let len = shmctl_stat(shmid)?.segsz;
    // SAFETY: a NULL address asks the kernel to choose; shmat touches no memory of ours.
    let addr = unsafe { libc::shmat(shmid.0, std::ptr::null(), shmflg) };
    if addr as isize == -1 {
        return Err(crate::error::Error::last(format!("shmat(shmid={shmid})")));
    }
    Ok(Attached { addr: addr.cast(), len, id: shmid })
}

/// `shmdt(shmaddr)`: detach now and report an error (dropping detaches too, but silently).
pub fn shmdt(mut segment: Attached) -> Result<()> {
    let result = segment.detach();
    std::mem::forget(segment);
    result
}

impl Attached {
    /// The segment's size in bytes (`shm_segsz`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment has no bytes (never true for a segment from `shmget`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The id this mapping came from.
    pub fn id(&self) -> ShmId {
        self.id
    }

    /// Copy `buf.len()` bytes out of the segment, starting at `offset`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        self.check_range(offset, buf.len());
        // SAFETY: the range is inside the mapping (checked above), `buf` is ours and cannot overlap
        // a shared mapping, and any byte pattern is a valid u8.
        unsafe { std::ptr::copy_nonoverlapping(self.addr.add(offset), buf.as_mut_ptr(), buf.len()) }
    }

    /// Copy `data` into the segment at `offset`. Panics if the segment was attached `SHM_RDONLY`
    /// (the kernel would kill us with SIGSEGV).
    pub fn write(&self, offset: usize, data: &[u8]) {
        self.check_range(offset, data.len());
        // SAFETY: as in `read`; writers in other processes may race with us, which can mix bytes but
        // cannot break this process's memory safety: we hold no references into the mapping.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.addr.add(offset), data.len()) }
    }

    /// The bytes from `offset` up to the first NUL (or the end), as C's `strcpy` would read them.
    pub fn read_cstr(&self, offset: usize) -> Vec<u8> {
        let mut bytes = vec![0; self.len - offset];
        self.read(offset, &mut bytes);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        bytes.truncate(end);
        bytes
    }

    /// Write `text` followed by a NUL, as C's `strcpy` would.
    pub fn write_cstr(&self, offset: usize, text: &[u8]) {
        self.write(offset, text);
        self.write(offset + text.len(), &[0]);
    }

    /// An `i32` in the segment at `offset` (a multiple of 4), for values several processes update.
    pub fn atomic_i32(&self, offset: usize) -> &AtomicI32 {
        self.check_range(offset, 4);
        assert_eq!(offset % 4, 0, "offset {offset} is not 4-byte aligned");
        // SAFETY: in range and aligned (checked; shmat returns page-aligned addresses); AtomicI32 has
        // the layout of i32 and every bit pattern is valid; the reference lives no longer than the
        // mapping because it borrows `self`.
        unsafe { AtomicI32::from_ptr(self.addr.add(offset).cast()) }
    }

    fn check_range(&self, offset: usize, len: usize) {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "bytes {offset}..{} are outside the {}-byte segment",
            offset + len,
            self.len
        );
    }

    fn detach(&mut self) -> Result<()> {
        // SAFETY: `addr` came from shmat and is detached only once (shmdt forgets, Drop runs once).
        let ret = unsafe { libc::shmdt(self.addr.cast()) };
        check(ret, || format!("shmdt(shmid={})", self.id)).map(drop)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.detach();
    }
}

/// `struct shmid_ds` as `shmctl(IPC_STAT)` fills it, with Linux's field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmidDs {
    pub perm: IpcPerm,
    /// Size in bytes.
    pub segsz: usize,
    /// Times (seconds since the epoch, 0 = never) of the last attach, detach and change.
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    /// Pid of the creator, and of the last process to attach or detach.
    pub cpid: i32,
    pub lpid: i32,
    /// How many attachments there are now.
    pub nattch: u64,
}

/// `shmctl(shmid, IPC_STAT, &buf)`: the segment's `shmid_ds`.
pub fn shmctl_stat(shmid: ShmId) -> Result<ShmidDs> {
    // SAFETY: shmid_ds is plain old data; all-zero is a valid value that IPC_STAT overwrites.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: `ds` is a valid, exclusively borrowed shmid_ds for the kernel to fill.
    let ret = unsafe { libc::shmctl(shmid.0, libc::IPC_STAT, &mut ds) };
    check(ret, || format!("shmctl(shmid={shmid}, IPC_STAT)"))?;
    Ok(ShmidDs {
        perm: IpcPerm::from_raw(&ds.shm_perm),
        segsz: ds.shm_segsz,
        atime: ds.shm_atime,
        dtime: ds.shm_dtime,
        ctime: ds.shm_ctime,
        cpid: ds.shm_cpid,
        lpid: ds.shm_lpid,
        nattch: ds.shm_nattch,
    })
}

/// `shmctl(shmid, IPC_RMID, NULL)`: mark the segment for removal. Linux frees it when the last
/// process detaches; until then `ipcs` shows it with status `dest`.
pub fn shmctl_rmid(shmid: ShmId) -> Result<()> {
    // SAFETY: IPC_RMID does not read the buffer argument, so NULL is allowed.
    let ret = unsafe { libc::shmctl(shmid.0, libc::IPC_RMID, std::ptr::null_mut()) };
    check(ret, || format!("shmctl(shmid={shmid}, IPC_RMID)")).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::Owned;
    use crate::ipc::IPC_CREAT;
    use crate::key::IPC_PRIVATE;
    use std::sync::atomic::Ordering;

    #[test]
    fn attach_counts_and_data_is_shared_between_mappings() {
        let owned = Owned::new(shmget(IPC_PRIVATE, 20, IPC_CREAT | 0o600).unwrap());
        let id = owned.id();
        let first = shmat(id, 0).unwrap();
        let second = shmat(id, 0).unwrap();
        assert_eq!(shmctl_stat(id).unwrap().nattch, 2);
        assert_eq!((first.len(), first.is_empty()), (20, false));
        first.write_cstr(0, b"abcdefghij");
        assert_eq!(second.read_cstr(0), b"abcdefghij");
        second.atomic_i32(12).store(7, Ordering::SeqCst);
        assert_eq!(first.atomic_i32(12).load(Ordering::SeqCst), 7);
        shmdt(first).unwrap();
        assert_eq!(shmctl_stat(id).unwrap().nattch, 1);
        drop(second);
        let stat = shmctl_stat(id).unwrap();
        assert_eq!((stat.nattch, stat.segsz, stat.cpid), (0, 20, std::process::id() as i32));
        owned.ipc_rmid().unwrap();
    }

    #[test]
    #[should_panic(expected = "outside the 20-byte segment")]
    fn writing_past_the_end_is_refused() {
        let owned = Owned::new(shmget(IPC_PRIVATE, 20, IPC_CREAT | 0o600).unwrap());
        let id = owned.id();
        let segment = shmat(id, 0).unwrap();
        owned.ipc_rmid().unwrap(); // Linux frees it when `segment` detaches.
        segment.write(16, b"12345");
    }
}
