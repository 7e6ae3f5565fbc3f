//! `res_send`: the slides' RES_SEND_PROC, a reply process of `msgq_echoserv`. It waits on the
//! server's message queue; each message holds a client's address and the data to echo, and the
//! reply process sends the data back to that client.
//!
//! Several run at once on one queue and nothing coordinates them: the kernel gives each message to
//! exactly one waiting `msgrcv()`, in the order the receivers started waiting (a FIFO list of
//! waiters in `ipc/msg.c`; a worker that has just replied joins its tail). That is why a quiet run
//! shows the requests answered by the workers in turn. (The slides credit the CPU scheduler, which
//! plays no part. Under load, when no worker is waiting, a message waits on the queue and goes to
//! whichever worker asks first, so the turns are no longer strict.)

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsFd;

use clap::Parser;
use nix::sys::socket::{SockType, getsockopt, sockopt};
use shared::echo::{EchoRecord, RECORD_MAX};
use shared::key::Key;
use shared::msg::{MSG_NOERROR, MsgBuf, msgget, msgrcv_buf};
use shared::out::in_colour_of;
use shared::process::Signal;
use shared::{CallContext, Errno, Error, Result};

/// Answer the echo requests that msgq_echoserv puts on its message queue.
#[derive(Parser)]
#[command(
    after_help = "msgq_echoserv starts its reply processes itself (as `res_send KEY PORT --stdin-socket`).
Run some by hand to watch them share a queue:
  msgq_echoserv 12345 9999 --workers 0     terminal 1: a server with no reply process
  res_send 12345 9999                      terminals 2, 3, ...: each takes requests in turn
Started by hand, res_send replies from a socket of its own (it cannot have the server's), so the
echoes come from another port: udp_load and udpechocli, which accept echoes only from the
server's address, ignore them. A client that accepts any sender sees them."
)]
struct Args {
    /// Key of the server's message queue (decimal or 0x hex).
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// The server's UDP port.
    port: u16,
    /// Reply on the socket that is our standard input: the server's own socket, which
    /// msgq_echoserv hands us this way so echoes come from the port clients sent to.
    #[arg(long)]
    stdin_socket: bool,
    /// Print no line per request: for load tests.
    #[arg(long)]
    quiet: bool,
}

/// The message type msgq_echoserv gives every request.
const REQUEST: libc::c_long = 1;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let socket = if args.stdin_socket { socket_on_stdin(args.port)? } else { own_socket(args.port)? };
        // ANCHOR: reply_loop
        // The queue must exist already (flags 0: no IPC_CREAT): the server makes it. If the server
        // started us and the queue is already gone, the server is stopping: nothing to do.
        let queue = match msgget(args.key, 0) {
            Err(err) if args.stdin_socket && err.errno() == Some(Errno::ENOENT) => return Ok(()),
            queue => queue?,
        };
        let pid = std::process::id();
        // The record after a `long` mtype: 8 bytes on 64-bit Linux, not the "first 4 bytes" the
        // slides promise, which is why MsgBuf lays the message out with C's own `long`.
        let mut message = MsgBuf::with_capacity(RECORD_MAX);
        loop {
            // Wait for a request. MSG_NOERROR: a message too long for a record (someone else's,
            // sent with qsend) is cut short and then skipped below; without it, msgrcv() would
            // fail with E2BIG and leave it at the head of the queue, and we would spin on it.
            let len = match msgrcv_buf(queue, &mut message, REQUEST, MSG_NOERROR) {
                Ok(len) => len,
                // msgrcv() is never restarted after a signal handler, SA_RESTART or not
                // (`man 7 signal`): a C worker that treats EINTR as fatal dies of any signal it
                // catches.
                Err(err) if err.errno() == Some(Errno::EINTR) => continue,
                // The queue was removed (the server is stopping, or `ipcrm`): our work is done.
                // EIDRM if it went while we waited, EINVAL if it was already gone.
                Err(err) if matches!(err.errno(), Some(Errno::EIDRM | Errno::EINVAL)) => return Ok(()),
                Err(err) => return Err(err),
            };
            let record = match EchoRecord::decode(&message.text()[..len]) {
                Ok(record) => record,
                Err(err) => {
                    eprintln!("res_send: skipped a {len}-byte message that is not an echo request: {err}");
                    continue;
                }
            };
            // Print first, then reply: once a client has its echo, the line is already written.
            if !args.quiet {
                let line = format!("reply process PID = {pid} {}", printable(&record.data));
                println!("{}", in_colour_of(pid, &line));
            }
            // One client's failure (a vanished host, say) is not the next client's: report, go on.
            if let Err(err) =
                socket.send_to(&record.data, record.client).call(format!("sendto({})", record.client))
            {
                eprintln!("res_send: {err}");
            }
        }
        // ANCHOR_END: reply_loop
    })
}

// ANCHOR: stdin_socket
/// The server's socket, which msgq_echoserv made our standard input before exec'ing us.
fn socket_on_stdin(port: u16) -> Result<UdpSocket> {
    // If the server dies, even by SIGKILL, the kernel sends us SIGTERM, so no worker is left
    // waiting on a queue nobody feeds. (Had the server died between its fork() and this call, we
    // would already belong to init and get no signal: a window of microseconds.)
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).call("prctl(PR_SET_PDEATHSIG)")?;
    let not_a_socket = |err: Error| {
        Error::other(format!(
            "{err}: standard input is not the server's UDP socket (--stdin-socket is for msgq_echoserv, which starts us that way)"
        ))
    };
    let kind = getsockopt(&std::io::stdin(), sockopt::SockType)
        .call("getsockopt(0, SO_TYPE)")
        .map_err(not_a_socket)?;
    if kind != SockType::Datagram {
        return Err(not_a_socket(Error::other(format!("getsockopt(0, SO_TYPE): {kind:?}"))));
    }
    // A descriptor of our own for the same socket (std wants to own what it closes).
    let socket = UdpSocket::from(std::io::stdin().as_fd().try_clone_to_owned().call("dup(0)")?);
    let local = socket.local_addr().call("getsockname(0)")?;
    if local.port() != port {
        return Err(Error::other(format!("standard input is a socket on {local}, not on port {port}")));
    }
    Ok(socket)
}
// ANCHOR_END: stdin_socket

/// The C original's way: a socket of our own, on a port the kernel picks.
fn own_socket(port: u16) -> Result<UdpSocket> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).call("bind(0.0.0.0:0)")?;
    let local = socket.local_addr().call("getsockname()")?;
    println!(
        "reply process PID = {}: replying from port {}, not {port}: a client that checks who answers \
         (udpechocli) or that connect()ed ignores these echoes",
        std::process::id(),
        local.port()
    );
    Ok(socket)
}

/// The data as one line of text: invalid UTF-8 replaced, a trailing newline dropped, control
/// characters escaped, so a worker's output stays one line per request.
fn printable(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let text = text.trim_end_matches(['\n', '\r']);
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }).collect()
}
