//! What the chapter's programs share: their keys and constants, the choreography around
//! `semlock`'s critical section (the `--no-lock` barrier, the `--witness` file), the lines
//! `pen_and_note` prints in English and in the slides' Korean, and `semtool`'s error hints.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, SemId};
use shared::key::{IPC_PRIVATE, Key};
use shared::lang::Lang;
use shared::process::{ExitStatus, exit_child};
use shared::sem::{SemOp, semctl_setval, semget, semop};
use shared::{CallContext, Errno, Error, Result};

/// The textbook's key: `initsem(1)`.
pub const TEXTBOOK_KEY: Key = Key(1);
/// `shmcontrol` prints one progress dot per this many good accesses of one process.
pub const DOT_EVERY: i32 = 1000;
/// `pen_and_note`'s members: pens and notes.
pub const PEN: u16 = 0;
pub const NOTE: u16 = 1;

/// A `semlock` child's exit status for "the set was removed under us": the parent says it, once.
pub const SET_REMOVED: i32 = 3;

/// `semlock`'s demo around the critical section: the `--no-lock` barrier that keeps every child
/// inside until all are in, and the `--witness` file where each child records when it was inside.
pub struct Demo {
    pub lock: bool,
    barrier: Option<Owned<SemId>>,
    witness: Option<File>,
}

impl Demo {
    /// With `lock` false, a private barrier set for `children` (the parent removes it on drop).
    pub fn new(lock: bool, children: u16, witness: Option<&Path>) -> Result<Demo> {
        let barrier = if lock {
            None
        } else {
            let barrier = Owned::create(|| semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600))?;
            semctl_setval(barrier.id(), 0, children.into())?;
            Some(barrier)
        };
        // O_APPEND: each record is one write at the end of the file, whoever writes it.
        let witness = witness
            .map(|path| File::options().append(true).create(true).open(path))
            .transpose()
            .call("open(--witness)")?;
        Ok(Demo { lock, barrier, witness })
    }

    /// A child's part in the demo; it arrives at the barrier on drop if it fails before.
    pub fn part(&self) -> Part<'_> {
        Part { demo: self, barrier: self.barrier.as_ref().map(Owned::id) }
    }
}

/// One child's part of [`Demo`].
pub struct Part<'a> {
    demo: &'a Demo,
    barrier: Option<SemId>,
}

impl Part<'_> {
    /// The work of the critical section: `enter PID`, the barrier, `hold`, `leave PID`.
    pub fn critical_section(mut self, hold: Duration) -> Result<()> {
        self.record("enter")?;
        if let Some(barrier) = self.barrier.take() {
            // Arrive, then wait for 0 in a second call: in one call our own -1 would be held back.
            semop(barrier, &[SemOp::new(0, -1)])?;
            semop(barrier, &[SemOp::new(0, 0)])?;
        }
        std::thread::sleep(hold);
        self.record("leave")
    }

    fn record(&self, what: &str) -> Result<()> {
        let Some(mut file) = self.demo.witness.as_ref() else { return Ok(()) };
        file.write_all(format!("{what} {}\n", std::process::id()).as_bytes()).call("write(--witness)")
    }
}

impl Drop for Part<'_> {
    fn drop(&mut self) {
        if let Some(barrier) = self.barrier.take() {
            let _ = semop(barrier, &[SemOp::new(0, -1)]);
        }
    }
}

/// A child that had to create the set: the parent's is gone. Remove ours, end with SET_REMOVED.
pub fn not_ours(made: Owned<SemId>) -> ! {
    let _ = made.ipc_rmid();
    exit_child(SET_REMOVED)
}

/// EIDRM/EINVAL on a set a child only found: end with SET_REMOVED for the parent to explain.
pub fn if_removed(err: Error) -> Error {
    match err.errno() {
        Some(Errno::EIDRM | Errno::EINVAL) => exit_child(SET_REMOVED),
        _ => err,
    }
}

/// The children's statuses as one result: one line for "removed under us", else the first failure.
pub fn check_children(key: Key, statuses: &[(nix::unistd::Pid, ExitStatus)]) -> Result<()> {
    if statuses.iter().any(|(_, status)| *status == ExitStatus::Exited(SET_REMOVED)) {
        return Err(Error::other(format!(
            "the semaphore set for key {key} was removed while this run used it (its creator ended, or ipcrm); \
             give each run its own key: semlock --key KEY"
        )));
    }
    match statuses.iter().find(|(_, status)| !status.success()) {
        Some((pid, status)) => Err(Error::other(format!("child {pid} {status}"))),
        None => Ok(()),
    }
}

/// `pen_and_note`'s steps, as slide 50's run prints them (the spacing of the Korean is ours).
#[derive(Debug, Clone, Copy)]
pub enum Step {
    TakePen,
    TakeNote,
    Study,
    PutPen,
    PutNote,
}

impl Step {
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            Step::TakePen => lang.pick("picks up the pen", "연필을 들고"),
            Step::TakeNote => lang.pick("picks up a note", "노트를 들고"),
            Step::Study => lang.pick("studies", "공부를 함"),
            Step::PutPen => lang.pick("puts down the pen", "연필을 내려놓음"),
            Step::PutNote => lang.pick("puts down the note", "노트를 내려놓음"),
        }
    }
}

