//! `udpserv_pipeecho`: the slides' UDP echo server built from two processes joined by a pipe.
//!
//! The parent `recvfrom()`s each datagram and writes one record — the client's address and the
//! data — into the pipe. The child reads records from the pipe and `sendto()`s each data back to its
//! client. The client's address must travel with the data: UDP has no connection, so the child
//! would otherwise not know where to send the echo.
//!
//! ```text
//!  client ──datagram──▶ parent: recvfrom() ──record──▶ pipe ──▶ child: read() ──▶ sendto() ──▶ client
//! ```

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use clap::Parser;
use shared::echo::{EchoRecord, MAX_DATA};
use shared::process::{Fork, exit_child, fork};
use shared::{CallContext, Error, Result};

/// A two-process UDP echo server: the parent receives, a pipe carries the records, the child echoes.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  udpserv_pipeecho 9999              serve on 127.0.0.1:9999 until Ctrl-C\n  udpserv_pipeecho 0                 let the kernel choose a free port (printed)\n  udpserv_pipeecho 9999 --bind ::1   serve on IPv6 loopback\n\nThen, in another terminal:  udpechocli 127.0.0.1 9999\n\nA datagram of more than 4000 bytes gets no echo: it is refused with a line on stderr."
)]
struct Args {
    /// UDP port to serve on (0: any free port; the real one is printed).
    port: u16,
    /// Address to bind to.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
}

/// The largest UDP payload (65,507 bytes over IPv4) fits, so `recvfrom()` never truncates and we
/// always learn a datagram's true size.
const RECV_BUF: usize = 65_536;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill` ends both processes with status 0: the handler (installed before the fork,
        // so the child inherits it) SIGTERMs and reaps the registered child, then exits.
        shared::cleanup::exit_on_signal(0);

        // ANCHOR: setup
        let address = SocketAddr::new(args.bind, args.port);
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;
        let address = socket.local_addr().call("getsockname()")?;
        println!("parent: listening on {address} (socket fd {})", socket.as_raw_fd());

        // EXERCISE(udpserv_pipeecho): pipe() before fork(); each side drops the end it does not use
        // The pipe must exist before fork(): the child can only use descriptors it inherits.
        let (read_end, write_end) = nix::unistd::pipe().call("pipe()")?;
        println!(
            "parent: pipe() gave fd[0]={} (the child reads records) and fd[1]={} (the parent writes them)",
            read_end.as_raw_fd(),
            write_end.as_raw_fd()
        );

        match fork()? {
            Fork::Child => {
                drop(write_end); // so that read() sees end of file once the parent is gone
                let code = match child_start(&socket, read_end) {
                    Ok(()) => 0,
                    Err(err) => {
                        eprintln!("udpserv_pipeecho (child): {err}");
                        1
                    }
                };
                exit_child(code)
            }
            Fork::Parent { child } => {
                drop(read_end);
                // Runs until a signal ends us (the handler reaps the child) or an error returns, in
                // which case dropping `child` SIGTERMs and reaps it.
                let result = parent_start(&socket, write_end);
                drop(child);
                result
            }
        }
        // END EXERCISE
        // ANCHOR_END: setup
    })
}

// ANCHOR: parent
/// Receive datagrams and pass each one, with its sender's address, to the child as one record.
fn parent_start(socket: &UdpSocket, write_end: OwnedFd) -> Result<()> {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let (len, client) = socket.recv_from(&mut buf).call("recvfrom()")?;

        // A record carries at most MAX_DATA bytes (see below), so a larger datagram cannot be
        // echoed whole. We refuse it rather than echo a truncated copy: an echo that differs from
        // what was sent would look like corruption to the client. (The C original passes a
        // `max_bufsz` buffer to recvfrom(), which silently cuts the datagram short.) The client
        // sees no reply, as if the datagram were lost, which UDP clients must handle anyway.
        if len > MAX_DATA {
            eprintln!(
                "udpserv_pipeecho: refused a {len}-byte datagram from {client}: a pipe record carries at most {MAX_DATA} bytes; not echoed"
            );
            continue;
        }

        let record = EchoRecord { client, data: buf[..len].to_vec() }.encode()?;
        // ONE write() per record, and the record is at most RECORD_MAX <= PIPE_BUF (4096) bytes.
        // POSIX makes a pipe write of up to PIPE_BUF bytes atomic: all of it lands in the pipe at
        // once, contiguously, or (when the pipe is full) the writer blocks until it all fits. So:
        // - the child never sees half a record: it can read a header, then exactly the data that
        //   header announces, and the next byte is the next record's header;
        // - if several processes wrote to this pipe (as the FIFO server's writers may), their
        //   records could not interleave.
        // A write larger than PIPE_BUF has neither guarantee: the kernel may copy it in pieces,
        // another writer's bytes can land between the pieces, and a signal can cut it short (write
        // returns the count so far). The reader would then take data bytes for a header — a wrong
        // address, a wrong length — and every record after it would be garbage too: a byte stream
        // has no way to find the next record boundary again.
        let written = nix::unistd::write(&write_end, &record).call("write(fd[1])")?;
        if written != record.len() {
            return Err(Error::other(format!(
                "write(fd[1]): wrote {written} of {} bytes: a pipe write of at most PIPE_BUF bytes should be atomic",
                record.len()
            )));
        }
    }
}
// ANCHOR_END: parent

// ANCHOR: child
/// Read records from the pipe and send each data back to the client it came from.
fn child_start(socket: &UdpSocket, read_end: OwnedFd) -> Result<()> {
    println!(
        "child: pid {} reads records from fd[0]={} and echoes them with sendto() on socket fd {}",
        std::process::id(),
        read_end.as_raw_fd(),
        socket.as_raw_fd()
    );
    let mut pipe = File::from(read_end);
    // A pipe is a byte stream with no message boundaries: read_from reads a header, which says how
    // many data bytes follow, then exactly that many. None means end of file: the parent is gone.
    while let Some(record) = EchoRecord::read_from(&mut pipe, "fd[0]")? {
        // The child sends on the socket it inherited, as the C original does. fork() duplicated
        // the descriptor, not the socket: both processes use the one socket bound to our port, so
        // the echo comes *from* the address the client sent to. A client that checks the reply's
        // source (udpechocli does) or that connect()ed its socket would discard an echo sent from
        // a new socket's different port. Sharing is safe because the roles never overlap: only
        // the parent receives, only the child sends.
        //
        // We print before sending, so the line is out before the client can see its echo.
        println!(
            "child: echoing {} bytes to {}: \"{}\"",
            record.data.len(),
            record.client,
            preview(&record.data)
        );
        if let Err(err) =
            socket.send_to(&record.data, record.client).call(format!("sendto({})", record.client))
        {
            // One unreachable client must not stop the echoes to everyone else.
            eprintln!("udpserv_pipeecho (child): {err}");
        }
    }
    println!("child: read() returned 0: end of file, the parent is gone");
    Ok(())
}
// ANCHOR_END: child

/// The first bytes of `data`, printable (binary bytes escaped), for the log line.
fn preview(data: &[u8]) -> String {
    const SHOWN: usize = 24;
    let shown = data[..data.len().min(SHOWN)].escape_ascii().to_string();
    if data.len() > SHOWN { format!("{shown}...") } else { shown }
}
