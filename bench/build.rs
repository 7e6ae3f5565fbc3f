//! Build the C baseline (`c/bench.c`) into a standalone executable, `ipc-bench-c`, in `OUT_DIR`.
//!
//! Calling C through FFI needs `unsafe`, which the benchmark keeps out of its measuring code, so it
//! runs the C loops as a coprocess instead (src/cbaseline.rs). The `cc` crate finds the same C compiler (and
//! target flags) it would use for a C library; we ask it for the command and add our own flags,
//! because the baseline must always be optimised, even in a debug build of the Rust side.

use std::path::PathBuf;

fn main() {
    let source = "c/bench.c";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("ipc-bench-c");
    let mut command = cc::Build::new().get_compiler().to_command();
    // After cc's own flags, so -O2 wins over the -O0 of a debug profile.
    command.args(["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"]);
    // Call the C library as Rust does: rustc calls it through the GOT (`call *memcpy@GOTPCREL`),
    // resolved at start-up (full RELRO); gcc would go through a PLT stub, lazily bound, one jump
    // more per call (12% of a 64-byte memcpy here). Without these, C pays for its linker defaults.
    command.args(["-fno-plt", "-Wl,-z,relro,-z,now"]);
    // Intel's jump erratum (Skylake and its successors): a loop whose closing jump crosses a
    // 32-byte boundary runs from the slower decoders (the 64-byte memcpy loop: 25% slower). The
    // assembler's padding keeps every jump clear of one, so no C loop pays for where it landed.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
        command.arg("-Wa,-mbranches-within-32B-boundaries");
    }
    command.arg("-o").arg(&exe).arg(source);
    // mq_open lives in librt before glibc 2.34 (in libc itself since).
    command.arg("-lrt");
    let status =
        command.status().unwrap_or_else(|err| panic!("cannot run the C compiler {command:?}: {err}"));
    assert!(status.success(), "compiling {source} failed ({status}): {command:?}");
    println!("cargo:rustc-env=IPC_BENCH_C={}", exe.display());
}
