//! Message queues: `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)`.
//!
//! A message on the wire is the C layout, `struct { long mtype; char mtext[n]; }`, so a C program
//! from the texts and a workbook program can exchange messages through one queue. `msgsz` counts
//! only the `mtext` bytes.

use std::mem::size_of;

pub use libc::{MSG_NOERROR, c_long};

use crate::error::{Result, check};
use crate::ipc::{IpcPerm, MsqId};
use crate::key::Key;

/// `msgget(key, msgflg)`: find the queue for `key`, or create it with `IPC_CREAT | mode`.
pub fn msgget(key: Key, msgflg: libc::c_int) -> Result<MsqId> {
    // SAFETY: msgget takes plain integers and touches no memory of ours.
    let id = unsafe { libc::msgget(key.raw(), msgflg) };
    check(id, || format!("msgget(key={key})")).map(MsqId)
}

/// A message buffer laid out as C's `struct msgbuf`: the type, then up to `capacity` bytes of text.
///
/// [`msgsnd`] and [`msgrcv`] below build one per call; a program that sends many messages may
/// keep one and reuse it.
pub struct MsgBuf {
    /// `long`s, so the buffer is aligned for `mtype` at offset 0.
    words: Vec<c_long>,
    capacity: usize,
}

const MTYPE_BYTES: usize = size_of::<c_long>();

impl MsgBuf {
    /// A buffer that holds messages of up to `capacity` text bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let words = 1 + capacity.div_ceil(MTYPE_BYTES);
        MsgBuf { words: vec![0; words], capacity }
    }

    /// The largest `msgsz` this buffer can take.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The message type (`mtype`) of the last message put in or received.
    pub fn mtype(&self) -> c_long {
        self.words[0]
    }

    /// All `capacity` bytes of `mtext`.
    pub fn text(&self) -> &[u8] {
        let (_, text) = self.as_bytes().split_at(MTYPE_BYTES);
        &text[..self.capacity]
    }

    /// Set `mtype` and copy `text` into `mtext` (at most `capacity` bytes are kept).
    pub fn fill(&mut self, mtype: c_long, text: &[u8]) -> usize {
        self.words[0] = mtype;
        let len = text.len().min(self.capacity);
        self.as_bytes_mut()[MTYPE_BYTES..MTYPE_BYTES + len].copy_from_slice(&text[..len]);
        len
    }

    fn as_bytes(&self) -> &[u8] {
        let len = self.words.len() * MTYPE_BYTES;
        // SAFETY: `words` is an initialised Vec<c_long> of exactly `len` bytes; every byte pattern is a
        // valid u8, and the slice borrows `self`, so it cannot outlive or alias a mutable borrow.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), len) }
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.words.len() * MTYPE_BYTES;
        // SAFETY: as in `as_bytes`, and the exclusive borrow of `self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), len) }
    }
}

