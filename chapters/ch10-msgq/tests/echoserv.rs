//! `msgq_echoserv`, `res_send` and `udp_load`: every datagram echoed exactly, by several reply
//! processes, from the server's own port; a worker's death noticed and survived; a full queue and
//! oversized datagrams handled; nothing left behind however the server stops.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ch10_msgq::MSG_T_MAX;
use shared::msg::{msgctl_rmid, msgctl_set, msgctl_stat, msgget};
use shared::{Errno, ipc::MsqId};
use testkit::{Cmd, Running, Signal, TestKey, assert_transcript, process_group_alive};

/// A running msgq_echoserv and what it printed at start-up (`--workers` is given unless 3, the
/// default, so a transcript shows the slides' command line).
struct Server {
    run: Running,
    port: u16,
    workers: Vec<i32>,
}

fn start_server(key: &TestKey, workers: usize, extra: &[&str]) -> Server {
    let mut cmd = Cmd::new("msgq_echoserv").args([key.arg(), "0".into()]);
    if workers != 3 {
        cmd = cmd.args(["--workers".into(), workers.to_string()]);
    }
    let mut run = cmd.args(extra.iter().copied()).start();
    let workers =
        (0..workers).map(|_| number_after(&run.expect_line("started reply process"), "PID = ")).collect();
    let listening = run.expect_line("listening on 127.0.0.1:");
    let port = listening.rsplit(':').next().unwrap().parse().unwrap();
    Server { run, port, workers }
}

/// The number that follows `label` in `line`.
fn number_after(line: &str, label: &str) -> i32 {
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("no {label:?} in {line:?}")) + label.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

fn last_number(line: &str) -> i32 {
    line.split(|c: char| !c.is_ascii_digit()).rfind(|word| !word.is_empty()).unwrap().parse().unwrap()
}

/// A client socket connected to the server: it receives only datagrams from the server's port.
fn client(port: u16) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket
}

fn echo(socket: &UdpSocket, data: &[u8]) -> Vec<u8> {
    socket.send(data).unwrap();
    let mut buf = vec![0u8; 65_536];
    let len = socket.recv(&mut buf).expect("an echo from the server's port");
    buf[..len].to_vec()
}

fn udp_load(port: u16, args: &[&str]) -> Cmd {
    Cmd::new("udp_load").args(["127.0.0.1".to_owned(), port.to_string()]).args(args.iter().copied())
}

/// The `reply process PID = N text` lines: (pid, text), in output order.
fn replies(stdout: &str) -> Vec<(i32, String)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("reply process PID = "))
        .filter_map(|rest| rest.split_once(' '))
        .filter_map(|(pid, text)| Some((pid.parse().ok()?, text.to_owned())))
        .collect()
}

fn queue_of(key: &TestKey) -> Result<MsqId, shared::Error> {
    msgget(key.key(), 0)
}

/// Whether `pid` is still a res_send process (running or a zombie nobody reaped).
fn is_res_send(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "res_send")
}

#[test]
fn many_clients_are_all_echoed_exactly_by_several_workers() {
    let key = TestKey::new();
    let server = start_server(&key, 3, &[]);
    let args = ["--clients", "4", "--count", "600", "--size", "100", "--timeout-ms", "5000"];
    let load = udp_load(server.port, &args).run();
    load.assert_success();
    assert!(load.stdout.contains("echoed 600/600 exactly"), "{}", load.stdout);
    for figure in ["echoes/s", "p50", "p90", "p99", "max"] {
        assert!(load.stdout.contains(figure), "udp_load reports {figure}: {}", load.stdout);
    }

    server.run.signal(Signal::SIGTERM);
    let out = server.run.finish();
    out.assert_success();
    let replies = replies(&out.stdout);
    // Each of the 600 datagrams went through a reply process (a resent one may go twice).
    let texts: BTreeSet<&str> = replies.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts.len(), 600, "distinct requests answered");
    let answering: BTreeSet<i32> = replies.iter().map(|(pid, _)| *pid).collect();
    assert!(answering.len() >= 2, "the kernel shares the queue among the workers: {answering:?}");
    assert!(
        answering.iter().all(|pid| server.workers.contains(pid)),
        "{answering:?} vs {:?}",
        server.workers
    );
}

