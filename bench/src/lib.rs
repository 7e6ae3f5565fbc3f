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
//! Each module uses only those after it in this chain, never one before:
//! `svg → report → measure → cbaseline → peer → channel → mechanism`, with `cpus` (which uses
//! only `sys`) and [`sys`] (which uses nothing of the crate) below them.
//! The binary `ipc-bench` (src/bin/ipc-bench.rs) puts them together.
//!
//! `unsafe` is denied in this crate except in [`sys`]: memory at a chosen address, an empty `asm`
//! barrier, a one-operation `semop` and a scheduling policy, what a fair comparison with C needs
//! beyond `shared`.

pub mod cbaseline;
pub mod channel;
pub mod cpus;
pub mod measure;
pub mod mechanism;
pub mod peer;
pub mod report;
pub mod svg;
#[allow(unsafe_code)]
pub mod sys;
