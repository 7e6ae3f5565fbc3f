//! Channels: one direction of one mechanism, and the `send` and `recv` that the benchmark times.
//!
//! Every message starts with its sequence number (its *stamp*), so the receiver can tell that
//! each message arrived once, in order; the rest is a fixed pattern, filled once, so a message
//! costs no more work than the mechanism itself needs. A channel is one of four kinds:
//!
//! | channel | mechanisms | send | receive |
//! |---|---|---|---|
//! | a stream | pipe, FIFO, socketpair | `write` | `read` until the message is whole |
//! | a SysV queue | svmsg | `msgsnd` of one type | `msgrcv` of that type |
//! | a shared-memory ring | svshm | wait for a free slot, copy in, post "full" | wait for "full", copy out, post "free" |
//! | a POSIX queue | mqueue | `mq_send` | `mq_receive` |
//!
//! `c/bench.c` has the same four, line for line, so the Rust/C ratio measures only the language
//! and the wrappers (the shared crate's, nix's, and for the ring's `semop` [`semop_one`]).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;

use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_close, mq_open, mq_send, mq_unlink};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::stat::Mode;
use shared::cleanup::{Owned, OwnedPath, TempDir};
use shared::ipc::{IPC_CREAT, IPC_EXCL, MsqId, SemId, ShmId};
use shared::key::Key;
use shared::msg::{MsgBuf, c_long, msgget, msgrcv_buf, msgsnd_buf};
use shared::sem::{semctl_setall, semget};
use shared::shm::{Attached, shmat, shmget};
use shared::{CallContext, Error, Result};

use crate::mechanism::{Mechanism, STAMP_BYTES, Test};
use crate::sys::{mq_receive_no_priority, semop_one};

/// Slots in the shared-memory ring of the bandwidth test: the writer fills one while the reader
/// empties another.
pub const RING_SLOTS: usize = 8;

pub(crate) const PAGE: usize = 4096;

/// Where the four message buffers of a measurement put a SysV message's text within its page: the
/// sender's and the receiver's of channel 0 (down), then of channel 1 (up). The C baseline puts its
/// own at the same offsets (see [`AlignedBuf`] for why), so both sides copy alike.
pub type TextOffsets = [usize; 4];

/// The byte at offset `i` of every message (after the stamp).
pub fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// Write `seq` into the first bytes of `message`.
pub fn put_stamp(message: &mut [u8], seq: u64) {
    let n = message.len().min(STAMP_BYTES);
    message[..n].copy_from_slice(&seq.to_le_bytes()[..n]);
}

/// The sequence number a message carries.
pub fn stamp(message: &[u8]) -> u64 {
    let mut bytes = [0; STAMP_BYTES];
    let n = message.len().min(STAMP_BYTES);
    bytes[..n].copy_from_slice(&message[..n]);
    u64::from_le_bytes(bytes)
}

/// What a stamp of a `size`-byte message can hold: a 1-byte message carries `seq % 256`.
pub fn stamp_mask(size: usize) -> u64 {
    if size >= STAMP_BYTES { u64::MAX } else { (1 << (8 * size)) - 1 }
}

/// A message buffer that starts on a page boundary, filled with the pattern.
///
/// Why aligned: on some CPUs `memcpy` (and the kernel's copies to and from user memory) is many
/// times slower when source and destination are misaligned relative to each other (on the AMD EPYC
/// where the book's figures were made, about 30x at 4 KiB). Where `malloc` happens to put a buffer must
/// not decide a figure, so every buffer here, and in the C baseline, starts on a page.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn with_pattern(len: usize) -> Self {
        let storage = vec![0; len + PAGE];
        let start = storage.as_ptr().align_offset(PAGE);
        let mut buf = AlignedBuf { storage, start, len };
        for (i, byte) in buf.bytes_mut().iter_mut().enumerate() {
            *byte = pattern(i);
        }
        buf
    }

    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// The kernel objects of one measurement. The parent owns them: each is removed when this is
/// dropped, or by the signal handler if Ctrl-C comes first.
#[derive(Default)]
pub struct Objects {
    queue: Option<Owned<MsqId>>,
    segment: Option<Owned<ShmId>>,
    semaphores: Option<Owned<SemId>>,
    // Unlinked before the directory is removed (fields drop in this order).
    fifos: Vec<OwnedPath>,
    dir: Option<TempDir>,
}

impl Objects {
    /// Remove everything now, reporting the first failure.
    pub fn remove(self) -> Result<()> {
        let Objects { queue, segment, semaphores, fifos, dir } = self;
        queue.map(Owned::ipc_rmid).transpose()?;
        segment.map(Owned::ipc_rmid).transpose()?;
        semaphores.map(Owned::ipc_rmid).transpose()?;
        for fifo in fifos {
            fifo.unlink()?;
        }
        drop(dir);
        Ok(())
    }
}