#[test]
fn a_worker_killed_mid_load_is_reported_and_every_later_request_is_answered() {
    let key = TestKey::new();
    let mut server = start_server(&key, 3, &[]);
    // Resend quickly: the one request the victim may have taken off the queue dies with it.
    let args = ["--clients", "4", "--count", "3000", "--timeout-ms", "200", "--retries", "10"];
    let load = udp_load(server.port, &args).start();
    for _ in 0..200 {
        server.run.expect_line("reply process PID = ");
    }
    let victim = server.workers[0];
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let report = format!("reply process {victim} killed by SIGKILL; 2 left");
    server.run.expect_line(&report);
    let load = load.finish();
    load.assert_success();
    assert!(load.stdout.contains("echoed 3000/3000 exactly"), "{}", load.stdout);

    // After the report, two workers answer everything, at once: nothing needs resending.
    let later = udp_load(server.port, &["--clients", "4", "--count", "300", "--timeout-ms", "5000"]).run();
    later.assert_success();
    assert!(
        later.stdout.contains("echoed 300/300 exactly (0 resent, 0 late, 0 wrong, 0 lost)"),
        "{}",
        later.stdout
    );

    server.run.signal(Signal::SIGTERM);
    let out = server.run.finish();
    out.assert_success();
    let after = &out.stdout[out.stdout.find(&report).unwrap() + report.len()..];
    let answering: BTreeSet<i32> = replies(after).iter().map(|(pid, _)| *pid).collect();
    assert!(
        !answering.is_empty() && !answering.contains(&victim),
        "answered after the kill by {answering:?}"
    );
}

#[test]
fn respawn_replaces_a_killed_worker() {
    let key = TestKey::new();
    let mut server = start_server(&key, 3, &["--respawn"]);
    let victim = server.workers[1];
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    server.run.expect_line(&format!("reply process {victim} killed by SIGKILL; 2 left"));
    let newcomer = number_after(&server.run.expect_line(&format!("(replacing {victim})")), "PID = ");

    udp_load(server.port, &["--clients", "4", "--count", "300", "--timeout-ms", "5000"])
        .run()
        .assert_success();
    server.run.signal(Signal::SIGTERM);
    let out = server.run.finish();
    out.assert_success();
    assert!(
        replies(&out.stdout).iter().any(|(pid, _)| *pid == newcomer),
        "the new worker {newcomer} answers too"
    );
    assert!(!is_res_send(newcomer), "the respawned worker was stopped and reaped too");
}

#[test]
fn sigterm_and_ctrl_c_stop_the_workers_and_remove_the_queue() {
    for (how, signal) in [("kill", Signal::SIGTERM), ("^C", Signal::SIGINT)] {
        let key = TestKey::new();
        let server = start_server(&key, 3, &[]);
        assert_eq!(echo(&client(server.port), b"before"), b"before");
        let group = server.run.pid();
        let sent = Instant::now();
        match how {
            "kill" => server.run.signal(signal),
            _ => server.run.signal_group(signal), // a terminal's ^C goes to the whole group
        }
        // finish() also fails if a leaked worker still holds the server's stdout open.
        let out = server.run.finish();
        assert!(sent.elapsed() < Duration::from_secs(2), "{how}: took {:?}", sent.elapsed());
        out.assert_success();
        assert!(!process_group_alive(group), "{how}: a process of the server's group is left");
        for pid in &server.workers {
            assert!(!is_res_send(*pid), "{how}: res_send {pid} is still there (or a zombie)");
        }
        assert_eq!(queue_of(&key).unwrap_err().errno(), Some(Errno::ENOENT), "{how}: queue removed");
    }
}

#[test]
fn a_removed_queue_ends_the_workers_quietly_and_the_server_with_one_error() {
    let key = TestKey::new();
    let server = start_server(&key, 3, &[]);
    let group = server.run.pid();
    msgctl_rmid(queue_of(&key).unwrap()).unwrap(); // as `ipcrm -q` would
    let out = server.run.finish();
    // One line on stderr: the server's. The workers saw EIDRM and left without a word.
    out.assert_error(1, "our message queue was removed; stopping");
    assert!(out.stderr.contains("IPC_STAT"), "{}", out.stderr);
    assert!(!process_group_alive(group));
}

#[test]
fn oversized_datagrams_are_refused_and_the_largest_is_echoed_whole() {
    let key = TestKey::new();
    let mut server = start_server(&key, 1, &[]);
    let socket = client(server.port);
    // MAX_DATA bytes exactly: the C original's `msg_text[nbytes] = 0` wrote past its buffer here.
    let largest: Vec<u8> = (0..4000).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(echo(&socket, &largest), largest);
    for size in [4001, 65_000] {
        socket.send(&vec![b'x'; size]).unwrap();
        server.run.expect_line(&format!("refused a {size}-byte datagram from 127.0.0.1:"));
    }
    assert_eq!(echo(&socket, b"still here"), b"still here");
    server.run.signal(Signal::SIGTERM);
    server.run.finish().assert_success();
}

