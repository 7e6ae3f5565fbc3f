//! `msgq_echoserv`: the slides' UDP echo server built on a message queue (their REQ_RECV_PROC).
//!
//! One process receives every request and puts it on a System V message queue; several `res_send`
//! processes (RES_SEND_PROC), started with fork + exec, wait on that one queue and answer the
//! clients. The kernel gives each message to exactly one waiting receiver, so the workers share the
//! work without any locking of their own.
//!
//! ```text
//!                                                      ┌─▶ res_send ─┐
//!  client ─▶ recvfrom() ─▶ msgsnd(type 1) ─▶ queue ─┼─▶ res_send ─┼─▶ sendto() ─▶ client
//!                                                      └─▶ res_send ─┘
//! ```
//!
//! A real server must also survive its workers: this one notices a worker that dies (even by
//! SIGKILL), reports it and, with `--respawn`, replaces it; it never blocks on a full queue; and
//! Ctrl-C or `kill` stops the workers and removes the queue.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use clap::Parser;
use shared::cleanup::Owned;
use shared::echo::{EchoRecord, MAX_DATA, RECORD_MAX};
use shared::ipc::{IPC_CREAT, IPC_EXCL, IPC_NOWAIT, Kind, MsqId};
use shared::key::Key;
use shared::msg::{MsgBuf, msgctl_stat, msgget, msgsnd_buf};
use shared::process::{Child, ExitStatus, Fork, exit_child, fork, sibling};
use shared::sysvipc::explain_key_error;
use shared::{CallContext, Errno, Error, Result};

/// A UDP echo server: one receiver puts requests on a message queue, reply processes answer them.
#[derive(Parser)]
#[command(after_help = "Examples:
  msgq_echoserv 12345 9999             queue key 12345, port 9999, three reply processes
  msgq_echoserv 0x3039 0 --workers 5   any free port (printed), five reply processes
  msgq_echoserv 12345 9999 --respawn   replace a reply process that is killed

Then, in another terminal:
  udpechocli 127.0.0.1 9999                              type lines, see them echoed
  udp_load 127.0.0.1 9999 --clients 4 --count 10000      a load test

A datagram of more than 4000 bytes gets no echo (a message carries one record of at most 4000
bytes), nor does one whose message is larger than the queue can take (kernel.msgmax, the
queue's msg_qbytes); each is refused with a line, and the server goes on. When the queue is
full, requests are dropped and counted (a line every 0.1 s): UDP clients resend.")]
struct Args {
    /// Key of the message queue to create (decimal or 0x hex).
    #[arg(value_parser = shared::cli::shared_key)]
    key: Key,
    /// UDP port to serve on (0: any free port; the real one is printed).
    port: u16,
    /// How many reply processes (res_send) to start; 0 starts none (run `res_send` yourself).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u16).range(0..=64))]
    workers: u16,
    /// Address to bind to.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Start a new reply process whenever one dies.
    #[arg(long)]
    respawn: bool,
    /// Print no line per request (the reply processes get --quiet too): for load tests.
    #[arg(long)]
    quiet: bool,
}

/// Every request goes on the queue as a message of this type; `res_send` asks for this type.
const REQUEST: libc::c_long = 1;
/// How often the receiver looks up from `recvfrom()` to check on its workers and its queue.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// Room for the largest UDP payload, so `recvfrom()` never truncates and we learn a datagram's size.
const RECV_BUF: usize = 65_536;

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Ctrl-C or `kill` is how a server is meant to stop: the handler SIGTERMs and reaps every
        // registered worker, removes the queue, and exits 0. (The slides' server never removes
        // its queue: after ^C it stays in `ipcs`, and after `kill` its workers wait on it forever.)
        shared::cleanup::exit_on_signal(0);
        println!("Server starting.");

        // ANCHOR: setup
        // IPC_EXCL: we remove the queue when we stop, so it must be ours, not one left over.
        let queue = Owned::create(|| msgget(args.key, IPC_CREAT | IPC_EXCL | 0o600))
            .map_err(|err| explain_key_error(err, Kind::MessageQueue, args.key, "another KEY"))?;
        println!("message queue id = {} (key {})", queue.id(), args.key);

        let address = SocketAddr::new(args.bind, args.port);
        let socket = UdpSocket::bind(address).call(format!("bind({address})"))?;
        let address = socket.local_addr().call("getsockname()")?;

        let mut server =
            Server { args, socket, port: address.port(), queue: queue.id(), workers: Vec::new() };
        sibling("res_send")?; // fail here, clearly, if the worker binary is missing
        for _ in 0..server.args.workers {
            let worker = server.fork_and_exec()?;
            println!("started reply process PID = {}", worker.pid());
            server.workers.push(worker);
        }
        println!("listening on {address}");
        // ANCHOR_END: setup

        // Runs until a signal ends us (the handler cleans up) or an error returns; then `server`
        // drops first (its workers are SIGTERMed and reaped), then `queue` (IPC_RMID).
        server.receive_forever()
    })
}

