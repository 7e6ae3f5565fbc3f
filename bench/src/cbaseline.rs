//! The C baseline: `c/bench.c`, built by build.rs, run as a coprocess that does the same loops.
//!
//! Calling C directly would need `unsafe` (FFI), which this crate keeps out; a separate process
//! fed one command per line needs none, and the C side keeps its own objects and its own peer,
//! exactly as the Rust side does. `run` lines from the two sides alternate, so both meet the same
//! machine (the same other load, the same clock speed) and each pair of runs can be compared.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use nix::fcntl::OFlag;
use shared::key::{IPC_PRIVATE, Key};
use shared::process::{Child, Fork, exit_child};
use shared::{CallContext, Error, Result};

use crate::channel::TextOffsets;
use crate::cpus::CpuList;
use crate::mechanism::{Mechanism, Test};
use crate::peer::Run;

/// Where build.rs put the C program.
pub const PATH: &str = env!("IPC_BENCH_C");

/// The running C program, and the pipes to its standard input and output.
pub struct CBaseline {
    child: Child,
    commands: File,
    answers: BufReader<File>,
}

impl CBaseline {
    /// Start it; its System V objects will use `key`, its peers run on `child_cpus`.
    pub fn spawn(key: Key, child_cpus: Option<&CpuList>) -> Result<Self> {
        if !Path::new(PATH).exists() {
            return Err(Error::other(format!(
                "the C baseline {PATH} is missing: rebuild with `cargo build --release -p ipc-bench`"
            )));
        }
        let key = if key == IPC_PRIVATE { "private".to_owned() } else { key.to_string() };
        let cpus = child_cpus.map_or_else(|| "any".to_owned(), CpuList::to_string);
        let argv = [CString::new("ipc-bench-c"), CString::new(key), CString::new(cpus)]
            .map(|arg| arg.expect("no NUL"));
        let path = CString::new(PATH).map_err(|_| Error::other("the C baseline's path contains a NUL"))?;
        // Close-on-exec, so the C program holds no copy of *our* ends (it would never see end of
        // file on its input); dup2 clears the flag on the copies that become its fds 0 and 1.
        let (command_read, command_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).call("pipe2()")?;
        let (answer_read, answer_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).call("pipe2()")?;
        match shared::process::fork()? {
            Fork::Child => {
                let started = nix::unistd::dup2_stdin(&command_read)
                    .and_then(|()| nix::unistd::dup2_stdout(&answer_write))
                    .and_then(|()| nix::unistd::execv(&path, &argv).map(drop));
                // Only reached if something failed: the parent reads end of file and says so.
                eprintln!("ipc-bench: cannot run {PATH}: {started:?}");
                exit_child(127)
            }
            Fork::Parent { child } => {
                drop((command_read, answer_write));
                Ok(CBaseline {
                    child,
                    commands: File::from(command_write),
                    answers: BufReader::new(File::from(answer_read)),
                })
            }
        }
    }

    /// `setup`: make the objects for one measurement and fork the C peer.
    pub fn setup(
        &mut self,
        test: Test,
        mechanism: Mechanism,
        size: usize,
        offsets: TextOffsets,
    ) -> Result<()> {
        let [down_send, down_receive, up_send, up_receive] = offsets;
        let answer = self.ask(&format!(
            "setup {} {} {size} {down_send} {down_receive} {up_send} {up_receive}",
            test.slug(),
            mechanism.slug()
        ))?;
        expect(&answer, "ready")
    }

    /// `run`: one timed run, as [`crate::peer::Peer::run`].
    pub fn run(&mut self, count: u64, verify: bool) -> Result<Run> {
        let answer = self.ask(&format!("run {count} {}", u8::from(verify)))?;
        let numbers = answer
            .strip_prefix("ns ")
            .and_then(|rest| rest.split_once(" cs "))
            .and_then(|(ns, cs)| Some((ns.parse().ok()?, cs.parse().ok()?)));
        numbers
            .map(|(ns, switches)| Run { time: Duration::from_nanos(ns), switches })
            .ok_or_else(|| Error::other(format!("C baseline: unexpected answer {answer:?}")))
    }

    /// `end`: stop the C peer and remove the objects.
    pub fn end(&mut self) -> Result<()> {
        let answer = self.ask("end")?;
        expect(&answer, "done")
    }

    /// Close its input (it exits at end of file) and wait for it.
    pub fn close(self) -> Result<()> {
        let CBaseline { child, commands, answers } = self;
        drop((commands, answers));
        let status = child.wait()?;
        if !status.success() {
            return Err(Error::other(format!("C baseline {status}")));
        }
        Ok(())
    }

    fn ask(&mut self, command: &str) -> Result<String> {
        self.commands.write_all(format!("{command}\n").as_bytes()).call("write(C baseline)")?;
        let mut answer = String::new();
        if self.answers.read_line(&mut answer).call("read(C baseline)")? == 0 {
            return Err(Error::other(format!("C baseline: ended without answering `{command}`")));
        }
        let answer = answer.trim_end();
        match answer.strip_prefix("error ") {
            Some(error) => Err(Error::other(format!("C baseline: {error}"))),
            None => Ok(answer.to_owned()),
        }
    }
}

fn expect(answer: &str, wanted: &str) -> Result<()> {
    if answer == wanted {
        Ok(())
    } else {
        Err(Error::other(format!("C baseline: answered {answer:?}, expected {wanted:?}")))
    }
}
