//! `udp_load`: a load generator for the workbook's UDP echo servers. K clients, each a thread with
//! its own socket, send M datagrams in all, each client waiting for one echo before sending the
//! next; every echo is checked byte for byte, and the run ends with the throughput and the latency
//! percentiles (p50, p90, p99, max).
//!
//! Each client `connect()`s its socket to the server, so the kernel delivers it only datagrams from
//! the server's address: an echo sent from any other port (as a reply process with a socket of its
//! own would send it) never arrives, and shows up here as lost.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use ch10_msgq::load::{TAG_LEN, Tally, payload, report};
use clap::Parser;
use shared::{CallContext, Result};

/// Load-test a UDP echo server: many clients, every echo checked, throughput and latency.
#[derive(Parser)]
#[command(after_help = "Examples:
  udp_load 127.0.0.1 9999                                   4 clients, 1000 datagrams of 64 bytes
  udp_load 127.0.0.1 9999 --clients 8 --count 100000        a longer run
  udp_load localhost 9999 --size 4000 --warmup 100          big datagrams, after a warm-up")]
struct Args {
    /// The server's host name or address.
    host: String,
    /// The server's UDP port.
    port: u16,
    /// How many clients send at once (threads, one socket each).
    #[arg(long, value_name = "K", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    clients: u16,
    /// How many datagrams to send in all, shared among the clients.
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
    /// Bytes per datagram (it starts with a client:sequence tag, so at least 16).
    #[arg(long, value_name = "B", default_value_t = 64, value_parser = clap::value_parser!(u32).range(16..=65_507))]
    size: u32,
    /// Echoes each client exchanges first, untimed, so the run measures a warmed-up server.
    #[arg(long, value_name = "N", default_value_t = 0)]
    warmup: u64,
    /// How long to wait for an echo before sending the datagram again.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// How many times to resend a datagram whose echo does not come before giving it up as lost.
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: u32,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let server = shared::echo::resolve_server(&args.host, args.port)?;
        // No more clients than datagrams: a client with nothing to send would only skew the count.
        let clients = u64::from(args.clients).min(args.count);

        // Every client is ready (socket bound and connected) before the clock starts.
        let start_line = Barrier::new(clients as usize + 1);
        let (tallies, elapsed) = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..clients)
                .map(|id| {
                    // The first `count % clients` clients send one datagram more.
                    let count = args.count / clients + u64::from(id < args.count % clients);
                    let (args, start_line) = (&args, &start_line);
                    scope.spawn(move || run_client(args, server, id, count, start_line))
                })
                .collect();
            start_line.wait();
            let start = Instant::now();
            let tallies: Result<Vec<Tally>> =
                threads.into_iter().map(|thread| thread.join().expect("a client thread panicked")).collect();
            (tallies, start.elapsed())
        });
        report(args.count, args.size, server, clients, &tallies?, elapsed)
    })
}

/// One client: `count` datagrams, one at a time, each checked against its echo.
fn run_client(args: &Args, server: SocketAddr, id: u64, count: u64, start_line: &Barrier) -> Result<Tally> {
    // If setting up fails, still reach the start line, or main would wait there forever.
    let socket = connect(server, args.timeout_ms);
    start_line.wait();
    let socket = socket?;
    let mut buf = vec![0u8; ch10_msgq::RECV_BUF];
    let mut warmup = Tally::default();
    for seq in 0..args.warmup {
        echo_one(&socket, args, &payload(id, seq, args.size), &mut buf, &mut warmup)?;
    }
    let mut tally = Tally::default();
    for seq in args.warmup..args.warmup + count {
        echo_one(&socket, args, &payload(id, seq, args.size), &mut buf, &mut tally)?;
    }
    Ok(tally)
}

fn connect(server: SocketAddr, timeout_ms: u64) -> Result<UdpSocket> {
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).call(format!("bind({any})"))?;
    // connect() on UDP sends nothing: it fixes the peer, so send() needs no address and recv()
    // gets only datagrams from the server.
    socket.connect(server).call(format!("connect({server})"))?;
    socket.set_read_timeout(Some(Duration::from_millis(timeout_ms))).call("setsockopt(SO_RCVTIMEO)")?;
    Ok(socket)
}

/// Send `payload` and wait for its exact echo, resending after each timeout; tally what happened.
fn echo_one(
    socket: &UdpSocket,
    args: &Args,
    payload: &[u8],
    buf: &mut [u8],
    tally: &mut Tally,
) -> Result<()> {
    let start = Instant::now();
    for attempt in 0..=args.retries {
        if attempt > 0 {
            tally.resent += 1;
        }
        socket.send(payload).call("send()")?;
        loop {
            let len = match socket.recv(buf) {
                Ok(len) => len,
                // SO_RCVTIMEO expired (EAGAIN): send it again.
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                // ECONNREFUSED: an ICMP "port unreachable" came back; nothing listens there.
                Err(err) => return Err(err).call("recv()"),
            };
            let echo = &buf[..len];
            if echo == payload {
                tally.latencies_us.push(start.elapsed().as_micros() as u64);
                return Ok(());
            }
            // The echo of an earlier datagram of ours, arriving after we resent it: not an error.
            if echo.len() >= TAG_LEN && echo[..6] == payload[..6] && echo[..TAG_LEN] < payload[..TAG_LEN] {
                tally.late += 1;
            } else {
                tally.wrong += 1;
            }
        }
    }
    tally.lost += 1;
    Ok(())
}
