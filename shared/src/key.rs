//! System V IPC keys: `IPC_PRIVATE`, numbers chosen by the program, and `ftok(3)`.
//!
//! A key is how unrelated processes agree on one object; the kernel turns it into an id with
//! `msgget`, `shmget` or `semget`. The workbook shows keys in hex (as `ipcs` does) and accepts them
//! in decimal or `0x` hex on every command line.

use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result, check};

/// A `key_t`. `Display` prints it the way `ipcs` and the error messages do: `0x7b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub libc::key_t);

/// The key that always makes a new object no other process can find by key.
pub const IPC_PRIVATE: Key = Key(libc::IPC_PRIVATE);

impl Key {
    /// The raw `key_t` for the C call.
    pub fn raw(self) -> libc::key_t {
        self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == IPC_PRIVATE {
            f.write_str("IPC_PRIVATE")
        } else {
            // Keys are 32-bit patterns, so show the bits, not a sign.
            write!(f, "{:#x}", self.0 as u32)
        }
    }
}

impl FromStr for Key {
    type Err = String;

    /// `123`, `0x7b` and `0X7B` are the same key; anything that does not fit in 32 bits is refused.
    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).map(|bits| bits as i32),
            None => text.parse::<i32>(),
        };
        parsed.map(Key).map_err(|_| format!("'{text}' is not a key: give a number such as 123 or 0x7b"))
    }
}

/// `ftok(3)`: a key from an existing file's identity (device and inode) and a small id.
///
/// Linux builds the key from the low 8 bits of `id`, the low 8 bits of the device number and the
/// low 16 bits of the inode number; see `ch10-keys` for the layout next to the textbook's.
pub fn ftok(path: &Path, id: u8) -> Result<Key> {
    let call = || format!("ftok({}, {id})", path.display());
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::other(format!("{}: path contains a NUL byte", call())))?;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    let key = unsafe { libc::ftok(c_path.as_ptr(), libc::c_int::from(id)) };
    check(key, call).map(Key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_decimal_and_hex_and_print_in_hex() {
        assert_eq!("123".parse::<Key>(), Ok(Key(123)));
        assert_eq!("0x7b".parse::<Key>(), Ok(Key(123)));
        assert_eq!("0xffffffff".parse::<Key>(), Ok(Key(-1)));
        assert!("12a".parse::<Key>().is_err());
        assert!("0x1ffffffff".parse::<Key>().is_err());
        assert_eq!(Key(123).to_string(), "0x7b");
        assert_eq!(IPC_PRIVATE.to_string(), "IPC_PRIVATE");
    }

    #[test]
    fn ftok_is_stable_and_depends_on_the_id() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(ftok(here, 1).unwrap(), ftok(here, 1).unwrap());
        assert_ne!(ftok(here, 1).unwrap(), ftok(here, 2).unwrap());
        assert_eq!(ftok(here, 7).unwrap().0 as u32 >> 24, 7, "the id is the top byte on Linux");
    }

    #[test]
    fn ftok_of_a_missing_file_names_the_errno() {
        let err = ftok(Path::new("/no/such/file"), 1).unwrap_err();
        assert_eq!(err.to_string(), "ftok(/no/such/file, 1): ENOENT (No such file or directory)");
    }
}
