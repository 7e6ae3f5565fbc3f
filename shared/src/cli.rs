//! What every workbook binary does around its `main`: one-line errors, exit codes, key options.

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
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("{}: internal error: {message}", program_name());
    }));
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}: {err}", program_name());
            ExitCode::FAILURE
        }
    }
}

/// `--key` and `--keyfile`, for every program that has a default key: tests and parallel graders
/// pass their own so they never meet each other's objects.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Use this key (decimal or 0x hex) instead of the default.
    #[arg(long, value_name = "KEY", conflicts_with = "keyfile")]
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
