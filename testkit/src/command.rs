//! Running a workbook binary: the command line, the running process and what it printed.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::load::load_factor;
use crate::snapshot::{STANDARD_REDACTIONS, redact};

/// How long a program may run before the test kills it and fails. Generous, because graders run
/// many suites at once on one machine; a healthy run takes a fraction of it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The path of a workbook binary, built by cargo next to the test executable (`target/debug/`).
pub fn bin(name: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = test_exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "no binary {} (is it a [[bin]] of a workspace crate? run `cargo build`)",
        path.display()
    );
    path
}

/// Whether the tests run as root (as on CI), where permission lessons need a dropped user.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A command line to run: a workbook binary, its arguments, stdin, environment and deadline.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: PathBuf,
    /// How the command is shown in transcripts and failures: the binary's name and its arguments.
    shown: Vec<String>,
    /// Commands that run the binary (setpriv, nsenter, taskset), outermost first.
    pub(crate) prefix: Vec<String>,
    /// The part of `prefix` a transcript shows (`taskset -c 0`, not the test's nsenter plumbing).
    shown_prefix: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    timeout: Duration,
}

impl Cmd {
    /// The workbook binary `name`.
    pub fn new(name: &str) -> Self {
        Cmd::program(bin(name), name)
    }

    /// Any program, shown in transcripts as `name`.
    fn program(program: impl Into<PathBuf>, name: &str) -> Self {
        Cmd {
            program: program.into(),
            shown: vec![name.to_owned()],
            prefix: Vec::new(),
            shown_prefix: Vec::new(),
            stdin: None,
            env: vec![("NO_COLOR".into(), "1".into())],
            dir: None,
            timeout: DEFAULT_TIMEOUT.mul_f64(load_factor()),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.shown.push(arg.into());
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.shown.extend(args.into_iter().map(Into::into));
        self
    }

    /// Bytes for standard input (otherwise stdin is empty: `/dev/null`).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Run as the unprivileged user `nobody` when the tests run as root, so permission checks bite
    /// as they do for a student (root bypasses them). Unchanged when not root.
    pub fn unprivileged(mut self) -> Self {
        if is_root() {
            // Appended, so it composes with IpcNamespace::cmd: nsenter ... -- setpriv ... -- binary.
            self.prefix.extend(
                ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"].map(String::from),
            );
        }
        self
    }

    /// Run the binary under a wrapper command, e.g. `["taskset", "-c", "0"]` to pin it to one CPU.
    /// The deadline and process group still apply; the transcript shows the wrapper too.
    pub fn wrapped<S: Into<String>>(mut self, wrapper: impl IntoIterator<Item = S>) -> Self {
        let wrapper: Vec<String> = wrapper.into_iter().map(Into::into).collect();
        self.shown_prefix.extend(wrapper.iter().cloned());
        self.prefix.extend(wrapper);
        self
    }

    /// The command as a user would type it.
    pub fn command_line(&self) -> String {
        self.shown_prefix.iter().chain(&self.shown).cloned().collect::<Vec<_>>().join(" ")
    }

    /// Run to completion (or to the deadline, which fails the test).
    pub fn run(self) -> Output {
        self.start().finish()
    }

    /// Start the program and return at once, to talk to it while it runs.
    pub fn start(self) -> Running {
        let mut command = match self.prefix.split_first() {
            Some((wrapper, wrapper_args)) => {
                let mut command = Command::new(wrapper);
                command.args(wrapper_args).arg(&self.program);
                command
            }
            None => Command::new(&self.program),
        };
        command
            .args(&self.shown[1..])
            // arg0 is the bare name, so error lines read `mkq: ...` as for a user.
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // Its own process group: a timeout kills the program *and* every child it forked, and a
            // test can send ^C to the group as a terminal would.
            .process_group(0);
        // With SIGINT not ignored, as from a terminal, even when the suite runs as a background job.
        shared::process::with_default_signals(&mut command);
        if self.prefix.is_empty() {
            command.arg0(&self.shown[0]);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let mut child =
            command.spawn().unwrap_or_else(|err| panic!("cannot start {}: {err}", self.command_line()));
        let (events, receiver) = channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let out_events = events.clone();
        std::thread::spawn(move || {
            read_lines(
                out,
                |line| out_events.send(Event::Out(line)).is_ok(),
                || {
                    let _ = out_events.send(Event::OutClosed);
                },
            )
        });
        std::thread::spawn(move || {
            read_lines(
                err,
                |line| events.send(Event::Err(line)).is_ok(),
                || {
                    let _ = events.send(Event::ErrClosed);
                },
            )
        });
        let mut stdin = child.stdin.take();
        if let (Some(input), Some(pipe)) = (&self.stdin, stdin.as_mut()) {
            // Ignore EPIPE: a program may rightly exit without reading all of its input.
            let _ = pipe.write_all(input);
        }
        Running {
            program: self.shown[0].clone(),
            command: self.command_line(),
            deadline: Instant::now() + self.timeout,
            timeout: self.timeout,
            child: Some(child),
            stdin,
            events: receiver,
            stdout: Vec::new(),
            stderr: Vec::new(),
            unread: 0,
            out_closed: false,
            err_closed: false,
            reported: false,
        }
    }
}

enum Event {
    Out(String),
    Err(String),
    OutClosed,
    ErrClosed,
}

fn read_lines(stream: impl Read, mut line: impl FnMut(String) -> bool, closed: impl FnOnce()) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf).trim_end_matches('\n').to_owned();
                if !line(text) {
                    return;
                }
            }
        }
    }
    closed();
}

