//! `udpserv_fifoecho`: the pipe echo server of the previous section, with a FIFO in place of the
//! pipe.
//!
//! The parent `recvfrom()`s each datagram and writes one record (the client's address and the data)
//! into the FIFO; the child reads records and `sendto()`s each data back to its client. What changes
//! is how the two reach the channel: a pipe must exist before `fork()`, a FIFO is opened by name.
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
use shared::echo::{EchoRecord, MAX_DATA, RECV_BUF};
use shared::process::fork_child;
use shared::{CallContext, Error, Result};

/// A two-process UDP echo server over a FIFO (slides ch. 8 §8.2, slide 10: udpserv_fifoecho.c,
/// described but not listed).
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

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill`: the handler reaps the child, unlinks the FIFO and its directory, exit 0.
        shared::cleanup::exit_on_signal(0);

        // ANCHOR: setup
        let address = SocketAddr::new(args.bind, args.port);
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;

        // EXERCISE(udpserv_fifoecho): mkfifo in a private directory as an OwnedPath, then fork_child; no open before the fork
        // A private 0700 directory, not a fixed name in /tmp (errata: /tmp/myfifo).
        let dir = TempDir::new("udpserv_fifoecho")?;
        let path = dir.path().join("echo.fifo");
        // Made and registered at once: unlinked on return, on error, and on SIGINT/SIGTERM.
        let _fifo = OwnedPath::create(&path, |path| {
            mkfifo(path, Mode::from_bits_truncate(0o600)).call(format!("mkfifo({}, 0600)", path.display()))
        })?;
        println!("parent: mkfifo({}, 0600): the FIFO between parent and child", path.display());

        // Open only after fork(): open() waits for the other end, and the reader is the child.
        let child = fork_child(|| child_start(&socket, &path))?;
        // On an error, dropping `child` stops and reaps it; then the FIFO and its directory go.
        let result = parent_start(&socket, &path);
        drop(child);
        result
        // END EXERCISE
        // ANCHOR_END: setup
    })
}

// ANCHOR: parent
/// Open the FIFO for writing, then pass each datagram with its sender's address to the child.
fn parent_start(socket: &UdpSocket, path: &Path) -> Result<()> {
    // Waits until the child has opened the read end (Ctrl-C still ends it, should the child die first).
    let fifo =
        open(path, OFlag::O_WRONLY, Mode::empty()).call(format!("open({}, O_WRONLY)", path.display()))?;
    println!("parent: open({}, O_WRONLY) returned: the child has the read end", path.display());
    println!("parent: listening on {}", socket.local_addr().call("getsockname()")?);

    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let (len, client) = socket.recv_from(&mut buf).call("recvfrom()")?;
        // Refused, not cut short: a changed echo would look like corruption (book: udpserv_pipeecho).
        if len > MAX_DATA {
            eprintln!(
                "udpserv_fifoecho: refused a {len}-byte datagram from {client}: a record carries at most {MAX_DATA} bytes; not echoed"
            );
            continue;
        }
        let record = EchoRecord { client, data: buf[..len].to_vec() }.encode()?;
        // ONE write() of at most PIPE_BUF bytes: atomic (shared::echo). With the child gone, EPIPE.
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
    // Printed before the open, which the parent's open waits for: the start-up lines keep one order.
    println!(
        "child: pid {} opens {} for reading (blocks until the parent opens it for writing)",
        std::process::id(),
        path.display()
    );
    let mut fifo = File::from(
        open(path, OFlag::O_RDONLY, Mode::empty()).call(format!("open({}, O_RDONLY)", path.display()))?,
    );
    // A header, then exactly the data it announces; None at end of file.
    let what = path.display().to_string();
    while let Some(record) = EchoRecord::read_from(&mut fifo, &what)? {
        // Printed before sending; the inherited socket: the echo leaves from the port the client used.
        println!("child: echoing {} bytes to {}", record.data.len(), record.client);
        if let Err(err) =
            socket.send_to(&record.data, record.client).call(format!("sendto({})", record.client))
        {
            // One unreachable client must not stop the echoes to everyone else.
            eprintln!("udpserv_fifoecho (child): {err}");
        }
    }
    println!("child: read() returned 0: end of file, the parent is gone");
    Ok(())
}
// ANCHOR_END: child
