//! `qctl`: the slides' qctl.c (slides ch. 8 §8.3, slide 23; described and run, not listed).
//! `msgctl(IPC_STAT)` copies the kernel's `struct msqid_ds` for a queue into our memory; we print
//! it, then `msgctl(IPC_RMID)` removes the queue, unread messages and all (every process blocked
//! on it wakes with EIDRM). In a Korean locale it prints the slides' Korean labels.

use ch10_msgq::{QueueKey, explain};
use clap::Parser;
use shared::Result;
use shared::key::Key;
use shared::lang::{Lang, LangArgs};
use shared::msg::{msgctl_rmid, msgctl_stat, msgget};
use shared::out::format_time;

/// Report on the message queue for KEY (msgctl IPC_STAT), then remove it (IPC_RMID) (slides ch. 8
/// §8.3, slide 23: qctl.c, described but not listed).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  mkq 1234; qctl 1234    create a queue, then report on it and remove it\n  qctl --keep 1234       report only; the queue stays\n  qctl --lang ko 1234    the slides' Korean labels (also when LANG=ko_KR.UTF-8)"
)]
struct Args {
    #[command(flatten)]
    key: QueueKey,
    /// Report only: do not remove the queue.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    lang: LangArgs,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let lang = args.lang.resolve();
        report_and_remove(args.key.resolve()?, args.keep, lang).map_err(|err| explain(lang, err))
    })
}

// ANCHOR: qctl
fn report_and_remove(key: Key, keep: bool, lang: Lang) -> Result<()> {
    // EXERCISE(qctl): msgget(key, 0), msgctl_stat and print its fields, then msgctl_rmid unless keep
    // Flags 0: find the queue, never create it (ENOENT if no queue has this key).
    let id = msgget(key, 0)?;
    // IPC_STAT needs read permission on the queue: another user's 0600 queue gives EACCES.
    let ds = msgctl_stat(id)?;
    // The first four lines are the slides' (Korean spacing ours); the rest are ours.
    println!("{} : {}", lang.pick("max bytes of the queue", "큐의 최대 바이트 수"), ds.qbytes);
    println!("{} : {}", lang.pick("queue owner UID       ", "큐의 유효 사용자 UID"), ds.perm.uid);
    println!("{} : {}", lang.pick("queue owner GID       ", "큐의 유효 사용자 GID"), ds.perm.gid);
    println!("{} : {:04o}", lang.pick("queue permissions     ", "큐 접근 권한"), ds.perm.permissions());
    println!("{} : {}", lang.pick("messages on the queue ", "큐의 메시지 수"), ds.qnum);
    println!("{} : {}", lang.pick("bytes on the queue    ", "큐의 바이트 수"), ds.cbytes);
    println!("{} : {}", lang.pick("last sender PID       ", "마지막 송신 PID"), ds.lspid);
    println!("{} : {}", lang.pick("last receiver PID     ", "마지막 수신 PID"), ds.lrpid);
    println!("{} : {}", lang.pick("last msgsnd           ", "마지막 msgsnd"), format_time(ds.stime));
    println!("{} : {}", lang.pick("last msgrcv           ", "마지막 msgrcv"), format_time(ds.rtime));
    println!("{} : {}", lang.pick("last change           ", "마지막 변경"), format_time(ds.ctime));

    if keep {
        println!(
            "{}",
            lang.pick(format!("message queue {id} kept (--keep)"), format!("메시지 큐 {id} 유지됨 (--keep)"))
        );
        return Ok(());
    }
    // Only the owner, the creator or root may remove it (EPERM otherwise). Unread messages go too.
    msgctl_rmid(id)?;
    match (ds.qnum, lang) {
        (0, Lang::En) => println!("message queue {id} removed"),
        (0, Lang::Ko) => println!("메시지 큐 {id} 삭제됨"),
        (unread, Lang::En) => println!("message queue {id} removed, with its {unread} unread message(s)"),
        (unread, Lang::Ko) => println!("메시지 큐 {id} 삭제됨 (읽지 않은 메시지 {unread}개와 함께)"),
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: qctl