/// `pen_and_note`'s first line: the set and what is on the table.
pub fn table_line(lang: Lang, semid: SemId, pens: u16, notes: u16, students: u16) -> String {
    match lang {
        Lang::En => format!(
            "parent: semaphore set {semid}: pens (member 0) = {pens}, notes (member 1) = {notes}; \
             {students} students each need a pen and a note at once"
        ),
        Lang::Ko => format!(
            "parent: 세마포어 집합 {semid}: 연필 (멤버 0) = {pens}, 노트 (멤버 1) = {notes}; \
             학생 {students}명이 각자 연필과 노트를 동시에 써야 함"
        ),
    }
}

/// `pen_and_note`'s last line: everything is back on the table.
pub fn done_line(lang: Lang, rounds: u32, left: &[u16]) -> String {
    match lang {
        Lang::En => format!(
            "parent: every student studied {rounds} time(s); pens = {}, notes = {} again",
            left[0], left[1]
        ),
        Lang::Ko => format!(
            "parent: 모든 학생이 {rounds}번 공부함; 연필 = {}, 노트 = {} (처음대로)",
            left[0], left[1]
        ),
    }
}

/// `semtool`'s subcommands, and the hints its errors carry.
pub mod semtool {
    use clap::{Parser, Subcommand};
    use shared::key::Key;
    use shared::sem::SemOp;
    use shared::{Errno, Error};

    /// The workbook's own, after slides ch. 8 §8.5 (slides 45-49) and textbook ch. 10 §10-5-2: create,
    /// operate on, inspect and remove System V semaphore sets.
    #[derive(Parser)]
    #[command(
        after_help = "Examples:\n  semtool create 0x1234 2 --values 1 2   a set of two: member 0 = 1, member 1 = 2\n  semtool op 0x1234 0-1 1-1               take one from each, in one atomic semop\n  semtool op 0x1234 0=0                   wait until member 0 is zero\n  semtool op 0x1234 0-1 --nowait          fail with EAGAIN instead of waiting\n  semtool show 0x1234                     values, last pid, waiters\n  semtool set 0x1234 1 2                  SETALL\n  semtool setval 0x1234 1 5               SETVAL: member 1 = 5 (slide 46's semctl(semid, 2, SETVAL, semarg))\n  semtool rm 0x1234                       IPC_RMID: every waiter gets EIDRM"
    )]
    pub struct Args {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Subcommand)]
    pub enum Command {
        /// semget(KEY, NSEMS, IPC_CREAT | IPC_EXCL | MODE), then SETALL if --values is given.
        Create {
            /// The key (decimal or 0x hex).
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
            /// How many semaphores in the set.
            nsems: i32,
            /// Initial values, one per member (otherwise Linux leaves them 0).
            #[arg(long, num_args = 1.., value_name = "V")]
            values: Vec<u16>,
            /// Permissions, in octal.
            #[arg(long, default_value = "600", value_parser = shared::cli::parse_mode)]
            mode: i32,
        },
        /// semop(KEY, OPS): N-k waits until member N >= k and takes k, N+k adds k, N=0 waits for zero.
        /// All the operations happen at once, or none of them.
        Op {
            /// The set's key.
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
            /// Operations such as 0-1 (take 1 from member 0), 1+2 (add 2 to member 1), 0=0 (wait for 0).
            #[arg(required = true, value_name = "OP")]
            ops: Vec<SemOp>,
            /// IPC_NOWAIT: fail with EAGAIN instead of waiting.
            #[arg(long)]
            nowait: bool,
            /// SEM_UNDO: the kernel reverses the operations when this process exits.
            #[arg(long)]
            undo: bool,
            /// After the operation, stay alive until a signal ends the process (to see what holding
            /// means, and what SEM_UNDO does when the holder is killed).
            #[arg(long)]
            hold: bool,
        },
        /// IPC_STAT, GETALL, and GETPID, GETNCNT, GETZCNT for each member.
        Show {
            /// The set's key.
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
        },
        /// SETALL: one value per member (0 to 32767).
        Set {
            /// The set's key.
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
            /// The new values, one per member.
            #[arg(required = true, value_name = "V")]
            values: Vec<u16>,
        },
        /// SETVAL: one member's value (0 to 32767).
        Setval {
            /// The set's key.
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
            /// The member, numbered from 0.
            member: u16,
            /// Its new value.
            value: u16,
        },
        /// IPC_RMID: remove the set now.
        Rm {
            /// The set's key.
            #[arg(value_parser = shared::cli::shared_key)]
            key: Key,
        },
    }

    /// SETALL on a set just made with a mode that has no owner write bit: only root may.
    pub fn explain_mode(err: Error, mode: i32) -> Error {
        match err.errno() {
            Some(Errno::EACCES) => Error::other(format!(
                "{err}: mode {mode:03o} does not let you alter the set, not even its first values \
             (create with --mode 600, or without --values)"
            )),
            _ => explain(err),
        }
    }

    /// the errors the tool exists to show, with what they mean here (still one line).
    pub fn explain(err: Error) -> Error {
        let hint = match err.errno() {
            Some(Errno::EAGAIN) => "the operation would have to wait, and --nowait said not to",
            Some(Errno::ERANGE) => "a semaphore's value cannot go above 32767 (SEMVMX)",
            Some(Errno::EIDRM) => "the set was removed while this process waited",
            Some(Errno::EFBIG) => "no such member: members are numbered from 0",
            _ => return err,
        };
        Error::other(format!("{err}: {hint}"))
    }
}
