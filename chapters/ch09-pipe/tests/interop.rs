//! Ours against C, over UDP, both ways. The slides describe udpserv_pipeecho.c, udpserv_fifoecho.c
//! and udpechocli.c (ch. 8 §8.1–8.2, slides 7 and 10) but list no code beyond slide 7's `mesg_t`:
//! the C peers in tests/c/ are ours, written after those descriptions and built by build.rs
//! (udpechocli.c, and udpserv_echo.c, whose `pipe` and `fifo` modes are the two servers).

use std::net::UdpSocket;
use std::time::Duration;

use testkit::{Cmd, Running, ScratchDir, Signal, assert_transcript};

#[path = "c/peers.rs"]
mod peers;
use peers::{CServer, c_client};

const INPUT: &str = "hello\n\nworld\n";

fn start_rust_server() -> (Running, u16) {
    let mut server = Cmd::new("udpserv_pipeecho").arg("0").start();
    let line = server.expect_line("listening on ");
    let port = line.rsplit(':').next().and_then(|port| port.parse().ok()).expect("a port in the line");
    server.expect_line("child: pid ");
    (server, port)
}

fn c_client_against_rust_udpserv_pipeecho() {
    let (server, port) = start_rust_server();
    assert_eq!(c_client(port, INPUT), INPUT, "each line echoed, the empty one too");
    server.signal(Signal::SIGTERM);
    let out = server.finish();
    out.assert_success();
    assert_eq!(out.stdout.matches("child: echoing ").count(), 3, "{}", out.stdout);
    assert_transcript!("udpserv_pipeecho_c_client", out.redacted(&[]));
}

fn rust_udpechocli_against_c_udpserv_pipeecho() {
    let server = CServer::start("udpserv_echo", &["pipe", "0"]);
    // udpechocli takes only echoes from the server's own address: the C child answers on the
    // socket it inherited, as ours does.
    let out =
        Cmd::new("udpechocli").args(["127.0.0.1".to_owned(), server.port.to_string()]).stdin(INPUT).run();
    out.assert_success();
    assert_eq!(out.stdout, INPUT);
    let transcript = out.redacted(&[(r"(udpechocli \S+) \d+", "$1 [PORT]")]);
    let transcript = transcript.replacen("$ ", &format!("$ printf '{}' | ", INPUT.escape_default()), 1);
    assert_transcript!("udpechocli_c_server", transcript);
}

fn rust_udpechocli_against_c_udpserv_fifoecho() {
    let scratch = ScratchDir::new();
    let fifo = scratch.path().join("myfifo");
    let server = CServer::start("udpserv_echo", &["fifo", "0", fifo.to_str().expect("UTF-8 path")]);
    let out =
        Cmd::new("udpechocli").args(["127.0.0.1".to_owned(), server.port.to_string()]).stdin(INPUT).run();
    out.assert_success();
    assert_eq!(out.stdout, INPUT);
}

/// The one behaviour that differs: `mesg_t` has no length field, so the C server echoes the data
/// up to its first NUL (strlen); ours carries the length and echoes every byte.
fn a_nul_byte_ends_the_c_echo_but_not_ours() {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("SO_RCVTIMEO");
    let echo = |port: u16| {
        socket.send_to(b"ab\0cd", ("127.0.0.1", port)).expect("sendto");
        let mut buf = [0u8; 64];
        let (len, _) = socket.recv_from(&mut buf).expect("an echo within 10 s");
        buf[..len].to_vec()
    };
    let c_server = CServer::start("udpserv_echo", &["pipe", "0"]);
    assert_eq!(echo(c_server.port), b"ab");
    let (server, port) = start_rust_server();
    assert_eq!(echo(port), b"ab\0cd");
    server.signal(Signal::SIGTERM);
    server.finish().assert_success();
}

testkit::main!(
    c_client_against_rust_udpserv_pipeecho,
    rust_udpechocli_against_c_udpserv_pipeecho,
    rust_udpechocli_against_c_udpserv_fifoecho,
    a_nul_byte_ends_the_c_echo_but_not_ours,
);
