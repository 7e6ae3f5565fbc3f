//! What the three System V mechanisms have in common: flags, ids and `struct ipc_perm`.

use std::fmt;

pub use libc::{IPC_CREAT, IPC_EXCL, IPC_NOWAIT};

use crate::key::Key;

/// A message queue id, as `msgget` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsqId(pub libc::c_int);

/// A shared memory segment id, as `shmget` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShmId(pub libc::c_int);

/// A semaphore set id, as `semget` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SemId(pub libc::c_int);

macro_rules! display_as_number {
    ($($id:ty),*) => {$(
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
        impl std::str::FromStr for $id {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                text.parse::<libc::c_int>()
                    .ok()
                    .filter(|id| *id >= 0)
                    .map(Self)
                    .ok_or_else(|| format!("'{text}' is not an IPC id: give a number such as 32768"))
            }
        }
    )*};
}
display_as_number!(MsqId, ShmId, SemId);

/// `struct ipc_perm`: who owns an object and who may use it. The same for all three kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpcPerm {
    pub key: Key,
    /// Owner's user and group: `IPC_SET` may change these.
    pub uid: u32,
    pub gid: u32,
    /// Creator's user and group: fixed for the object's life.
    pub cuid: u32,
    pub cgid: u32,
    /// The low 9 bits are `rw-rw-rw-` permissions, as for files (execute bits mean nothing here).
    pub mode: u16,
    /// Slot usage sequence number: part of how the kernel builds ids.
    pub seq: u16,
}

impl IpcPerm {
    pub(crate) fn from_raw(perm: &libc::ipc_perm) -> Self {
        IpcPerm {
            key: Key(perm.__key),
            uid: perm.uid,
            gid: perm.gid,
            cuid: perm.cuid,
            cgid: perm.cgid,
            mode: perm.mode,
            seq: perm.__seq,
        }
    }

    /// The permission bits alone, e.g. `0o600`.
    pub fn permissions(&self) -> u16 {
        self.mode & 0o777
    }
}

/// The kind of an IPC object, for listings and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    MessageQueue,
    SharedMemory,
    SemaphoreSet,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::MessageQueue => "message queue",
            Kind::SharedMemory => "shared memory segment",
            Kind::SemaphoreSet => "semaphore set",
        })
    }
}
