//! `udpechocli`: the UDP echo client the slides describe. Each line of standard input goes to the
//! server as one datagram (`sendto()`), and the echo that comes back (`recvfrom()`) is printed as one
//! line. Every echo server of the workbook speaks this protocol: `udpechocli 127.0.0.1 PORT < file`.

use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use clap::Parser;
use shared::echo::RECV_BUF;
use shared::{CallContext, Error, Result};

/// Send each line of stdin to a UDP echo server and print the echoes (slides ch. 8 §8.1, slide 7:
/// udpechocli.c, described but not listed).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  udpechocli 127.0.0.1 9999                 type lines; Ctrl-D to end\n  printf 'hello\\nworld\\n' | udpechocli 127.0.0.1 9999\n  udpechocli 127.0.0.1 9999 --timeout-ms 500 < /etc/hostname"
)]
struct Args {
    /// The server's host name or address.
    host: String,
    /// The server's UDP port.
    port: u16,
    /// How long to wait for each echo before giving up.
    #[arg(long, value_name = "N", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        let server = shared::echo::resolve_server(&args.host, args.port)?;

        // ANCHOR: client
        // Any local port will do (port 0: the kernel picks one), of the server's address family.
        let any: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(any).call(format!("bind({any})"))?;
        let timeout = Duration::from_millis(args.timeout_ms);

        let mut buf = vec![0u8; RECV_BUF];
        let mut stdout = std::io::stdout().lock();
        for line in std::io::stdin().lock().split(b'\n') {
            let line = line.call("read(stdin)")?;
            // The datagram is the line without its newline; an empty line is an empty datagram.
            socket.send_to(&line, server).call(format!("sendto({server})"))?;
            let len = recv_echo(&socket, server, &mut buf, timeout)?;
            stdout.write_all(&buf[..len]).call("write(stdout)")?;
            stdout.write_all(b"\n").call("write(stdout)")?;
            stdout.flush().call("write(stdout)")?;
        }
        Ok(())
        // ANCHOR_END: client
    })
}

// ANCHOR: recv_echo
/// Wait up to `timeout` for a datagram from `server`, and return its length.
///
/// UDP may lose a datagram or its echo; a client blocked in a plain `recvfrom()` would then wait
/// forever, so we set a receive timeout (SO_RCVTIMEO). And an unconnected socket accepts datagrams
/// from anyone, so a reply from another address is not our echo: we say so and keep waiting
/// (Stevens, UNP vol. 1, "Verifying Received Response").
fn recv_echo(socket: &UdpSocket, server: SocketAddr, buf: &mut [u8], timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(no_reply(server, timeout));
        }
        socket.set_read_timeout(Some(left)).call("setsockopt(SO_RCVTIMEO)")?;
        let received = socket.recv_from(buf);
        // SO_RCVTIMEO expired: recvfrom() fails with EAGAIN (std calls it WouldBlock).
        if received.as_ref().is_err_and(|err| err.kind() == std::io::ErrorKind::WouldBlock) {
            return Err(no_reply(server, timeout));
        }
        let (len, from) = received.call(format!("recvfrom({server})"))?;
        if from == server {
            return Ok(len);
        }
        eprintln!("udpechocli: ignored a {len}-byte datagram from {from}, not the server");
    }
}

fn no_reply(server: SocketAddr, timeout: Duration) -> Error {
    Error::other(format!(
        "recvfrom({server}): EAGAIN (Resource temporarily unavailable): no reply within {} ms; is the server running?",
        timeout.as_millis()
    ))
}
// ANCHOR_END: recv_echo
