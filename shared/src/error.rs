//! Errors that say which call failed, with what, and why.
//!
//! Every failure a workbook program reports is one line:
//!
//! ```text
//! mkq: msgget(key=0x7b): EEXIST (File exists)
//! ```
//!
//! The program name comes from [`crate::cli::run`]; this module supplies the rest: the call with its
//! important argument, the errno's *name* (what you look up in the man page's ERRORS section) and its
//! text.

use std::fmt;

pub use nix::errno::Errno;

/// What went wrong, ready to print as one line.
#[derive(Debug)]
pub enum Error {
    /// A system call failed: `call` is what was called, e.g. `msgget(key=0x7b)`.
    Sys { call: String, errno: Errno },
    /// Anything else worth one line: input that parsed but makes no sense, a peer that broke protocol.
    Other(String),
}

/// The workbook's `Result`: `Error` unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failed call, from the errno it set.
    pub fn sys(call: impl Into<String>, errno: Errno) -> Self {
        Error::Sys { call: call.into(), errno }
    }

    /// A failed call, from `errno` as it is now (call this right after the failing call).
    pub fn last(call: impl Into<String>) -> Self {
        Error::sys(call, Errno::last())
    }

    /// Any other one-line failure.
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }

    /// The errno, when a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } => Some(*errno),
            Error::Other(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{:?}` of an Errno is its name (EEXIST); the text is strerror's (File exists).
            Error::Sys { call, errno } => write!(f, "{call}: {errno:?} ({})", strerror(*errno)),
            Error::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The C library's text for an errno, as `perror` prints it ("Resource temporarily unavailable").
pub fn strerror(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno as i32).to_string();
    // std appends " (os error N)"; the errno's name already says which.
    match text.rfind(" (os error") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// Name the call that produced a `Result` from `nix` or `std`, so its error prints as one line.
///
/// ```
/// use shared::error::CallContext;
/// let err = std::fs::File::open("/no/such/file").call("open(/no/such/file)").unwrap_err();
/// assert_eq!(err.to_string(), "open(/no/such/file): ENOENT (No such file or directory)");
/// ```
pub trait CallContext<T> {
    fn call(self, call: impl Into<String>) -> Result<T>;
}

impl<T> CallContext<T> for Result<T, Errno> {
    fn call(self, call: impl Into<String>) -> Result<T> {
        self.map_err(|errno| Error::sys(call, errno))
    }
}

impl<T> CallContext<T> for Result<T, std::io::Error> {
    fn call(self, call: impl Into<String>) -> Result<T> {
        self.map_err(|err| match err.raw_os_error() {
            Some(code) => Error::sys(call, Errno::from_raw(code)),
            // std's own errors (a timeout, bad UTF-8) have no errno: keep their text.
            None => Error::other(format!("{}: {err}", call.into())),
        })
    }
}

/// Turn a C return value into a `Result`: `-1` means "look at errno". `call` names the call in
/// the error, so it is only run on failure.
pub(crate) fn check<T: PartialEq + From<i8>>(ret: T, call: impl FnOnce() -> String) -> Result<T> {
    if ret == T::from(-1) { Err(Error::last(call())) } else { Ok(ret) }
}
