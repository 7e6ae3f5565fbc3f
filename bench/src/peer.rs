//! The Rust side of one measurement: the parent times runs, a forked child is its peer.
//!
//! Besides the channel being measured, two pipes connect the processes, used only between runs:
//! the parent writes the next run's size on the *control* pipe (or 0: stop), and after each run
//! the child answers on the *ack* pipe with one line, `ok` or `error ...`. So one child serves the
//! warm-up and every timed run, and nothing but the data path is inside the timing.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use shared::key::Key;
use shared::process::{Child, Fork, exit_child, fork};
use shared::{CallContext, Error, Result};

use crate::channel::{
    AlignedBuf, Link, Objects, PAGE, Receiver, Rx, Sender, TextOffsets, Tx, pattern, stamp, stamp_mask,
    with_end, with_ends,
};
use crate::cpus::CpuList;
use crate::mechanism::{Mechanism, STAMP_BYTES, Test};
use crate::sys::{Mapping, escape, mmap_anonymous, mmap_anonymous_at};

/// One timed run: how long it took, and how often the processes in it gave up the CPU meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub time: Duration,
    /// Context switches, voluntary (a process waited) and involuntary (it was preempted), of
    /// both processes together (of the one, for memcpy and the calls test).
    pub switches: u64,
}

/// This process's context switches so far (`getrusage(2)`: `ru_nvcsw + ru_nivcsw`).
pub fn switches() -> Result<u64> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).call("getrusage(RUSAGE_SELF)")?;
    Ok((usage.voluntary_context_switches() + usage.involuntary_context_switches()) as u64)
}

/// Two processes and a channel each way (latency) or one way (bandwidth).
pub struct Peer {
    // Fields drop in order: an unfinished child is stopped and reaped before its objects go.
    child: Child,
    control: OwnedFd,
    acks: BufReader<File>,
    tx: Tx,
    rx: Option<Rx>,
    objects: Objects,
    test: Test,
    size: usize,
    inject_fault: bool,
    offsets: TextOffsets,
}

impl Peer {
    /// Make the objects (System V ones with `key`), fork the child (on `child_cpus`, if given),
    /// and open this side's ends; `inject_fault` tampers with one message (tests only).
    pub fn start(
        test: Test,
        mechanism: Mechanism,
        size: usize,
        key: Key,
        child_cpus: Option<&CpuList>,
        inject_fault: bool,
    ) -> Result<Peer> {
        let (link, objects) = Link::create(mechanism, test, size, key)?;
        let (control_read, control) = nix::unistd::pipe().call("pipe(control)")?;
        let (acks, ack_write) = nix::unistd::pipe().call("pipe(ack)")?;
        match fork()? {
            Fork::Child => {
                drop((control, acks));
                let placed = child_cpus.map_or(Ok(()), crate::cpus::pin);
                let code = match placed.and_then(|()| serve(link, size, &control_read, &ack_write)) {
                    Ok(()) => 0,
                    Err(err) => {
                        // The parent reports it, as one line, when it reads the ack.
                        let _ = write_all(&ack_write, format!("error {err}\n").as_bytes(), "write(ack)");
                        1
                    }
                };
                exit_child(code)
            }
            Fork::Parent { child } => {
                drop((control_read, ack_write));
                let (tx, rx) = link.parent_ends()?;
                let mut acks = BufReader::new(File::from(acks));
                // The child says it is ready, and where its message buffers are.
                let ready = read_answer(&mut acks)?;
                let numbers: Vec<usize> =
                    ready.split_whitespace().skip(1).filter_map(|n| n.parse().ok()).collect();
                let [down_receive, up_send] = numbers[..] else {
                    return Err(Error::other(format!("the child said {ready:?}, not ready")));
                };
                let offsets =
                    [tx.text_offset(), down_receive, up_send, rx.as_ref().map_or(0, Rx::text_offset)];
                Ok(Peer { child, control, acks, tx, rx, objects, test, size, inject_fault, offsets })
            }
        }
    }

    /// For the C baseline: where our SysV message buffers are.
    pub fn text_offsets(&self) -> TextOffsets {
        self.offsets
    }

    // ANCHOR: run
    /// One run: `count` round trips (latency) or messages (bandwidth); returns the time it took.
    /// With `verify` the child checks every byte it receives (latency always checks the stamps).
    pub fn run(&mut self, count: u64, verify: bool) -> Result<Run> {
        let before = switches()?;
        write_command(&self.control, count, verify)?;
        let (time, child) = match (self.test, self.rx.as_mut()) {
            (Test::Latency, Some(rx)) => {
                let mask = stamp_mask(self.size);
                let time = with_ends!(rx, &mut self.tx, |rx, tx| round_trips(tx, rx, count, mask))?;
                (time, self.read_ack()?)
            }
            _ => {
                // --inject-fault: prove that the check catches a lost or reordered message.
                let fault = self.inject_fault && verify;
                let start = Instant::now();
                with_end!(&mut self.tx, Tx, |tx| send_all(tx, count, fault))?;
                let child = self.read_ack()?; // the child has every byte
                (start.elapsed(), child)
            }
        };
        Ok(Run { time, switches: switches()? - before + child })
    }
    // ANCHOR_END: run

