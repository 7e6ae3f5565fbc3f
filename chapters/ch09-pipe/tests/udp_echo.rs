//! `udpserv_pipeecho` and `udpechocli`: every datagram comes back intact, to the client that sent
//! it; oversized ones are refused without harm; signals end both processes and reap the child.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;
use shared::echo::MAX_DATA;
use testkit::{Cmd, Running, Signal, assert_transcript};

/// A test socket: bound to a free loopback port, and never blocking forever.
fn udp_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a test socket");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("SO_RCVTIMEO");
    socket
}

/// Start the server on a free port; return it with its address and its child's pid.
fn start_server() -> (Running, SocketAddr, Pid) {
    let mut server = Cmd::new("udpserv_pipeecho").arg("0").start();
    let line = server.expect_line("listening on ");
    let address = line.split_whitespace().find_map(|word| word.parse().ok()).expect("an address in the line");
    let line = server.expect_line("child: pid ");
    let pid = line.split_whitespace().nth(2).and_then(|pid| pid.parse().ok()).expect("the child's pid");
    (server, address, Pid::from_raw(pid))
}

/// Send `data` from `socket` and return the reply, checking it came from the server.
fn echo(socket: &UdpSocket, server: SocketAddr, data: &[u8]) -> Vec<u8> {
    socket.send_to(data, server).expect("sendto");
    let mut buf = vec![0u8; 65_536];
    let (len, from) = socket
        .recv_from(&mut buf)
        .unwrap_or_else(|err| panic!("no echo of a {}-byte datagram within 10 s: {err}", data.len()));
    assert_eq!(from, server, "the echo must come from the server's own address and port");
    buf.truncate(len);
    buf
}

/// Reaped: not running, and not a zombie waiting for a `waitpid` either.
fn gone(pid: Pid) -> bool {
    nix::sys::signal::kill(pid, None) == Err(Errno::ESRCH)
}

/// What is left of a process, for a failure message ("Z (zombie)": ended but never reaped).
fn state(pid: Pid) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|line| line.strip_prefix("State:")).unwrap_or("?").trim().to_owned()
}

#[test]
fn a_small_session_through_the_client() {
    const INPUT: &str = "hello\n\nworld\n";
    let (server, address, _) = start_server();
    let client =
        Cmd::new("udpechocli").args(["127.0.0.1".to_owned(), address.port().to_string()]).stdin(INPUT).run();
    client.assert_success();
    assert_eq!(client.stdout, INPUT, "each line echoed, the empty one too");
    // Show the input in the transcript's command line, as a shell user would have typed it.
    let transcript = client.redacted(&[(r"(udpechocli \S+) \d+", "$1 [PORT]")]);
    let transcript = transcript.replacen("$ ", &format!("$ printf '{}' | ", INPUT.escape_default()), 1);
    assert_transcript!("udpechocli", transcript);

    server.signal(Signal::SIGTERM);
    let out = server.finish();
    out.assert_success();
    let echoed = out.stdout.lines().filter(|line| line.starts_with("child: echoing")).count();
    assert_eq!(echoed, 3, "the child logs one line per echo:\n{}", out.stdout);
    assert_transcript!("udpserv_pipeecho", out.redacted(&[]));
}

#[test]
fn two_hundred_and_forty_datagrams_of_varied_sizes_come_back_intact_to_their_sender() {
    let (server, address, _) = start_server();
    // Two clients, taking turns: each echo must reach the socket that sent it, which only works
    // if the record carried the right client address through the pipe.
    let clients = [udp_socket(), udp_socket()];
    let mut sizes = vec![0, 1, MAX_DATA, 2, MAX_DATA - 1, 1472, 1473];
    let mut seed: u32 = 12345;
    while sizes.len() < 240 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        sizes.push((seed >> 8) as usize % (MAX_DATA + 1));
    }
    for (n, &size) in sizes.iter().enumerate() {
        // Every byte value appears, NUL included: the record is binary-safe, not a C string.
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + n) as u8).collect();
        let reply = echo(&clients[n % 2], address, &data);
        assert!(reply == data, "datagram {n} ({size} bytes) came back as {} different bytes", reply.len());
    }

    server.signal(Signal::SIGTERM);
    let out = server.finish();
    out.assert_success();
    let echoed = out.stdout.lines().filter(|line| line.starts_with("child: echoing")).count();
    assert_eq!(echoed, sizes.len(), "one echo per datagram");
}

