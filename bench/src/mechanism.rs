//! What is measured: the mechanisms, the two tests, and the sizes each mechanism can carry.

use std::fmt;

use shared::{CallContext, Result};

/// One way to move bytes from one process to another (and `memcpy`, the copy without a second
/// process, as the machine's limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Mechanism {
    /// pipe(2): two pipes, one each way.
    Pipe,
    /// mkfifo(3): two FIFOs in a private temporary directory.
    Fifo,
    /// System V message queue: one queue, a message type per direction (Stevens' lat_svmsg).
    Svmsg,
    /// System V shared memory, signalled with System V semaphores.
    Svshm,
    /// socketpair(AF_UNIX, SOCK_STREAM): one socket pair carries both ways.
    Socketpair,
    /// POSIX message queue (mq_open(3)), one per direction.
    Mqueue,
    /// memcpy in one process: the copy the machine can do at best.
    Memcpy,
}

impl Mechanism {
    /// Every mechanism, in the order of the tables.
    pub const ALL: [Mechanism; 7] = [
        Mechanism::Memcpy,
        Mechanism::Pipe,
        Mechanism::Fifo,
        Mechanism::Socketpair,
        Mechanism::Svmsg,
        Mechanism::Mqueue,
        Mechanism::Svshm,
    ];

    /// The name on the command line, in the CSV and in the C baseline's protocol.
    pub fn slug(self) -> &'static str {
        match self {
            Mechanism::Pipe => "pipe",
            Mechanism::Fifo => "fifo",
            Mechanism::Svmsg => "svmsg",
            Mechanism::Svshm => "svshm",
            Mechanism::Socketpair => "socketpair",
            Mechanism::Mqueue => "mqueue",
            Mechanism::Memcpy => "memcpy",
        }
    }

    /// The name in the tables and the chart.
    pub fn title(self) -> &'static str {
        match self {
            Mechanism::Pipe => "pipe",
            Mechanism::Fifo => "FIFO",
            Mechanism::Svmsg => "SysV msg queue",
            Mechanism::Svshm => "SysV shm + sem",
            Mechanism::Socketpair => "socketpair",
            Mechanism::Mqueue => "POSIX mqueue",
            Mechanism::Memcpy => "memcpy (1 process)",
        }
    }

    /// Whether two processes take part (all but memcpy).
    pub fn is_ipc(self) -> bool {
        self != Mechanism::Memcpy
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// The two tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Test {
    /// A message goes to the peer and comes straight back: µs per round trip.
    Latency,
    /// One process streams messages to the other: MB/s.
    Bandwidth,
    /// One process sends a message and receives it itself: ns for the calls alone, with no
    /// scheduler and no second process, where what the wrappers add is easiest to see.
    Calls,
}

impl Test {
    /// The C baseline's word for it, and the CSV's.
    pub fn slug(self) -> &'static str {
        match self {
            Test::Latency => "lat",
            Test::Bandwidth => "bw",
            Test::Calls => "calls",
        }
    }

    /// Its name in tables, progress lines and errors.
    pub fn name(self) -> &'static str {
        match self {
            Test::Latency => "latency",
            Test::Bandwidth => "bandwidth",
            Test::Calls => "calls",
        }
    }
}

/// The kernel's limits on message sizes, read where `sysctl` shows them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `kernel.msgmax`: the largest System V message (8192 by default).
    pub msgmax: usize,
    /// `fs.mqueue.msgsize_max`: the largest POSIX message an unprivileged queue may take.
    pub mq_msgsize_max: usize,
}

impl Limits {
    pub fn read() -> Result<Self> {
        Ok(Limits {
            msgmax: read_number("/proc/sys/kernel/msgmax")?,
            mq_msgsize_max: read_number("/proc/sys/fs/mqueue/msgsize_max")?,
        })
    }

    /// The largest message `mechanism` can carry (streams and memcpy: no limit).
    pub fn max_message(&self, mechanism: Mechanism) -> usize {
        match mechanism {
            Mechanism::Svmsg => self.msgmax,
            Mechanism::Mqueue => self.mq_msgsize_max,
            _ => usize::MAX,
        }
    }

    /// The transfer sizes to measure for `mechanism`: those of `sizes` it can carry, and its largest
    /// message too when that falls between them (so the message queues end at their `msgmax`).
    pub fn sizes_for(&self, mechanism: Mechanism, sizes: &[usize]) -> Vec<usize> {
        let max = self.max_message(mechanism);
        let mut fit: Vec<usize> = sizes.iter().copied().filter(|&size| size <= max).collect();
        if fit.len() < sizes.len() && !fit.contains(&max) && sizes.iter().any(|&size| size < max) {
            fit.push(max);
        }
        fit
    }
}

fn read_number(path: &str) -> Result<usize> {
    let text = std::fs::read_to_string(path).call(format!("read({path})"))?;
    text.trim()
        .parse()
        .map_err(|_| shared::Error::other(format!("{path}: '{}' is not a number", text.trim())))
}

/// A byte count as the tables show it: `64 B`, `4 KiB`, `1 MiB`.
pub fn size_text(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// Each message starts with its sequence number, in this many bytes (fewer if it is shorter): the
/// smallest transfer size.
pub const STAMP_BYTES: usize = 8;

/// Parse a size as written on the command line: `64`, `4K`, `4k`, `1M`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("'{text}' is not a size: write bytes, or a number with K or M (e.g. 64, 4K, 1M)");
    let (digits, unit) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1 << 10),
        Some((at, 'm' | 'M')) => (&text[..at], 1 << 20),
        _ => (text, 1),
    };
    let number: usize = digits.parse().map_err(|_| bad())?;
    match number.checked_mul(unit) {
        Some(size) if (STAMP_BYTES..=64 << 20).contains(&size) => Ok(size),
        _ => Err(format!("'{text}': a transfer size must be between 8 bytes and 64M")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("64"), Ok(64));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("4").is_err());
        assert!(parse_size("x").is_err());
        assert_eq!(size_text(64), "64 B");
        assert_eq!(size_text(16384), "16 KiB");
        assert_eq!(size_text(1 << 20), "1 MiB");
        assert_eq!(size_text(8000), "8000 B");
    }

    #[test]
    fn message_queues_stop_at_their_limit() {
        let limits = Limits { msgmax: 8192, mq_msgsize_max: 8192 };
        let sizes = [64, 256, 1024, 4096, 16384, 65536];
        assert_eq!(limits.sizes_for(Mechanism::Svmsg, &sizes), [64, 256, 1024, 4096, 8192]);
        assert_eq!(limits.sizes_for(Mechanism::Pipe, &sizes), sizes);
        assert_eq!(limits.sizes_for(Mechanism::Svmsg, &[64, 4096]), [64, 4096]);
    }
}
