//! ipc-bench: the latency and bandwidth of every IPC mechanism, beside C and memcpy.

pub mod cbaseline;
pub mod channel;
pub mod cpus;
pub mod measure;
pub mod mechanism;
pub mod peer;
pub mod report;
pub mod svg;
