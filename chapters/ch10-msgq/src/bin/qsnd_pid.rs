//! `qsnd_pid`: the slides' qsnd_pid.c (slides ch. 8 §8.3, slide 21: described and run; only its
//! `msgctl(qid, IPC_RMID, 0)` is shown). A message's type can address a process: the child sends
//! with `mtype = getppid()`, its parent's pid, and the parent asks msgrcv only for messages of type
//! `getpid()`. However many processes share the queue, each takes only the mail addressed to it.

use std::io::{BufRead, Write};

use ch10_msgq::{QueueKey, explain, text_of, with_nul};
use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, IPC_NOWAIT, MsqId};
use shared::lang::{Lang, LangArgs};
use shared::msg::{msgctl_rmid, msgget, msgrcv, msgsnd};
use shared::process::{fork_child, getpid, getppid};
use shared::{CallContext, Error, Result};

/// The most text a message may carry on Linux by default (/proc/sys/kernel/msgmax).
const MAX_TEXT: usize = 8192;

/// The child posts a line to its parent through the queue for KEY, typed with the parent's pid;
/// the parent removes the queue after receiving (slides ch. 8 §8.3, slide 21: qsnd_pid.c).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  qsnd_pid 1234                     type a line for the child to post\n  qsnd_pid 1234 -m 'Hi! my parent'  post this text (14 bytes with its NUL)\n  qsnd_pid --lang ko 1234           the slides' Korean lines\n\nThe queue is created if needed and removed at the end, as the slides' qsnd_pid does,\nwhoever made it."
)]
struct Args {
    #[command(flatten)]
    key: QueueKey,
    /// The message for the child to post, instead of reading a line from standard input.
    #[arg(short, long, value_name = "TEXT")]
    message: Option<String>,
    #[command(flatten)]
    lang: LangArgs,
}

fn main() -> std::process::ExitCode {
    let mut child_failed = false;
    let status = shared::cli::run(|| {
        let args = Args::parse();
        let lang = args.lang.resolve();
        let key = args.key.resolve()?;
        // ANCHOR: parent
        // EXERCISE(qsnd_pid): msgget with IPC_CREAT, fork the child that posts, msgrcv of type getpid(), then IPC_RMID
        // Owned: removed on every way out (Ctrl-C too), as the slides remove it at the end.
        let queue = Owned::new(msgget(key, IPC_CREAT | 0o600).map_err(|err| explain(lang, err))?);
        let me = getpid();
        // Printed before the fork, so it always comes first (in the slides it races the prompt).
        match lang {
            Lang::En => println!("{me} process waiting to read the message queue.."),
            Lang::Ko => println!("{me} 프로세스 메시지 큐 읽기 대기중.."),
        }
        let message = args.message.clone();
        let id = queue.id();
        let child = fork_child(|| post(id, message.as_deref()).inspect_err(|_| wake_parent(id)))?;

        // Only messages of type getpid(): mail addressed to this process. Blocks until one comes.
        let received = msgrcv(queue.id(), MAX_TEXT, me.as_raw().into(), 0);
        // Reap the child before printing, so its lines always come before ours.
        if !child.wait()?.success() {
            child_failed = true; // it has said why on stderr
            return Ok(());
        }
        let message = received?;
        println!("recv = {} bytes", message.text.len());
        println!("type = {}", message.mtype);
        println!("{} {me}", lang.pick("receiving process PID =", "수신 프로세스 PID="));
        println!("value = {}", text_of(&message.text));
        queue.ipc_rmid()?;
        println!("{}", lang.pick(format!("message queue {id} removed"), format!("메시지 큐 {id} 삭제됨")));
        // END EXERCISE
        // ANCHOR_END: parent
        Ok(())
    });
    if child_failed { std::process::ExitCode::FAILURE } else { status }
}

/// The child failed: the parent waits in msgrcv for a message of its type and would wait for
/// ever. An empty message (a real one always has at least its NUL) wakes it; if even that cannot
/// be sent, removing the queue does (msgrcv fails with EIDRM).
fn wake_parent(queue: MsqId) {
    if msgsnd(queue, getppid().as_raw().into(), &[], IPC_NOWAIT).is_err() {
        let _ = msgctl_rmid(queue);
    }
}

// ANCHOR: child
/// The child: read a line and post it, addressed to the parent by the parent's pid.
fn post(queue: MsqId, message: Option<&str>) -> Result<()> {
    // writeln!, not println!: a closed stdout is an error here, not a panic that skips wake_parent.
    let mut out = std::io::stdout();
    writeln!(out, "Enter message to post :").call("write(stdout)")?;
    let line = match message {
        Some(text) => text.to_owned(),
        None => read_line()?,
    };
    // Sent with its NUL, as the slides' run shows: "Hi! my parent" is 13 characters, 14 bytes.
    msgsnd(queue, getppid().as_raw().into(), &with_nul(&line), 0)?;
    writeln!(out, "message posted").call("write(stdout)")?;
    Ok(())
}
// ANCHOR_END: child

/// One line of standard input, without its line ending.
fn read_line() -> Result<String> {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).call("read(stdin)")? == 0 {
        return Err(Error::other("no message to post: standard input ended before a line"));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
