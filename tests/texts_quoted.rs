//! Every quote of the two source texts in the book occurs in the texts.
//!
//! A quote is marked in one of two ways (the book's introduction says the same):
//!
//! - a code span in the "As printed" column of a table (the errata, and any other page with such a
//!   column); every cell of that column must hold at least one;
//! - a code span on a blockquote line that starts with `> 교재` (textbook) or `> 슬라이드` (slides);
//! - any other code span with Korean (Hangul) in it: the workbook writes no Korean of its own in
//!   code spans (a span that starts with `> ` names the convention and is skipped).
//!
//! Each quote must occur in the texts, `../shared/seeds/*.txt` (or `$IPC_WORKBOOK_SEEDS`), after
//! removing all whitespace from both: the slides' text lost most of its spaces in extraction, so
//! spacing cannot be compared. In a table cell, `\|` stands for `|`. Without the texts this test is
//! compiled as ignored (see `build.rs`): it is reported as not run, never as passed.

use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The two texts, squashed and joined (a quote never spans both).
fn texts() -> String {
    let dir = PathBuf::from(env!("IPC_WORKBOOK_SEEDS_DIR"));
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("the texts are not in {}: {err}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "expected the textbook and the slides in {}", dir.display());
    files.iter().map(|path| squash(&fs::read_to_string(path).unwrap())).collect::<Vec<_>>().join("\u{0}")
}

fn pages() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut pages: Vec<_> = fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    pages.sort();
    pages
}

/// The cells of a table row, split on `|` that is not escaped.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|cell| cell.trim().to_owned()).collect()
}

fn is_hangul(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// One quote: where it is, and its text.
struct Quote {
    place: String,
    text: String,
}

/// The marked quotes of one page, and the places where a quote is missing. Also the number of
/// rows in "As printed" tables.
fn quotes(page: &str, text: &str) -> (Vec<Quote>, Vec<String>, usize) {
    let span = Regex::new(r"`([^`]+)`").unwrap();
    let mut quotes = Vec::new();
    let mut missing = Vec::new();
    let mut rows = 0;
    let mut column: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let place = format!("{page}:{}", number + 1);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('|') {
            column = None;
        } else if column.is_none() {
            column = cells(trimmed).iter().position(|cell| cell == "As printed");
            continue;
        } else if let Some(index) = column {
            if trimmed.starts_with("|---") || trimmed.starts_with("| ---") {
                continue;
            }
            rows += 1;
            let cell = cells(trimmed).get(index).cloned().unwrap_or_default();
            let found: Vec<_> = span.captures_iter(&cell).map(|cap| cap[1].to_owned()).collect();
            if found.is_empty() {
                missing.push(format!("{place}: an \"As printed\" cell without a quote: {cell:?}"));
            }
            quotes.extend(found.into_iter().map(|text| Quote { place: place.clone(), text }));
        }
        if trimmed.starts_with("> 교재") || trimmed.starts_with("> 슬라이드") {
            let found: Vec<_> = span.captures_iter(trimmed).map(|cap| cap[1].to_owned()).collect();
            if found.is_empty() {
                missing.push(format!("{place}: a quote line without a code span"));
            }
            quotes.extend(found.into_iter().map(|text| Quote { place: place.clone(), text }));
        } else if column.is_none() {
            let korean = span
                .captures_iter(trimmed)
                .map(|cap| cap[1].to_owned())
                .filter(|text| !text.starts_with("> ") && text.chars().any(is_hangul));
            quotes.extend(korean.map(|text| Quote { place: place.clone(), text }));
        }
    }
    (quotes, missing, rows)
}

#[test]
#[cfg_attr(texts_absent, ignore = "the texts (../shared/seeds or $IPC_WORKBOOK_SEEDS) are not here")]
fn every_quote_of_the_texts_is_in_the_texts() {
    let texts = texts();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (page, text) in pages() {
        let (quotes, missing, _) = quotes(&page, &text);
        problems.extend(missing);
        for quote in quotes {
            checked += 1;
            if !texts.contains(&squash(&quote.text)) {
                problems.push(format!("{}: not in the texts: `{}`", quote.place, quote.text));
            }
        }
    }
    assert!(checked > 100, "only {checked} quotes found: is the marking convention still used?");
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The errata page says how many errata it lists; the number must be the number of rows.
#[test]
fn the_errata_count_is_right() {
    let (_, text) = pages().into_iter().find(|(page, _)| page == "errata.md").unwrap();
    let (_, _, rows) = quotes("errata.md", &text);
    let said = Regex::new(r"\*\*(\d+) in all\*\*").unwrap();
    let said: usize = said.captures(&text).expect("errata.md says **N in all**")[1].parse().unwrap();
    assert_eq!(said, rows, "errata.md says {said} errata but lists {rows}");
}

/// The quote finder itself: a table cell with an escaped bar, and a blockquote.
#[test]
fn quotes_are_found_where_the_convention_puts_them() {
    let page = "| Where | As printed | Why |\n|---|---|---|\n| p.1 | `a \\| b`, `c` | `not this` |\n\n> 교재 10-1: `d`\n> other: `e`\nprose `키` and `ok`, `> 교재`\n";
    let (found, missing, rows) = quotes("t.md", page);
    let texts: Vec<_> = found.iter().map(|quote| quote.text.as_str()).collect();
    assert_eq!(texts, ["a | b", "c", "d", "키"]);
    assert!(missing.is_empty());
    assert_eq!(rows, 1);
    let (_, missing, _) = quotes("t.md", "| As printed |\n|---|\n| no quote |\n");
    assert_eq!(missing.len(), 1);
}
