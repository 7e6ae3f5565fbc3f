//! `msgq_echoserv`: the slides' UDP echo server on a message queue (slides ch. 8 §8.3, slides
//! 24–26). One process receives every request and puts it on the queue; several `res_send`
//! processes, started by fork + exec, take the requests with `msgrcv()` and answer the clients.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ch10_msgq::{MAX_DATA, MSG_T_MAX, RECV_BUF, REQUEST, Workers, encode_msg_t};
use clap::Parser;
use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, IPC_EXCL, IPC_NOWAIT, Kind, MsqId};
use shared::key::Key;
use shared::msg::{MsgBuf, msgctl_stat, msgget, msgsnd_buf};
use shared::process::{Child, Fork, exit_child, fork, sibling};
use shared::sysvipc::explain_key_error;
use shared::{CallContext, Errno, Error, Result};

/// A UDP echo server: one receiver puts requests on a message queue, reply processes answer them
/// (slides ch. 8 §8.3, slides 24–26: msgq_echoserv.c).
#[derive(Parser)]
#[command(after_help = "Examples:
  msgq_echoserv 12345 9999             queue key 12345, port 9999, three reply processes
  msgq_echoserv 12345 9999 --respawn   replace a reply process that is killed
  udpechocli 127.0.0.1 9999            (another terminal) type lines, see them echoed

A datagram of more than 4000 bytes gets no echo.")]
struct Args {
    /// Key of the message queue to create (decimal or 0x hex).
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// UDP port to serve on (0: any free port; the real one is printed).
    port: u16,
    /// How many reply processes (res_send) to start; 0 starts none (run `res_send` yourself).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=64))]
    workers: u16,
    /// IPv4 address to bind to (a msg_t holds a sockaddr_in).
    #[arg(long, value_name = "ADDR", default_value_t = Ipv4Addr::LOCALHOST)]
    bind: Ipv4Addr,
    /// Start a new reply process whenever one is killed.
    #[arg(long)]
    respawn: bool,
    /// Print no line per request (the reply processes get --quiet too): for load tests.
    #[arg(long)]
    quiet: bool,
}

/// How often the receiver looks up from `recvfrom()` to check on its workers and its queue.
const CHECK_EVERY: Duration = Duration::from_millis(100);

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill`: SIGTERM and reap the workers, remove the queue, exit 0.
        shared::cleanup::exit_on_signal(0);
        println!("Server starting.");

        // ANCHOR: setup
        // IPC_EXCL: we remove the queue when we stop, so it must be ours, not one left over.
        let queue = Owned::create(|| msgget(args.key, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::MessageQueue, args.key, "another KEY"))?;
        println!("message queue id = {} (key {})", queue.id(), args.key);

        let address = SocketAddr::from((args.bind, args.port));
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;
        let address = socket.local_addr().call("getsockname()")?;
        sibling("res_send")?; // fail here, clearly, if the worker binary is missing
        let mut workers = Workers::new(args.respawn);
        for _ in 0..args.workers {
            workers.push(fork_and_exec(&args, &socket)?);
        }
        println!("listening on {address}");
        // ANCHOR_END: setup
        // On an error `workers` drops (SIGTERM, reap), then `queue` (IPC_RMID).
        receive_forever(&args, &socket, queue.id(), &mut workers)
    })
}

// ANCHOR: fork_and_exec
/// The slides' `fork_and_exec`: fork, and in the child exec `res_send KEY PORT`. One step is
/// ours: the child gets our socket as its stdin, so the echo comes from the port the client sent
/// to (`dup2()` clears close-on-exec; book: ch10-msgq-echo).
fn fork_and_exec(args: &Args, socket: &UdpSocket) -> Result<Child> {
    let port = socket.local_addr().call("getsockname()")?.port();
    let mut argv = vec![args.key.to_string(), port.to_string(), "--stdin-socket".into()];
    if args.quiet {
        argv.push("--quiet".into());
    }
    match fork()? {
        Fork::Parent { child } => Ok(child),
        Fork::Child => {
            let err = match nix::unistd::dup2_stdin(socket) {
                Ok(()) => shared::process::exec_sibling("res_send", &argv), // returns only on failure
                Err(errno) => Error::sys("dup2(socket, 0)", errno),
            };
            // The child ends here: the slides' returns into the parent's loop (errata).
            eprintln!("msgq_echoserv (child): {err}");
            exit_child(127)
        }
    }
}
// ANCHOR_END: fork_and_exec

// ANCHOR: receive
/// recvfrom() -> msgsnd(), forever; every CHECK_EVERY, look after the workers and the queue.
fn receive_forever(args: &Args, socket: &UdpSocket, queue: MsqId, workers: &mut Workers) -> Result<()> {
    let mut datagram = vec![0u8; RECV_BUF];
    let mut message = MsgBuf::with_capacity(MSG_T_MAX);
    let mut dropped = 0u64;
    // SO_RCVTIMEO: an idle server still wakes up to notice a dead worker.
    socket.set_read_timeout(Some(CHECK_EVERY)).call("setsockopt(SO_RCVTIMEO)")?;
    let mut last_check = Instant::now();
    loop {
        match socket.recv_from(&mut datagram) {
            // A truncated echo would look like corruption: refuse it, as if lost (errata: msg_text).
            Ok((len, client)) if len > MAX_DATA => {
                println!("refused a {len}-byte datagram from {client}: over {MAX_DATA} bytes; not echoed")
            }
            Ok((len, SocketAddr::V4(client))) => {
                // EXERCISE(msgq_echoserv): fill message with type REQUEST and encode_msg_t of the client and data, msgsnd_buf it with IPC_NOWAIT
                let size = message.fill(REQUEST, &encode_msg_t(client, &datagram[..len]));
                // IPC_NOWAIT: a full queue drops the request instead of stopping the receiver.
                match msgsnd_buf(queue, &message, size, IPC_NOWAIT) {
                    Ok(()) => {}
                    Err(err) if err.errno() == Some(Errno::EAGAIN) => dropped += 1,
                    // EINVAL on a live queue: larger than kernel.msgmax or msg_qbytes.
                    Err(err) if err.errno() == Some(Errno::EINVAL) && msgctl_stat(queue).is_ok() => {
                        println!("refused a {len}-byte datagram from {client}: {err}; not echoed")
                    }
                    Err(err) => return Err(err),
                }
                // END EXERCISE
            }
            Ok((_, SocketAddr::V6(_))) => {} // bound to an IPv4 address: never an IPv6 client
            // SO_RCVTIMEO expired, or a signal interrupted the wait: just check below.
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(err) => return Err(err).call("recvfrom()"),
        }
        if last_check.elapsed() >= CHECK_EVERY {
            if dropped > 0 {
                println!("queue full (msgsnd: EAGAIN): dropped {dropped} requests");
                dropped = 0;
            }
            workers.check(queue, || fork_and_exec(args, socket))?;
            last_check = Instant::now();
        }
    }
}
// ANCHOR_END: receive