    /// Stop the child (a run of 0), wait for it, and remove the objects.
    pub fn finish(self) -> Result<()> {
        let Peer { child, control, acks, tx, rx, objects, .. } = self;
        write_command(&control, 0, false)?;
        let status = child.wait()?;
        if !status.success() {
            return Err(Error::other(format!("the child {status}")));
        }
        drop((control, acks, tx, rx));
        objects.remove()
    }

    /// The child's "ok SWITCHES" after a run: its context switches during the run.
    fn read_ack(&mut self) -> Result<u64> {
        let answer = read_answer(&mut self.acks)?;
        answer
            .strip_prefix("ok ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::other(format!("the child said {answer:?}, not ok")))
    }
}

/// The child's next line on the ack pipe, or its error.
fn read_answer(acks: &mut BufReader<File>) -> Result<String> {
    let mut line = String::new();
    if acks.read_line(&mut line).call("read(ack)")? == 0 {
        return Err(Error::other("the child ended without answering"));
    }
    match line.trim_end().strip_prefix("error ") {
        None => Ok(line.trim_end().to_owned()),
        Some(error) => Err(Error::other(format!("the child: {error}"))),
    }
}

// ANCHOR: serve
/// The child: receive and echo (latency) or receive and check (bandwidth), run after run.
fn serve(link: Link, size: usize, control: &OwnedFd, acks: &OwnedFd) -> Result<()> {
    let (mut rx, mut tx) = link.child_ends()?;
    let up_send = tx.as_ref().map_or(0, Tx::text_offset);
    write_all(acks, format!("ready {} {up_send}\n", rx.text_offset()).as_bytes(), "write(ack)")?;
    let reference = AlignedBuf::with_pattern(size);
    while let Some((count, verify)) = read_command(control)? {
        let at_start = switches()?;
        let bad = match tx.as_mut() {
            Some(tx) => with_ends!(&mut rx, tx, |rx, tx| echo(rx, tx, count).map(|()| None))?,
            None => with_end!(&mut rx, Rx, |rx| receive_all(rx, count, verify.then(|| reference.bytes())))?,
        };
        // A bad message is reported after the run, never in the middle: a writer blocked on a
        // full queue or ring would wait for us forever.
        let answer = match bad {
            None => format!("ok {}\n", switches()? - at_start),
            Some(problem) => format!("error {problem}\n"),
        };
        write_all(acks, answer.as_bytes(), "write(ack)")?;
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: loops
// The timed loops, each compiled once per kind of channel (see `with_end!`).

/// Latency and calls: send, wait for the answer, check its number; the time it all took.
fn round_trips(tx: &mut impl Sender, rx: &mut impl Receiver, count: u64, mask: u64) -> Result<Duration> {
    let start = Instant::now();
    for seq in 0..count {
        tx.send(seq)?;
        let back = stamp(rx.recv()?);
        if back != seq & mask {
            return Err(Error::other(format!("message {seq} came back as {back}")));
        }
    }
    Ok(start.elapsed())
}

/// The latency child: every message straight back, with its number.
fn echo(rx: &mut impl Receiver, tx: &mut impl Sender, count: u64) -> Result<()> {
    for _ in 0..count {
        let seq = stamp(rx.recv()?);
        tx.send(seq)?;
    }
    Ok(())
}

/// Bandwidth: `count` messages; with `fault`, message 2 carries a wrong number.
fn send_all(tx: &mut impl Sender, count: u64, fault: bool) -> Result<()> {
    if fault {
        for seq in 0..count {
            tx.send(if seq == 2 { seq + 1000 } else { seq })?;
        }
        return Ok(());
    }
    for seq in 0..count {
        tx.send(seq)?;
    }
    Ok(())
}

/// The bandwidth child: `count` messages; with a `reference`, each one checked against it, and
/// the first problem returned.
fn receive_all(rx: &mut impl Receiver, count: u64, reference: Option<&[u8]>) -> Result<Option<String>> {
    let Some(reference) = reference else {
        for _ in 0..count {
            rx.recv()?;
        }
        return Ok(None);
    };
    let mut bad = None;
    for seq in 0..count {
        let message = rx.recv()?;
        if bad.is_none() {
            bad = check(message, seq, reference);
        }
    }
    Ok(bad)
}
// ANCHOR_END: loops

/// What is wrong with message `seq`, if anything: its stamp, then every byte after it.
fn check(message: &[u8], seq: u64, reference: &[u8]) -> Option<String> {
    let got = stamp(message);
    if got != seq {
        return Some(format!("message {seq} arrived as number {got}"));
    }
    if message[STAMP_BYTES..] == reference[STAMP_BYTES..] {
        return None; // compared as one memcmp, as the C side does
    }
    let at = (STAMP_BYTES..message.len()).find(|&i| message[i] != reference[i])?;
    Some(format!(
        "message {seq} differs at byte {at}: expected {:#04x}, got {:#04x}",
        reference[at], message[at]
    ))
}

/// The calls test: one process sends on a channel and receives from it itself.
pub struct Solo {
    tx: Tx,
    rx: Rx,
    objects: Objects,
    size: usize,
}

impl Solo {
    pub fn start(mechanism: Mechanism, size: usize, key: Key) -> Result<Solo> {
        let (link, objects) = Link::create(mechanism, Test::Calls, size, key)?;
        let (tx, rx) = link.both_ends()?;
        Ok(Solo { tx, rx, objects, size })
    }

    /// For the C baseline: where our SysV message buffers are.
    pub fn text_offsets(&self) -> TextOffsets {
        [self.tx.text_offset(), self.rx.text_offset(), 0, 0]
    }

    /// `count` times: send a message, receive it back.
    pub fn run(&mut self, count: u64) -> Result<Run> {
        let mask = stamp_mask(self.size);
        let before = switches()?;
        let time = with_ends!(&mut self.rx, &mut self.tx, |rx, tx| round_trips(tx, rx, count, mask))?;
        Ok(Run { time, switches: switches()? - before })
    }

    pub fn finish(self) -> Result<()> {
        let Solo { tx, rx, objects, .. } = self;
        drop((tx, rx));
        objects.remove()
    }
}

/// The single-process copy: the most a machine can move, at each transfer size.
///
/// How fast one copy goes depends on where its two buffers lie: on the machine of the book's
/// figures, 61 to 83 GB/s at 1 KiB for different pairs of pages, and other speeds again in other
/// parts of the address space. So the two buffers sit at fixed addresses, the same in the C
/// program ([`AREAS`]), and each run copies between a different pair of pages there, the same
/// pairs as the C side: neither side is stuck with a lucky or an unlucky place.
pub struct Memcpy {
    size: usize,
    source: Mapping,
    target: Mapping,
    runs: u64,
}

/// Where the source and the target areas start, in this program and in the C one, unless
/// something is mapped there already (then anywhere). Far from the program, its heap and its
/// stack and libraries, which Linux puts near 0x55.. and 0x7f.. on x86-64.
pub const AREAS: [usize; 2] = [0x6000_0000_0000, 0x6123_4567_8000];

/// How many page positions each buffer takes in turn.
const PLACES: u64 = 16;

/// Where run `run` puts its source (`target` false) or its target, in bytes from the area's start.
fn place(run: u64, target: bool) -> usize {
    let page = if target { (run * 7 + 3) % PLACES } else { run % PLACES };
    page as usize * PAGE
}

/// A memcpy area filled with the pattern: at its fixed address if that is free, else wherever the
/// kernel puts it (as the C side does).
fn area(addr: usize, len: usize) -> Result<Mapping> {
    let mut mapping = mmap_anonymous_at(addr, len).or_else(|_| mmap_anonymous(len))?;
    for (i, byte) in mapping.iter_mut().enumerate() {
        *byte = pattern(i);
    }
    Ok(mapping)
}

impl Memcpy {
    pub fn new(size: usize) -> Result<Self> {
        let len = size + PLACES as usize * PAGE;
        Ok(Memcpy { size, source: area(AREAS[0], len)?, target: area(AREAS[1], len)?, runs: 0 })
    }

    pub fn run(&mut self, count: u64) -> Result<Run> {
        let (from, to) = (place(self.runs, false), place(self.runs, true));
        let before = switches()?;
        self.runs += 1;
        let source = &self.source[from..from + self.size];
        let target = &mut self.target[to..to + self.size];
        let start = Instant::now();
        for _ in 0..count {
            target.copy_from_slice(source);
            // The copy must happen every time, not once: the compiler may not know who reads it.
            escape(target.as_mut_ptr());
        }
        let time = start.elapsed();
        if target != source {
            return Err(Error::other("memcpy: the copy differs"));
        }
        Ok(Run { time, switches: switches()? - before })
    }
}

fn write_command(control: &OwnedFd, count: u64, verify: bool) -> Result<()> {
    let mut command = [0; 16];
    command[..8].copy_from_slice(&count.to_ne_bytes());
    command[8..].copy_from_slice(&u64::from(verify).to_ne_bytes());
    write_all(control, &command, "write(control)")
}

/// The next run's (count, verify), or `None` for the stop command.
fn read_command(control: &OwnedFd) -> Result<Option<(u64, bool)>> {
    let mut command = [0; 16];
    let mut done = 0;
    while done < command.len() {
        match nix::unistd::read(control, &mut command[done..]).call("read(control)")? {
            0 => return Err(Error::other("read(control): end of file: the parent has gone")),
            n => done += n,
        }
    }
    let [count, verify] =
        [&command[..8], &command[8..]].map(|bytes| u64::from_ne_bytes(bytes.try_into().expect("8")));
    Ok((count > 0).then_some((count, verify != 0)))
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8], call: &'static str) -> Result<()> {
    while !bytes.is_empty() {
        let written = nix::unistd::write(fd, bytes).call(call)?;
        bytes = &bytes[written..];
    }
    Ok(())
}
