//! `pipe`: the textbook's first IPC program. `pipe()` makes a one-way byte stream, `fork()` gives the
//! child copies of both ends, each side closes the end it does not use, the parent writes and the
//! child reads until end of file. `--duplex` adds a second pipe for the answers, because one pipe
//! carries data one way only.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use clap::Parser;
use shared::process::{Fork, exit_child, fork};
use shared::{CallContext, Result};

/// Parent and child talk through pipe(2).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  pipe                      the parent sends three lines, the child reads them\n  pipe --duplex             two pipes: the child answers each line\n  pipe -m hello -m bye      send your own lines"
)]
struct Args {
    /// Use two pipes, one each way, so the child can answer.
    #[arg(long)]
    duplex: bool,
    /// A line for the parent to send (repeat for more).
    #[arg(short, long = "message", value_name = "TEXT")]
    messages: Vec<String>,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let mut messages = args.messages;
        if messages.is_empty() {
            messages = ["Hello, child", "This is your parent speaking", "Bye"].map(String::from).to_vec();
        }
        if args.duplex { duplex(&messages) } else { one_way(&messages) }
    })
}

// ANCHOR: one_way
fn one_way(messages: &[String]) -> Result<()> {
    // EXERCISE(pipe): pipe(), fork(), each side drops the end it does not use; parent writes, child reads
    // fd[0] is the read end, fd[1] the write end.
    let (read_end, write_end) = nix::unistd::pipe().call("pipe()")?;
    println!(
        "parent: pipe() gave fd[0]={} (read end) and fd[1]={} (write end)",
        read_end.as_raw_fd(),
        write_end.as_raw_fd()
    );

    match fork()? {
        Fork::Child => {
            // The child only reads. It must close its copy of the write end: while any write end is
            // open, read() waits for more instead of returning end of file.
            drop(write_end);
            let code = match child_reads(read_end) {
                Ok(()) => 0,
                Err(err) => {
                    eprintln!("pipe (child): {err}");
                    1
                }
            };
            exit_child(code)
        }
        Fork::Parent { child } => {
            drop(read_end); // the parent only writes
            println!("parent: closed fd[0]; writing {} lines to fd[1]", messages.len());
            let mut pipe = File::from(write_end);
            for message in messages {
                writeln!(pipe, "{message}").call("write(fd[1])")?;
            }
            drop(pipe); // close fd[1]: the child's next read() returns 0, end of file
            let status = child.wait()?;
            println!("parent: child {status}");
            Ok(())
        }
    }
    // END EXERCISE
}

fn child_reads(read_end: OwnedFd) -> Result<()> {
    // A pipe is a byte stream: it keeps no message boundaries, so we split it into lines ourselves.
    for line in BufReader::new(File::from(read_end)).lines() {
        println!("child: read \"{}\"", line.call("read(fd[0])")?);
    }
    println!("child: read() returned 0: end of file, every write end is closed");
    Ok(())
}
// ANCHOR_END: one_way

// ANCHOR: duplex
fn duplex(messages: &[String]) -> Result<()> {
    let (down_read, down_write) = nix::unistd::pipe().call("pipe(down)")?; // parent -> child
    let (up_read, up_write) = nix::unistd::pipe().call("pipe(up)")?; // child -> parent
    println!(
        "parent: down pipe fds {}/{} (parent writes), up pipe fds {}/{} (child writes)",
        down_read.as_raw_fd(),
        down_write.as_raw_fd(),
        up_read.as_raw_fd(),
        up_write.as_raw_fd()
    );

    match fork()? {
        Fork::Child => {
            drop(down_write);
            drop(up_read);
            let mut answers = File::from(up_write);
            let mut result = Ok(());
            for line in BufReader::new(File::from(down_read)).lines() {
                let answer = line.call("read(down)").and_then(|line| {
                    println!("child: got \"{line}\", answering");
                    writeln!(answers, "{} letters", line.chars().count()).call("write(up)")
                });
                if let Err(err) = answer {
                    result = Err(err);
                    break;
                }
            }
            exit_child(if result.is_ok() { 0 } else { 1 })
        }
        Fork::Parent { child } => {
            drop(down_read);
            drop(up_write);
            let mut requests = File::from(down_write);
            let mut answers = BufReader::new(File::from(up_read)).lines();
            for message in messages {
                println!("parent: sending \"{message}\"");
                writeln!(requests, "{message}").call("write(down)")?;
                // Wait for the answer before sending the next line: strict turns, so the output
                // order is the same on every run.
                let answer =
                    answers.next().ok_or_else(|| shared::Error::other("the child closed the up pipe"))?;
                println!("parent: child answered \"{}\"", answer.call("read(up)")?);
            }
            drop(requests);
            let status = child.wait()?;
            println!("parent: child {status}");
            Ok(())
        }
    }
}
// ANCHOR_END: duplex
