//! The student edition: the repository with every EXERCISE region replaced by `todo!("ID: hint")`.
//!
//! The marker convention (also in exercises.toml and book/src/grading.md):
//!
//! ```text
//!     // EXERCISE(mkq): one-line hint, no double quotes, backslashes or braces
//!     ...the solution: whole statements of one block...
//!     // END EXERCISE
//! ```
//!
//! Both marker lines stand alone, at the same indentation. The region is a run of whole statements
//! of one block, best the whole body of a function; no later statement of that block may use a name
//! the region declares, and the region holds no `// ANCHOR` line. The student copy gets
//! `todo!("mkq: one-line hint")` at the marker's indentation (a `;` after it unless a `}` follows),
//! and the file gets one `#![allow(...)]` line, after its `//!` comment, so that the names the
//! solution used do not warn.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::exercises::{Exercises, is_id};

const START: &str = "// EXERCISE(";
const END: &str = "// END EXERCISE";
/// What the student's copy of a marked file says about the warnings it silences.
pub const ALLOW: &str = "#![allow(unused_imports, unused_variables, unused_mut, dead_code, unreachable_code)] // student edition: remove once every todo!() is written";

/// One marked region of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub hint: String,
    /// 1-based line numbers of the two markers.
    pub start: usize,
    pub end: usize,
    /// The solution lines the student copy drops.
    pub removed: Vec<String>,
}

/// The regions of `source`, or what is wrong with its markers.
pub fn regions(source: &str) -> Result<Vec<Region>, String> {
    let mut found = Vec::new();
    let mut open: Option<(Region, String)> = None;
    for (index, line) in source.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        let indent = line[..line.len() - trimmed.len()].to_owned();
        if let Some(rest) = trimmed.strip_prefix(START) {
            if open.is_some() {
                return Err(format!("line {number}: EXERCISE inside another EXERCISE region"));
            }
            let (id, hint) = rest
                .split_once("):")
                .ok_or_else(|| format!("line {number}: write `// EXERCISE(id): hint`"))?;
            let hint = hint.trim();
            if !is_id(id) {
                return Err(format!("line {number}: `{id}` is not an exercise id"));
            }
            if hint.is_empty() || hint.contains(['"', '\\', '{', '}']) {
                return Err(format!("line {number}: the hint must be one line without \" \\ {{ }}"));
            }
            let region =
                Region { id: id.to_owned(), hint: hint.to_owned(), start: number, end: 0, removed: vec![] };
            open = Some((region, indent));
        } else if trimmed.trim_end() == END {
            let Some((mut region, start_indent)) = open.take() else {
                return Err(format!("line {number}: END EXERCISE without EXERCISE"));
            };
            if indent != start_indent {
                return Err(format!("line {number}: END EXERCISE is not indented as its EXERCISE line"));
            }
            region.end = number;
            found.push(region);
        } else if let Some((region, _)) = open.as_mut() {
            if trimmed.starts_with("// ANCHOR") {
                return Err(format!("line {number}: an ANCHOR line inside EXERCISE({})", region.id));
            }
            region.removed.push(line.to_owned());
        }
    }
    if let Some((region, _)) = open {
        return Err(format!("line {}: EXERCISE({}) has no END EXERCISE", region.start, region.id));
    }
    Ok(found)
}

/// The student's version of `source`: regions replaced by `todo!`, warnings about the names the
/// solution used silenced. `source` without regions comes back unchanged.
pub fn starter(source: &str) -> Result<String, String> {
    let found = regions(source)?;
    if found.is_empty() {
        return Ok(source.to_owned());
    }
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let docs = lines.iter().take_while(|line| line.starts_with("//!")).count();
    let mut next = 0;
    for region in &found {
        out.extend(lines[next..region.start - 1].iter().map(|line| line.to_string()));
        let marker = lines[region.start - 1];
        let indent = &marker[..marker.len() - marker.trim_start().len()];
        let follows_brace = lines[region.end..]
            .iter()
            .map(|line| line.trim())
            .find(|line| !line.is_empty())
            .is_some_and(|line| line.starts_with('}'));
        let semicolon = if follows_brace { "" } else { ";" };
        out.push(format!("{indent}todo!(\"{}: {}\"){semicolon}", region.id, region.hint));
        next = region.end;
    }
    out.extend(lines[next..].iter().map(|line| line.to_string()));
    out.insert(docs, ALLOW.to_owned());
    let mut text = out.join("\n");
    if source.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The file that says a repository is a student edition (its regions are gone already).
pub const STUDENT_EDITION_FILE: &str = ".student-edition";

/// Files never copied into the student edition: they hold solution text.
pub fn is_solution_only(path: &str) -> bool {
    path.starts_with("exercises/wrong/")
}

/// The repository's files, relative to `root`: what git tracks (or would track: new files not
/// ignored), or, when `root` is no git repository of its own, every file but build output.
pub fn source_files(root: &Path) -> Result<Vec<String>, String> {
    let toplevel = Command::new("git").args(["rev-parse", "--show-toplevel"]).current_dir(root).output();
    let is_repo = toplevel.is_ok_and(|out| {
        out.status.success()
            && Path::new(String::from_utf8_lossy(&out.stdout).trim()).canonicalize().ok()
                == root.canonicalize().ok()
    });
    if !is_repo {
        let mut found = Vec::new();
        walk(root, root, &mut found)?;
        found.sort();
        return Ok(found);
    }
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .map_err(|err| format!("git ls-files: {err}"))?;
    if !listed.status.success() {
        return Err(format!("git ls-files: {}", String::from_utf8_lossy(&listed.stderr).trim()));
    }
    Ok(listed
        .stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|err| format!("{}: {err}", dir.display()))?.flatten() {
        let path = entry.path();
        let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "target" | ".git" | "book/book") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, found)?;
        } else if !name.ends_with(".snap.new") && !name.ends_with(".pending-snap") {
            found.push(name);
        }
    }
    Ok(())
}

