//! `udpserv_pipeecho`: the slides' UDP echo server built from two processes joined by a pipe.
//!
//! The parent (`parent_start`) `recvfrom()`s each datagram and writes one record — the client's
//! address and the data — into the pipe; the child (`child_start`) reads records and `sendto()`s
//! each data back to its client. UDP has no connection, so the address must travel with the data.
//!
//! ```text
//!  client ──datagram──▶ parent: recvfrom() ──record──▶ pipe ──▶ child: read() ──▶ sendto() ──▶ client
//! ```

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;

use clap::Parser;
use shared::echo::{EchoRecord, MAX_DATA, RECV_BUF};
use shared::process::{Fork, exit_child_with, fork};
use shared::{CallContext, Error, Result};

/// A two-process UDP echo server over a pipe (slides ch. 8 §8.1, slide 7: udpserv_pipeecho.c,
/// described but not listed).
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

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill`: the handler (inherited by the child) stops and reaps the child, exit 0.
        shared::cleanup::exit_on_signal(0);

        // ANCHOR: setup
        let address = SocketAddr::new(args.bind, args.port);
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;
        let address = socket.local_addr().call("getsockname()")?;
        println!("parent: listening on {address}");

        // EXERCISE(udpserv_pipeecho): pipe() before fork(); each side drops the end it does not use
        // The pipe must exist before fork(): the child can only use descriptors it inherits.
        let (read_end, write_end) = nix::unistd::pipe().call("pipe()")?;
        println!("parent: pipe() gave fd[0] (the child reads records) and fd[1] (the parent writes them)");
        match fork()? {
            Fork::Child => {
                drop(write_end); // so that read() sees end of file once the parent is gone
                exit_child_with(child_start(&socket, read_end))
            }
            Fork::Parent { child } => {
                drop(read_end);
                // Should parent_start return an error, dropping `child` stops and reaps it.
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
        // Refused, not cut short: a changed echo would look like corruption (book: udpserv_pipeecho).
        if len > MAX_DATA {
            eprintln!(
                "udpserv_pipeecho: refused a {len}-byte datagram from {client}: a pipe record carries at most {MAX_DATA} bytes; not echoed"
            );
            continue;
        }
        let record = EchoRecord { client, data: buf[..len].to_vec() }.encode()?;
        // ONE write() of at most PIPE_BUF bytes: atomic, never split (see shared::echo, and the book).
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
    println!("child: pid {} reads records from fd[0] and echoes them with sendto()", std::process::id());
    let mut pipe = File::from(read_end);
    // A header says how many data bytes follow; None means end of file: the parent is gone.
    while let Some(record) = EchoRecord::read_from(&mut pipe, "fd[0]")? {
        // Printed before sending, so the line is out before the client can see its echo.
        println!(
            "child: echoing {} bytes to {}: \"{}\"",
            record.data.len(),
            record.client,
            preview(&record.data)
        );
        // The inherited socket: the echo leaves from the port the client sent to.
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
