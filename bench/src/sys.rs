//! The benchmark's own system-level helpers, the only `unsafe` code outside `shared/`: what a
//! fair comparison with C needs and the workbook's programs never do.
//!
//! - [`mmap_anonymous_at`]: memory at a chosen address. A `Vec` lands wherever the allocator puts
//!   it, and where a buffer lies can change how fast the CPU copies it (its caches and predictors
//!   index by address), so the Rust and the C `memcpy` loops copy between the same addresses.
//! - [`escape`]: C's empty `asm` barrier, so the Rust and the C `memcpy` loops are the same
//!   instructions.
//! - [`semop_one`]: one semaphore operation, without the array `shared::sem::semop` builds for
//!   any number of them; the ring makes four per message.
//! - [`sched_setscheduler`]: the `SCHED_BATCH` and `SCHED_IDLE` policies, which neither nix nor
//!   std offers.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use shared::ipc::SemId;
use shared::{Errno, Error, Result};

/// Private anonymous memory, readable and writable, unmapped when dropped.
pub struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is this value's alone (nobody else has its address), like a Vec's buffer.
unsafe impl Send for Mapping {}
// SAFETY: shared access only reads, through `&[u8]`, as for a Vec.
unsafe impl Sync for Mapping {}

/// `mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)`:
/// `len` zeroed bytes at exactly `addr` (a multiple of the page size), or `EEXIST` if anything is
/// mapped there already (nothing of ours is ever replaced).
pub fn mmap_anonymous_at(addr: usize, len: usize) -> Result<Mapping> {
    let call = || format!("mmap(addr={addr:#x}, len={len}, MAP_FIXED_NOREPLACE)");
    let mapping = map(addr, len, libc::MAP_FIXED_NOREPLACE).map_err(|errno| Error::sys(call(), errno))?;
    // Kernels before 4.17 do not know MAP_FIXED_NOREPLACE and take the address as a hint.
    if mapping.addr.as_ptr() as usize != addr {
        return Err(Error::sys(call(), Errno::EEXIST));
    }
    Ok(mapping)
}

/// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)`: `len` zeroed
/// bytes, starting on a page, wherever the kernel puts them.
pub fn mmap_anonymous(len: usize) -> Result<Mapping> {
    map(0, len, 0).map_err(|errno| Error::sys(format!("mmap(len={len})"), errno))
}

/// The one `mmap` call behind both: private anonymous memory, with `extra` flags.
fn map(addr: usize, len: usize, extra: libc::c_int) -> std::result::Result<Mapping, Errno> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra;
    // SAFETY: without MAP_FIXED the kernel never replaces an existing mapping (with
    // MAP_FIXED_NOREPLACE it fails instead), so no memory of ours can change under us; the
    // kernel only reads the integers.
    let got =
        unsafe { libc::mmap(addr as *mut _, len.max(1), libc::PROT_READ | libc::PROT_WRITE, flags, -1, 0) };
    if got == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    Ok(Mapping { addr: NonNull::new(got.cast()).expect("mmap succeeded"), len })
}