struct Server {
    args: Args,
    socket: UdpSocket,
    /// The port we listen on (the real one, when the user asked for port 0).
    port: u16,
    queue: MsqId,
    workers: Vec<Child>,
}

impl Server {
    // ANCHOR: fork_and_exec
    /// The slides' `fork_and_exec`: fork, and in the child exec `res_send KEY PORT`, with one step
    /// added. The C `res_send` makes a socket of its own and replies from it, so the echo comes from
    /// a new port, not the one the client sent to; a client that `connect()`ed (and `udpechocli`,
    /// which checks the sender) drops such a reply. So the child makes our bound socket its stdin
    /// before exec, as `inetd` hands a UDP socket to the servers it starts: `dup2()` makes fd 0 a
    /// copy without close-on-exec (Rust opens sockets with it), so it survives the exec while every
    /// other descriptor of ours is closed. `res_send --stdin-socket` then replies from our port.
    /// Only this process ever receives on the socket; the workers only send, and a `sendto()` is
    /// one datagram, whole, whichever process makes it.
    fn fork_and_exec(&self) -> Result<Child> {
        let mut args = vec![self.args.key.to_string(), self.port.to_string(), "--stdin-socket".into()];
        if self.args.quiet {
            args.push("--quiet".into());
        }
        match fork()? {
            Fork::Parent { child } => Ok(child),
            Fork::Child => {
                let err = match nix::unistd::dup2_stdin(&self.socket) {
                    Ok(()) => shared::process::exec_sibling("res_send", &args), // returns only on failure
                    Err(errno) => Error::sys("dup2(socket, 0)", errno),
                };
                // The slides' child only calls perror() after a failed execlp() and then returns
                // into the parent's loop: a second "server" would run. A child must end here.
                eprintln!("msgq_echoserv (child): {err}");
                exit_child(127)
            }
        }
    }
    // ANCHOR_END: fork_and_exec

