//! How every workbook test runs a program: as a real process, with a deadline, its output captured,
//! redacted and snapshotted, and with a check that it left no IPC object behind.
//!
//! ```no_run
//! use testkit::{Cmd, TestKey, assert_transcript};
//!
//! let key = TestKey::new();                       // unique to this test run; leak-checked on drop
//! let out = Cmd::new("mkq").arg(key.arg()).run(); // killed (and the test failed) after the timeout
//! out.assert_success();
//! assert_transcript!("mkq", out.redacted(&[]));  // "$ mkq KEY\n..." snapshotted with pids redacted
//! ```
//!
//! Nothing here sleeps to synchronise: [`Running::expect_line`] waits for the line a program prints
//! when it is ready, and every wait has a deadline.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub use insta;
pub use nix::sys::signal::Signal;
use regex::Regex;
pub use shared::key::Key;

/// How long a program may run before the test kills it and fails. Generous, because graders run
/// many suites at once on one machine; a healthy run takes a fraction of it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much slower than an idle machine this one runs now (1.0 idle, 2.0 with every CPU shared
/// with one other busy process; at most 10), measured once per test process: a fixed piece of
/// work's wall-clock time over the CPU time it took. Every deadline is multiplied by it, so a busy
/// grading server slows the tests down without failing them.
pub fn load_factor() -> f64 {
    static FACTOR: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *FACTOR.get_or_init(|| {
        use nix::time::{ClockId, clock_gettime};
        let cpu = || clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map(Duration::from);
        let (Ok(cpu_start), wall_start) = (cpu(), Instant::now()) else { return 1.0 };
        let mut spin = 0u64;
        // About 50 ms of CPU on an idle machine: long enough to span several scheduler slices.
        while cpu().map_or(true, |now| now - cpu_start < Duration::from_millis(50)) {
            for _ in 0..10_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        let Ok(cpu_end) = cpu() else { return 1.0 };
        (wall_start.elapsed().as_secs_f64() / (cpu_end - cpu_start).as_secs_f64()).clamp(1.0, 10.0)
    })
}

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

/// Compile the C program `source` into `dir` with the system's `cc` (C11, warnings as errors) and
/// return its path, or skip the test where there is no C compiler.
pub fn build_c(source: &Path, dir: &Path) -> PathBuf {
    let program = dir.join(source.file_stem().expect("a C file name"));
    let flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"];
    match Command::new("cc").args(flags).arg(&program).arg(source).output() {
        Ok(out) if out.status.success() => program,
        Ok(out) => panic!("cc failed on {}:\n{}", source.display(), String::from_utf8_lossy(&out.stderr)),
        Err(err) => skip(format!("no C compiler (`cc`: {err}); install gcc or clang to run this test")),
    }
}

/// The first CPU this test process may run on: the one to pin "both on one CPU" runs to. A grader
/// may run the tests in a container or under `taskset` without CPU 0.
pub fn first_allowed_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list in /proc/self/status");
    list.trim().split([',', '-']).next().expect("one CPU at least").to_owned()
}

/// A command line to run: a workbook binary, its arguments, stdin, environment and deadline.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: PathBuf,
    /// How the command is shown in transcripts and failures: the binary's name and its arguments.
    shown: Vec<String>,
    /// Commands that run the binary (setpriv, nsenter, taskset), outermost first.
    prefix: Vec<String>,
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
        Cmd {
            program: bin(name),
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
        let status = loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= self.deadline {
                self.fail(&format!("still running after {:?} (a deadlock?)", self.timeout));
            }
            // Poll the exit status while draining output (not a sleep: it returns on any output).
            self.next_event_within(Duration::from_millis(5));
        };
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
        panic!(
            "`{}`: {why}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.command,
            join_lines(&self.stdout),
            join_lines(&self.stderr)
        );
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

/// What differs from run to run and machine to machine: pids, ports, clock times.
pub const STANDARD_REDACTIONS: &[(&str, &str)] = &[
    (r"\[pid:\d+\]", "[pid:PID]"),
    (r"(?i)\b(pid|process)(\s*[:=]?\s*)\d+", "${1}${2}[PID]"),
    (r"\b(127\.0\.0\.1|localhost|0\.0\.0\.0):\d+", "${1}:[PORT]"),
    (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", "[TIME]"),
];

/// Replace every match of each `(regex, replacement)` in turn (`$1` refers to groups).
pub fn redact(text: &str, rules: &[(&str, &str)]) -> String {
    rules.iter().fold(text.to_owned(), |text, (pattern, replacement)| {
        Regex::new(pattern)
            .unwrap_or_else(|err| panic!("bad redaction {pattern:?}: {err}"))
            .replace_all(&text, *replacement)
            .into_owned()
    })
}

/// Snapshot `text` under `name` in the calling crate's `tests/snapshots/NAME.snap`.
///
/// The header is always the same three lines, so the book includes a snapshot's body with
/// `{{#include ....snap:4:}}` and shows exactly what the test checks.
#[macro_export]
macro_rules! assert_transcript {
    ($name:expr, $text:expr) => {{
        let mut settings = $crate::insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| $crate::insta::assert_snapshot!($name, $text));
    }};
}