/// `msgsnd(msqid, msgp, msgsz, msgflg)` with a buffer already filled by [`MsgBuf::fill`].
pub fn msgsnd_buf(msqid: MsqId, buf: &MsgBuf, msgsz: usize, msgflg: libc::c_int) -> Result<()> {
    assert!(msgsz <= buf.capacity, "msgsz {msgsz} exceeds the buffer's {}", buf.capacity);
    // SAFETY: `buf.words` starts with the `long mtype` and holds at least `msgsz` text bytes after it,
    // which is all msgsnd reads.
    let ret = unsafe { libc::msgsnd(msqid.0, buf.words.as_ptr().cast(), msgsz, msgflg) };
    check(ret, || format!("msgsnd(msqid={msqid}, mtype={}, {msgsz} bytes)", buf.mtype())).map(drop)
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)` into a reusable buffer; returns the text length.
///
/// `msgtyp` 0 takes the first message, `T > 0` the first of type `T`, `T < 0` the first of the
/// lowest type `<= |T|`.
pub fn msgrcv_buf(msqid: MsqId, buf: &mut MsgBuf, msgtyp: c_long, msgflg: libc::c_int) -> Result<usize> {
    let msgsz = buf.capacity;
    // SAFETY: `buf.words` has room for the `long mtype` and `msgsz` text bytes, which is the most
    // msgrcv writes.
    let ret = unsafe { libc::msgrcv(msqid.0, buf.words.as_mut_ptr().cast(), msgsz, msgtyp, msgflg) };
    let len = check(ret, || format!("msgrcv(msqid={msqid}, msgtyp={msgtyp}, max {msgsz} bytes)"))?;
    Ok(len as usize)
}

/// `msgsnd`: put `text` on the queue as one message of type `mtype` (which must be > 0).
pub fn msgsnd(msqid: MsqId, mtype: c_long, text: &[u8], msgflg: libc::c_int) -> Result<()> {
    let mut buf = MsgBuf::with_capacity(text.len());
    buf.fill(mtype, text);
    msgsnd_buf(msqid, &buf, text.len(), msgflg)
}

/// One message as `msgrcv` returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub mtype: c_long,
    pub text: Vec<u8>,
}

/// `msgrcv`: take one message of at most `max_bytes` text bytes, chosen by `msgtyp`.
pub fn msgrcv(msqid: MsqId, max_bytes: usize, msgtyp: c_long, msgflg: libc::c_int) -> Result<Message> {
    let mut buf = MsgBuf::with_capacity(max_bytes);
    let len = msgrcv_buf(msqid, &mut buf, msgtyp, msgflg)?;
    Ok(Message { mtype: buf.mtype(), text: buf.text()[..len].to_vec() })
}

/// `struct msqid_ds` as `msgctl(IPC_STAT)` fills it, with Linux's field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsqidDs {
    pub perm: IpcPerm,
    /// Times (seconds since the epoch, 0 = never) of the last msgsnd, msgrcv and change.
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    /// Bytes of text on the queue now (`__msg_cbytes` in glibc).
    pub cbytes: u64,
    /// Messages on the queue now.
    pub qnum: u64,
    /// Most bytes of text the queue may hold (from `/proc/sys/kernel/msgmnb` at creation).
    pub qbytes: u64,
    /// Pids of the last msgsnd and the last msgrcv.
    pub lspid: i32,
    pub lrpid: i32,
}

fn msgctl_raw(msqid: MsqId, cmd: libc::c_int, name: &str, ds: &mut libc::msqid_ds) -> Result<()> {
    // SAFETY: `ds` is a valid, exclusively borrowed msqid_ds for the kernel to read or fill.
    let ret = unsafe { libc::msgctl(msqid.0, cmd, ds) };
    check(ret, || format!("msgctl(msqid={msqid}, {name})")).map(drop)
}

/// `msgctl(msqid, IPC_STAT, &buf)`: the queue's `msqid_ds`.
pub fn msgctl_stat(msqid: MsqId) -> Result<MsqidDs> {
    // SAFETY: msqid_ds is plain old data; all-zero is a valid value that IPC_STAT overwrites.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    msgctl_raw(msqid, libc::IPC_STAT, "IPC_STAT", &mut ds)?;
    Ok(MsqidDs {
        perm: IpcPerm::from_raw(&ds.msg_perm),
        stime: ds.msg_stime,
        rtime: ds.msg_rtime,
        ctime: ds.msg_ctime,
        cbytes: ds.__msg_cbytes,
        qnum: ds.msg_qnum,
        qbytes: ds.msg_qbytes,
        lspid: ds.msg_lspid,
        lrpid: ds.msg_lrpid,
    })
}

/// `msgctl(msqid, IPC_SET, &buf)`: change owner uid/gid, permission bits and `msg_qbytes`.
///
/// The kernel reads only those four fields; the rest of `new` is ignored.
pub fn msgctl_set(msqid: MsqId, new: &MsqidDs) -> Result<()> {
    // SAFETY: as in msgctl_stat.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    msgctl_raw(msqid, libc::IPC_STAT, "IPC_STAT", &mut ds)?;
    ds.msg_perm.uid = new.perm.uid;
    ds.msg_perm.gid = new.perm.gid;
    ds.msg_perm.mode = new.perm.mode;
    ds.msg_qbytes = new.qbytes;
    msgctl_raw(msqid, libc::IPC_SET, "IPC_SET", &mut ds)
}

/// `msgctl(msqid, IPC_RMID, NULL)`: remove the queue now; blocked senders and receivers get EIDRM.
pub fn msgctl_rmid(msqid: MsqId) -> Result<()> {
    // SAFETY: IPC_RMID does not read the buffer argument, so NULL is allowed.
    let ret = unsafe { libc::msgctl(msqid.0, libc::IPC_RMID, std::ptr::null_mut()) };
    check(ret, || format!("msgctl(msqid={msqid}, IPC_RMID)")).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::Owned;
    use crate::error::Errno;
    use crate::ipc::{IPC_CREAT, IPC_NOWAIT};
    use crate::key::IPC_PRIVATE;

    /// A new queue, removed even if the test panics half-way.
    fn private_queue() -> Owned<MsqId> {
        Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).expect("msgget"))
    }

    #[test]
    fn a_message_round_trips_with_its_type() {
        let queue = private_queue();
        let q = queue.id();
        msgsnd(q, 42, b"hello", 0).unwrap();
        let stat = msgctl_stat(q).unwrap();
        assert_eq!((stat.qnum, stat.cbytes), (1, 5));
        assert_eq!(stat.lspid, std::process::id() as i32);
        assert_eq!(stat.perm.permissions(), 0o600);
        let msg = msgrcv(q, 64, 0, 0).unwrap();
        assert_eq!(msg, Message { mtype: 42, text: b"hello".to_vec() });
        queue.ipc_rmid().unwrap();
    }

    #[test]
    fn msgtyp_selects_by_type_and_by_priority() {
        let queue = private_queue();
        let q = queue.id();
        for (mtype, text) in [(3, "c"), (1, "a1"), (2, "b"), (1, "a2"), (5, "e")] {
            msgsnd(q, mtype, text.as_bytes(), 0).unwrap();
        }
        let take = |msgtyp| msgrcv(q, 16, msgtyp, IPC_NOWAIT).map(|m| String::from_utf8(m.text).unwrap());
        assert_eq!(take(2).unwrap(), "b");
        assert_eq!(take(-4).unwrap(), "a1", "lowest type <= 4 first, FIFO within a type");
        assert_eq!(take(-4).unwrap(), "a2");
        assert_eq!(take(0).unwrap(), "c", "0 takes the oldest");
        assert_eq!(take(-4).unwrap_err().errno(), Some(Errno::ENOMSG));
        queue.ipc_rmid().unwrap();
    }

    #[test]
    fn too_long_is_e2big_unless_msg_noerror_truncates() {
        let queue = private_queue();
        let q = queue.id();
        msgsnd(q, 1, b"0123456789", 0).unwrap();
        assert_eq!(msgrcv(q, 4, 0, IPC_NOWAIT).unwrap_err().errno(), Some(Errno::E2BIG));
        assert_eq!(msgrcv(q, 4, 0, MSG_NOERROR).unwrap().text, b"0123");
        queue.ipc_rmid().unwrap();
        let err = msgctl_stat(q).unwrap_err();
        assert!(matches!(err.errno(), Some(Errno::EINVAL | Errno::EIDRM)), "{err}");
    }

    #[test]
    fn ipc_set_changes_the_mode() {
        let queue = private_queue();
        let q = queue.id();
        let mut stat = msgctl_stat(q).unwrap();
        stat.perm.mode = 0o640;
        msgctl_set(q, &stat).unwrap();
        assert_eq!(msgctl_stat(q).unwrap().perm.permissions(), 0o640);
        queue.ipc_rmid().unwrap();
    }
}
