//! `udpserv_fifoecho`: every datagram comes back intact through the FIFO between the two processes,
//! and however the server is stopped, its FIFO and its child are gone.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;
use shared::echo::MAX_DATA;
use testkit::{Cmd, Running, Signal, assert_transcript};

/// A running server, its address, its FIFO and its child's pid, all read from its output.
struct Server {
    running: Running,
    address: SocketAddr,
    fifo: PathBuf,
    child: Pid,
}

fn start() -> Server {
    let mut running = Cmd::new("udpserv_fifoecho").arg("0").start();
    let line = running.expect_line("mkfifo(");
    let fifo = line.split("mkfifo(").nth(1).and_then(|rest| rest.split(',').next()).expect("FIFO path");
    let line = running.expect_line("child: pid ");
    let child = line.split("pid ").nth(1).and_then(|rest| rest.split(' ').next()).expect("child pid");
    let line = running.expect_line("listening on ");
    let address = line.rsplit(' ').next().expect("address").parse().expect("ADDR:PORT");
    Server { running, address, fifo: PathBuf::from(fifo), child: Pid::from_raw(child.parse().expect("pid")) }
}

fn client() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // A deadline for a lost echo, not a pause: recv_from returns as soon as the echo is in.
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    socket
}

/// Datagram `index` of `len` bytes: different in every datagram and every position, so an echo
/// that is cut short, shifted or swapped with another one cannot pass for the original.
fn payload(index: usize, len: usize) -> Vec<u8> {
    (0..len).map(|at| (index * 31 + at * 7 + at / 256) as u8).collect()
}

fn recv_echo(socket: &UdpSocket, server: SocketAddr) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    let (len, from) = socket.recv_from(&mut buf).expect("an echo within the deadline");
    assert_eq!(from, server, "the echo comes from the server's address");
    buf.truncate(len);
    buf
}

#[test]
fn echoes_every_datagram_intact_even_when_many_records_wait_in_the_fifo() {
    let server = start();
    let is_fifo = std::fs::metadata(&server.fifo).is_ok_and(|meta| meta.file_type().is_fifo());
    assert!(is_fifo, "{} is a FIFO while the server runs", server.fifo.display());
    let socket = client();
    let sizes: Vec<usize> =
        (0..210).map(|i| [0, 1, MAX_DATA, 2, MAX_DATA - 1, 100, (i * 397) % MAX_DATA][i % 7]).collect();
    // Bursts of 10 before reading the echoes: several records sit in the FIFO at once, so the child
    // must find each record's end from its header (a byte stream has no boundaries of its own).
    for (burst, chunk) in sizes.chunks(10).enumerate() {
        for (n, &len) in chunk.iter().enumerate() {
            socket.send_to(&payload(burst * 10 + n, len), server.address).expect("send_to");
        }
        for (n, &len) in chunk.iter().enumerate() {
            let echo = recv_echo(&socket, server.address);
            assert!(
                echo == payload(burst * 10 + n, len),
                "datagram {} ({len} bytes) came back changed",
                burst * 10 + n
            );
        }
    }

    // Too big for one record: refused, not echoed cut short. Echoes keep their order, so if it had
    // been echoed, it would arrive before the next one.
    socket.send_to(&vec![b'x'; MAX_DATA + 1], server.address).expect("send_to");
    socket.send_to(b"after", server.address).expect("send_to");
    assert_eq!(recv_echo(&socket, server.address), b"after");

    server.running.signal(Signal::SIGTERM);
    let out = server.running.finish();
    out.assert_success();
    assert!(out.stderr.contains(&format!("refused a {}-byte datagram", MAX_DATA + 1)));
    assert_eq!(out.stdout.matches("child: echoing ").count(), 211, "one line per echo");
}

#[test]
fn sigterm_removes_the_fifo_and_stops_the_child() {
    let server = start();
    let socket = client();
    socket.send_to(b"hello", server.address).expect("send_to");
    assert_eq!(recv_echo(&socket, server.address), b"hello");
    let dir = server.fifo.parent().expect("dir").to_owned();
    assert!(server.fifo.exists());

    server.running.signal(Signal::SIGTERM); // the server alone, as `kill` does
    let out = server.running.finish(); // also fails if a leaked child still holds its output
    assert_eq!(out.code(), Some(0), "a stopped server has done nothing wrong\n{}", out.stderr);
    assert!(!server.fifo.exists(), "{} was left behind", server.fifo.display());
    assert!(!dir.exists(), "{} was left behind", dir.display());
    assert_eq!(nix::sys::signal::kill(server.child, None), Err(Errno::ESRCH), "the child is gone");
    assert_transcript!(
        "udpserv_fifoecho",
        out.redacted(&[(
            r"/[^\s,()]*/udpserv_fifoecho\.[A-Za-z0-9]{6}/",
            "$$TMPDIR/udpserv_fifoecho.XXXXXX/"
        )])
    );
}

#[test]
fn ctrl_c_to_the_group_removes_the_fifo_too() {
    let server = start();
    server.running.signal_group(Signal::SIGINT); // both processes get it, as from a terminal
    let out = server.running.finish();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(!server.fifo.parent().expect("dir").exists(), "{} was left behind", server.fifo.display());
    assert_eq!(nix::sys::signal::kill(server.child, None), Err(Errno::ESRCH), "the child is gone");
}

#[test]
fn a_port_in_use_is_eaddrinuse() {
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    Cmd::new("udpserv_fifoecho")
        .arg(port)
        .run()
        .assert_error(1, "bind(127.0.0.1:")
        .assert_error(1, "EADDRINUSE");
}

/// Out of file descriptors (`ulimit -n 4`): one clear error, and the private directory with its
/// FIFO is removed all the same (removing a directory's contents needs a descriptor of its own).
#[test]
fn out_of_descriptors_it_fails_clearly_and_leaves_no_directory() {
    let tmp = testkit::ScratchDir::new();
    let out = Cmd::new("udpserv_fifoecho")
        .arg("0")
        .env("TMPDIR", tmp.path())
        // Descriptors the test inherited (a jobserver's, a harness's) are closed first: 4 is 4 here.
        .wrapped(["bash", "-c", r#"for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null; fi; done; ulimit -n 4; exec "$0" "$@""#])
        .run();
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("EMFILE"), "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|entry| entry.path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