/// A System V key for this test alone, checked for leaks when dropped.
///
/// Keys are `0x4PPPPPNN`-shaped: the test process's pid and a counter, so tests in one `cargo test`
/// and suites of several graders on one machine never share a key. Dropping the key fails the
/// test if any object with that key still exists (after removing it, so one leak does not cascade).
#[derive(Debug)]
pub struct TestKey {
    key: Key,
}

impl TestKey {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst) & 0xff;
        let pid = std::process::id() & 0x3f_ffff;
        TestKey { key: Key((0x4000_0000 | (pid << 8) | n) as i32) }
    }

    pub fn key(&self) -> Key {
        self.key
    }

    /// The key as a command-line argument, in hex as `ipcs` shows it.
    pub fn arg(&self) -> String {
        self.key.to_string()
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        let leaked: Vec<_> =
            shared::sysvipc::list().into_iter().filter(|object| object.key == self.key).collect();
        for object in &leaked {
            let _ = object.ipc_rmid();
        }
        if !leaked.is_empty() && !std::thread::panicking() {
            panic!("leak: these objects with the test's key {} were left behind: {leaked:?}", self.key);
        }
    }
}

/// A scratch directory for one test, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir(shared::cleanup::TempDir);

impl ScratchDir {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ScratchDir(shared::cleanup::TempDir::new("workbook-test").expect("mkdtemp"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Let `nobody` into the directory (for tests that drop privileges).
    pub fn open_to_all(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
}

/// A private System V IPC namespace (`unshare --ipc`): objects created in it are invisible to every
/// other test and grader on the machine, so "nothing was left behind" can be checked exactly,
/// IPC_PRIVATE objects included, however many suites run at once.
///
/// A holder process keeps the namespace alive; [`IpcNamespace::cmd`] runs a binary inside it
/// (`nsenter --ipc=...`, which `exec`s the binary, so signals reach it directly) and
/// [`IpcNamespace::objects`] lists what exists there. Needs root or unprivileged user namespaces;
/// [`IpcNamespace::new`] returns `None` where neither works, and the caller skips.
pub struct IpcNamespace {
    holder: std::process::Child,
    /// The holder (`cat`) lives until its stdin closes or it is killed.
    _stdin: Option<ChildStdin>,
    user_ns: bool,
}

impl IpcNamespace {
    pub fn new() -> Option<Self> {
        let user_ns = !is_root();
        let mut command = Command::new("unshare");
        if user_ns {
            command.args(["--user", "--map-root-user"]);
        }
        // The holder waits on its stdin, which we keep open until we drop it.
        let mut holder = command
            .args(["--ipc", "--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = holder.stdin.take();
        let namespace = IpcNamespace { holder, _stdin: stdin, user_ns };
        // `unshare` has switched namespaces once the `cat` it execs shows a different ipc link.
        let mine = std::fs::read_link("/proc/self/ns/ipc").ok()?;
        let path = format!("/proc/{}/ns/ipc", namespace.holder.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match std::fs::read_link(&path) {
                Ok(link) if link != mine => break,
                _ if Instant::now() > deadline => return None,
                // Polling a /proc link until unshare(2) has run: a state check, not a timed wait.
                _ => std::thread::yield_now(),
            }
        }
        namespace.objects_checked().map(|_| namespace)
    }

    fn nsenter_prefix(&self) -> Vec<String> {
        let pid = self.holder.id();
        let mut prefix = vec!["nsenter".to_owned()];
        if self.user_ns {
            prefix.push(format!("--user=/proc/{pid}/ns/user"));
            prefix.push("--preserve-credentials".to_owned());
        }
        prefix.push(format!("--ipc=/proc/{pid}/ns/ipc"));
        prefix.push("--".to_owned());
        prefix
    }

    /// The workbook binary `name`, to be run inside this namespace.
    pub fn cmd(&self, name: &str) -> Cmd {
        let mut cmd = Cmd::new(name);
        cmd.prefix = self.nsenter_prefix();
        cmd
    }

    fn objects_checked(&self) -> Option<Vec<String>> {
        let mut command = Command::new(&self.nsenter_prefix()[0]);
        command.args(&self.nsenter_prefix()[1..]).args([
            "cat",
            "/proc/sysvipc/msg",
            "/proc/sysvipc/shm",
            "/proc/sysvipc/sem",
        ]);
        let output = command.output().ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        Some(text.lines().filter(|line| !line.trim_start().starts_with("key")).map(str::to_owned).collect())
    }

    /// Every System V object in the namespace now, one `/proc/sysvipc` line each.
    pub fn objects(&self) -> Vec<String> {
        self.objects_checked().expect("nsenter into the test's IPC namespace")
    }

    /// Every System V object in the namespace now, parsed: kind, key, id, owner and permissions
    /// (for checks such as "created 0600" or "only nobody's objects were removed").
    pub fn listing(&self) -> Vec<shared::sysvipc::IpcObject> {
        use shared::ipc::Kind;
        [("msg", Kind::MessageQueue), ("shm", Kind::SharedMemory), ("sem", Kind::SemaphoreSet)]
            .into_iter()
            .flat_map(|(file, kind)| {
                let output = self
                    .command("cat")
                    .arg(format!("/proc/sysvipc/{file}"))
                    .output()
                    .expect("nsenter into the test's IPC namespace");
                assert!(output.status.success(), "cannot read /proc/sysvipc/{file} in the namespace");
                shared::sysvipc::parse(kind, &String::from_utf8_lossy(&output.stdout))
            })
            .collect()
    }

    /// Any command (a system tool such as `ipcmk` or `ipcrm`, not a workbook binary), to be run
    /// inside this namespace with [`std::process::Command`]'s own methods.
    pub fn command(&self, program: &str) -> Command {
        let prefix = self.nsenter_prefix();
        let mut command = Command::new(&prefix[0]);
        command.args(&prefix[1..]).arg(program);
        command
    }
}

impl Drop for IpcNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Whether any process is left in process group `pgid` (a program's forgotten child, say).
pub fn process_group_alive(pgid: i32) -> bool {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok()
}

/// The processes still in process group `pgid`, each as `pid (name) state` from `/proc`, to say in a
/// failure message what was left behind (`Z` is a zombie nobody reaped, `S` a sleeper).
pub fn process_group_members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces, so split after its `)`.
            let (head, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            (fields.get(2)?.parse::<i32>().ok()? == pgid).then(|| {
                let name = head.split_once('(').map_or("?", |(_, name)| name);
                format!("{pid} ({name}) {} ppid {}", fields[0], fields[1])
            })
        })
        .collect()
}

/// Wait until process `pid` is asleep in the kernel function `wchan` (`do_msgrcv`, `do_semtimedop`:
/// see `/proc/PID/wchan`), so a test knows a program is blocked on an object before it changes the
/// object. Polls a state the kernel changes, with a 10 s deadline: not a timed sleep. Where the
/// kernel hides wchan (it reads `0`), a sleeping process is taken as blocked.
pub fn wait_until_sleeping_in(pid: i32, wchan: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = wchan.trim_start_matches('_');
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let sleeping = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('S'));
        let hidden = now.is_empty() || now == "0";
        if now.trim_start_matches('_') == want || (hidden && sleeping) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("process {pid} never slept in {wchan} (wchan: {now:?})"));
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_allowed_cpu_is_one_this_process_may_use() {
        let cpu: usize = super::first_allowed_cpu().parse().expect("a CPU number");
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
        assert!(allowed.is_set(cpu).expect("in range"), "CPU {cpu}");
        let lower = (0..cpu).filter(|&c| allowed.is_set(c).unwrap_or(false)).count();
        assert_eq!(lower, 0, "no allowed CPU below {cpu}");
    }
}

/// The test runner of the test files that have tests which cannot run everywhere (`harness =
/// false` in Cargo.toml): a test that calls [`skip`] is reported by `cargo test` as `ignored` with
/// its reason and counted in "N ignored", never as passed.
///
/// ```text
/// fn needs_a_namespace() {
///     let Some(namespace) = testkit::IpcNamespace::new() else { testkit::skip(testkit::NO_NAMESPACE) };
///     // ...
/// }
/// testkit::main!(needs_a_namespace);
/// ```
pub mod harness {
    use libtest_mimic::{Arguments, Completion, Failed, Trial};

    /// Why a test did not run: the payload [`skip`] unwinds with.
    struct Skip(String);

    /// End this test as "not run here" with `reason` (shown after `ignored,` in cargo's output).
    pub fn skip(reason: impl Into<String>) -> ! {
        // resume_unwind, not panic!: no panic hook runs, so no "panicked at" line is printed.
        std::panic::resume_unwind(Box::new(Skip(reason.into())))
    }

    /// Run `tests` as libtest would (same options: filters, `--list`, `--test-threads`), then print
    /// how many were not run and why. With `WORKBOOK_STRESS=N` set, N threads keep CPUs busy for
    /// the whole run, as on a loaded grading server.
    pub fn run(tests: &[(&'static str, fn())]) -> std::process::ExitCode {
        let (args, names) = arguments(std::env::args().collect());
        let _load = crate::Stress::from_env();
        let skipped = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let trials = tests
            .iter()
            .filter(|(name, _)| names.is_empty() || names.iter().any(|wanted| wanted == name))
            .map(|&(name, body)| {
                let skipped = skipped.clone();
                Trial::ignorable_test(name, move || match std::panic::catch_unwind(body) {
                    Ok(()) => Ok(Completion::Completed),
                    Err(payload) => match payload.downcast::<Skip>() {
                        Ok(skip) => {
                            skipped.lock().unwrap_or_else(|e| e.into_inner()).push(skip.0.clone());
                            Ok(Completion::ignored_with(skip.0))
                        }
                        Err(payload) => Err(Failed::from(panic_text(&*payload))),
                    },
                })
            })
            .collect::<Vec<Trial>>();
        // Several names (the grader's `--exact a b c`): one run each, so no name is padded to the
        // longest and every `test NAME ... ok` line reads as libtest's own.
        let failed = if names.len() < 2 {
            libtest_mimic::run(&args, trials).has_failed()
        } else {
            // Every trial runs: collect first, then look (`any` would stop at the first failure).
            let failed: Vec<bool> =
                trials.into_iter().map(|trial| libtest_mimic::run(&args, vec![trial]).has_failed()).collect();
            failed.contains(&true)
        };
        let mut reasons = std::mem::take(&mut *skipped.lock().unwrap_or_else(|e| e.into_inner()));
        if !reasons.is_empty() {
            reasons.sort();
            let mut counted: Vec<(usize, String)> = Vec::new();
            for reason in reasons {
                match counted.last_mut() {
                    Some((count, last)) if *last == reason => *count += 1,
                    _ => counted.push((1, reason)),
                }
            }
            let total: usize = counted.iter().map(|(count, _)| count).sum();
            println!("NOT RUN here: {total} test(s) of this file (see README, For graders):");
            for (count, reason) in counted {
                println!("  {count} x {reason}");
            }
        }
        if failed { std::process::ExitCode::from(101) } else { std::process::ExitCode::SUCCESS }
    }

    /// libtest's options, and the test names when several are given (`--exact a b c`, as the
    /// grader passes them): libtest-mimic takes one filter only, so several are applied here.
    fn arguments(raw: Vec<String>) -> (Arguments, Vec<String>) {
        const TAKES_VALUE: [&str; 6] = ["--test-threads", "--logfile", "--skip", "--color", "--format", "-Z"];
        let mut names = Vec::new();
        let mut options = vec![raw.first().cloned().unwrap_or_default()];
        let mut rest = raw.into_iter().skip(1).peekable();
        while let Some(arg) = rest.next() {
            if TAKES_VALUE.contains(&arg.as_str()) {
                options.push(arg);
                options.extend(rest.next());
            } else if arg.starts_with('-') {
                options.push(arg);
            } else {
                names.push(arg);
            }
        }
        if names.len() < 2 {
            options.append(&mut names);
        }
        (Arguments::from_iter(options), names)
    }

    fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
        payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned())
    }
}

pub use harness::skip;

/// The reason a test that needs a private IPC namespace gives where none can be made.
pub const NO_NAMESPACE: &str =
    "needs root or unprivileged user namespaces (a private IPC namespace; see README, For graders)";

/// `fn main` for a `harness = false` test file: run these test functions with [`harness::run`].
#[macro_export]
macro_rules! main {
    ($($test:ident),* $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::harness::run(&[$((stringify!($test), $test as fn())),*])
        }
    };
}

/// Busy threads that keep CPUs saturated while alive: the suite's stress mode, to show that no
/// test depends on an idle machine. `WORKBOOK_STRESS=N` starts N of them for a test file's run.
pub struct Stress {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Stress {
    /// `threads` spinning threads, until dropped.
    pub fn new(threads: usize) -> Self {
        use std::sync::atomic::AtomicBool;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut spin = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        spin = std::hint::black_box(spin.wrapping_add(1));
                    }
                })
            })
            .collect();
        Stress { stop, threads }
    }

    /// As many spinning threads as `WORKBOOK_STRESS` says (none when unset).
    pub fn from_env() -> Option<Self> {
        let threads: usize = std::env::var("WORKBOOK_STRESS").ok()?.parse().ok()?;
        (threads > 0).then(|| {
            eprintln!("stress mode: {threads} busy thread(s) while the tests run");
            Self::new(threads)
        })
    }
}

impl Drop for Stress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
