//! What the chapter's message-queue programs share: messages as C strings, the echo server's
//! protocol constants, and the supervision of its reply processes.

pub mod load;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use shared::ipc::MsqId;
use shared::key::{Key, ftok};
use shared::lang::Lang;
use shared::msg::msgctl_stat;
use shared::process::{Child, ExitStatus};
use shared::{Errno, Error, Result};

/// `struct sockaddr_in` in memory: family (native endian), port and address (network order), 8 zeros.
pub const SOCKADDR_IN_LEN: usize = 16;
/// The most data one request carries, as in the pipe servers' record (the slides leave MAX_BUFSZ
/// open; ours is this plus the NUL).
pub use shared::echo::MAX_DATA;
/// The largest `msg_t` after its `long`: the address, the data and its NUL.
pub const MSG_T_MAX: usize = SOCKADDR_IN_LEN + MAX_DATA + 1;

// ANCHOR: msg_t
/// The bytes after `long msg_type` of the slides' `msg_t` (slide 25): `struct sockaddr_in addr;
/// char msg_text[MAX_BUFSZ];`, the text ending in a NUL as their `msg_text[nbytes] = 0` ends it.
/// A C `res_send` reads them with the slides' own struct.
pub fn encode_msg_t(client: SocketAddrV4, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SOCKADDR_IN_LEN + data.len() + 1);
    bytes.extend_from_slice(&(libc::AF_INET as libc::sa_family_t).to_ne_bytes());
    bytes.extend_from_slice(&client.port().to_be_bytes());
    bytes.extend_from_slice(&client.ip().octets());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(data);
    bytes.push(0);
    bytes
}

/// The client and the data of a received `msg_t` (its `msgsz` bytes after the `long`): the data is
/// everything between the address and the final NUL, so it may hold NUL bytes of its own.
pub fn decode_msg_t(text: &[u8]) -> Result<(SocketAddrV4, &[u8])> {
    let family = (libc::AF_INET as libc::sa_family_t).to_ne_bytes();
    match text {
        [f0, f1, p0, p1, a, b, c, d, _, _, _, _, _, _, _, _, data @ .., 0] if [*f0, *f1] == family => {
            Ok((SocketAddrV4::new(Ipv4Addr::new(*a, *b, *c, *d), u16::from_be_bytes([*p0, *p1])), data))
        }
        _ => Err(Error::other(format!("a {}-byte message that is not a msg_t echo request", text.len()))),
    }
}
// ANCHOR_END: msg_t

/// Every echo request goes on the queue as a message of this type; `res_send` asks for this type.
pub const REQUEST: libc::c_long = 1;
pub use shared::echo::RECV_BUF;

/// How mkq, qctl and qsnd_pid name their queue: KEY as the slides type it, or `--keyfile PATH`
/// for the textbook's `ftok("keyfile", 1)`.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueKey {
    /// The queue's key, decimal or 0x hex.
    #[arg(value_parser = shared::cli::shared_key, required_unless_present = "keyfile")]
    pub key: Option<Key>,
    /// Make the key with ftok(PATH, ID) instead of giving KEY.
    #[arg(long, value_name = "PATH", conflicts_with = "key")]
    pub keyfile: Option<PathBuf>,
    /// The ID byte for ftok.
    #[arg(long, value_name = "ID", default_value_t = 1, requires = "keyfile")]
    pub key_id: u8,
}

impl QueueKey {
    /// KEY, else ftok(--keyfile, --key-id).
    pub fn resolve(&self) -> Result<Key> {
        match (self.key, &self.keyfile) {
            (Some(key), _) => Ok(key),
            (None, Some(path)) => ftok(path, self.key_id),
            (None, None) => Err(Error::other("give a KEY or --keyfile PATH")),
        }
    }
}

