//! Ours against C, over UDP: the C echo client of ch09-pipe's tests/c/ (ours, after the slides'
//! description of udpechocli.c, slide 7) against our udpserv_fifoecho. The other way round (our
//! udpechocli against a C udpserv_fifoecho) is in ch09-pipe's tests/interop.rs, where udpechocli is.

use testkit::{Cmd, Signal};

#[path = "../../ch09-pipe/tests/c/peers.rs"]
#[allow(dead_code)] // the C servers are used by ch09-pipe's tests
mod peers;

fn c_client_against_rust_udpserv_fifoecho() {
    let mut server = Cmd::new("udpserv_fifoecho").arg("0").start();
    let line = server.expect_line("listening on ");
    let port = line.rsplit(':').next().and_then(|port| port.parse().ok()).expect("a port in the line");
    assert_eq!(peers::c_client(port, "hello\n\nworld\n"), "hello\n\nworld\n", "each line echoed");
    server.signal(Signal::SIGTERM);
    let out = server.finish();
    out.assert_success();
    assert_eq!(out.stdout.matches("child: echoing ").count(), 3, "{}", out.stdout);
}

testkit::main!(c_client_against_rust_udpserv_fifoecho,);