/// A POSIX message queue descriptor, closed when dropped (nix's `MqdT` is not).
pub struct Mq(Option<MqdT>);

impl Drop for Mq {
    fn drop(&mut self) {
        if let Some(mq) = self.0.take() {
            let _ = mq_close(mq);
        }
    }
}

/// Everything the parent made for one measurement before it forks. Each process takes its own
/// ends from its copy: the parent sends on channel 0 ("down") and, for latency, receives on
/// channel 1 ("up"); the child does the reverse.
pub struct Link {
    mechanism: Mechanism,
    size: usize,
    /// 2 for latency (down and up), 1 for bandwidth (down).
    channels: usize,
    /// Pipes, per channel: (read end, write end); taken as the ends are handed out.
    pipes: Vec<(Option<OwnedFd>, Option<OwnedFd>)>,
    /// socketpair: the parent's socket, the child's.
    sockets: Option<(OwnedFd, OwnedFd)>,
    fifos: Vec<PathBuf>,
    queue: Option<MsqId>,
    shm: Option<(Rc<Attached>, SemId)>,
    slots: usize,
    /// POSIX queues, per channel: the descriptors still to hand out (the calls test needs two
    /// for its one queue, one to send with and one to receive with).
    mqueues: Vec<Vec<Mq>>,
}