#[test]
fn a_full_queue_drops_requests_and_the_server_keeps_receiving() {
    let key = TestKey::new();
    // No workers: nothing takes requests off the queue.
    let mut server = start_server(&key, 0, &[]);
    let queue = queue_of(&key).unwrap();
    // Room for exactly three full records, whatever this machine's msgmnb. (The owner may lower
    // msg_qbytes; only raising it past msgmnb needs CAP_SYS_RESOURCE.)
    let mut stat = msgctl_stat(queue).unwrap();
    stat.qbytes = 3 * MSG_T_MAX as u64 + 100;
    msgctl_set(queue, &stat).unwrap();

    let socket = client(server.port);
    for _ in 0..5 {
        socket.send(&[b'q'; 4000]).unwrap();
    }
    let mut dropped = 0;
    while dropped < 2 {
        dropped += last_number(&server.run.expect_line("queue full (msgsnd: EAGAIN): dropped"));
    }
    assert_eq!(dropped, 2);
    assert_eq!(msgctl_stat(queue).unwrap().qnum, 3, "the three that fit are still queued, none lost");
    // Still receiving, not blocked in msgsnd(): it answers the next datagram at once.
    socket.send(&[b'x'; 4001]).unwrap();
    server.run.expect_line("refused a 4001-byte datagram");
    server.run.signal(Signal::SIGTERM);
    server.run.finish().assert_success();
}

#[test]
fn res_send_run_by_hand_replies_from_a_port_of_its_own() {
    let key = TestKey::new();
    let server = start_server(&key, 0, &[]);
    let mut worker = Cmd::new("res_send").args([key.arg(), server.port.to_string()]).start();
    worker.expect_line("replying from port");

    // An unconnected socket accepts the echo from anywhere, and shows where it came from.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let server_address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    socket.send_to(b"hello", server_address).unwrap();
    let mut buf = [0u8; 64];
    let (len, from) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"hello");
    assert_ne!(from, server_address, "the C way: the echo comes from the worker's own port");
    worker.expect_line("hello");

    // The server removes the queue as it stops; the worker sees EIDRM and ends quietly.
    server.run.signal(Signal::SIGTERM);
    server.run.finish().assert_success();
    let out = worker.finish();
    out.assert_success();
    assert_eq!(out.stderr, "");
}

#[test]
fn transcript_of_the_slides_run() {
    let key = TestKey::new();
    let mut server = start_server(&key, 3, &[]);
    let socket = client(server.port);
    let lines = [
        "aaaaaaaaaaaaaaaaaaaaaa",
        "bbbbb",
        "ccccccccccccccccccc",
        "dddddddddddddd",
        "eeeeeeeeeee",
        "ffffffffffffffffffffffffffffffffffffff",
    ];
    for line in lines {
        assert_eq!(echo(&socket, line.as_bytes()), line.as_bytes());
        server.run.expect_line(line);
    }
    server.run.signal(Signal::SIGTERM);
    let out = server.run.finish();
    out.assert_success();
    // Which worker answers which line depends on the scheduler: sort the reply lines.
    let transcript = out.redacted(&[(r"0x4[0-9a-f]{7}", "[KEY]"), (r"id = \d+", "id = [ID]")]);
    let (head, reply_lines): (Vec<&str>, Vec<&str>) =
        transcript.lines().partition(|line| !line.starts_with("reply process PID = [PID] "));
    let mut reply_lines = reply_lines;
    reply_lines.sort();
    assert_transcript!("echoserv", format!("{}\n{}\n", head.join("\n"), reply_lines.join("\n")));
}

#[test]
fn bad_input_is_one_clear_line() {
    let key = TestKey::new();
    Cmd::new("res_send").args([key.arg(), "9999".into()]).run().assert_error(1, "ENOENT");
    Cmd::new("msgq_echoserv").run().assert_error(2, "required");
    Cmd::new("udp_load").args(["127.0.0.1", "9999", "--size", "8"]).run().assert_error(2, "--size");

    let server = start_server(&key, 0, &[]);
    let taken = Cmd::new("msgq_echoserv").args([key.arg(), "0".into()]).run();
    taken.assert_error(1, "EEXIST (File exists): a message queue with key").assert_error(1, "another KEY");
    assert!(!taken.stderr.contains("ipcrm"), "ipcrm fails on another user's queue: {}", taken.stderr);
    // Standard input is /dev/null, not the server's socket.
    let stdin_not_socket =
        Cmd::new("res_send").args([key.arg(), server.port.to_string(), "--stdin-socket".into()]);
    stdin_not_socket.run().assert_error(1, "ENOTSOCK");
    server.run.signal(Signal::SIGTERM);
    server.run.finish().assert_success();

    // A "server" that never answers: udp_load gives up after its retries and says so.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let out =
        udp_load(port, &["--clients", "1", "--count", "2", "--timeout-ms", "50", "--retries", "1"]).run();
    out.assert_error(1, "2 of 2 datagrams were never echoed");
    assert!(out.stdout.contains("echoed 0/2 exactly (2 resent, 0 late, 0 wrong, 2 lost)"), "{}", out.stdout);
}
