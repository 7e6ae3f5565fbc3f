//! What benchmarks need from the compiler: keep a loop's work from being optimised away.

/// Tell the compiler that unknown code may read or write the memory `ptr` points to, here and now,
/// so a store to that memory before this point must really happen, every time.
///
/// The C idiom `__asm__ volatile("" : : "r"(ptr) : "memory")`, which `ipc-bench`'s C loops use: an
/// empty assembly block that takes the pointer in a register and may touch any memory. It emits
/// no instruction. `std::hint::black_box(ptr)` promises the same but stores the pointer on the
/// stack first, one store per call, and a benchmark that compares a Rust loop with a C loop must
/// not charge one of them for it (a 64-byte `memcpy` takes about 10 cycles).
#[inline(always)]
pub fn escape<T>(ptr: *mut T) {
    // SAFETY: the assembly is empty: it reads no register but `ptr`'s, writes none, uses no
    // stack and changes no flags; the only effect is on what the compiler may assume.
    unsafe { std::arch::asm!("/* {0} */", in(reg) ptr, options(nostack, preserves_flags)) }
}