    // ANCHOR: receive
    /// recvfrom() -> msgsnd(), forever; every CHECK_EVERY, look after the workers and the queue.
    fn receive_forever(&mut self) -> Result<()> {
        let mut datagram = vec![0u8; RECV_BUF];
        let mut message = MsgBuf::with_capacity(RECORD_MAX);
        let mut dropped = 0u64;
        // A timeout on recvfrom() (SO_RCVTIMEO), so an idle server still wakes up to notice a
        // dead worker instead of blocking until the next client comes.
        self.socket.set_read_timeout(Some(CHECK_EVERY)).call("setsockopt(SO_RCVTIMEO)")?;
        let mut last_check = Instant::now();
        loop {
            match self.socket.recv_from(&mut datagram) {
                Ok((len, client)) if len > MAX_DATA => {
                    // A message holds one record of at most MAX_DATA bytes. Echoing a truncated
                    // copy would look like corruption to the client, so we refuse it: no reply,
                    // as if the datagram were lost, which a UDP client must handle anyway. (The
                    // slides' recvfrom() into msg_text[MAX_BUFSZ] silently truncates, and their
                    // `msg_text[nbytes] = 0` then writes one byte past the array when nbytes ==
                    // MAX_BUFSZ. A record carries its length, so we need no terminating NUL.)
                    println!(
                        "refused a {len}-byte datagram from {client}: a message carries at most {MAX_DATA} bytes; not echoed"
                    );
                }
                Ok((len, client)) => {
                    let record = EchoRecord { client, data: datagram[..len].to_vec() }.encode()?;
                    let size = message.fill(REQUEST, &record);
                    // (In the slides a `}` closes the while loop just before msgsnd(), which is
                    // therefore never reached.) IPC_NOWAIT: when the queue is full (msg_qbytes,
                    // 16384 bytes by default) we drop the request instead of blocking. A blocked msgsnd() would stop us
                    // receiving, checking on workers, everything, for as long as the queue stays
                    // full, forever if every worker is dead or stopped. Dropping a datagram is what
                    // a full socket buffer does too; UDP clients resend.
                    match msgsnd_buf(self.queue, &message, size, IPC_NOWAIT) {
                        Ok(()) => {}
                        Err(err) if err.errno() == Some(Errno::EAGAIN) => dropped += 1,
                        // EINVAL on a queue that still exists: the message is larger than this
                        // system's msgmax or the queue's msg_qbytes. Refused, as an oversized one.
                        Err(err) if err.errno() == Some(Errno::EINVAL) && msgctl_stat(self.queue).is_ok() => {
                            println!(
                                "refused a {len}-byte datagram from {client}: {err}: the queue cannot carry a \
                                 {size}-byte message (kernel.msgmax, msg_qbytes); not echoed"
                            )
                        }
                        Err(err) => return Err(err),
                    }
                }
                // SO_RCVTIMEO expired (EAGAIN), or a signal interrupted the wait: just check below.
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(err) => return Err(err).call("recvfrom()"),
            }
            if last_check.elapsed() >= CHECK_EVERY {
                if dropped > 0 {
                    println!("queue full (msgsnd: EAGAIN): dropped {dropped} requests");
                    dropped = 0;
                }
                self.check_workers()?;
                last_check = Instant::now();
            }
        }
    }
    // ANCHOR_END: receive

    // ANCHOR: check_workers
    /// Reap the workers that have ended, say how each ended, and replace the killed ones with
    /// `--respawn`.
    fn check_workers(&mut self) -> Result<()> {
        // If someone removed our queue (`ipcrm`), the workers have exited quietly and every
        // msgsnd() would fail: stop, naming the call that shows it.
        msgctl_stat(self.queue)
            .map_err(|err| Error::other(format!("{err}: our message queue was removed; stopping")))?;
        let mut index = 0;
        while index < self.workers.len() {
            let Some(status) = self.workers[index].try_wait()? else {
                index += 1;
                continue;
            };
            // (The slides' parent forgets its children's pids, so it can neither reap one that
            // dies, which stays a zombie, nor notice that it is gone.)
            let dead = self.workers.remove(index).pid();
            // Not one request on the queue is lost with it: msgrcv() takes a message off the queue
            // and copies it out in one step, under the queue's lock. A worker killed while waiting
            // had taken nothing; only a request it had already received and not yet answered dies
            // with it, and that one is no longer on the queue but in the worker's memory.
            println!("reply process {dead} {status}; {} left", self.workers.len());
            // Respawn only a worker that was killed. One that exited by itself met an error (it
            // printed it); a new one would meet it again, ten times a second.
            if self.args.respawn && matches!(status, ExitStatus::Killed(_)) {
                let worker = self.fork_and_exec()?;
                println!("started reply process PID = {} (replacing {dead})", worker.pid());
                self.workers.insert(index, worker);
                index += 1;
            } else if self.workers.is_empty() {
                println!("no reply process left: requests wait on the queue until it is full");
            }
        }
        Ok(())
    }
    // ANCHOR_END: check_workers
}
