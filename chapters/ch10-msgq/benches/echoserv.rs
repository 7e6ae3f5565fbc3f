//! What the message queue costs: `msgq_echoserv` (a receiver, a System V queue, `res_send` reply
//! processes) against the simplest UDP echo server there is (one process, `recvfrom()` then
//! `sendto()` in a loop), both driven by the same load generator, `udp_load`, on this machine in
//! the same run, release builds. Each request to the queue server costs two extra system calls
//! (msgsnd, msgrcv), two extra copies of the data and a wake-up of another process.
//!
//! ```text
//! cargo bench -p ch10-msgq                                   the default load
//! cargo bench -p ch10-msgq -- --count 100000 --clients 8     more of it
//! ```
//!
//! Options (after `--`): `--count M` datagrams per run (30000), `--clients K` (4), `--runs R` per
//! server and size (3; the run with the median throughput is shown), `--sizes 64,4000`.
//!
//! `cargo test` builds this file but does not run it (`harness = false` benches run only under
//! `cargo bench`, which passes `--bench`).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdout, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

struct Options {
    count: u64,
    clients: u16,
    runs: usize,
    sizes: Vec<u32>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|arg| arg == "--bench") {
        println!("echoserv benchmark: run it with `cargo bench -p ch10-msgq`");
        return;
    }
    let options = parse_options(&args);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "UDP echo servers: {} datagrams per run from {} clients, median of {} runs, {cpus} CPUs",
        options.count, options.clients, options.runs
    );

    let baseline = spawn_baseline();
    for &size in &options.sizes {
        println!("\n{size}-byte datagrams");
        println!(
            "{:<34} {:>10} {:>7} {:>7} {:>7} {:>7}",
            "server", "echoes/s", "p50 us", "p90 us", "p99 us", "max us"
        );
        let base = measure(&options, "one process (baseline)", baseline, size);
        for workers in [1, 3] {
            let server = MsgqServer::start(workers);
            let name = format!("msgq_echoserv, {workers} res_send");
            let msgq = measure(&options, &name, server.address, size);
            println!(
                "{:<34} {:>10.2} {:>7.2}   (msgq_echoserv / baseline: throughput, p50 latency)",
                "  ratio",
                msgq.echoes_per_s / base.echoes_per_s,
                msgq.p50_us as f64 / base.p50_us as f64
            );
            server.stop();
        }
    }
}

fn parse_options(args: &[String]) -> Options {
    let mut options = Options { count: 30_000, clients: 4, runs: 3, sizes: vec![64, 4000] };
    let value = |name: &str| args.iter().position(|arg| arg == name).and_then(|i| args.get(i + 1));
    let number = |name: &str| {
        value(name).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name} {v}: not a number")))
    };
    if let Some(count) = number("--count") {
        options.count = count;
    }
    if let Some(clients) = number("--clients") {
        options.clients = clients as u16;
    }
    if let Some(runs) = number("--runs") {
        options.runs = runs.max(1) as usize;
    }
    if let Some(sizes) = value("--sizes") {
        options.sizes = sizes.split(',').map(|s| s.parse().expect("--sizes 64,4000")).collect();
    }
    options
}

/// The baseline: one thread of this process, receiving and echoing, nothing in between.
fn spawn_baseline() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the baseline server");
    let address = socket.local_addr().expect("getsockname");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        loop {
            let (len, client) = socket.recv_from(&mut buf).expect("baseline recvfrom");
            socket.send_to(&buf[..len], client).expect("baseline sendto");
        }
    });
    address
}

/// `msgq_echoserv --quiet` on a free port and a key of its own, SIGTERMed (so it cleans up) when
/// stopped or dropped.
struct MsgqServer {
    child: Child,
    address: SocketAddr,
    /// Kept open: the server's stdout must stay writable.
    _stdout: BufReader<ChildStdout>,
}

impl MsgqServer {
    fn start(workers: u32) -> Self {
        let key = format!("{:#x}", 0x5ec0_0000 | (std::process::id() & 0xff_ff) << 4 | workers);
        let mut child = Command::new(env!("CARGO_BIN_EXE_msgq_echoserv"))
            .args([&key, "0", "--quiet", "--workers", &workers.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start msgq_echoserv");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let address = loop {
            line.clear();
            if stdout.read_line(&mut line).expect("read msgq_echoserv's output") == 0 {
                panic!("msgq_echoserv ended before listening");
            }
            if let Some(address) = line.trim().strip_prefix("listening on ") {
                break address.parse().expect("listening address");
            }
        };
        MsgqServer { child, address, _stdout: stdout }
    }

    fn stop(mut self) {
        let status = self.terminate();
        assert!(status.success(), "msgq_echoserv {status}");
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        self.child.wait().expect("wait for msgq_echoserv")
    }
}

impl Drop for MsgqServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

struct Figures {
    echoes_per_s: f64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    max_us: u64,
}

/// `options.runs` runs of udp_load against `server`; print and return the median one.
fn measure(options: &Options, name: &str, server: SocketAddr, size: u32) -> Figures {
    let mut runs: Vec<Figures> = (0..options.runs).map(|_| udp_load(options, server, size)).collect();
    runs.sort_by(|a, b| a.echoes_per_s.total_cmp(&b.echoes_per_s));
    let median = runs.swap_remove(runs.len() / 2);
    println!(
        "{name:<34} {:>10.0} {:>7} {:>7} {:>7} {:>7}",
        median.echoes_per_s, median.p50_us, median.p90_us, median.p99_us, median.max_us
    );
    median
}

fn udp_load(options: &Options, server: SocketAddr, size: u32) -> Figures {
    let output = Command::new(env!("CARGO_BIN_EXE_udp_load"))
        .args([server.ip().to_string(), server.port().to_string()])
        .args(["--clients", &options.clients.to_string(), "--count", &options.count.to_string()])
        .args(["--size", &size.to_string(), "--warmup", "200"])
        .output()
        .expect("run udp_load");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "udp_load failed:\n{text}{}", String::from_utf8_lossy(&output.stderr));
    // "throughput: 49459 echoes/s (...)" and "latency: p50 67 us, p90 105 us, p99 149 us, max 11436 us"
    let words = |prefix: &str| -> Vec<String> {
        let line = text.lines().find(|line| line.starts_with(prefix)).expect("udp_load's report");
        line.split([' ', ',']).filter(|w| !w.is_empty()).map(str::to_owned).collect()
    };
    let throughput = words("throughput:");
    let latency = words("latency:");
    let micros = |label: &str| {
        let at = latency.iter().position(|w| w == label).expect("a latency label");
        latency[at + 1].parse().expect("microseconds")
    };
    Figures {
        echoes_per_s: throughput[1].parse().expect("echoes/s"),
        p50_us: micros("p50"),
        p90_us: micros("p90"),
        p99_us: micros("p99"),
        max_us: micros("max"),
    }
}
