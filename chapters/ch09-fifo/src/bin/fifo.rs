//! `fifo`: a named pipe (FIFO) joins two processes that share nothing but its path name.
//!
//! A pipe made by `pipe()` has no name: only the processes that inherit its descriptors from a
//! common ancestor can use it. `mkfifo(path, mode)` gives a pipe a name in the file system, so any
//! process that may open that path can take one end of it: `fifo read PATH` in one terminal and
//! `fifo write PATH hello` in another. With no arguments, `fifo` shows the whole story by itself: it
//! starts the reader as a separate program and plays the writer.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use shared::cleanup::{OwnedPath, TempDir};
use shared::error::strerror;
use shared::process::spawn_sibling;
use shared::{CallContext, Errno, Error, Result, say};

/// Two processes meet through a FIFO (named pipe).
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
        None => demo(),
        Some(Command::Read { path, nonblock }) => read(&path, nonblock),
        Some(Command::Write { path, messages, nonblock }) => write(&path, &messages, nonblock),
    })
}

// ANCHOR: mkfifo
/// `mkfifo(path, 0600)`, or use the FIFO that is already there. Returns the name to unlink at the
/// end if this process made it: whoever makes the FIFO removes it.
fn make_or_use_fifo(path: &Path, who: &str) -> Result<Option<OwnedPath>> {
    // The mode is filtered by the umask, as for open(): mkfifo(path, 0666) gives 0644 under the usual
    // umask 022, not what the slides' "mode: the FIFO's access permissions" suggests. And 0666 would
    // let any user read our data or write into it: 0600, only us, survives any usual umask.
    // OwnedPath::create: made and registered for unlinking on every exit path, Ctrl-C included.
    let made = OwnedPath::create(path, |path| {
        mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
    });
    match made {
        Ok(made) => {
            say!("{who}: mkfifo({}, 0600): made the FIFO", path.display());
            Ok(Some(made))
        }
        // Whichever of the two programs comes second finds the FIFO the first one made.
        Err(err) if err.errno() == Some(Errno::EEXIST) && is_fifo(path) => {
            say!("{who}: {} is already a FIFO: using it", path.display());
            Ok(None)
        }
        // Something else has the name. Opening it anyway would read or write a plain file.
        Err(err) if err.errno() == Some(Errno::EEXIST) => {
            Err(Error::other(format!("{err}; it is not a FIFO")))
        }
        Err(err) => Err(err),
    }
}

fn is_fifo(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_fifo())
}
// ANCHOR_END: mkfifo

// ANCHOR: open
/// `open(path, O_RDONLY or O_WRONLY)`. Without O_NONBLOCK, open() of a FIFO waits until the other
/// end is open too: a reader waits for a writer, a writer for a reader. With O_NONBLOCK it never
/// waits: a reader gets its descriptor at once, a writer with no reader fails with ENXIO.
/// (The slides say only that a FIFO "must be open()ed after it is made" and that any process
/// knowing the name "can open it at any time": they leave out this wait, the first thing a
/// student's program runs into.)
fn open_fifo(path: &Path, who: &str, access: OFlag, nonblock: bool) -> Result<File> {
    let (name, partner) =
        if access == OFlag::O_RDONLY { ("O_RDONLY", "writer") } else { ("O_WRONLY", "reader") };
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
}
// ANCHOR_END: open