impl Deref for Mapping {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` bytes from `addr` are mapped readable for as long as `self` lives, and
        // only `&mut self` gives out a mutable view.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }
}

impl DerefMut for Mapping {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.addr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range and nothing borrows it any more.
        unsafe { libc::munmap(self.addr.as_ptr().cast(), self.len.max(1)) };
    }
}

/// Tell the compiler that unknown code may read or write the memory `ptr` points to, here and now,
/// so a store to that memory before this point must really happen, every time.
///
/// The C idiom `__asm__ volatile("" : : "r"(ptr) : "memory")`, which the C loops use: an empty
/// assembly block that takes the pointer in a register and may touch any memory. It emits no
/// instruction. `std::hint::black_box(ptr)` promises the same but stores the pointer on the stack
/// first, one store per call, which a 64-byte `memcpy` (about 10 cycles) would feel.
#[inline(always)]
pub fn escape<T>(ptr: *mut T) {
    // SAFETY: the assembly is empty: it reads no register but `ptr`'s, writes none, uses no
    // stack and changes no flags; the only effect is on what the compiler may assume.
    unsafe { std::arch::asm!("/* {0} */", in(reg) ptr, options(nostack, preserves_flags)) }
}

/// `semop(semid, &{num, op, 0}, 1)`, one `sembuf` on the stack as in `c/bench.c`'s `sem_add`, and
/// started again if a signal interrupts the wait, as `shared::sem::semop` is.
pub fn semop_one(semid: SemId, num: u16, op: i16) -> Result<()> {
    let mut sop = libc::sembuf { sem_num: num, sem_op: op, sem_flg: 0 };
    loop {
        // SAFETY: `sop` is one initialised sembuf, valid for the call.
        if unsafe { libc::semop(semid.0, &mut sop, 1) } != -1 {
            return Ok(());
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(Error::sys(format!("semop(semid={semid}, [{num}{op:+}])"), errno));
        }
    }
}

/// The scheduling policies any user may choose (each only gives something up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `SCHED_BATCH`: woken, the process waits for the running one to block or to use up its
    /// time slice, instead of preempting it.
    Batch,
    /// `SCHED_IDLE`: the process runs only when nothing else wants the CPU.
    Idle,
}

/// `sched_setscheduler(0, policy, {0})`: this process (its calling thread), and every process it
/// starts from now on, is scheduled by `policy`.
pub fn sched_setscheduler(policy: Policy) -> Result<()> {
    let (number, name) = match policy {
        Policy::Batch => (libc::SCHED_BATCH, "SCHED_BATCH"),
        Policy::Idle => (libc::SCHED_IDLE, "SCHED_IDLE"),
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is an initialised sched_param, valid for the call, which only reads it.
    if unsafe { libc::sched_setscheduler(0, number, &param) } == -1 {
        return Err(Error::sys(format!("sched_setscheduler(0, {name})"), Errno::last()));
    }
    Ok(())
}

/// `mq_receive(mqdes, buf, len, NULL)`, as `c/bench.c` calls it: nix's `mq_receive` always asks
/// for the priority, and the kernel's copy of it out is part of what the C side does not pay.
pub fn mq_receive_no_priority(mq: &nix::mqueue::MqdT, buf: &mut [u8]) -> Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` is valid for `buf.len()` writable bytes; a NULL priority pointer is allowed.
    let received =
        unsafe { libc::mq_receive(mq.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), std::ptr::null_mut()) };
    if received == -1 {
        return Err(Error::sys(format!("mq_receive(max {} bytes)", buf.len()), Errno::last()));
    }
    Ok(received as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_where_asked_never_over_something_else() {
        let addr = 0x5f00_0000_0000;
        let mut first = mmap_anonymous_at(addr, 3 * 4096).unwrap();
        assert_eq!(first.as_ptr() as usize, addr);
        assert!(first.iter().all(|&b| b == 0), "anonymous memory starts zeroed");
        first[3 * 4096 - 1] = 7;
        let err = mmap_anonymous_at(addr + 4096, 4096).err().expect("taken");
        assert_eq!(
            err.to_string(),
            format!("mmap(addr={:#x}, len=4096, MAP_FIXED_NOREPLACE): EEXIST (File exists)", addr + 4096)
        );
        assert_eq!(first[3 * 4096 - 1], 7, "the first mapping is untouched");
        drop(first);
        let again = mmap_anonymous_at(addr, 4096).unwrap();
        assert_eq!(again.as_ptr() as usize, addr, "free again once dropped");
        let anywhere = mmap_anonymous(5000).unwrap();
        assert_eq!((anywhere.len(), anywhere.as_ptr() as usize % 4096), (5000, 0), "on a page");
        assert_ne!(anywhere.as_ptr() as usize, addr, "not over the other mapping");
    }

    #[test]
    fn batch_scheduling_is_what_a_started_process_gets() {
        // Only this test's thread changes (libtest gives each test its own thread).
        sched_setscheduler(Policy::Batch).unwrap();
        let stat = std::process::Command::new("cat").arg("/proc/self/stat").output().unwrap().stdout;
        let stat = String::from_utf8(stat).unwrap();
        // Field 41 is the policy; fields after the command's ")" start at 3.
        let policy = stat.rsplit_once(") ").unwrap().1.split(' ').nth(41 - 3).unwrap();
        assert_eq!(policy, libc::SCHED_BATCH.to_string(), "{stat}");
    }
}
