//! ipc-bench: the latency and bandwidth of every IPC mechanism of the texts, measured on this
//! machine, beside the same loops in C and the machine's own limit (memcpy).
//!
//! Read it in this order:
//!
//! - [`mechanism`]: what is measured (pipe, FIFO, socketpair, System V message queue, POSIX message
//!   queue, System V shared memory with semaphores, memcpy) and the three tests;
//! - [`channel`]: one direction of one mechanism: the `send` and `recv` inside the timing;
//! - [`peer`]: the two processes of a measurement, the timed run and the child's loop;
//! - [`cbaseline`]: the C twin (`c/bench.c`), run as a coprocess;
//! - [`measure`]: the method: warm-ups, run sizing, Rust and C runs in alternation, medians;
//! - [`cpus`]: where the processes run (`--cpus`);
//! - [`report`] and [`svg`]: the tables, the summary against the targets, the CSV and the chart.
//!
//! The binary `ipc-bench` (src/bin/ipc-bench.rs) puts them together.

pub mod cbaseline;
pub mod channel;
pub mod cpus;
pub mod measure;
pub mod mechanism;
pub mod peer;
pub mod report;
pub mod svg;