/// Write the student edition of the repository at `root` into `dest` (which must not exist or be
/// empty). Returns the number of files written and the exercises whose regions were replaced.
pub fn write(root: &Path, dest: &Path, init_git: bool) -> Result<(usize, BTreeSet<String>), String> {
    let all = Exercises::load(root)?;
    if dest.exists() && dest.read_dir().map_err(|err| format!("{}: {err}", dest.display()))?.next().is_some()
    {
        return Err(format!("{} exists and is not empty: give a new directory", dest.display()));
    }
    let mut written = 0;
    let mut replaced = BTreeSet::new();
    for name in source_files(root)? {
        let from = root.join(&name);
        if is_solution_only(&name) || !from.is_file() {
            continue; // a solution-only file, or one deleted in the work tree
        }
        let to = dest.join(&name);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|err| format!("{}: {err}", to.display()))?;
        // xtask's own tests hold example markers: they are not exercises.
        if name.ends_with(".rs") && !name.starts_with("xtask/") {
            let source = std::fs::read_to_string(&from).map_err(|err| format!("{name}: {err}"))?;
            let found = regions(&source).map_err(|err| format!("{name}:{err}"))?;
            for region in &found {
                let Some(ex) = all.get(&region.id) else {
                    return Err(format!(
                        "{name}:{}: EXERCISE({}) is not in exercises.toml",
                        region.start, region.id
                    ));
                };
                if !ex.files.contains(&name) {
                    return Err(format!(
                        "{name}: EXERCISE({}): exercises.toml does not list this file",
                        region.id
                    ));
                }
                replaced.insert(region.id.clone());
            }
            std::fs::write(&to, starter(&source).map_err(|err| format!("{name}:{err}"))?)
                .map_err(|err| format!("{}: {err}", to.display()))?;
        } else {
            std::fs::copy(&from, &to).map_err(|err| format!("{}: {err}", to.display()))?;
        }
        written += 1;
    }
    let is_student_edition = root.join(STUDENT_EDITION_FILE).exists();
    for ex in all.exercises.iter().filter(|ex| ex.marked && !is_student_edition) {
        if !replaced.contains(&ex.id) {
            return Err(format!(
                "exercise `{}` says marked = true, but no file has EXERCISE({})",
                ex.id, ex.id
            ));
        }
    }
    std::fs::write(
        dest.join(STUDENT_EDITION_FILE),
        "This repository is the student edition of the IPC workbook: write the code where todo!() stands.\n",
    )
    .map_err(|err| format!("{}: {err}", dest.display()))?;
    written += 1;
    if init_git {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(["-c", "user.name=IPC workbook", "-c", "user.email=workbook@localhost"])
                .args(args)
                .current_dir(dest)
                .output()
                .map_err(|err| format!("git {}: {err}", args[0]))
                .and_then(|out| {
                    if out.status.success() {
                        Ok(())
                    } else {
                        Err(format!("git {}: {}", args[0], String::from_utf8_lossy(&out.stderr).trim()))
                    }
                })
        };
        git(&["init", "-q", "-b", "main"])?;
        git(&["add", "-A"])?;
        git(&["commit", "-q", "-m", "IPC workbook: student edition"])?;
    }
    Ok((written, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLVED: &str = "//! A program.
//! Two doc lines.

use shared::msg::msgget;

fn main() {
    let key = parse();
    // EXERCISE(mkq): msgget with IPC_CREAT, then again with flags 0
    let created = msgget(key, 0o600)?;
    println!(\"created {created}\");
    // END EXERCISE
    // ANCHOR_END: mkq
    Ok(())
}

fn report(id: i32) -> Result<()> {
    // EXERCISE(qctl): IPC_STAT, print, IPC_RMID
    let ds = msgctl_stat(id)?;
    msgctl_rmid(id)
    // END EXERCISE
}
";

    #[test]
    fn regions_are_found_with_their_hints_and_lines() {
        let found = regions(SOLVED).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].id, "mkq");
        assert_eq!(found[0].hint, "msgget with IPC_CREAT, then again with flags 0");
        assert_eq!((found[0].start, found[0].end), (8, 11));
        assert_eq!(found[1].removed, ["    let ds = msgctl_stat(id)?;", "    msgctl_rmid(id)"]);
    }

    #[test]
    fn the_starter_has_todo_in_place_of_each_region_and_no_solution_line() {
        let starter = starter(SOLVED).unwrap();
        assert!(starter.contains(
            "    todo!(\"mkq: msgget with IPC_CREAT, then again with flags 0\");\n    // ANCHOR_END: mkq"
        ));
        assert!(starter.contains("    todo!(\"qctl: IPC_STAT, print, IPC_RMID\")\n}"), "{starter}");
        assert!(starter.starts_with("//! A program.\n//! Two doc lines.\n#![allow("), "{starter}");
        for region in regions(SOLVED).unwrap() {
            for line in region.removed {
                assert!(!starter.contains(line.trim()), "{line} is still in the starter");
            }
        }
        assert!(!starter.contains("EXERCISE"));
        assert!(starter.ends_with("}\n"));
    }

    #[test]
    fn a_file_without_markers_is_unchanged() {
        let plain = "fn main() {}\n";
        assert_eq!(starter(plain).unwrap(), plain);
    }

    #[test]
    fn broken_markers_are_refused_with_the_line() {
        let cases = [
            ("// EXERCISE(a): x\n// EXERCISE(b): y\n// END EXERCISE\n", "line 2: EXERCISE inside"),
            ("// END EXERCISE\n", "line 1: END EXERCISE without"),
            ("    // EXERCISE(a): x\n// END EXERCISE\n", "not indented"),
            ("// EXERCISE(a): x\nlet a = 1;\n", "has no END EXERCISE"),
            ("// EXERCISE(a): say \"hi\"\n// END EXERCISE\n", "without"),
            ("// EXERCISE(a): {x}\n// END EXERCISE\n", "without"),
            ("// EXERCISE(A): x\n// END EXERCISE\n", "not an exercise id"),
            ("// EXERCISE(a) x\n// END EXERCISE\n", "write `// EXERCISE(id): hint`"),
            ("// EXERCISE(a): x\n// ANCHOR: a\n// END EXERCISE\n", "ANCHOR line inside"),
        ];
        for (text, expected) in cases {
            let err = regions(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    /// Every text file of the copy, by path relative to it.
    fn texts(dir: &Path, prefix: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                texts(&path, prefix, found);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                found.push((path.strip_prefix(prefix).unwrap().display().to_string(), text));
            }
        }
    }

    #[test]
    fn the_repositorys_student_edition_holds_no_solution_line_and_is_quick() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dest = std::env::temp_dir().join(format!("xtask-student-edition-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dest);
        let started = std::time::Instant::now();
        let (_, replaced) = write(root, &dest, false).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(dest.join(STUDENT_EDITION_FILE).is_file());
        if root.join(STUDENT_EDITION_FILE).exists() {
            // Run in a student edition: there is no region left to replace, and no solution to leak.
            assert!(replaced.is_empty(), "{replaced:?}");
            std::fs::remove_dir_all(&dest).unwrap();
            return;
        }
        let all = Exercises::load(root).unwrap();
        let marked: BTreeSet<String> =
            all.exercises.iter().filter(|ex| ex.marked).map(|ex| ex.id.clone()).collect();
        assert_eq!(replaced, marked);

        let mut copy = Vec::new();
        texts(&dest, &dest, &mut copy);
        assert!(copy.iter().all(|(name, _)| !name.starts_with(".git/") && !is_solution_only(name)));
        // Lines the student sees anyway: every line of a Rust source outside the regions (the same
        // `pipe()` call is given in another program, say).
        let given: String =
            copy.iter().filter(|(name, _)| name.ends_with(".rs")).map(|(_, text)| text.as_str()).collect();
        let mut checked = 0;
        for file in all.exercises.iter().filter(|ex| ex.marked).flat_map(|ex| &ex.files) {
            let source = std::fs::read_to_string(root.join(file)).unwrap();
            for line in regions(&source).unwrap().iter().flat_map(|r| &r.removed).map(|line| line.trim()) {
                // Short lines (`}`, `Ok(())`) say nothing of the solution.
                if line.len() < 16 || given.contains(line) {
                    continue;
                }
                checked += 1;
                for (name, text) in &copy {
                    assert!(!text.contains(line), "{name} still holds the solution line `{line}` of {file}");
                }
            }
        }
        assert!(checked > 50, "only {checked} solution lines checked");
        std::fs::remove_dir_all(&dest).unwrap();
    }
}
