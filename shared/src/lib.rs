//! The workbook's shared crate: safe wrappers over the System V IPC and process calls that every
//! chapter uses, and the only crate in the workspace with `unsafe` code.
//!
//! Each wrapper is named after the call it wraps, so a program reads like its C original and maps
//! line by line to the man pages:
//!
//! | C call | here |
//! |---|---|
//! | `ftok(3)` | [`key::ftok`] |
//! | `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)` | [`msg::msgget`], [`msg::msgsnd`], [`msg::msgrcv`], [`msg::msgctl_stat`] … |
//! | `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)` | [`shm::shmget`], [`shm::shmat`], [`shm::shmdt`], [`shm::shmctl_stat`] … |
//! | `semget(2)`, `semop(2)`, `semctl(2)` | [`sem::semget`], [`sem::semop`], [`sem::semctl_getall`] … |
//! | `fork(2)`, `waitpid(2)`, `execv(3)` | [`process::fork`], [`process::Child::wait`], [`process::exec_sibling`] |
//!
//! Pipes, FIFOs and signals come straight from `nix`, whose functions already carry the C names.
//!
//! Around them: [`error`] (one-line errors naming the call and the errno), [`cleanup`] (nothing a
//! program creates outlives it), [`out`] (pid-tagged, coloured lines), [`user`] and [`time`] (owners and
//! dates as `ipcs` shows them), [`cli`] (the `main`
//! wrapper and the `--key`/`--keyfile` options).

pub mod cleanup;
pub mod cli;
pub mod echo;
pub mod error;
pub mod ipc;
pub mod key;
pub mod lang;
pub mod msg;
pub mod out;
pub mod process;
pub mod sem;
pub mod shm;
pub mod sysvipc;
pub mod time;
pub mod user;

pub use error::{CallContext, Errno, Error, Result};