impl Link {
    /// Make what `test` needs over `mechanism` for `size`-byte messages; System V objects use
    /// `key` (with `IPC_EXCL`, so an object someone else made is never touched).
    pub fn create(mechanism: Mechanism, test: Test, size: usize, key: Key) -> Result<(Link, Objects)> {
        let channels = match test {
            Test::Latency => 2,
            Test::Bandwidth | Test::Calls => 1,
        };
        let mut objects = Objects::default();
        let mut link = Link {
            mechanism,
            size,
            channels,
            pipes: Vec::new(),
            sockets: None,
            fifos: Vec::new(),
            queue: None,
            shm: None,
            slots: 0,
            mqueues: Vec::new(),
        };
        let exclusive = IPC_CREAT | IPC_EXCL | 0o600;
        match mechanism {
            Mechanism::Pipe => {
                for _ in 0..channels {
                    let (read, write) = nix::unistd::pipe().call("pipe()")?;
                    link.pipes.push((Some(read), Some(write)));
                }
            }
            Mechanism::Fifo => {
                let dir = TempDir::new("ipc-bench")?;
                for name in ["down", "up"].into_iter().take(channels) {
                    let path = dir.path().join(name);
                    // Registered before it exists, so a signal right after mkfifo cannot leave it
                    // behind (unlinking a name never made fails harmlessly; the directory is ours).
                    let fifo = OwnedPath::new(&path);
                    nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)
                        .call(format!("mkfifo({})", path.display()))?;
                    objects.fifos.push(fifo);
                    link.fifos.push(path);
                }
                objects.dir = Some(dir);
            }
            Mechanism::Socketpair => {
                let pair = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::empty())
                    .call("socketpair(AF_UNIX, SOCK_STREAM)")?;
                link.sockets = Some(pair);
            }
            Mechanism::Svmsg => {
                let queue = Owned::create(|| msgget(key, exclusive))?;
                link.queue = Some(queue.id());
                objects.queue = Some(queue);
            }
            Mechanism::Svshm => {
                // The turn-taking of the latency test needs one slot each way; the bandwidth test a ring.
                link.slots = if test == Test::Latency { 1 } else { RING_SLOTS };
                let segment = Owned::create(|| shmget(key, channels * link.slots * size, exclusive))?;
                let attached = shmat(segment.id(), 0)?;
                objects.segment = Some(segment);
                // Per channel k: member 2k counts free slots, member 2k+1 full ones.
                let semaphores = Owned::create(|| semget(key, 2 * channels as i32, exclusive))?;
                let free = link.slots as u16;
                semctl_setall(semaphores.id(), &[free, 0, free, 0][..2 * channels])?;
                link.shm = Some((Rc::new(attached), semaphores.id()));
                objects.semaphores = Some(semaphores);
            }
            Mechanism::Mqueue => {
                let maxmsg = mq_maxmsg();
                for k in 0..channels {
                    let name = format!("/ipc-bench.{}.{k}", std::process::id());
                    let attr = MqAttr::new(0, maxmsg, size as _, 0);
                    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR;
                    let mq = mq_open(name.as_str(), flags, Mode::S_IRUSR | Mode::S_IWUSR, Some(&attr))
                        .call(format!("mq_open({name}, maxmsg={maxmsg}, msgsize={size})"))?;
                    let mut descriptors = vec![Mq(Some(mq))];
                    if test == Test::Calls {
                        let again = mq_open(name.as_str(), MQ_OFlag::O_RDWR, Mode::empty(), None)
                            .call(format!("mq_open({name})"))?;
                        descriptors.push(Mq(Some(again)));
                    }
                    link.mqueues.push(descriptors);
                    // The descriptors are all the child needs (fork copies them): remove the name
                    // at once, so nothing can be left behind, whatever happens next.
                    mq_unlink(name.as_str()).call(format!("mq_unlink({name})"))?;
                }
            }
            Mechanism::Memcpy => return Err(Error::other("memcpy needs no link between processes")),
        }
        Ok((link, objects))
    }

    /// The parent's ends: it sends on channel 0 and, for latency, receives on channel 1.
    pub fn parent_ends(mut self) -> Result<(Tx, Option<Rx>)> {
        // FIFOs open in the same order on both sides (down, then up), or both would wait forever.
        let tx = self.tx(0, true)?;
        let rx = if self.channels == 2 { Some(self.rx(1, true)?) } else { None };
        Ok((tx, rx))
    }

    /// Both ends of channel 0, for one process that sends to itself (the calls test).
    pub fn both_ends(mut self) -> Result<(Tx, Rx)> {
        if self.mechanism == Mechanism::Fifo {
            // open() of one end waits for the other: one process cannot open both in turn.
            return Err(Error::other("a FIFO cannot be opened at both ends by one process (use pipe)"));
        }
        Ok((self.tx(0, true)?, self.rx(0, false)?))
    }

    /// The child's ends: it receives on channel 0 and, for latency, sends on channel 1.
    pub fn child_ends(mut self) -> Result<(Rx, Option<Tx>)> {
        let rx = self.rx(0, false)?;
        let tx = if self.channels == 2 { Some(self.tx(1, false)?) } else { None };
        Ok((rx, tx))
    }

    fn tx(&mut self, k: usize, parent: bool) -> Result<Tx> {
        let size = self.size;
        let msg = AlignedBuf::with_pattern(size);
        Ok(match self.mechanism {
            Mechanism::Pipe => {
                let fd = self.pipes[k].1.take().expect("each end is taken once");
                Tx::Stream(Stream { fd, msg, call: "write(pipe)" })
            }
            Mechanism::Fifo => {
                let path = &self.fifos[k];
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .call(format!("open({}, O_WRONLY)", path.display()))?;
                Tx::Stream(Stream { fd: file.into(), msg, call: "write(FIFO)" })
            }
            Mechanism::Socketpair => {
                Tx::Stream(Stream { fd: self.socket(parent)?, msg, call: "write(socket)" })
            }
            Mechanism::Svmsg => {
                let mtype = k as c_long + 1; // one queue, a type per direction
                let mut buf = MsgBuf::with_capacity(size);
                buf.fill(mtype, msg.bytes());
                Tx::Msg(Queue { queue: self.queue.expect("a queue"), buf, mtype, size })
            }
            Mechanism::Svshm => {
                let (segment, semaphores) = self.shm.clone().expect("a segment");
                Tx::Shm(ShmEnd { ring: self.ring(segment, semaphores, k), msg })
            }
            Mechanism::Mqueue => {
                Tx::Mq(PosixQueue { mq: self.mqueues[k].pop().expect("a descriptor per end"), msg })
            }
            Mechanism::Memcpy => unreachable!("memcpy has no channel"),
        })
    }

    fn rx(&mut self, k: usize, parent: bool) -> Result<Rx> {
        let size = self.size;
        let msg = AlignedBuf::with_pattern(size);
        Ok(match self.mechanism {
            Mechanism::Pipe => {
                let fd = self.pipes[k].0.take().expect("each end is taken once");
                Rx::Stream(Stream { fd, msg, call: "read(pipe)" })
            }
            Mechanism::Fifo => {
                let path = &self.fifos[k];
                let file = std::fs::File::open(path).call(format!("open({}, O_RDONLY)", path.display()))?;
                Rx::Stream(Stream { fd: file.into(), msg, call: "read(FIFO)" })
            }
            Mechanism::Socketpair => {
                Rx::Stream(Stream { fd: self.socket(parent)?, msg, call: "read(socket)" })
            }
            Mechanism::Svmsg => {
                let mtype = k as c_long + 1;
                Rx::Msg(Queue {
                    queue: self.queue.expect("a queue"),
                    buf: MsgBuf::with_capacity(size),
                    mtype,
                    size,
                })
            }
            Mechanism::Svshm => {
                let (segment, semaphores) = self.shm.clone().expect("a segment");
                Rx::Shm(ShmEnd { ring: self.ring(segment, semaphores, k), msg })
            }
            Mechanism::Mqueue => {
                Rx::Mq(PosixQueue { mq: self.mqueues[k].pop().expect("a descriptor per end"), msg })
            }
            Mechanism::Memcpy => unreachable!("memcpy has no channel"),
        })
    }

    /// This side's socket of the pair (a duplicate: the latency test sends and receives on it).
    fn socket(&self, parent: bool) -> Result<OwnedFd> {
        let (ours, theirs) = self.sockets.as_ref().expect("a socket pair");
        if parent { ours } else { theirs }.try_clone().call("dup(socket)")
    }

    fn ring(&self, segment: Rc<Attached>, semaphores: SemId, k: usize) -> Ring {
        Ring {
            segment,
            semaphores,
            base: k * self.slots * self.size,
            slots: self.slots,
            next: 0,
            free: 2 * k as u16,
            full: 2 * k as u16 + 1,
            // In the ping-pong each side waits for the answer before it sends again, so the one
            // slot is always free when a message goes: only "full" needs a semaphore.
            flow_control: self.slots > 1,
        }
    }
}