#[test]
fn oversized_datagrams_are_refused_and_the_server_keeps_echoing() {
    let (server, address, _) = start_server();
    let client = udp_socket();
    for size in [MAX_DATA + 1, 5000, 65_507] {
        client.send_to(&vec![b'x'; size], address).expect("sendto");
        // The next reply is the next datagram's echo: the oversized one was not echoed (not even
        // truncated), and the server is still alive.
        let after = format!("after {size}");
        assert_eq!(echo(&client, address, after.as_bytes()), after.as_bytes());
    }
    assert_eq!(echo(&client, address, &vec![b'y'; MAX_DATA]).len(), MAX_DATA, "MAX_DATA itself is fine");

    server.signal(Signal::SIGTERM);
    let out = server.finish();
    out.assert_success();
    for size in [MAX_DATA + 1, 5000, 65_507] {
        assert!(
            out.stderr.contains(&format!("udpserv_pipeecho: refused a {size}-byte datagram from 127.0.0.1:")),
            "one line on stderr for each refused datagram:\n{}",
            out.stderr
        );
    }
    assert_eq!(out.stderr.lines().count(), 3, "and nothing else:\n{}", out.stderr);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    Cmd::new("udpserv_pipeecho").arg("http").run().assert_error(2, "invalid value 'http'");
    Cmd::new("udpserv_pipeecho").arg("70000").run().assert_error(2, "invalid value '70000'");
    Cmd::new("udpechocli").args(["127.0.0.1", "echo"]).run().assert_error(2, "invalid value 'echo'");
    Cmd::new("udpechocli")
        .args(["127.0.0.1", "9", "--timeout-ms", "0"])
        .run()
        .assert_error(2, "invalid value '0'");

    let taken = udp_socket();
    let port = taken.local_addr().unwrap().port();
    Cmd::new("udpserv_pipeecho")
        .arg(port.to_string())
        .run()
        .assert_error(1, &format!("bind(127.0.0.1:{port}): EADDRINUSE (Address already in use)"));
}

#[test]
fn the_client_gives_up_with_one_line_when_nothing_answers() {
    // A bound socket that never replies: the datagram arrives (no ICMP error), the echo never does.
    let silent = udp_socket();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let out = Cmd::new("udpechocli")
        .args(["127.0.0.1".to_owned(), port.to_string(), "--timeout-ms".into(), "200".into()])
        .stdin("anyone there?\n")
        .run();
    out.assert_error(1, &format!("recvfrom(127.0.0.1:{port}): EAGAIN"));
    assert!(out.stderr.contains("no reply within 200 ms"), "{}", out.stderr);
    assert!(started.elapsed() >= Duration::from_millis(200), "it waited the whole timeout");
    let mut buf = [0u8; 64];
    let (len, _) = silent.recv_from(&mut buf).expect("the client did send");
    assert_eq!(&buf[..len], b"anyone there?");
}

#[test]
fn the_client_ignores_datagrams_from_anyone_but_the_server() {
    let (fake_server, stranger) = (udp_socket(), udp_socket());
    let address = fake_server.local_addr().unwrap();
    let mut client =
        Cmd::new("udpechocli").args(["127.0.0.1".to_owned(), address.port().to_string()]).stdin("").start();
    client.write_line("ping");
    let mut buf = [0u8; 64];
    let (len, client_address) = fake_server.recv_from(&mut buf).expect("the client's datagram");
    assert_eq!(&buf[..len], b"ping");
    stranger.send_to(b"spoof", client_address).unwrap(); // arrives first
    fake_server.send_to(b"ping", client_address).unwrap();
    let out = client.finish();
    out.assert_success();
    assert_eq!(out.stdout, "ping\n");
    assert!(out.stderr.contains("ignored a 5-byte datagram from 127.0.0.1:"), "{}", out.stderr);
}

#[test]
fn sigterm_to_the_parent_ends_both_and_reaps_the_child() {
    let (server, address, child) = start_server();
    assert_eq!(echo(&udp_socket(), address, b"still there?"), b"still there?");
    let sent = Instant::now();
    server.signal(Signal::SIGTERM); // the parent only: its handler must stop and reap the child
    let out = server.finish(); // fails if the child survived and still holds stdout
    out.assert_success();
    assert!(sent.elapsed() < Duration::from_secs(5), "it took {:?} to stop", sent.elapsed());
    assert!(gone(child), "the child {child} was left behind: {}", state(child));
}

#[test]
fn ctrl_c_to_the_group_ends_both() {
    let (server, _, child) = start_server();
    server.signal_group(Signal::SIGINT); // as a terminal's ^C: parent and child both get it
    server.finish().assert_success();
    assert!(gone(child), "the child {child} was left behind: {}", state(child));
}

#[test]
fn the_child_ends_at_end_of_file_when_the_parent_is_killed() {
    // SIGKILL cannot be caught, so no handler stops the child; the pipe does: with the parent gone,
    // no write end is open and the child's read() returns 0.
    let (server, _, _) = start_server();
    server.signal(Signal::SIGKILL);
    let out = server.finish(); // waits for the child too: it holds stdout until it exits
    assert!(
        out.stdout.contains("child: read() returned 0: end of file, the parent is gone"),
        "{}",
        out.stdout
    );
}
