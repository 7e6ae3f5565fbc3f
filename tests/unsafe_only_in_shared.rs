//! `unsafe` lives only in the shared crate, and every block there says why it is sound.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|name| name != "target") {
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
fn every_unsafe_block_in_shared_has_a_safety_comment() {
    let mut files = Vec::new();
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
