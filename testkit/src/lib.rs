//! How every workbook test runs a program: as a real process, with a deadline, its output captured,
//! redacted and snapshotted, and with a check that it left no IPC object behind.
//!
//! ```no_run
//! use testkit::{Cmd, TestKey, assert_transcript};
//!
//! let key = TestKey::new();                       // unique to this test run; leak-checked on drop
//! let out = Cmd::new("mkq").arg(key.arg()).run(); // killed (and the test failed) after the timeout
//! out.assert_success();
//! assert_transcript!("mkq", out.redacted(&[]));  // "$ mkq KEY\n..." snapshotted with pids redacted
//! ```
//!
//! Nothing here sleeps to synchronise: [`Running::expect_line`] waits for the line a program prints
//! when it is ready, and every wait has a deadline.
//!
//! One module a job, every item re-exported here: `command` ([`Cmd`], [`Running`], [`Output`]),
//! `snapshot` (redaction, [`assert_transcript!`]), `keys` ([`TestKey`], [`ScratchDir`]), `namespace`
//! ([`IpcNamespace`]), `procfs` (process groups, wchan), `load` ([`load_factor`], [`Stress`]),
//! `tally` (the race demos' [`tallies`]) and [`harness`] (tests that report "not run here").

mod command;
pub mod harness;
mod keys;
mod load;
mod namespace;
mod procfs;
mod snapshot;
mod tally;

pub use command::{Cmd, DEFAULT_TIMEOUT, Output, Running, bin, build_c, is_root};
pub use harness::skip;
pub use insta;
pub use keys::{ScratchDir, TestKey, lock_udp_port};
pub use load::{Stress, load_factor};
pub use namespace::{IpcNamespace, NO_NAMESPACE};
pub use nix::sys::signal::Signal;
pub use procfs::{first_allowed_cpu, process_group_alive, process_group_members, wait_until_sleeping_in};
pub use shared::key::Key;
pub use snapshot::{STANDARD_REDACTIONS, redact};
pub use tally::tallies;
