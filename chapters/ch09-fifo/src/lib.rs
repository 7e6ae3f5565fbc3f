//! The demo `fifo` runs with no arguments: it makes a FIFO in a private directory, shows what
//! `O_NONBLOCK` changes, starts `fifo read PATH` as a separate program, and plays the writer.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use shared::cleanup::{OwnedPath, TempDir};
use shared::error::strerror;
use shared::process::spawn_sibling;
use shared::{CallContext, Errno, Error, Result, say};

// ANCHOR: demo
pub fn demo() -> Result<()> {
    // A private 0700 directory, not the fixed /tmp/myfifo of the slides' figure (book: errata).
    let dir = TempDir::new("fifo")?;
    let path = dir.path().join("fifo");
    let fifo = OwnedPath::create(&path, |path| {
        mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
    })?;
    say!("writer: mkfifo({}, 0600): made the FIFO", path.display());

    nonblocking_opens(&path)?;

    // Each side prints before its own open(), and neither open() returns before both are called:
    // the lines keep one order without any sleep.
    say!("writer: starting the reader, a separate program: fifo read {}", path.display());
    say!("writer: open({}, O_WRONLY) blocks until the reader opens the FIFO...", path.display());
    let reader = spawn_sibling("fifo", &["read".to_owned(), path.display().to_string()])?;
    let writer = writer_thread(&path);
    let status = reader.wait()?;
    // A stand-in reader: lets a writer still stuck in open() return if the reader died first.
    let stand_in = open(&path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty());
    // A panic in the writer thread (its stdout closed, say) ends the program as it would have here.
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
// ANCHOR_END: demo

/// The writer's part, in a thread, so that the main thread can watch the reader: a blocking open()
/// would otherwise wait for ever for a reader that died. Started with Ctrl-C held back, so a signal
/// is handled by the main thread, whose clean-up reaps the reader.
fn writer_thread(path: &Path) -> std::thread::JoinHandle<Result<()>> {
    let path = path.to_owned();
    shared::cleanup::with_signals_held(|| {
        std::thread::spawn(move || {
            let written = write_two_ends(&path);
            if written.is_err() {
                // A reader still waiting in its open() is released and reads end of file.
                let _ = open(&path, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty());
            }
            written
        })
    })
}

// ANCHOR: two_ends
/// Open the FIFO twice for writing, write on both ends and close them: the reader sees end of file
/// only after the second close.
fn write_two_ends(path: &Path) -> Result<()> {
    let first = open(path, OFlag::O_WRONLY, Mode::empty()).call("open(O_WRONLY)")?;
    say!("writer: open returned: the reader has opened its end");
    let second = open(path, OFlag::O_WRONLY, Mode::empty()).call("open(O_WRONLY) again")?;
    say!("writer: a second open(O_WRONLY) returns at once: a reader is there. Two write ends now");
    say!("writer: writing 3 lines on the first, closing it, then 1 line on the second");
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
// ANCHOR_END: two_ends
