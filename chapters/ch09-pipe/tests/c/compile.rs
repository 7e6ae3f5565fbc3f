// Included by the build scripts of ch09-pipe and ch09-fifo: compile the C peers of the tests
// (tests/c/*.c, ours) into OUT_DIR with the C compiler the `cc` crate finds, and tell the tests
// where they are (`env!("C_PEER_NAME")`). Without a C compiler the crate still builds: the cfg
// `no_c_peers` makes the interop tests report themselves as not run, with the reason.
fn compile_c_peers(dir: &std::path::Path, names: &[&str]) {
    println!("cargo::rustc-check-cfg=cfg(no_c_peers)");
    println!("cargo::rerun-if-env-changed=CC");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in names {
        let source = dir.join(format!("{name}.c"));
        println!("cargo::rerun-if-changed={}", source.display());
        let exe = out.join(name);
        let mut command = cc::Build::new().cargo_metadata(false).get_compiler().to_command();
        command.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&exe).arg(&source);
        match command.status() {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("compiling {} failed ({status}): {command:?}", source.display()),
            Err(_) => {
                println!("cargo::rustc-cfg=no_c_peers");
                return;
            }
        }
        println!("cargo::rustc-env=C_PEER_{}={}", name.to_uppercase(), exe.display());
    }
}
