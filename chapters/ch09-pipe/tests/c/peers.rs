//! The C peers of the interop tests (built by build.rs, see compile.rs), for ch09-pipe's and
//! ch09-fifo's tests alike.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use testkit::Signal;

/// A C peer built by build.rs, or the test is reported as not run (no C compiler at build time).
pub fn c_peer(name: &str) -> PathBuf {
    #[cfg(no_c_peers)]
    testkit::skip(format!("no C compiler when this crate was built: install gcc or clang to run {name}.c"));
    #[cfg(not(no_c_peers))]
    PathBuf::from(match name {
        "udpechocli" => env!("C_PEER_UDPECHOCLI"),
        _ => env!("C_PEER_UDPSERV_ECHO"),
    })
}

/// A C server and its port (it prints `port N` once bound). Dropping it kills its process group.
pub struct CServer {
    child: Child,
    pub port: u16,
}

impl CServer {
    pub fn start(name: &str, args: &[&str]) -> CServer {
        let mut child = Command::new(c_peer(name))
            .args(args)
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start the C server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
        let port = line.trim().strip_prefix("port ").and_then(|port| port.parse().ok());
        CServer { port: port.unwrap_or_else(|| panic!("{name}.c did not start: {line:?}")), child }
    }
}

impl Drop for CServer {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Run the C client on `input` against `port`; its receive timeout (10 s) keeps it from hanging.
pub fn c_client(port: u16, input: &str) -> String {
    let mut client = Command::new(c_peer("udpechocli"))
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C client");
    client.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = client.wait_with_output().expect("wait for the C client");
    assert!(out.status.success(), "udpechocli.c: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}
