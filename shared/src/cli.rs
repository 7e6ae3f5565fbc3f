//! What every workbook binary does around its `main`: one-line errors, exit codes, key options.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::error::Result;
use crate::key::{Key, ftok};

/// This program's name, as the user typed it (the file name of `argv[0]`).
pub fn program_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|arg0| Path::new(&arg0).file_name().map(|name| name.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "workbook".to_owned())
    })
}

/// Run a program's body: on error print `program: error` as one line on stderr and exit 1.
///
/// Usage errors never get here: clap prints them and exits 2 while parsing the arguments. A panic
/// (a bug, never expected) is reported as one line too, without a backtrace.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     shared::cli::run(|| {
///         // ... the program ...
///         Ok(())
///     })
/// }
/// ```
pub fn run(body: impl FnOnce() -> Result<()>) -> ExitCode {
    crate::out::init_colour();
    std::panic::set_hook(Box::new(|info| {
        // One write, not eprintln!: a failing stderr must not panic inside the hook (an abort), and
        // processes sharing a stderr must not interleave pieces of their lines.
        if let Some(line) = panic_line(info.payload()) {
            let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
        }
    }));
    // Catch the unwinding so `Owned` values and children are cleaned up on the way out and the
    // exit status is 1, never Rust's 101 with a backtrace hint.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("{}: {err}", program_name());
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// The one line a panic prints: `program: internal error: message`. None for a closed pipe:
/// `prog | head -1` ends with EPIPE on our next println!, the reader's choice, not our error (the
/// unwinding still removes what we created).
fn panic_line(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    (!message.contains("Broken pipe")).then(|| format!("{}: internal error: {message}", program_name()))
}

/// Why a key other processes must find cannot be 0: the one line of the usage error.
pub const PRIVATE_KEY_REFUSED: &str = "key 0 is IPC_PRIVATE: it makes a new object no other process can find by key; \
     choose another key (such as 0x7b)";

/// The clap value parser for every key that processes share (`#[arg(value_parser =
/// shared::cli::shared_key)]`): a [`Key`] as `Key::from_str` reads it, but never 0 (`IPC_PRIVATE`),
/// which names no object another process could find. A usage error: clap prints it, exit 2.
pub fn shared_key(text: &str) -> std::result::Result<Key, String> {
    let key: Key = text.parse()?;
    if key == crate::key::IPC_PRIVATE {
        return Err(PRIVATE_KEY_REFUSED.to_owned());
    }
    Ok(key)
}

/// A permission mode in octal (`600`, `0640`, `0o600`), as `chmod` and the `mode` of `msgget`,
/// `shmget` and `semget` take it: a clap value parser.
pub fn parse_mode(text: &str) -> std::result::Result<i32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match i32::from_str_radix(digits, 8) {
        Ok(mode) if (0..=0o777).contains(&mode) => Ok(mode),
        _ => Err(format!("'{text}' is not a permission mode: give octal digits such as 600 or 0640")),
    }
}

/// `--key` and `--keyfile`, for every program that has a default key: tests and parallel graders
/// pass their own so they never meet each other's objects.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Use this key (decimal or 0x hex) instead of the default.
    #[arg(long, value_name = "KEY", conflicts_with = "keyfile", value_parser = shared_key)]
    pub key: Option<Key>,
    /// Make the key with ftok(PATH, id) instead of the default.
    #[arg(long, value_name = "PATH")]
    pub keyfile: Option<PathBuf>,
}

impl KeyArgs {
    /// `--key`, else `ftok(--keyfile, id)`, else `default`.
    pub fn resolve(&self, default: Key, id: u8) -> Result<Key> {
        match (&self.key, &self.keyfile) {
            (Some(key), _) => Ok(*key),
            (None, Some(path)) => ftok(path, id),
            (None, None) => Ok(default),
        }
    }

    /// `--key`, else `ftok(--keyfile or default_path, id)`: for programs whose text uses `ftok`.
    pub fn resolve_ftok(&self, default_path: &Path, id: u8) -> Result<Key> {
        match (&self.key, &self.keyfile) {
            (Some(key), _) => Ok(*key),
            (None, Some(path)) => ftok(path, id),
            (None, None) => ftok(default_path, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_key_is_never_ipc_private() {
        assert_eq!(shared_key("0x7b"), Ok(Key(123)));
        for zero in ["0", "0x0", "00"] {
            assert_eq!(shared_key(zero), Err(PRIVATE_KEY_REFUSED.to_owned()), "{zero}");
        }
        assert!(shared_key("x").unwrap_err().contains("is not a key"));
    }

    #[test]
    fn a_panic_is_one_line_and_a_broken_pipe_none() {
        let name = program_name();
        let line = |payload: Box<dyn std::any::Any + Send>| panic_line(payload.as_ref());
        assert_eq!(line(Box::new("Broken pipe (os error 32)")), None);
        assert_eq!(
            line(Box::new(format!("the {} went wrong", "thing"))),
            Some(format!("{name}: internal error: the thing went wrong"))
        );
        assert_eq!(line(Box::new("static")), Some(format!("{name}: internal error: static")));
        assert_eq!(line(Box::new(7)), Some(format!("{name}: internal error: ")));
    }

    #[test]
    fn a_mode_is_octal_up_to_777() {
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert_eq!(parse_mode("0o777"), Ok(0o777));
        assert_eq!(parse_mode("0"), Ok(0));
        for bad in ["1000", "8", "-1", "rw", ""] {
            assert!(parse_mode(bad).unwrap_err().contains("is not a permission mode"), "{bad}");
        }
    }
}
