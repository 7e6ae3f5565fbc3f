//! `unsafe` lives only in the shared crate, and every block there says why it is sound.
//!
//! One exception: the benchmark's `bench/src/sys.rs`, what matching C needs (mmap at a chosen
//! address, an empty asm barrier, a one-operation semop) and no program of the texts does.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|name| name != "target" && name != ".git") {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn chapter_crates_inherit_the_forbid_unsafe_lint() {
    let mut missing = Vec::new();
    for entry in fs::read_dir(root().join("chapters")).unwrap().flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap_or_default();
        if !text.contains("[lints]\nworkspace = true") {
            missing.push(manifest.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "these crates must say `[lints] workspace = true` (forbids unsafe): {missing:?}"
    );
}

#[test]
fn outside_shared_only_bench_sys_may_allow_unsafe() {
    let manifest = fs::read_to_string(root().join("bench/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[lints.rust]\nunsafe_code = \"deny\""),
        "bench/Cargo.toml must deny unsafe_code (so only an explicit allow lets it in)"
    );
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let allow = ["allow(", "unsafe_code)"].concat(); // split, so this file does not match itself
    let mut allowed = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root()).unwrap().display().to_string();
        if relative.starts_with("shared/") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for (index, line) in text.lines().enumerate() {
            if line.contains(&allow) {
                let next = text.lines().nth(index + 1).unwrap_or("").trim().to_owned();
                allowed.push(format!("{relative}: {next}"));
            }
        }
    }
    assert_eq!(allowed, ["bench/src/lib.rs: pub mod sys;"], "unsafe allowed outside shared/");
}

#[test]
fn every_unsafe_block_in_shared_has_a_safety_comment() {
    let mut files = vec![root().join("bench/src/sys.rs")];
    rust_files(&root().join("shared/src"), &mut files);
    let mut bare = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !(code.contains("unsafe {") || code.contains("unsafe impl")) {
                continue;
            }
            // The SAFETY comment may stand a few lines above (a multi-line comment or a `let`).
            let window = &lines[index.saturating_sub(6)..=index];
            if !window.iter().any(|l| l.contains("SAFETY:")) {
                bare.push(format!("{}:{}", file.display(), index + 1));
            }
        }
    }
    assert!(bare.is_empty(), "unsafe without a SAFETY: comment at {bare:?}");
}