/// In Korean, an error line keeps the call and the errno name and adds what it means for a queue.
pub fn explain(lang: Lang, err: Error) -> Error {
    let meaning = match err.errno() {
        Some(Errno::ENOENT) => "그 키의 메시지 큐가 없음 (mkq KEY로 만들 것)",
        Some(Errno::EACCES) => "메시지 큐에 접근 권한이 없음",
        Some(Errno::EPERM) => "소유자, 생성자 또는 root만 메시지 큐를 삭제할 수 있음",
        Some(Errno::EIDRM | Errno::EINVAL) => "메시지 큐가 삭제되었음",
        _ => return err,
    };
    match lang {
        Lang::En => err,
        Lang::Ko => Error::other(format!("{err}: {meaning}")),
    }
}

/// The bytes of a C string for `mtext`: `text` and its terminating NUL, as the slides' programs send
/// it (`strlen(text) + 1` bytes), so "Hi! my parent" travels as 14 bytes and a C peer can print it.
pub fn with_nul(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0);
    bytes
}

/// The text of a received `mtext`: up to its first NUL (all of it if a truncating `MSG_NOERROR`
/// receive cut the NUL off, or the sender sent none).
pub fn text_of(mtext: &[u8]) -> String {
    let end = mtext.iter().position(|&byte| byte == 0).unwrap_or(mtext.len());
    String::from_utf8_lossy(&mtext[..end]).into_owned()
}

/// msgq_echoserv's reply processes: it keeps every child (the slides' parent forgets the pids, so
/// a dead worker stays a zombie) and checks on them between two datagrams (book: ch10-msgq-echo).
pub struct Workers {
    children: Vec<Child>,
    respawn: bool,
}

impl Workers {
    /// No workers yet; with `respawn`, one killed by a signal is replaced.
    pub fn new(respawn: bool) -> Self {
        Workers { children: Vec::new(), respawn }
    }

    /// Keep a started worker.
    pub fn push(&mut self, child: Child) {
        println!("started reply process PID = {}", child.pid());
        self.children.push(child);
    }

    // ANCHOR: check_workers
    /// Stop if the queue was removed; reap the workers that have ended, say how each ended, and
    /// with `respawn` replace a killed one by calling `start`.
    pub fn check(&mut self, queue: MsqId, mut start: impl FnMut() -> Result<Child>) -> Result<()> {
        msgctl_stat(queue)
            .map_err(|err| shared::Error::other(format!("{err}: our message queue was removed; stopping")))?;
        let mut index = 0;
        while index < self.children.len() {
            let Some(status) = self.children[index].try_wait()? else {
                index += 1;
                continue;
            };
            // No request on the queue dies with it: msgrcv() takes and copies in one step.
            let dead = self.children.remove(index).pid();
            println!("reply process {dead} {status}; {} left", self.children.len());
            // Only a killed worker: one that exited met an error and would meet it again.
            if self.respawn && matches!(status, ExitStatus::Killed(_)) {
                let worker = start()?;
                println!("started reply process PID = {} (replacing {dead})", worker.pid());
                self.children.insert(index, worker);
                index += 1;
            } else if self.children.is_empty() {
                println!("no reply process left: requests wait on the queue until it is full");
            }
        }
        Ok(())
    }
    // ANCHOR_END: check_workers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_msg_t_is_a_sockaddr_in_and_a_c_string() {
        let client = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 9999);
        let bytes = encode_msg_t(client, b"hi\0there");
        assert_eq!(bytes.len(), 16 + 8 + 1);
        assert_eq!(&bytes[2..8], &[0x27, 0x0f, 127, 0, 0, 1], "port and address in network order");
        assert_eq!(decode_msg_t(&bytes).unwrap(), (client, &b"hi\0there"[..]));
        assert!(decode_msg_t(&bytes[..20]).is_err(), "no final NUL");
        assert!(decode_msg_t(b"short\0").is_err());
    }

    #[test]
    fn c_strings_carry_their_nul() {
        assert_eq!(with_nul("Hi! my parent").len(), 14);
        assert_eq!(text_of(&with_nul("Hi! my parent")), "Hi! my parent");
        assert_eq!(text_of(b"hell"), "hell", "truncated: no NUL");
    }
}
