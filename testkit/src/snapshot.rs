//! Transcripts as the book shows them: what differs between runs redacted, then snapshotted.

use regex::Regex;

/// What differs from run to run and machine to machine: pids, ports, clock times.
pub const STANDARD_REDACTIONS: &[(&str, &str)] = &[
    (r"\[pid:\d+\]", "[pid:PID]"),
    (r"(?i)\b(pid|process)(\s*[:=]?\s*)\d+", "${1}${2}[PID]"),
    (r"\b(127\.0\.0\.1|localhost|0\.0\.0\.0):\d+", "${1}:[PORT]"),
    (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", "[TIME]"),
];

/// Replace every match of each `(regex, replacement)` in turn (`$1` refers to groups).
pub fn redact(text: &str, rules: &[(&str, &str)]) -> String {
    rules.iter().fold(text.to_owned(), |text, (pattern, replacement)| {
        Regex::new(pattern)
            .unwrap_or_else(|err| panic!("bad redaction {pattern:?}: {err}"))
            .replace_all(&text, *replacement)
            .into_owned()
    })
}

/// Snapshot `text` under `name` in the calling crate's `tests/snapshots/NAME.snap`.
///
/// The header is always the same three lines, so the book includes a snapshot's body with
/// `{{#include ....snap:4:}}` and shows exactly what the test checks.
#[macro_export]
macro_rules! assert_transcript {
    ($name:expr, $text:expr) => {{
        let mut settings = $crate::insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| $crate::insta::assert_snapshot!($name, $text));
    }};
}
