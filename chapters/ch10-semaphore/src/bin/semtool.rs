//! `semtool`: one subcommand per call, to drive a semaphore set from the shell and watch it change
//! (Kerrisk's `svsem_create`, `svsem_op`, `svsem_mon`, `svsem_setall`, `svsem_rm` in one tool).
//! Run two terminals: block in one with `semtool op KEY 0-1`, look with `semtool show KEY` in the
//! other (GETNCNT counts you), then release with `semtool op KEY 0+1`.

use clap::{Parser, Subcommand};
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, IPC_EXCL};
use shared::key::Key;
use shared::sem::{
    SemOp, semctl_getall, semctl_getncnt, semctl_getpid, semctl_getzcnt, semctl_rmid, semctl_setall,
    semctl_stat, semget, semop,
};
use shared::{Errno, Error, Result, say};

/// Create, operate on, inspect and remove System V semaphore sets.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  semtool create 0x1234 2 --values 1 2   a set of two: member 0 = 1, member 1 = 2\n  semtool op 0x1234 0-1 1-1               take one from each, in one atomic semop\n  semtool op 0x1234 0=0                   wait until member 0 is zero\n  semtool op 0x1234 0-1 --nowait          fail with EAGAIN instead of waiting\n  semtool show 0x1234                     values, last pid, waiters\n  semtool set 0x1234 1 2                  SETALL\n  semtool rm 0x1234                       IPC_RMID: every waiter gets EIDRM"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// IPC_RMID: remove the set now.
    Rm {
        /// The set's key.
        #[arg(value_parser = shared::cli::shared_key)]
        key: Key,
    },
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| match Args::parse().command {
        Command::Create { key, nsems, values, mode } => create(key, nsems, &values, mode),
        Command::Op { key, ops, nowait, undo, hold } => op(key, ops, nowait, undo, hold),
        Command::Show { key } => show(key),
        Command::Set { key, values } => {
            let semid = semget(key, 0, 0)?;
            semctl_setall(semid, &values).map_err(explain)?;
            println!("semaphore set {semid} (key {key}): values set to {values:?}");
            Ok(())
        }
        Command::Rm { key } => {
            let semid = semget(key, 0, 0)?;
            semctl_rmid(semid)?;
            println!("semaphore set {semid} (key {key}) removed");
            Ok(())
        }
    })
}

// ANCHOR: create
fn create(key: Key, nsems: i32, values: &[u16], mode: i32) -> Result<()> {
    // IPC_EXCL: refuse (EEXIST) rather than quietly open a set someone else made.
    let semid = Owned::create(|| semget(key, nsems, IPC_CREAT | IPC_EXCL | mode))?;
    if !values.is_empty() {
        // If this fails (wrong count, ERANGE), `semid` is dropped and the new set removed.
        semctl_setall(semid.id(), values).map_err(|err| explain_mode(err, mode))?;
    }
    let semid = semid.keep(); // the tool's whole point: leave it for the other subcommands
    println!(
        "created semaphore set {semid} (key {key}, mode {mode:03o}): values {:?}",
        semctl_getall(semid)?
    );
    Ok(())
}
// ANCHOR_END: create

// ANCHOR: op
fn op(key: Key, ops: Vec<SemOp>, nowait: bool, undo: bool, hold: bool) -> Result<()> {
    let semid = semget(key, 0, 0)?;
    let ops: Vec<SemOp> = ops
        .into_iter()
        .map(|op| if nowait { op.nowait() } else { op })
        .map(|op| if undo { op.undo() } else { op })
        .collect();
    let list: Vec<String> = ops.iter().map(SemOp::to_string).collect();
    say!("about to semop [{}] on set {semid}", list.join(" "));
    semop(semid, &ops).map_err(explain)?;
    say!("semop completed: values now {:?}", semctl_getall(semid)?);
    if hold {
        say!("holding; end me with a signal (with --undo the kernel then reverses my operations)");
        loop {
            nix::unistd::pause();
        }
    }
    Ok(())
}
// ANCHOR_END: op

// ANCHOR: show
fn show(key: Key) -> Result<()> {
    let semid = semget(key, 0, 0)?;
    let ds = semctl_stat(semid)?;
    println!(
        "semaphore set {semid}: key {}, owner uid {}, mode {:03o}, {} members",
        ds.perm.key,
        ds.perm.uid,
        ds.perm.permissions(),
        ds.nsems
    );
    // sem_otime stays 0 until the first semop: what initsem's waiters look at.
    println!("last semop: {}", shared::out::format_time(ds.otime));
    println!("last change: {}", shared::out::format_time(ds.ctime));
    println!("member  value  last pid  waiting to take (ncnt)  waiting for zero (zcnt)");
    for (member, value) in (0u16..).zip(semctl_getall(semid)?) {
        println!(
            "{member:>6}  {value:>5}  {:>8}  {:>22}  {:>23}",
            semctl_getpid(semid, member)?,
            semctl_getncnt(semid, member)?,
            semctl_getzcnt(semid, member)?
        );
    }
    Ok(())
}
// ANCHOR_END: show

/// SETALL on a set just made with a mode that has no owner write bit: only root may.
fn explain_mode(err: Error, mode: i32) -> Error {
    match err.errno() {
        Some(Errno::EACCES) => Error::other(format!(
            "{err}: mode {mode:03o} does not let you alter the set, not even its first values \
             (create with --mode 600, or without --values)"
        )),
        _ => explain(err),
    }
}

/// The errors this tool exists to show, with what they mean here (still one line).
fn explain(err: Error) -> Error {
    let hint = match err.errno() {
        Some(Errno::EAGAIN) => "the operation would have to wait, and --nowait said not to",
        Some(Errno::ERANGE) => "a semaphore's value cannot go above 32767 (SEMVMX)",
        Some(Errno::EIDRM) => "the set was removed while this process waited",
        Some(Errno::EFBIG) => "no such member: members are numbered from 0",
        _ => return err,
    };
    Error::other(format!("{err}: {hint}"))
}
