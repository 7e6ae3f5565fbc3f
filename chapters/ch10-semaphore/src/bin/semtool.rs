//! `semtool`: one subcommand per call, to drive a semaphore set from the shell and watch it change
//! (Kerrisk's `svsem_create`, `svsem_op`, `svsem_mon`, `svsem_setall`, `svsem_rm` in one tool).

use ch10_semaphore::semtool::{Args, Command};
use ch10_semaphore::semtool::{explain, explain_mode};
use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, IPC_EXCL};
use shared::key::Key;
use shared::sem::{
    SemOp, semctl_getall, semctl_getncnt, semctl_getpid, semctl_getzcnt, semctl_rmid, semctl_setall,
    semctl_setval, semctl_stat, semget, semop,
};
use shared::{Result, say};

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
        Command::Setval { key, member, value } => {
            let semid = semget(key, 0, 0)?;
            semctl_setval(semid, member, value.into()).map_err(explain)?;
            println!("semaphore set {semid} (key {key}): member {member} set to {value}");
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
    // EXERCISE(semtool-op): find the set, add IPC_NOWAIT and SEM_UNDO on request, ONE semop for all, hold if asked
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
    // END EXERCISE
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
