//! The book's lists of coding exercises: one Markdown file per chapter crate, written from
//! `exercises.toml` into `book/src/exercises/CRATE.md` and included by the chapter's page.

use std::path::{Path, PathBuf};

use crate::exercises::{Exercise, Exercises};

/// Where the generated lists go, relative to the repository root.
pub const DIR: &str = "book/src/exercises";

/// The chapter crates, by directory name under `chapters/`.
pub fn chapter_crates(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("chapters");
    let mut crates: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|err| format!("{}: {err}", dir.display()))?
        .flatten()
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    Ok(crates)
}

fn item(ex: &Exercise) -> String {
    let mut text = format!(
        "- **`{}`** ({}, {} points): {}\n",
        ex.id,
        ex.difficulty.name(),
        ex.points,
        ex.summary.trim()
    );
    if !ex.marked {
        text.push_str("  (Not yet marked in the code: the student edition does not ask for it yet.)\n");
    }
    let files: Vec<String> = ex.files.iter().map(|file| format!("`{file}`")).collect();
    text.push_str(&format!("  - Write it in: {}\n", files.join(", ")));
    text.push_str(&format!(
        "  - Stuck? `cargo xtask hint {}` shows the next of its {} hints.\n",
        ex.id,
        ex.hints.len()
    ));
    text.push_str(&format!("  - Check it: `cargo xtask grade --exercise {}`\n", ex.id));
    text
}

/// The Markdown list of one chapter crate's exercises, in the order of `exercises.toml`.
pub fn render(all: &Exercises, krate: &str) -> String {
    let mut text = String::from(
        "<!-- Written by `cargo xtask book-exercises` from exercises.toml: edit that, not this. -->\n\n",
    );
    let mine: Vec<&Exercise> = all.exercises.iter().filter(|ex| ex.krate == krate).collect();
    if mine.is_empty() {
        text.push_str("This chapter has no coding exercise.\n");
        return text;
    }
    text.push_str(
        "**Coding exercises.** In the student edition (see [Exercises and grading](grading.md)), each of\n\
         these programs stops at a `todo!()` with a one-line hint where you write its IPC steps.\n\n",
    );
    for ex in mine {
        text.push_str(&item(ex));
    }
    text
}

/// Every file the generator writes, with its content.
pub fn expected(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let all = Exercises::load(root)?;
    let crates = chapter_crates(root)?;
    for ex in &all.exercises {
        if !crates.contains(&ex.krate) {
            return Err(format!("exercise `{}`: no chapter crate chapters/{}", ex.id, ex.krate));
        }
    }
    Ok(crates.iter().map(|krate| (root.join(DIR).join(format!("{krate}.md")), render(&all, krate))).collect())
}

/// The differences between the files on disk and what `exercises.toml` gives, one line each.
pub fn stale(root: &Path) -> Result<Vec<String>, String> {
    let expected = expected(root)?;
    let mut problems = Vec::new();
    for (path, text) in &expected {
        let name = path.strip_prefix(root).unwrap().display();
        match std::fs::read_to_string(path) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => problems.push(format!("{name} differs from exercises.toml")),
            Err(err) => problems.push(format!("{name}: {err}")),
        }
    }
    for entry in std::fs::read_dir(root.join(DIR)).into_iter().flatten().flatten() {
        if !expected.iter().any(|(path, _)| *path == entry.path()) {
            problems
                .push(format!("{DIR}/{} is not a chapter crate's list", entry.file_name().to_string_lossy()));
        }
    }
    Ok(problems)
}

/// Write the lists, and remove any other file in their directory. Returns the files written.
pub fn write(root: &Path) -> Result<Vec<PathBuf>, String> {
    let expected = expected(root)?;
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    for entry in std::fs::read_dir(&dir).map_err(|err| format!("{}: {err}", dir.display()))?.flatten() {
        if !expected.iter().any(|(path, _)| *path == entry.path()) {
            std::fs::remove_file(entry.path()).map_err(|err| format!("{}: {err}", entry.path().display()))?;
        }
    }
    for (path, text) in &expected {
        std::fs::write(path, text).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    Ok(expected.into_iter().map(|(path, _)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_names_each_exercise_its_files_and_the_commands() {
        let all = Exercises::parse(
            r#"
[[exercise]]
id = "mkq"
crate = "ch10-msgq"
bin = "mkq"
files = ["chapters/ch10-msgq/src/bin/mkq.rs"]
difficulty = "easy"
points = 5
summary = "Create the queue."
hints = ["one", "two", "three"]
tests = [{ target = "mkq_qctl", names = ["a"] }]
marked = false
"#,
        )
        .unwrap();
        let text = render(&all, "ch10-msgq");
        for needle in [
            "**`mkq`** (easy, 5 points): Create the queue.",
            "Not yet marked",
            "`chapters/ch10-msgq/src/bin/mkq.rs`",
            "`cargo xtask hint mkq` shows the next of its 3 hints",
            "`cargo xtask grade --exercise mkq`",
        ] {
            assert!(text.contains(needle), "no {needle:?} in:\n{text}");
        }
        assert!(render(&all, "ch10-keys").contains("no coding exercise"));
    }

    #[test]
    fn the_books_exercise_lists_are_up_to_date_with_exercises_toml() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let problems = stale(root).unwrap();
        assert!(
            problems.is_empty(),
            "the book's exercise lists are out of date with exercises.toml:\n  {}\nrun `cargo xtask book-exercises` and commit {DIR}/",
            problems.join("\n  ")
        );
    }
}