/// `mq_maxmsg` for a new POSIX queue: 10, or less if `fs.mqueue.msg_max` says so.
fn mq_maxmsg() -> nix::mqueue::mq_attr_member_t {
    let limit =
        std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max").ok().and_then(|t| t.trim().parse().ok());
    limit.unwrap_or(10).min(10)
}

/// One direction of a shared-memory ring: `slots` message slots at `base` in the segment, and two
/// semaphores: `free` counts the slots the writer may fill, `full` those the reader may empty.
pub struct Ring {
    segment: Rc<Attached>,
    semaphores: SemId,
    base: usize,
    slots: usize,
    next: usize,
    free: u16,
    full: u16,
    flow_control: bool,
}

// ANCHOR: send
/// A pipe's, a FIFO's or a socket's end: `write`, and `read` until the message is whole.
pub struct Stream {
    fd: OwnedFd,
    msg: AlignedBuf,
    call: &'static str,
}

/// A System V queue's end: one message type per direction.
pub struct Queue {
    queue: MsqId,
    buf: MsgBuf,
    mtype: c_long,
    size: usize,
}

/// A shared-memory ring's end, and the message copied in or out.
pub struct ShmEnd {
    ring: Ring,
    msg: AlignedBuf,
}

/// A POSIX queue's end.
pub struct PosixQueue {
    mq: Mq,
    msg: AlignedBuf,
}

/// What sends: the pattern, stamped with `seq`.
pub trait Sender {
    fn send(&mut self, seq: u64) -> Result<()>;
}

impl Sender for Stream {
    fn send(&mut self, seq: u64) -> Result<()> {
        put_stamp(self.msg.bytes_mut(), seq);
        let mut bytes = self.msg.bytes();
        while !bytes.is_empty() {
            let written = nix::unistd::write(&self.fd, bytes).call(self.call)?;
            bytes = &bytes[written..];
        }
        Ok(())
    }
}

impl Sender for Queue {
    fn send(&mut self, seq: u64) -> Result<()> {
        // fill() stamps the first bytes of mtext; the pattern after them stays.
        let seq = seq.to_le_bytes();
        self.buf.fill(self.mtype, &seq[..self.size.min(STAMP_BYTES)]);
        msgsnd_buf(self.queue, &self.buf, self.size, 0)
    }
}

impl Sender for ShmEnd {
    fn send(&mut self, seq: u64) -> Result<()> {
        let ring = &mut self.ring;
        put_stamp(self.msg.bytes_mut(), seq);
        if ring.flow_control {
            semop_one(ring.semaphores, ring.free, -1)?; // wait for a free slot
        }
        ring.segment.write(ring.base + ring.next * self.msg.bytes().len(), self.msg.bytes());
        semop_one(ring.semaphores, ring.full, 1)?; // one more to read
        ring.next = (ring.next + 1) % ring.slots;
        Ok(())
    }
}

impl Sender for PosixQueue {
    fn send(&mut self, seq: u64) -> Result<()> {
        put_stamp(self.msg.bytes_mut(), seq);
        mq_send(self.mq.0.as_ref().expect("open"), self.msg.bytes(), 0).call("mq_send()")
    }
}
// ANCHOR_END: send