/// A program that is running. Dropping it kills its whole process group.
pub struct Running {
    program: String,
    command: String,
    deadline: Instant,
    timeout: Duration,
    child: Option<std::process::Child>,
    stdin: Option<ChildStdin>,
    events: Receiver<Event>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    /// Index of the first stdout line `expect_line` has not yet looked at.
    unread: usize,
    out_closed: bool,
    err_closed: bool,
    /// Whether a failure already showed the output (so a drop while panicking does not repeat it).
    reported: bool,
}

impl Running {
    /// The program's pid (its process group id too).
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    /// Wait for the next stdout line containing `text`, and return it. Fails the test, showing all
    /// output so far, if it does not come before the deadline or the output ends.
    pub fn expect_line(&mut self, text: &str) -> String {
        loop {
            if let Some(offset) = self.stdout[self.unread..].iter().position(|line| line.contains(text)) {
                let index = self.unread + offset;
                self.unread = index + 1;
                return self.stdout[index].clone();
            }
            self.unread = self.stdout.len();
            if self.out_closed {
                // Its last words are on stderr (an error, a panic): read them before reporting.
                while !self.err_closed && self.next_event() {}
                self.fail(&format!("its output ended without a line containing {text:?}"));
            }
            if !self.next_event() {
                self.fail(&format!("no line containing {text:?} within {:?}", self.timeout));
            }
        }
    }

    /// Write a line to the program's stdin (started with [`Cmd::stdin`], even empty).
    pub fn write_line(&mut self, line: &str) {
        let pipe = self.stdin.as_mut().expect("start the command with .stdin(\"\") to write to it later");
        writeln!(pipe, "{line}").expect("write to the program's stdin");
        pipe.flush().expect("flush stdin");
    }

    /// Close stdin: the program reads end-of-file.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Send `signal` to the program only (`kill(pid, sig)`).
    pub fn signal(&self, signal: Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).expect("kill");
    }

    /// Send `signal` to the program and all its children, as ^C on a terminal does (`killpg`).
    pub fn signal_group(&self, signal: Signal) {
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pid()), signal).expect("killpg");
    }

    /// Wait for the program to end, its stdin still open (then [`Running::finish`] for its output).
    /// For a signal test: `finish` closes stdin first, and a program reading stdin would see end of
    /// file at once and might take that path instead of the signal's. The deadline still applies.
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= self.deadline {
                self.fail(&format!("still running after {:?} (a deadlock?)", self.timeout));
            }
            // Poll the exit status while draining output (not a sleep: it returns on any output).
            self.next_event_within(Duration::from_millis(5));
        }
    }

    /// Wait for the program to end and its output to close; the deadline still applies.
    pub fn finish(mut self) -> Output {
        self.close_stdin();
        let status = self.wait_for_exit();
        self.child = None;
        // The program has exited; its output ends when every process holding the pipes is gone.
        while !(self.out_closed && self.err_closed) {
            if !self.next_event() {
                self.fail(
                    "it exited, but something (a child it leaked?) still holds its stdout or stderr open",
                );
            }
        }
        Output {
            program: self.program.clone(),
            command: self.command.clone(),
            status,
            stdout: join_lines(&self.stdout),
            stderr: join_lines(&self.stderr),
        }
    }

    /// Take the next output event before the deadline; false on timeout.
    fn next_event(&mut self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        self.next_event_within(left)
    }

    fn next_event_within(&mut self, wait: Duration) -> bool {
        match self.events.recv_timeout(wait) {
            Ok(Event::Out(line)) => self.stdout.push(line),
            Ok(Event::Err(line)) => self.stderr.push(line),
            Ok(Event::OutClosed) => self.out_closed = true,
            Ok(Event::ErrClosed) => self.err_closed = true,
            Err(RecvTimeoutError::Timeout) => return false,
            Err(RecvTimeoutError::Disconnected) => {
                self.out_closed = true;
                self.err_closed = true;
            }
        }
        true
    }

    fn fail(&mut self, why: &str) -> ! {
        self.kill_group();
        self.reported = true;
        panic!(
            "`{}`: {why}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.command,
            join_lines(&self.stdout),
            join_lines(&self.stderr)
        );
    }

    /// Stop the program and return what it wrote to stderr, headed by its command line (empty if
    /// it wrote nothing).
    fn last_words(&mut self) -> String {
        self.kill_group();
        let grace = Instant::now() + Duration::from_secs(1);
        while !(self.out_closed && self.err_closed)
            && self.next_event_within(grace.saturating_duration_since(Instant::now()))
        {}
        if self.stderr.is_empty() {
            return String::new();
        }
        format!(
            "--- stderr of `{}`, running when the test failed ---\n{}",
            self.command,
            join_lines(&self.stderr)
        )
    }

    fn kill_group(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed on something else (a client's error) still shows this program's last
        // words: its panic or error line is often the reason (a grader looks for a todo!() there).
        if std::thread::panicking() && !self.reported {
            eprint!("{}", self.last_words());
        }
        self.kill_group();
    }
}

