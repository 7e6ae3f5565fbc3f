//! Finds the two source texts for `tests/texts_quoted.rs`: `../shared/seeds/` next to the checkout,
//! or the directory named by `IPC_WORKBOOK_SEEDS`. When neither exists, that test is compiled as
//! `#[ignore]`d, so `cargo test` reports it as not run instead of passing it.
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(texts_absent)");
    println!("cargo::rerun-if-env-changed=IPC_WORKBOOK_SEEDS");
    let seeds = match std::env::var_os("IPC_WORKBOOK_SEEDS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("../shared/seeds"),
    };
    // A missing path makes Cargo rerun this script on every build, so the texts are found as soon
    // as they appear.
    println!("cargo::rerun-if-changed={}", seeds.display());
    println!("cargo::rustc-env=IPC_WORKBOOK_SEEDS_DIR={}", seeds.display());
    if !seeds.is_dir() {
        println!("cargo::rustc-cfg=texts_absent");
    }
}
