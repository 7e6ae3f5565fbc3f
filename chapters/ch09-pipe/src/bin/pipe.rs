//! `pipe`: the slides' pipe/fork fragment as a program. `pipe()` makes a one-way byte stream,
//! `fork()` gives the child copies of both ends, each side closes the end it does not use, the
//! parent writes and the child reads until end of file. `--duplex` adds a second pipe for answers.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;

use clap::Parser;
use shared::process::{Fork, exit_child_with, fork};
use shared::{CallContext, Result};

/// Parent and child talk through pipe(2) (slides ch. 8 §8.1, slide 6: the pipe/fork fragment).
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
    let (read_end, write_end) = nix::unistd::pipe().call("pipe()")?; // fd[0] reads, fd[1] writes
    println!("parent: pipe() gave fd[0] (the read end) and fd[1] (the write end)");
    match fork()? {
        Fork::Child => {
            // While any write end is open, read() waits instead of returning end of file: its own too.
            drop(write_end);
            exit_child_with(child_reads(read_end))
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
    println!("parent: down pipe for the lines, up pipe for the answers");
    let child = match fork()? {
        Fork::Child => {
            drop((down_write, up_read)); // the child's unused ends
            exit_child_with(child_answers(down_read, up_write))
        }
        Fork::Parent { child } => child,
    };
    drop((down_read, up_write)); // the parent's unused ends
    let mut requests = File::from(down_write);
    let mut answers = BufReader::new(File::from(up_read)).lines();
    for message in messages {
        println!("parent: sending \"{message}\"");
        writeln!(requests, "{message}").call("write(down)")?;
        // Strict turns: the answer before the next line, so the output order never changes.
        let answer = answers.next().ok_or_else(|| shared::Error::other("the child closed the up pipe"))?;
        println!("parent: child answered \"{}\"", answer.call("read(up)")?);
    }
    drop(requests);
    let status = child.wait()?;
    println!("parent: child {status}");
    Ok(())
}

fn child_answers(down_read: OwnedFd, up_write: OwnedFd) -> Result<()> {
    let mut answers = File::from(up_write);
    for line in BufReader::new(File::from(down_read)).lines() {
        let line = line.call("read(down)")?;
        println!("child: got \"{line}\", answering");
        writeln!(answers, "{} letters", line.chars().count()).call("write(up)")?;
    }
    Ok(())
}
// ANCHOR_END: duplex
