//! Build the C peers of tests/interop.rs (the textbook's listener and talker, written again for the
//! tests) into `OUT_DIR`, with the C compiler the `cc` crate finds. Without a C compiler the
//! programs still build: the interop tests then report themselves as not run.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, env) in [("listener", "SHM_C_LISTENER"), ("talker", "SHM_C_TALKER")] {
        let source = format!("tests/c/{name}.c");
        println!("cargo:rerun-if-changed={source}");
        let exe = out.join(format!("c-{name}"));
        let mut command = match cc::Build::new().cargo_warnings(false).try_get_compiler() {
            Ok(compiler) => compiler.to_command(),
            Err(err) => {
                println!("cargo:warning=no C compiler ({err}): the C interop tests will not run");
                println!("cargo:rustc-env={env}=");
                continue;
            }
        };
        command.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&exe).arg(&source);
        match command.status() {
            Ok(status) if status.success() => println!("cargo:rustc-env={env}={}", exe.display()),
            Ok(status) => panic!("compiling {source} failed ({status}): {command:?}"),
            Err(err) => {
                println!("cargo:warning=cannot run the C compiler ({err}): the C interop tests will not run");
                println!("cargo:rustc-env={env}=");
            }
        }
    }
}
