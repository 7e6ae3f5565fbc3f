//! `fifo`: a named pipe (FIFO) joins two processes that share nothing but its path name.
//! `mkfifo(path, mode)` gives a pipe a name, so any process that may open that path can take one end:
//! `fifo read PATH` in one terminal, `fifo write PATH hello` in another. With no arguments, `fifo`
//! runs the demo (in this crate's lib.rs): it starts the reader as a separate program and writes.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use shared::cleanup::OwnedPath;
use shared::{CallContext, Errno, Error, Result, say};

/// Two processes meet through a FIFO (slides ch. 8 §8.2, slide 9: mkfifo; the program is ours).
#[derive(Parser)]
#[command(after_help = "Examples:\n  \
    fifo                              the demo: a reader program and a writer meet through a FIFO\n  \
    fifo read /tmp/x                  (terminal 1) make the FIFO, print what arrives until end of file\n  \
    fifo write /tmp/x hello bye       (terminal 2) write two lines to it\n  \
    fifo write --nonblock /tmp/x hi   ENXIO when no reader has the FIFO open")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Make the FIFO if needed (mode 0600), print each line written to it until every writer has closed it.
    Read {
        /// The FIFO's path (made if nothing is there; a writer may make it too).
        path: PathBuf,
        /// Open with O_NONBLOCK: return at once even if no writer has the FIFO open.
        #[arg(long)]
        nonblock: bool,
    },
    /// Make the FIFO if needed (mode 0600), write each MESSAGE to it as one line.
    Write {
        /// The FIFO's path (made if nothing is there; a reader may make it too).
        path: PathBuf,
        /// The lines to write, one write() each.
        #[arg(required = true, value_name = "MESSAGE")]
        messages: Vec<String>,
        /// Open with O_NONBLOCK: fail with ENXIO instead of waiting for a reader.
        #[arg(long)]
        nonblock: bool,
    },
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| match Args::parse().command {
        None => ch09_fifo::demo(),
        Some(Command::Read { path, nonblock }) => read(&path, nonblock),
        Some(Command::Write { path, messages, nonblock }) => write(&path, &messages, nonblock),
    })
}

// ANCHOR: mkfifo
/// `mkfifo(path, 0600)`, or use the FIFO already there. Whoever makes the FIFO removes it.
fn make_or_use_fifo(path: &Path, who: &str) -> Result<Option<OwnedPath>> {
    // EXERCISE(fifo): make the FIFO (mode 0600) as an OwnedPath; use an existing name only if a FIFO
    // 0600: the umask filters the mode (errata: mkfifo mode); registered for unlinking on every exit.
    let made = OwnedPath::create(path, |path| {
        mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
    });
    match made {
        Ok(made) => {
            say!("{who}: mkfifo({}, 0600): made the FIFO", path.display());
            Ok(Some(made))
        }
        Err(err) if err.errno() == Some(Errno::EEXIST) => {
            // The second of the two programs finds the FIFO the first made. Anything else is refused:
            // opening it would read or write a plain file.
            if !std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
                return Err(Error::other(format!("{err}; it is not a FIFO")));
            }
            say!("{who}: {} is already a FIFO: using it", path.display());
            Ok(None)
        }
        Err(err) => Err(err),
    }
    // END EXERCISE
}
// ANCHOR_END: mkfifo

// ANCHOR: open
/// `open(path, O_RDONLY or O_WRONLY)`. Without O_NONBLOCK, open() of a FIFO waits until the other
/// end is open too; with it, a reader gets its end at once and a writer with no reader gets ENXIO
/// (the wait the slides leave out: errata).
fn open_fifo(path: &Path, who: &str, access: OFlag, nonblock: bool) -> Result<File> {
    let (name, partner) =
        if access == OFlag::O_RDONLY { ("O_RDONLY", "writer") } else { ("O_WRONLY", "reader") };
    // EXERCISE(fifo): open(path, access), with O_NONBLOCK for the open only when nonblock is set
    if !nonblock {
        say!("{who}: open({}, {name}) waits until a {partner} has the FIFO open...", path.display());
        let fd = open(path, access, Mode::empty()).call(format!("open({}, {name})", path.display()))?;
        return Ok(File::from(fd));
    }
    let call = format!("open({}, {name} | O_NONBLOCK)", path.display());
    let fd = open(path, access | OFlag::O_NONBLOCK, Mode::empty()).call(&call)?;
    say!("{who}: {call} returned at once, without waiting for a {partner}");
    // O_NONBLOCK was for the open only: make read() and write() wait again, as in the other mode.
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL).call("fcntl(F_GETFL)")?);
    fcntl(&fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).call("fcntl(F_SETFL)")?;
    Ok(File::from(fd))
    // END EXERCISE
}
// ANCHOR_END: open

// ANCHOR: read
fn read(path: &Path, nonblock: bool) -> Result<()> {
    let made = make_or_use_fifo(path, "reader")?;
    // Nothing is printed after open() until data arrives: in the demo, no line mixes with the writer's.
    let fifo = BufReader::new(open_fifo(path, "reader", OFlag::O_RDONLY, nonblock)?);
    // A byte stream, like a pipe: we split the lines. The loop ends when read() returns 0, end of
    // file, once no writer has the FIFO open any more.
    for line in fifo.split(b'\n') {
        let line = line.call(format!("read({})", path.display()))?;
        say!("reader: read \"{}\"", String::from_utf8_lossy(&line));
    }
    say!("reader: read() returned 0: end of file, no writer has the FIFO open any more");
    if let Some(made) = made {
        made.unlink()?;
        say!("reader: unlink({}): we made the FIFO, so we remove it", path.display());
    }
    Ok(())
}
// ANCHOR_END: read

// ANCHOR: write
fn write(path: &Path, messages: &[String], nonblock: bool) -> Result<()> {
    let made = make_or_use_fifo(path, "writer")?;
    let mut fifo = open_fifo(path, "writer", OFlag::O_WRONLY, nonblock)?;
    say!("writer: a reader has the FIFO open: writing {} lines", messages.len());
    for message in messages {
        // One write() per line (writeln! would make two): up to PIPE_BUF bytes it is atomic.
        fifo.write_all(format!("{message}\n").as_bytes()).call(format!("write({})", path.display()))?;
    }
    drop(fifo);
    say!("writer: closed the FIFO: the reader sees end of file once every writer has closed it");
    if let Some(made) = made {
        made.unlink()?; // the reader keeps its open end: unlink removes only the name
        say!("writer: unlink({}): we made the FIFO, so we remove it", path.display());
    }
    Ok(())
}
// ANCHOR_END: write
