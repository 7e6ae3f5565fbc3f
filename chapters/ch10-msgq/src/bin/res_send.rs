//! `res_send`: the slides' RES_SEND_PROC, a reply process of `msgq_echoserv` (slides ch. 8 §8.3,
//! slides 24 and 26 name it; its code is not shown: this one is ours). It waits on the server's
//! queue; each message holds a client's address and the data, which it sends back to that client.
//! Several wait on one queue and nothing coordinates them: the kernel gives each message to exactly
//! one waiting `msgrcv()`, in the order they started waiting (book: ch10-msgq-echo).

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsFd;

use ch10_msgq::{MSG_T_MAX, REQUEST, decode_msg_t};
use clap::Parser;
use nix::sys::socket::{SockType, getsockopt, sockopt};
use shared::key::Key;
use shared::msg::{MSG_NOERROR, MsgBuf, msgget, msgrcv_buf};
use shared::out::in_colour_of;
use shared::process::Signal;
use shared::{CallContext, Errno, Error, Result};

/// Answer the echo requests that msgq_echoserv puts on its message queue (slides ch. 8 §8.3,
/// slides 24, 26: res_send.c, named but not listed; ours).
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
        // msg_t after a C `long` msg_type: 8 bytes on 64-bit Linux (errata: the slides say 4).
        let mut message = MsgBuf::with_capacity(MSG_T_MAX);
        loop {
            // EXERCISE(msgq_echoserv): msgrcv_buf of type REQUEST (MSG_NOERROR), decode_msg_t, print the line, send_to the client in the message
            // MSG_NOERROR: a stray long message is cut and skipped, not left at the head (E2BIG).
            let len = match msgrcv_buf(queue, &mut message, REQUEST, MSG_NOERROR) {
                Ok(len) => len,
                // msgrcv() is never restarted after a signal handler (`man 7 signal`).
                Err(err) if err.errno() == Some(Errno::EINTR) => continue,
                // The queue was removed while we waited (EIDRM) or before (EINVAL): work done.
                Err(err) if matches!(err.errno(), Some(Errno::EIDRM | Errno::EINVAL)) => return Ok(()),
                Err(err) => return Err(err),
            };
            let (client, data) = match decode_msg_t(&message.text()[..len]) {
                Ok(request) => request,
                Err(err) => {
                    eprintln!("res_send: skipped a {len}-byte message that is not an echo request: {err}");
                    continue;
                }
            };
            // Print first, then reply: once a client has its echo, the line is already written.
            if !args.quiet {
                let line = format!("reply process PID = {pid} {}", printable(data));
                println!("{}", in_colour_of(pid, &line));
            }
            // One client's failure (a vanished host, say) is not the next client's: report, go on.
            if let Err(err) = socket.send_to(data, client).call(format!("sendto({client})")) {
                eprintln!("res_send: {err}");
            }
            // END EXERCISE
        }
        // ANCHOR_END: reply_loop
    })
}

// ANCHOR: stdin_socket
/// The server's socket, which msgq_echoserv made our standard input before exec'ing us.
fn socket_on_stdin(port: u16) -> Result<UdpSocket> {
    // If the server dies, even by SIGKILL, the kernel sends us SIGTERM: no worker waits for ever.
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

/// A worker given only KEY and PORT must make a socket of its own, on a port the kernel picks.
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