// ANCHOR: read
fn read(path: &Path, nonblock: bool) -> Result<()> {
    let made = make_or_use_fifo(path, "reader")?;
    // Nothing is printed after open() until data arrives, so in the demo our lines never mix
    // with the writer's: it prints only before it writes.
    let mut fifo = BufReader::new(open_fifo(path, "reader", OFlag::O_RDONLY, nonblock)?);
    // A FIFO is a byte stream like a pipe: it keeps no message boundaries, so we split lines.
    let mut line = Vec::new();
    loop {
        line.clear();
        // read() waits while a writer has the FIFO open and it is empty; it returns 0 (end of
        // file) only once no writer has it open any more.
        if fifo.read_until(b'\n', &mut line).call(format!("read({})", path.display()))? == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        say!("reader: read \"{}\"", String::from_utf8_lossy(text));
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
        // One write() per line: up to PIPE_BUF (4096) bytes it is atomic, so lines from several
        // writers never mix. (writeln! on a File would make two writes: the text, then "\n".)
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

// ANCHOR: demo
fn demo() -> Result<()> {
    // A private directory (mode 0700) for the FIFO, not the slides' fixed /tmp/myfifo: in the
    // shared /tmp that name may already be taken (mkfifo fails with EEXIST), left over from an
    // earlier run that never unlinked it, or planted by another user as a file of their own.
    let dir = TempDir::new("fifo")?;
    let path = dir.path().join("fifo");
    let fifo = OwnedPath::create(&path, |path| {
        mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
    })?;
    say!("writer: mkfifo({}, 0600): made the FIFO", path.display());

    nonblocking_opens(&path)?;

    // Said before the reader starts: from then on two programs print at once, and their lines keep
    // a fixed order only where one must be out before the other can go on. Here: each prints before
    // its own open(), and neither open() returns before both have been called.
    say!("writer: starting the reader, a separate program: fifo read {}", path.display());
    say!("writer: open({}, O_WRONLY) blocks until the reader opens the FIFO...", path.display());
    let reader = spawn_sibling("fifo", &["read".to_owned(), path.display().to_string()])?;
    // The writer's part runs in a thread while this one watches the reader, because of the trap of
    // a blocking open(): if the reader died before opening the FIFO (killed, or unable to print),
    // our open(O_WRONLY) would wait for it for ever. The thread is started with Ctrl-C held back
    // and keeps it so: a signal is then always handled by this thread, whose clean-up reaps the
    // reader, never by the writer thread behind this one's back.
    let writer = shared::cleanup::with_signals_held(|| {
        std::thread::spawn({
            let path = path.clone();
            move || {
                let written = write_two_ends(&path);
                if written.is_err() {
                    // The same trap the other way round: should the reader still wait in its open(),
                    // a write end opened and closed at once releases it, and it reads end of file.
                    let _ = open(&path, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty());
                }
                written
            }
        })
    });
    let status = reader.wait()?;
    // A stand-in reader for a moment: if the writer still waits in open() (the reader died before
    // opening), this lets it return. After a normal run it changes nothing.
    let stand_in = open(&path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty());
    // A panic in the writer thread (its stdout closed, say) goes on in this one, where it ends the
    // program as it would have without the thread.
    let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    drop(stand_in);
    if !status.success() {
        return Err(Error::other(format!("the reader {status}")));
    }
    written?;
    say!("writer: the reader {status}");
    fifo.unlink()?;
    say!("writer: unlink({}): the name is gone", path.display());
    Ok(())
}

/// Open the FIFO twice for writing, write on both ends and close them: the reader sees end of file
/// only after the second close. Every descriptor is closed when this returns, however it returns.
fn write_two_ends(path: &Path) -> Result<()> {
    let first = open(path, OFlag::O_WRONLY, Mode::empty()).call("open(O_WRONLY)")?;
    // The reader printed its lines before calling open(), and ours could not return before that.
    say!("writer: open returned: the reader has opened its end");
    let second = open(path, OFlag::O_WRONLY, Mode::empty()).call("open(O_WRONLY) again")?;
    say!("writer: a second open(O_WRONLY) returns at once: a reader is there. Two write ends now");
    say!("writer: writing 3 lines on the first, closing it, then 1 line on the second");
    // Nothing more is printed until the reader has exited: it prints only after data arrives.
    let mut first = File::from(first);
    for line in ["Hello, reader", "All we share is this FIFO's name", "Closing my first end now"] {
        first.write_all(format!("{line}\n").as_bytes()).call("write(first)")?;
    }
    drop(first); // one writer is left, so the reader does not see end of file yet
    let mut second = File::from(second);
    second.write_all(b"Still here: this is the second write end\n").call("write(second)")?;
    Ok(()) // `second` closes here: the last writer is gone, the reader's next read() returns 0
}

/// What O_NONBLOCK changes, shown while nobody else has the FIFO open.
fn nonblocking_opens(path: &Path) -> Result<()> {
    // A writer with no reader would have nobody to read its data: instead of waiting, ENXIO.
    match open(path, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty()) {
        Err(Errno::ENXIO) => {
            say!("writer: open(O_WRONLY | O_NONBLOCK) with no reader: ENXIO ({})", strerror(Errno::ENXIO))
        }
        Err(errno) => return Err(Error::sys("open(O_WRONLY | O_NONBLOCK)", errno)),
        Ok(_) => return Err(Error::other("open(O_WRONLY | O_NONBLOCK) succeeded with no reader")),
    }
    // A reader gets its end at once; with no writer, read() returns 0 as if at end of file.
    let fd =
        open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty()).call("open(O_RDONLY | O_NONBLOCK)")?;
    let got = nix::unistd::read(&fd, &mut [0; 64]).call("read(O_NONBLOCK)")?;
    say!(
        "writer: open(O_RDONLY | O_NONBLOCK) returns at once; read() gives {got} bytes: no writer, end of file"
    );
    Ok(())
}
// ANCHOR_END: demo
