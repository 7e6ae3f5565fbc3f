//! The book shows only real code and tested output.
//!
//! - every `{{#include}}` names a file that exists, and an anchor that the file marks;
//! - every block of program output (a `text` block whose first line is `$ command`) is an include of
//!   a snapshot's body (`NAME.snap:4:`, after its fixed three-line header), and that snapshot is
//!   asserted by a test of its crate;
//! - every link to another page of the book points at a page that exists.
//!
//! Together with insta's own check (a program's output differs from its snapshot: the test fails),
//! this means changing a program's output without updating its snapshot fails, and the book can
//! only show what the tests check.

use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn pages() -> Vec<(PathBuf, String)> {
    let mut pages: Vec<_> = fs::read_dir(book_src())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    pages.sort();
    pages
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn includes_name_existing_files_and_anchors() {
    let include = Regex::new(r"\{\{#(?:include|rustdoc_include) ([^:}]+)(?::([^}]*))?\}\}").unwrap();
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for cap in include.captures_iter(&text) {
            let target = book_src().join(&cap[1]);
            let spec = cap.get(2).map(|m| m.as_str()).unwrap_or("");
            let Ok(content) = fs::read_to_string(&target) else {
                problems.push(format!("{}: includes missing file {}", name(&page), &cap[1]));
                continue;
            };
            let is_anchor = !spec.is_empty() && !spec.chars().next().unwrap().is_ascii_digit();
            if is_anchor
                && !(content.contains(&format!("ANCHOR: {spec}\n"))
                    && content.contains(&format!("ANCHOR_END: {spec}\n")))
            {
                problems.push(format!("{}: {} has no ANCHOR/ANCHOR_END `{spec}`", name(&page), &cap[1]));
            }
            if target.extension().is_some_and(|ext| ext == "snap") {
                let header: Vec<&str> = content.lines().take(3).collect();
                let fixed = header.len() == 3
                    && header[0] == "---"
                    && header[1].starts_with("source: ")
                    && header[2] == "---";
                if spec != "4:" || !fixed {
                    problems.push(format!(
                        "{}: include {} as `:4:` (the body after its three-line header); header is {header:?}",
                        name(&page),
                        &cap[1]
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "book include problems:\n{}", problems.join("\n"));
}

#[test]
fn output_blocks_come_from_tested_snapshots() {
    let block = Regex::new(r"(?ms)^```text\n(.*?)^```").unwrap();
    let snap_include =
        Regex::new(r"^\{\{#include \.\./\.\./(chapters/[^/]+)/tests/snapshots/([^/]+)\.snap:4:\}\}\n$")
            .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for cap in block.captures_iter(&text) {
            let body = &cap[1];
            if body.starts_with("$ ") {
                problems.push(format!(
                    "{}: hand-written program output (include the snapshot instead):\n{body}",
                    name(&page)
                ));
                continue;
            }
            let Some(include) = snap_include.captures(body) else { continue };
            // The snapshot must be asserted by some test of its crate, or it is stale.
            let (krate, snapshot) = (&include[1], &include[2]);
            let quoted = format!("\"{snapshot}\"");
            let tests_dir = root.join(krate).join("tests");
            let used =
                fs::read_dir(&tests_dir).into_iter().flatten().flatten().any(|entry| {
                    fs::read_to_string(entry.path()).is_ok_and(|source| source.contains(&quoted))
                });
            if !used {
                problems.push(format!(
                    "{}: snapshot {krate}/{snapshot} is not asserted by any test in {krate}/tests",
                    name(&page)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "book output problems:\n{}", problems.join("\n\n"));
}

#[test]
fn links_between_pages_resolve() {
    let link = Regex::new(r"\]\(([^)#:]+\.md)(#[^)]*)?\)").unwrap();
    let summary = fs::read_to_string(book_src().join("SUMMARY.md")).unwrap();
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for cap in link.captures_iter(&text) {
            let target = &cap[1];
            if !book_src().join(target).exists() {
                problems.push(format!("{}: link to missing page {target}", name(&page)));
            } else if !summary.contains(&format!("({target})")) {
                problems.push(format!("{}: link to {target}, which SUMMARY.md does not list", name(&page)));
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}
