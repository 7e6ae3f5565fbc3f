//! Every System V object on the machine, as Linux lists them in `/proc/sysvipc/{msg,shm,sem}` —
//! the same source `ipcs` reads. Used by the chapter's `ipcls` and `ipcclean` and by the tests'
//! leak checks.

use std::collections::HashMap;

use crate::error::Result;
use crate::ipc::{Kind, MsqId, SemId, ShmId};
use crate::key::Key;

/// One line of `/proc/sysvipc/*`, with the columns common to all kinds plus the kind's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpcObject {
    pub kind: Kind,
    pub key: Key,
    pub id: i32,
    pub uid: u32,
    /// Permission bits (`perms` column, e.g. 0o600).
    pub perms: u32,
    /// The kind's own columns by their `/proc` names (`qnum`, `cbytes`, `size`, `nattch`, `nsems`…).
    pub columns: HashMap<String, String>,
}

impl IpcObject {
    /// A numeric kind-specific column, 0 if absent.
    pub fn column(&self, name: &str) -> u64 {
        self.columns.get(name).and_then(|value| value.parse().ok()).unwrap_or(0)
    }

    /// `IPC_RMID` this object.
    pub fn ipc_rmid(&self) -> Result<()> {
        match self.kind {
            Kind::MessageQueue => crate::msg::msgctl_rmid(MsqId(self.id)),
            Kind::SharedMemory => crate::shm::shmctl_rmid(ShmId(self.id)),
            Kind::SemaphoreSet => crate::sem::semctl_rmid(SemId(self.id)),
        }
    }
}

/// Every object of every kind (an unreadable `/proc` file counts as empty).
pub fn list() -> Vec<IpcObject> {
    [Kind::MessageQueue, Kind::SharedMemory, Kind::SemaphoreSet].into_iter().flat_map(list_kind).collect()
}

/// Every object of one kind.
pub fn list_kind(kind: Kind) -> Vec<IpcObject> {
    let file = match kind {
        Kind::MessageQueue => "/proc/sysvipc/msg",
        Kind::SharedMemory => "/proc/sysvipc/shm",
        Kind::SemaphoreSet => "/proc/sysvipc/sem",
    };
    std::fs::read_to_string(file).map(|text| parse(kind, &text)).unwrap_or_default()
}

/// The objects in the text of one `/proc/sysvipc/*` file, columns named by its header row (for a
/// listing read from elsewhere, e.g. inside another IPC namespace).
pub fn parse(kind: Kind, text: &str) -> Vec<IpcObject> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    lines
        .filter_map(|line| {
            let columns: HashMap<String, String> = header
                .iter()
                .zip(line.split_whitespace())
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            let number = |name: &str| columns.get(name).and_then(|value| value.parse::<i64>().ok());
            Some(IpcObject {
                kind,
                key: Key(number("key")? as i32),
                id: number(header.get(1)?)? as i32,
                uid: number("uid")? as u32,
                perms: u32::from_str_radix(columns.get("perms")?, 8).ok()? & 0o777,
                columns,
            })
        })
        .collect()
}

/// What a `*get` error on `key` means for the user, as one line: `err` followed by whose object it
/// is and what to do. EACCES: another user's object (say whose; suggest `--key`). EEXIST: an object
/// with the key exists (another run, or one a killed run left; yours to remove only if yours).
/// Other errors are returned unchanged. `key_option` names how to choose another key (`--key KEY`,
/// `another KEY`).
pub fn explain_key_error(err: crate::Error, kind: Kind, key: Key, key_option: &str) -> crate::Error {
    let errno = err.errno();
    if errno != Some(crate::Errno::EACCES) && errno != Some(crate::Errno::EEXIST) {
        return err;
    }
    let me = nix::unistd::geteuid().as_raw();
    let owner = list_kind(kind).into_iter().find(|object| object.key == key).map(|object| object.uid);
    let whose = match owner {
        Some(uid) if uid == me => "it is yours".to_owned(),
        Some(uid) => format!("it belongs to {}", crate::user::user_name(uid)),
        None => "its owner is unknown".to_owned(),
    };
    let what = match (errno, owner) {
        (Some(crate::Errno::EACCES), _) => format!(
            "the {kind} with key {key} is not open to you ({whose}): use {key_option} for one of your own"
        ),
        (_, Some(uid)) if uid == me => format!(
            "a {kind} with key {key} exists already ({whose}: another run still going, or left by a killed one, \
             which `ipcclean --yes` removes); use {key_option} for a run of your own"
        ),
        _ => format!("a {kind} with key {key} exists already ({whose}): use {key_option}"),
    };
    crate::Error::other(format!("{err}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_proc_format() {
        let text = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n\
                    123     229377   666           14          1  10510     0  1000  1000  1000  1000 1700000000 0 1700000000\n";
        let objects = parse(Kind::MessageQueue, text);
        assert_eq!(objects.len(), 1);
        assert_eq!((objects[0].key, objects[0].id, objects[0].perms), (Key(123), 229377, 0o666));
        assert_eq!(objects[0].column("qnum"), 1);
    }

    #[test]
    fn a_new_queue_is_listed() {
        let id = crate::msg::msgget(crate::key::IPC_PRIVATE, crate::ipc::IPC_CREAT | 0o600).unwrap();
        let listed = list_kind(Kind::MessageQueue).into_iter().any(|object| object.id == id.0);
        crate::msg::msgctl_rmid(id).unwrap();
        assert!(listed);
    }

    #[test]
    fn a_key_error_says_whose_object_it_is_and_what_to_do() {
        use crate::Errno;
        let key = Key(0x5e00_0000 | (std::process::id() as i32 & 0x00ff_ffff));
        let id = crate::msg::msgget(key, crate::ipc::IPC_CREAT | crate::ipc::IPC_EXCL | 0o600).unwrap();
        use crate::error::Error;
        let explain =
            |errno| explain_key_error(Error::sys("msgget", errno), Kind::MessageQueue, key, "--key KEY");
        let (eexist, eacces, enoent) =
            (explain(Errno::EEXIST).to_string(), explain(Errno::EACCES).to_string(), explain(Errno::ENOENT));
        let missing =
            explain_key_error(Error::sys("msgget", Errno::EEXIST), Kind::SharedMemory, key, "--key KEY");
        crate::msg::msgctl_rmid(id).unwrap();
        assert!(eexist.starts_with("msgget: EEXIST"), "{eexist}");
        assert!(
            eexist.contains(&format!(
                "a message queue with key {key} exists already (it is yours: another run"
            )),
            "{eexist}"
        );
        assert!(eexist.ends_with("use --key KEY for a run of your own"), "{eexist}");
        assert!(
            eacces.contains(&format!("the message queue with key {key} is not open to you (it is yours)")),
            "{eacces}"
        );
        assert_eq!(enoent.errno(), Some(Errno::ENOENT));
        assert_eq!(enoent.to_string(), Error::sys("msgget", Errno::ENOENT).to_string());
        // No segment has the key: nobody's.
        assert!(missing.to_string().contains("a shared memory segment with key"), "{missing}");
        assert!(missing.to_string().contains("(its owner is unknown): use --key KEY"), "{missing}");
    }
}