// ANCHOR: recv
/// What receives one whole message.
pub trait Receiver {
    fn recv(&mut self) -> Result<&[u8]>;
}

impl Receiver for Stream {
    fn recv(&mut self) -> Result<&[u8]> {
        // A stream keeps no boundaries: read until the message is whole.
        let mut done = 0;
        let bytes = self.msg.bytes_mut();
        while done < bytes.len() {
            match nix::unistd::read(&self.fd, &mut bytes[done..]).call(self.call)? {
                0 => {
                    let call = self.call;
                    return Err(Error::other(format!("{call}: end of file: the other process has gone")));
                }
                n => done += n,
            }
        }
        Ok(self.msg.bytes())
    }
}

impl Receiver for Queue {
    fn recv(&mut self) -> Result<&[u8]> {
        let len = msgrcv_buf(self.queue, &mut self.buf, self.mtype, 0)?;
        if len != self.size {
            return Err(Error::other(format!("msgrcv: a message of {len} bytes, expected {}", self.size)));
        }
        Ok(self.buf.text())
    }
}

impl Receiver for ShmEnd {
    fn recv(&mut self) -> Result<&[u8]> {
        let ring = &mut self.ring;
        semop_one(ring.semaphores, ring.full, -1)?; // wait for a message
        let size = self.msg.bytes().len();
        ring.segment.read(ring.base + ring.next * size, self.msg.bytes_mut());
        if ring.flow_control {
            semop_one(ring.semaphores, ring.free, 1)?; // its slot is free again
        }
        ring.next = (ring.next + 1) % ring.slots;
        Ok(self.msg.bytes())
    }
}

impl Receiver for PosixQueue {
    fn recv(&mut self) -> Result<&[u8]> {
        let len = mq_receive_no_priority(self.mq.0.as_ref().expect("open"), self.msg.bytes_mut())?;
        if len != self.msg.bytes().len() {
            return Err(Error::other(format!("mq_receive: a message of {len} bytes")));
        }
        Ok(self.msg.bytes())
    }
}
// ANCHOR_END: recv

/// The sending end of a channel, of one of the four kinds.
pub enum Tx {
    Stream(Stream),
    Msg(Queue),
    Shm(ShmEnd),
    Mq(PosixQueue),
}

/// The receiving end of a channel.
pub enum Rx {
    Stream(Stream),
    Msg(Queue),
    Shm(ShmEnd),
    Mq(PosixQueue),
}

impl Tx {
    /// For a SysV queue: where the message text sits within its page, so the C baseline can put
    /// its own at the same offset (see [`AlignedBuf`] for why that matters).
    pub fn text_offset(&self) -> usize {
        match self {
            Tx::Msg(queue) => queue.buf.text().as_ptr() as usize % PAGE,
            _ => 0,
        }
    }
}

impl Rx {
    /// For a SysV queue: where the message text sits within its page (see [`Tx::text_offset`]).
    pub fn text_offset(&self) -> usize {
        match self {
            Rx::Msg(queue) => queue.buf.text().as_ptr() as usize % PAGE,
            _ => 0,
        }
    }
}

/// `$body` with `$end` bound to the end inside the [`Tx`] or [`Rx`] `$value`, written once and
/// compiled once per kind of channel: a timed loop in `$body` holds one mechanism's calls and no
/// choice among the four (`c/bench.c` has one loop per kind too). Loops that choose per message
/// run measurably slower where two processes share a CPU: see the book's "Tight loops".
macro_rules! with_end {
    ($value:expr, $kind:ident, |$end:ident| $body:expr) => {
        match $value {
            $crate::channel::$kind::Stream($end) => $body,
            $crate::channel::$kind::Msg($end) => $body,
            $crate::channel::$kind::Shm($end) => $body,
            $crate::channel::$kind::Mq($end) => $body,
        }
    };
}
pub(crate) use with_end;

/// [`with_end!`] for a receiving and a sending end of the same kind (`$rx`, `$tx`).
macro_rules! with_ends {
    ($rx:expr, $tx:expr, |$r:ident, $t:ident| $body:expr) => {
        match ($rx, $tx) {
            ($crate::channel::Rx::Stream($r), $crate::channel::Tx::Stream($t)) => $body,
            ($crate::channel::Rx::Msg($r), $crate::channel::Tx::Msg($t)) => $body,
            ($crate::channel::Rx::Shm($r), $crate::channel::Tx::Shm($t)) => $body,
            ($crate::channel::Rx::Mq($r), $crate::channel::Tx::Mq($t)) => $body,
            _ => unreachable!("both ends of a measurement are of one kind"),
        }
    };
}
pub(crate) use with_ends;
