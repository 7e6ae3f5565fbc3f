//! `udpserv_fifoecho`: the pipe echo server of the previous section, with a FIFO in place of the
//! pipe.
//!
//! The parent `recvfrom()`s each datagram and writes one record (the client's address and the data)
//! into the FIFO; the child reads records from the FIFO and `sendto()`s each data back to its
//! client. The only change from `udpserv_pipeecho` is how the two processes reach the channel: a
//! pipe must exist before `fork()`, because the child can only use descriptors it inherits; a FIFO
//! is opened by name, by each process, whenever it likes.
//!
//! ```text
//!  client ──datagram──▶ parent: recvfrom() ──record──▶ FIFO ──▶ child: read() ──▶ sendto() ──▶ client
//! ```

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;

use clap::Parser;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use shared::cleanup::{OwnedPath, TempDir};
use shared::echo::{EchoRecord, MAX_DATA};
use shared::process::fork_child;
use shared::{CallContext, Error, Result};

/// A two-process UDP echo server: the parent receives, a FIFO carries the records, the child echoes.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  udpserv_fifoecho 9999              serve on 127.0.0.1:9999 until Ctrl-C\n  udpserv_fifoecho 0                 let the kernel choose a free port (printed)\n  udpserv_fifoecho 9999 --bind ::1   serve on IPv6 loopback\n\nThen, in another terminal:  cargo run -p ch09-pipe --bin udpechocli -- 127.0.0.1 9999\nWhile it runs, `ls -l` the FIFO it prints: the type letter is `p`.\n\nA datagram of more than 4000 bytes gets no echo: it is refused with a line on stderr."
)]
struct Args {
    /// UDP port to serve on (0: any free port; the real one is printed).
    port: u16,
    /// Address to bind to.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
}

/// The largest UDP payload fits, so `recvfrom()` never truncates and we learn a datagram's true size.
const RECV_BUF: usize = 65_536;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill` ends the server with status 0 after the clean-up: the handler SIGTERMs and
        // reaps the child, unlinks the FIFO and removes its directory.
        shared::cleanup::exit_on_signal(0);

        // ANCHOR: setup
        let address = SocketAddr::new(args.bind, args.port);
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;

        // The FIFO goes in a private directory (mode 0700), not at a fixed name such as the slides'
        // /tmp/myfifo, which another user could take or plant, or a killed run leave behind (then
        // every later start fails with EEXIST).
        let dir = TempDir::new("udpserv_fifoecho")?;
        let path = dir.path().join("echo.fifo");
        // Made and registered at once: unlinked on return, on error, and on SIGINT/SIGTERM.
        let _fifo = OwnedPath::create(&path, |path| {
            mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
        })?;
        println!("parent: mkfifo({}, 0600): the FIFO between parent and child", path.display());

        // Neither process opens the FIFO before fork(). open() of a FIFO blocks until the other end
        // is opened too; the kernel only joins a reader to a writer, so no data is ever written that
        // nobody could read. Had the parent opened it for writing before fork(), it would wait for a
        // reader that could never come: the child that would read is only made after the open
        // returns. So: fork first, then each process opens its own end by name.
        // (With two FIFOs, one each way, the same trap has a second form: if both processes first
        // open the FIFO the other opens second, each waits for the other forever. Open them in the
        // same order in both, or open one end with O_NONBLOCK.)
        let child = fork_child(|| child_start(&socket, &path))?;
        // Runs until a signal ends us (the handler reaps the child) or an error returns, in which
        // case dropping `child` SIGTERMs and reaps it, then the FIFO and its directory go.
        let result = parent_start(&socket, &path);
        drop(child);
        result
        // ANCHOR_END: setup
    })
}

// ANCHOR: parent
/// Open the FIFO for writing, then pass each datagram with its sender's address to the child.
fn parent_start(socket: &UdpSocket, path: &Path) -> Result<()> {
    // Blocks until the child has opened the FIFO for reading. (Were the child to die before its
    // open, this one would wait for ever: Ctrl-C still ends the server and cleans up. `fifo`, the
    // demo, shows a way out: a stand-in reader.)
    let fifo =
        open(path, OFlag::O_WRONLY, Mode::empty()).call(format!("open({}, O_WRONLY)", path.display()))?;
    println!("parent: open({}, O_WRONLY) returned: the child has the read end", path.display());
    println!("parent: listening on {}", socket.local_addr().call("getsockname()")?);

    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let (len, client) = socket.recv_from(&mut buf).call("recvfrom()")?;
        // A record carries at most MAX_DATA bytes: we refuse a larger datagram rather than echo a
        // cut-down copy, which the client would take for corruption. To it, this looks like a loss.
        if len > MAX_DATA {
            eprintln!(
                "udpserv_fifoecho: refused a {len}-byte datagram from {client}: a record carries at most {MAX_DATA} bytes; not echoed"
            );
            continue;
        }
        let record = EchoRecord { client, data: buf[..len].to_vec() }.encode()?;
        // ONE write() per record of at most RECORD_MAX <= PIPE_BUF bytes: a FIFO is a pipe, and such
        // a write is atomic: the whole record lands at once, contiguously, or the writer waits until
        // it fits. So the child always finds a header followed by exactly the data it announces,
        // and records of several writers (any process may open a FIFO) could never interleave.
        // If the child has died, nobody has the FIFO open for reading: write() raises SIGPIPE,
        // which in C silently kills the server. Rust ignores SIGPIPE, so we get EPIPE, report it
        // and exit, and the clean-up runs.
        let written = nix::unistd::write(&fifo, &record).call(format!("write({})", path.display()))?;
        if written != record.len() {
            return Err(Error::other(format!(
                "write({}): wrote {written} of {} bytes: a write of at most PIPE_BUF bytes should be atomic",
                path.display(),
                record.len()
            )));
        }
    }
}
// ANCHOR_END: parent

// ANCHOR: child
/// Open the FIFO for reading, then send each record's data back to the client it came from.
fn child_start(socket: &UdpSocket, path: &Path) -> Result<()> {
    // Printed before the open: the parent prints only after its own open returns, which cannot
    // happen before we call ours, so the start-up lines always come in this order.
    println!(
        "child: pid {} opens {} for reading (blocks until the parent opens it for writing)",
        std::process::id(),
        path.display()
    );
    let mut fifo = File::from(
        open(path, OFlag::O_RDONLY, Mode::empty()).call(format!("open({}, O_RDONLY)", path.display()))?,
    );
    // A FIFO is a byte stream with no message boundaries: read_from reads a record's header, then
    // exactly the data it announces.
    let what = path.display().to_string();
    while let Some(record) = EchoRecord::read_from(&mut fifo, &what)? {
        // The child sends on the socket it inherited, so the echo comes from the address the client
        // sent to. Printed before sending, so the line is out before the client sees its echo.
        println!("child: echoing {} bytes to {}", record.data.len(), record.client);
        if let Err(err) =
            socket.send_to(&record.data, record.client).call(format!("sendto({})", record.client))
        {
            // One unreachable client must not stop the echoes to everyone else.
            eprintln!("udpserv_fifoecho (child): {err}");
        }
    }
    // The last writer (the parent) has closed the FIFO: it is gone, so we end too.
    println!("child: read() returned 0: end of file, the parent is gone");
    Ok(())
}
// ANCHOR_END: child
