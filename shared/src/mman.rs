//! Anonymous memory at an address of our choosing: `mmap(2)`, `munmap(2)`.
//!
//! A `Vec` lands wherever the allocator puts it. Where a buffer lies can change how fast the CPU
//! copies it (its caches and predictors index by address), so `ipc-bench` puts the buffers of
//! its Rust and its C `memcpy` loops at the same addresses, with [`mmap_anonymous_at`].

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::error::{Errno, Error, Result};

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
}