fn join_lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// What a finished program did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The workbook binary's name, e.g. `mkq`.
    pub program: String,
    /// The command as typed, e.g. `mkq 0x4001ab00`.
    pub command: String,
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code (`None` if a signal killed it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Fail the test, showing both streams, unless the program exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "`{}` {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The workbook's error contract: exit `code` (1 runtime, 2 usage), and for runtime errors
    /// exactly one stderr line, starting with the program's name and containing `text`; never a
    /// panic or a backtrace.
    pub fn assert_error(&self, code: i32, text: &str) -> &Self {
        let context =
            format!("`{}`\n--- stdout ---\n{}--- stderr ---\n{}", self.command, self.stdout, self.stderr);
        assert_eq!(self.code(), Some(code), "wrong exit status for {context}");
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "a panic reached the user: {context}"
        );
        assert!(self.stderr.contains(text), "stderr should contain {text:?}: {context}");
        if code == 1 {
            let program = &self.program;
            assert_eq!(self.stderr.lines().count(), 1, "one line of error expected: {context}");
            assert!(
                self.stderr.starts_with(&format!("{program}: ")),
                "the error should start with `{program}: `: {context}"
            );
        }
        self
    }

    /// `$ command` followed by stdout: the form the book shows.
    pub fn transcript(&self) -> String {
        format!("$ {}\n{}", self.command, self.stdout)
    }

    /// The transcript with [`STANDARD_REDACTIONS`] and then `extra` applied.
    pub fn redacted(&self, extra: &[(&str, &str)]) -> String {
        redact(&redact(&self.transcript(), STANDARD_REDACTIONS), extra)
    }
}

/// Compile the C program `source` into `dir` with the system's `cc` (C11, warnings as errors) and
/// return its path, or skip the test where there is no C compiler.
pub fn build_c(source: &Path, dir: &Path) -> PathBuf {
    let program = dir.join(source.file_stem().expect("a C file name"));
    let flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"];
    match Command::new("cc").args(flags).arg(&program).arg(source).output() {
        Ok(out) if out.status.success() => program,
        Ok(out) => panic!("cc failed on {}:\n{}", source.display(), String::from_utf8_lossy(&out.stderr)),
        Err(err) => {
            crate::skip(format!("no C compiler (`cc`: {err}); install gcc or clang to run this test"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_test_shows_what_a_running_program_wrote_to_stderr() {
        let script = "echo 'server: internal error: not yet implemented: x' >&2; echo ready; exec sleep 100";
        let mut run = Cmd::program("/bin/sh", "sh").args(["-c", script]).start();
        run.expect_line("ready");
        let words = run.last_words();
        assert!(words.starts_with("--- stderr of `sh -c "), "{words}");
        assert!(words.ends_with("\nserver: internal error: not yet implemented: x\n"), "{words}");
        assert!(run.child.is_none(), "stopped");
    }
}
