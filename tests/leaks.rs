//! Nothing leaks, however a demo ends.
//!
//! Students stop demos halfway: ^C on the terminal (SIGINT to the whole process group) or `kill PID`
//! (SIGTERM to the program alone, which must then stop its children itself). Each demo below is
//! run in a private System V IPC namespace with its own `TMPDIR` (and working directory), and
//! interrupted both ways after each point of its run that it announces on stdout: a sweep. After
//! every interruption nothing may remain: no IPC object in the namespace (IPC_PRIVATE ones
//! included), no process in its group (no orphan, no zombie), nothing in `TMPDIR` (FIFOs, key
//! files, private directories).
//!
//! SIGKILL cannot be caught, so there the documented clean-up command, `ipcclean --yes`, must
//! remove what the killed programs left, and only the objects of the user who runs it.
//!
//! Demos without a slow-down flag (`msgq_demo`, the `fifo` and `listener --demo` exchanges, the
//! `ftok` tour) finish in a few milliseconds, so a signal sent after one of their lines may land
//! later or after the end. The sweep still checks that nothing is left, whatever the landing point,
//! and the table it prints says which runs the signal actually ended.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::net::UdpSocket;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::{IpcNamespace, ScratchDir, Signal, process_group_alive, process_group_members};

/// One thing to wait for or do before the next point of a demo's run.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Wait for the next stdout line containing this text.
    Line(&'static str),
    /// Send a datagram to the server (port from its `listening on` line) and wait for its echo.
    Echo,
    /// Type a line on the demo's standard input.
    Type(&'static str),
    /// Open the FIFO at this path in the scratch directory for writing (the test keeps it open, so
    /// the reader does not see end of file) and write this line into it.
    WriteFifo(&'static str, &'static str),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Line(text) => write!(f, "line {text:?}"),
            Step::Echo => write!(f, "an echo"),
            Step::Type(text) => write!(f, "typed {text:?}"),
            Step::WriteFifo(path, text) => write!(f, "wrote {text:?} into {path}"),
        }
    }
}

/// A demo and the points of its run to interrupt it at: after each step.
struct Demo {
    bin: &'static str,
    args: Vec<String>,
    steps: Vec<Step>,
    /// A server exits 0 on SIGINT/SIGTERM (after its clean-up); a demo dies of the signal.
    server: bool,
}

impl Demo {
    fn new(bin: &'static str, args: &[&str], steps: &[Step]) -> Self {
        Demo {
            bin,
            args: args.iter().map(|arg| arg.to_string()).collect(),
            steps: steps.to_vec(),
            server: false,
        }
    }

    fn server(mut self) -> Self {
        self.server = true;
        self
    }

    fn with_args(mut self, more: impl IntoIterator<Item = String>) -> Self {
        self.args.extend(more);
        self
    }

    fn name(&self) -> String {
        let args: Vec<&str> =
            self.args.iter().map(String::as_str).filter(|arg| arg.len() < 20).take(6).collect();
        format!("{} {}", self.bin, args.join(" ")).trim_end().to_owned()
    }
}

/// How the run is interrupted.
#[derive(Clone, Copy, Debug)]
enum How {
    /// ^C on a terminal: SIGINT to the process group, children included.
    CtrlC,
    /// `kill PID`: SIGTERM to the main process only.
    Kill,
}

impl How {
    fn signal(self) -> Signal {
        match self {
            How::CtrlC => Signal::SIGINT,
            How::Kill => Signal::SIGTERM,
        }
    }
}

/// What one interrupted run did.
enum Outcome {
    /// The signal ended it (a demo died of it; a server exited 0).
    Ended,
    /// It had already finished on its own (exit 0) when the signal came.
    Finished,
}

/// What an interrupted run left that it should not have.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Leftover {
    /// It did not end as the signal says (an error exit, say).
    Status,
    Stderr,
    Objects,
    Processes,
    Files,
}

/// A run that left something, and what.
struct Failure {
    kinds: Vec<Leftover>,
    text: String,
}

/// Leftovers that are known bugs, reported to be fixed in the chapters or in `shared`: the sweep
/// shows them as KNOWN BUG (with the reason) instead of failing. Remove an entry once it is fixed.
struct Known {
    bin: &'static str,
    what: Leftover,
    why: &'static str,
}

const KNOWN: &[Known] = &[];

/// Start `demo` in a fresh namespace and scratch directory, go through `steps[..=point]`, interrupt
/// it `how`, and check that nothing is left. `Err` describes what was.
fn trial(demo: &Demo, point: usize, how: How) -> Result<Outcome, Failure> {
    let namespace = IpcNamespace::new().expect("a private IPC namespace (root or user namespaces)");
    let scratch = ScratchDir::new();
    let mut running = namespace
        .cmd(demo.bin)
        .args(demo.args.iter().cloned())
        .env("TMPDIR", scratch.path())
        .current_dir(scratch.path())
        .stdin("")
        .timeout(Duration::from_secs(20))
        .start();
    let group = running.pid();
    let mut port = None;
    let mut fifo_writers: Vec<File> = Vec::new();
    for step in &demo.steps[..=point] {
        match *step {
            Step::Line(text) => {
                let line = running.expect_line(text);
                if let Some((_, rest)) = line.split_once("listening on 127.0.0.1:") {
                    port =
                        rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            Step::Echo => echo(port.expect("an Echo step comes after the `listening on` line")),
            Step::Type(text) => running.write_line(text),
            Step::WriteFifo(path, text) => {
                // Blocks until the reader has the FIFO open for reading, which it does at once.
                let mut fifo =
                    File::options().write(true).open(scratch.path().join(path)).expect("open the FIFO");
                writeln!(fifo, "{text}").expect("write into the FIFO");
                fifo_writers.push(fifo);
            }
        }
    }
    match how {
        How::CtrlC => running.signal_group(how.signal()),
        How::Kill => running.signal(how.signal()),
    }
    // Its stdin stays open until it has ended: qsnd_pid's child reads it, and end of file would
    // be another way out than the signal's.
    running.wait_for_exit();
    let out = running.finish();
    drop(fifo_writers);

    let mut problems = Vec::new();
    let outcome = match (out.status.signal(), out.code()) {
        (Some(signal), _) if !demo.server && signal == how.signal() as i32 => Some(Outcome::Ended),
        (None, Some(0)) if demo.server => Some(Outcome::Ended),
        (None, Some(0)) => Some(Outcome::Finished),
        _ => None,
    };
    if outcome.is_none() {
        problems.push((Leftover::Status, format!("it ended with {} instead", out.status)));
    }
    if out.stderr.contains("panicked") || out.stderr.contains("internal error") || !out.stderr.is_empty() {
        problems.push((Leftover::Stderr, "it wrote to stderr".to_owned()));
    }
    let objects = namespace.objects();
    if !objects.is_empty() {
        problems.push((Leftover::Objects, format!("IPC objects left: {objects:?}")));
    }
    if process_group_alive(group) {
        problems.push((
            Leftover::Processes,
            format!("processes left in its group: {:?}", process_group_members(group)),
        ));
    }
    let files = left_in(scratch.path());
    if !files.is_empty() {
        problems.push((Leftover::Files, format!("files left in TMPDIR: {files:?}")));
    }
    match outcome {
        Some(outcome) if problems.is_empty() => Ok(outcome),
        _ => Err(Failure {
            kinds: problems.iter().map(|(kind, _)| *kind).collect(),
            text: format!(
                "`{}` {:?} after {}: {}\n--- stdout ---\n{}--- stderr ---\n{}",
                out.command,
                how,
                demo.steps[point],
                problems.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("; "),
                out.stdout,
                out.stderr
            ),
        }),
    }
}

/// Send one datagram to the server and wait for it to come back.
fn echo(port: u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a client socket");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("SO_RCVTIMEO");
    socket.send_to(b"leak check", ("127.0.0.1", port)).expect("sendto");
    let mut buf = [0u8; 64];
    let (n, _) = socket.recv_from(&mut buf).expect("the echo within 10 s");
    assert_eq!(&buf[..n], b"leak check", "the echo is the datagram sent");
}

/// Everything under `dir`, as paths relative to it.
fn left_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut to_visit = vec![dir.to_path_buf()];
    while let Some(next) = to_visit.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap_or(&path).display().to_string());
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                to_visit.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Interrupt `demo` after each of its steps, both ways; print the sweep's table and fail with
/// every problem found.
fn sweep(demo: Demo) {
    if IpcNamespace::new().is_none() {
        testkit::skip(testkit::NO_NAMESPACE);
    }
    let start = Instant::now();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut known_seen = Vec::new();
    for point in 0..demo.steps.len() {
        let mut cells = Vec::new();
        for how in [How::CtrlC, How::Kill] {
            cells.push(match trial(&demo, point, how) {
                Ok(Outcome::Ended) => "ended, clean",
                Ok(Outcome::Finished) => "had finished, clean",
                Err(failure) => {
                    let known: Vec<&Known> = KNOWN.iter().filter(|known| known.bin == demo.bin).collect();
                    if failure.kinds.iter().all(|kind| known.iter().any(|known| known.what == *kind)) {
                        for known in known.iter().filter(|known| failure.kinds.contains(&known.what)) {
                            if !known_seen.contains(&known.why) {
                                known_seen.push(known.why);
                            }
                        }
                        "KNOWN BUG"
                    } else {
                        failures.push(failure.text);
                        "LEFT SOMETHING"
                    }
                }
            });
        }
        rows.push(format!(
            "  after {:<48} ^C: {:<20} kill: {}",
            demo.steps[point].to_string(),
            cells[0],
            cells[1]
        ));
    }
    eprintln!("{} ({} ms)\n{}", demo.name(), start.elapsed().as_millis(), rows.join("\n"));
    for why in known_seen {
        eprintln!("  KNOWN BUG: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} run(s) left something behind:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `-m line1 -m line2 ...`: enough lines that the demo is still running at the later points.
fn messages(count: usize) -> Vec<String> {
    (1..=count).flat_map(|n| ["-m".to_owned(), format!("line {n}")]).collect()
}

fn pipe() {
    use Step::Line;
    sweep(
        Demo::new(
            "pipe",
            &[],
            &[
                Line("parent: pipe() gave"),
                Line("parent: closed fd[0]"),
                Line("child: read \"line 1\""),
                Line("child: read \"line 200\""),
            ],
        )
        .with_args(messages(2000)),
    );
}

fn pipe_duplex() {
    use Step::Line;
    sweep(
        Demo::new(
            "pipe",
            &["--duplex"],
            &[
                Line("parent: down pipe"),
                Line("child: got \"line 1\""),
                Line("parent: child answered"),
                Line("child: got \"line 100\""),
            ],
        )
        .with_args(messages(2000)),
    );
}

fn udpserv_pipeecho() {
    use Step::{Echo, Line};
    sweep(
        Demo::new(
            "udpserv_pipeecho",
            &["0"],
            &[
                Line("parent: listening on"),
                Line("parent: pipe() gave"),
                Line("child: pid"),
                Echo,
                Line("child: echoing"),
            ],
        )
        .server(),
    );
}

fn udpserv_fifoecho() {
    use Step::{Echo, Line};
    sweep(
        Demo::new(
            "udpserv_fifoecho",
            &["0"],
            &[
                Line("parent: mkfifo"),
                Line("child: pid"),
                Line("parent: listening on"),
                Echo,
                Line("child: echoing"),
            ],
        )
        .server(),
    );
}

fn fifo_demo() {
    use Step::Line;
    sweep(Demo::new(
        "fifo",
        &[],
        &[
            Line("writer: mkfifo"),
            Line("writer: starting the reader"),
            Line("writer: open returned"),
            Line("reader: read \"Hello, reader\""),
            Line("reader: read() returned 0"),
        ],
    ));
}

fn fifo_read_and_write() {
    use Step::{Line, WriteFifo};
    sweep(Demo::new(
        "fifo",
        &["read", "f"],
        &[
            Line("reader: mkfifo"),
            Line("waits until a writer"),
            WriteFifo("f", "hello"),
            Line("reader: read \"hello\""),
        ],
    ));
    // The writer blocks in open() until a reader comes: interrupt it there.
    sweep(Demo::new(
        "fifo",
        &["write", "f", "hello"],
        &[Line("writer: mkfifo"), Line("waits until a reader")],
    ));
}

fn shm_fork() {
    use Step::Line;
    sweep(Demo::new(
        "shm_fork",
        &["--pause", "60"],
        &[
            Line("parent: shmget"),
            Line("child process ==="),
            Line("parent process ==="),
            Line("parent: pausing"),
        ],
    ));
}

fn listener() {
    use Step::Line;
    // By hand, in its working directory: it makes ./shmfile for ftok, and must remove it.
    sweep(Demo::new(
        "listener",
        &[],
        &[Line("listener: created the key file"), Line("Listener wait for Talker")],
    ));
    sweep(Demo::new(
        "listener",
        &["--demo"],
        &[
            Line("Listener wait for Talker"),
            Line("talker: wrote"),
            Line("Listener Start ==="),
            Line("listener: answered"),
            Line("talker: IPC_STAT"),
        ],
    ));
}

fn shmbusyaccess() {
    use Step::Line;
    sweep(Demo::new(
        "shmbusyaccess",
        &["--iterations", "100000000"],
        &[Line("shmget("), Line("racing children"), Line("(error #1)"), Line("(error #100)")],
    ));
}

fn shmcontrol() {
    use Step::Line;
    sweep(Demo::new(
        "shmcontrol",
        &["--iterations", "100000000"],
        &[Line("shmget("), Line("racing two children")],
    ));
}

fn semlock() {
    use Step::Line;
    sweep(Demo::new(
        "semlock",
        &["--hold-ms", "60000"],
        &[Line("parent: initsem"), Line("Lock : process"), Line("** Lock Mode : Critical Section")],
    ));
    sweep(Demo::new(
        "semlock",
        &["--no-lock", "--hold-ms", "60000"],
        &[
            Line("parent: initsem"),
            Line("Lock : process"),
            Line("** Lock Mode : Critical Section"),
            Line("** Lock Mode : Critical Section"),
            Line("** Lock Mode : Critical Section"),
        ],
    ));
}

fn pen_and_note() {
    use Step::Line;
    for separate in [&[][..], &["--separate"][..]] {
        sweep(
            Demo::new(
                "pen_and_note",
                separate,
                &[
                    Line("parent: semaphore set"),
                    Line("picks up the pen"),
                    Line("picks up a note"),
                    Line("studies"),
                ],
            )
            .with_args(["--study-ms", "60000"].map(String::from)),
        );
    }
}

fn msgq_demo() {
    use Step::Line;
    sweep(Demo::new(
        "msgq_demo",
        &[],
        &[Line("msgget(IPC_PRIVATE)"), Line("msgtyp = 0"), Line("msgtyp = -5"), Line("msgtyp = 1")],
    ));
}

fn qsnd_pid() {
    use Step::{Line, Type};
    sweep(Demo::new(
        "qsnd_pid",
        &["1234"],
        &[
            Line("process waiting to read"),
            Line("Enter message to post"),
            Type("hello"),
            Line("message posted"),
        ],
    ));
}

fn msgq_echoserv() {
    use Step::{Echo, Line};
    sweep(
        Demo::new(
            "msgq_echoserv",
            &["12345", "0"],
            &[
                Line("message queue id"),
                Line("started reply process"),
                Line("listening on"),
                Echo,
                Line("reply process PID"),
            ],
        )
        .server(),
    );
}

fn ipc_bench() {
    use Step::Line;
    // Its processes (a child per figure, the C baseline) and objects (queues, segments, sets,
    // FIFOs in a private directory) come and go figure by figure: interrupt it in several.
    sweep(Demo::new(
        "ipc-bench",
        &[
            "--runs",
            "2",
            "--run-ms",
            "3",
            "--sizes",
            "64",
            "--cpus",
            "any",
            "--only",
            "fifo,svmsg,svshm,mqueue",
        ],
        &[
            Line("Latency:"),
            Line("FIFO "),
            Line("SysV msg queue"),
            Line("SysV shm + sem"),
            Line("Bandwidth:"),
        ],
    ));
}

fn ftok_tour() {
    use Step::Line;
    sweep(Demo::new(
        "ftok",
        &[],
        &[Line("key file:"), Line("ftok(keyfile, 2)"), Line("after unlink"), Line("re-created")],
    ));
}

/// SIGKILL ends a process before it can remove anything. `ipcclean --yes` then removes what is
/// left, and only the objects of the user who runs it: here `nobody` runs the demos and the
/// clean-up, while root's own objects in the same namespace survive.
fn after_sigkill_ipcclean_removes_only_your_leftovers() {
    let Some(namespace) = IpcNamespace::new() else {
        testkit::skip(testkit::NO_NAMESPACE);
    };
    if !testkit::is_root() {
        testkit::skip("needs root, to run the demos as another user");
    }
    let start = Instant::now();
    // Root's objects: another user's, as far as nobody's ipcclean is concerned.
    namespace.cmd("semtool").args(["create", "0x52", "1"]).run().assert_success();
    namespace.cmd("mkq").args(["0x53"]).run().assert_success();
    let roots: Vec<_> = namespace.listing();
    assert_eq!(roots.len(), 2, "{roots:?}");

    let demos: [(&str, &[&str], &str); 6] = [
        ("semlock", &["--hold-ms", "60000"], "Lock : process"),
        ("shmcontrol", &["--iterations", "100000000"], "racing two children"),
        ("shm_fork", &["--pause", "60"], "parent: pausing"),
        ("qsnd_pid", &["0x54"], "Enter message to post"),
        ("msgq_echoserv", &["0x55", "0", "--workers", "2"], "listening on"),
        ("pen_and_note", &["--study-ms", "60000"], "studies"),
    ];
    for (bin, args, ready) in demos {
        let mut running = namespace.cmd(bin).args(args.iter().copied()).unprivileged().stdin("").start();
        running.expect_line(ready);
        let group = running.pid();
        running.signal_group(Signal::SIGKILL);
        let out = running.finish();
        assert_eq!(out.status.signal(), Some(Signal::SIGKILL as i32), "{bin}: {}", out.status);
        assert!(all_dead(group), "{bin}: {:?}", process_group_members(group));
    }
    let nobody = |object: &&shared::sysvipc::IpcObject| object.uid != 0;
    let left = namespace.listing();
    let leftovers: Vec<_> = left.iter().filter(nobody).collect();
    // semlock 1 set, shmcontrol a segment and a set, shm_fork a segment, two queues, pen_and_note a set.
    assert_eq!(leftovers.len(), 7, "what SIGKILL left:\n{left:#?}");

    // Without --yes it only lists.
    let out = namespace.cmd("ipcclean").unprivileged().run();
    out.assert_success();
    assert!(out.stdout.lines().filter(|line| line.contains(" key ")).count() >= 7, "{}", out.stdout);
    assert_eq!(namespace.listing().len(), left.len(), "ipcclean without --yes removed something");

    let out = namespace.cmd("ipcclean").arg("--yes").unprivileged().run();
    out.assert_success();
    assert_eq!(out.stdout.matches("removed ").count(), 7, "{}", out.stdout);
    let after: Vec<_> =
        namespace.listing().into_iter().map(|object| (object.kind, object.key, object.id)).collect();
    let roots: Vec<_> = roots.into_iter().map(|object| (object.kind, object.key, object.id)).collect();
    assert_eq!(after, roots, "nobody's ipcclean must remove all of nobody's objects and none of root's");

    // Root owns everything it ever made, other programs' objects too: it must name what to remove.
    namespace.cmd("ipcclean").arg("--yes").run().assert_error(1, "--key");
    assert_eq!(namespace.listing().len(), 2, "root's refused ipcclean removed something");
    namespace.cmd("ipcclean").args(["--yes", "--key", "0x52", "--key", "0x53"]).run().assert_success();
    assert_eq!(namespace.objects(), Vec::<String>::new());
    eprintln!("SIGKILL x6 then ipcclean: {} ms", start.elapsed().as_millis());
}

/// Whether every process of group `group` is dead: gone, or a zombie that init adopted and will
/// reap in its own time (a SIGKILLed parent cannot reap its children).
fn all_dead(group: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let members = process_group_members(group);
        if members.iter().all(|member| member.contains(") Z ")) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        // SIGKILL is delivered, but the processes may still be exiting: poll their state briefly.
        std::thread::yield_now();
    }
}

/// The sweep's "nothing left in its group" means nothing left at all only if every process a demo
/// starts is in that group, exec'd siblings included: check it on the server with the most.
fn every_process_of_a_demo_is_in_its_group() {
    let Some(namespace) = IpcNamespace::new() else { return };
    let mut running = namespace.cmd("msgq_echoserv").args(["7", "0", "--workers", "3"]).start();
    running.expect_line("listening on");
    let group = running.pid();
    // The server and its three res_send reply processes (forked, then exec'd: wait for the execs).
    let exec_done = || process_group_members(group).iter().filter(|m| m.contains("(res_send)")).count() == 3;
    assert!(wait_until(exec_done), "{:?}", process_group_members(group));
    assert_eq!(process_group_members(group).len(), 4, "{:?}", process_group_members(group));
    running.signal(Signal::SIGTERM);
    running.finish();
    assert!(!process_group_alive(group), "{:?}", process_group_members(group));
    assert_eq!(namespace.objects(), Vec::<String>::new());
}

/// ^Z then `fg`: a demo stopped (SIGTSTP to its group) and continued (SIGCONT) while its processes
/// wait in the kernel must carry on as if nothing happened. System V calls need care here: after a
/// stop and continue, msgrcv, msgsnd, semop and semtimedop fail with EINTR even when no handler
/// runs (signal(7), "Interruption of system calls and library functions by stop signals"), so a
/// program that treats EINTR as an error dies of a ^Z.
fn a_demo_stopped_and_continued_carries_on() {
    if IpcNamespace::new().is_none() {
        testkit::skip(testkit::NO_NAMESPACE);
    }
    struct Pause {
        bin: &'static str,
        args: &'static [&'static str],
        /// Made first: (bin, args) run to success in the namespace.
        setup: &'static [(&'static str, &'static [&'static str])],
        ready: &'static str,
        /// The kernel function a process of the demo sleeps in when the stop comes.
        wchan: &'static str,
        /// What lets it finish afterwards: a command, or a line on its stdin.
        release: Release,
        /// A line of its output that shows it finished its work.
        done: &'static str,
        /// A known bug that makes it fail with EINTR (reported, not failed, until fixed).
        known: Option<&'static str>,
    }
    enum Release {
        Nothing,
        Run(&'static str, &'static [&'static str]),
        Type(&'static str),
        /// An echo through the server, then SIGTERM.
        Echo,
    }
    const FULL: &str = "a message of 8191 letters: see below";
    let half = "h".repeat(8191);
    let pauses = [
        Pause {
            bin: "semtool",
            args: &["op", "0x51", "0-1"],
            setup: &[("semtool", &["create", "0x51", "1"])],
            ready: "about to semop",
            wchan: "do_semtimedop",
            release: Release::Run("semtool", &["op", "0x51", "0+1"]),
            done: "semop completed",
            known: None,
        },
        Pause {
            bin: "qrecv",
            args: &["0x52"],
            setup: &[("mkq", &["0x52"])],
            ready: "",
            wchan: "do_msgrcv",
            release: Release::Run("qsend", &["0x52", "1", "hello"]),
            done: "hello",
            known: None,
        },
        Pause {
            bin: "qsend",
            args: &["0x53", "1", "x"],
            setup: &[("mkq", &["0x53"]), ("qsend", &["0x53", "1", FULL]), ("qsend", &["0x53", "1", FULL])],
            ready: "",
            wchan: "do_msgsnd",
            release: Release::Run("qrecv", &["0x53"]),
            done: "",
            known: None,
        },
        Pause {
            bin: "semlock",
            args: &["--hold-ms", "100"],
            setup: &[],
            ready: "Lock : process",
            wchan: "do_semtimedop",
            release: Release::Nothing,
            done: "all 3 children are done",
            known: None,
        },
        Pause {
            bin: "pen_and_note",
            args: &["--students", "3", "--study-ms", "100"],
            setup: &[],
            ready: "studies",
            wchan: "do_semtimedop",
            release: Release::Nothing,
            done: "every student studied",
            known: None,
        },
        Pause {
            bin: "shmcontrol",
            // Enough for a racer to wait on the semaphore; little enough for a loaded machine,
            // where every hand-over of the lock waits for a scheduler slice.
            args: &["--iterations", "1000"],
            setup: &[],
            ready: "racing two children",
            wchan: "do_semtimedop",
            release: Release::Nothing,
            done: "errors=0",
            known: None,
        },
        Pause {
            bin: "qsnd_pid",
            args: &["0x54"],
            setup: &[],
            ready: "Enter message to post",
            wchan: "do_msgrcv",
            release: Release::Type("hello"),
            done: "value = hello",
            known: None,
        },
        Pause {
            bin: "msgq_echoserv",
            args: &["0x55", "0"],
            setup: &[],
            ready: "listening on",
            wchan: "do_msgrcv",
            release: Release::Echo,
            done: "reply process PID",
            known: None,
        },
    ];
    let mut failures = Vec::new();
    for pause in &pauses {
        let namespace = IpcNamespace::new().expect("namespace");
        for (bin, args) in pause.setup {
            let args = args.iter().map(|arg| if *arg == FULL { half.clone() } else { arg.to_string() });
            namespace.cmd(bin).args(args).run().assert_success();
        }
        let mut running = namespace.cmd(pause.bin).args(pause.args.iter().copied()).stdin("").start();
        let mut port = None;
        if !pause.ready.is_empty() {
            let line = running.expect_line(pause.ready);
            port = line.split("listening on 127.0.0.1:").nth(1).and_then(|p| p.parse::<u16>().ok());
        }
        let group = running.pid();
        if !wait_until(|| {
            members_state(group).iter().any(|(_, _, wchan)| wchan.trim_start_matches('_') == pause.wchan)
        }) {
            failures.push(format!(
                "{}: no process ever slept in {}: {:?}",
                pause.bin,
                pause.wchan,
                members_state(group)
            ));
            continue;
        }
        running.signal_group(Signal::SIGTSTP);
        if !wait_until(|| members_state(group).iter().all(|(_, state, _)| *state == 'T')) {
            failures.push(format!("{}: not every process stopped: {:?}", pause.bin, members_state(group)));
        }
        running.signal_group(Signal::SIGCONT);
        match pause.release {
            Release::Nothing => {}
            Release::Run(bin, args) => {
                namespace.cmd(bin).args(args.iter().copied()).run().assert_success();
            }
            Release::Type(text) => running.write_line(text),
            Release::Echo => {
                echo(port.expect("the server's port"));
                running.expect_line(pause.done);
                running.signal(Signal::SIGTERM);
            }
        }
        running.wait_for_exit();
        let out = running.finish();
        let carried_on = out.status.success() && out.stderr.is_empty() && out.stdout.contains(pause.done);
        match (carried_on, pause.known) {
            (true, None) => eprintln!("{:<14} ^Z, fg: carried on", pause.bin),
            (true, Some(_)) => {
                eprintln!("{:<14} ^Z, fg: carried on (marked KNOWN BUG: remove the mark)", pause.bin)
            }
            (false, Some(why)) if out.stderr.contains("EINTR") => {
                eprintln!("{:<14} ^Z, fg: KNOWN BUG: {why}", pause.bin)
            }
            (false, _) => failures.push(format!(
                "`{}` after ^Z and fg: {}\n--- stdout ---\n{}--- stderr ---\n{}",
                out.command, out.status, out.stdout, out.stderr
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Each process of group `group`: pid, state letter (`S` sleeping, `T` stopped...), and the kernel
/// function it sleeps in.
fn members_state(group: i32) -> Vec<(i32, char, String)> {
    process_group_members(group)
        .iter()
        .filter_map(|member| {
            let pid: i32 = member.split_whitespace().next()?.parse().ok()?;
            let state = member.rsplit_once(") ")?.1.chars().next()?;
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            Some((pid, state, wchan))
        })
        .collect()
}

/// Poll `condition` (a state the kernel changes) until it holds, for at most 10 s.
fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// `demo | head -1`: the reader goes away after one line. Every demo must then end promptly (no
/// child waiting for a parent that will never answer), without a panic, leaving nothing.
fn every_demo_ends_cleanly_when_its_reader_closes_early() {
    let namespace = IpcNamespace::new().unwrap_or_else(|| testkit::skip(testkit::NO_NAMESPACE));
    let demos: [(&str, &[&str]); 13] = [
        ("pipe", &[]),
        ("pipe", &["--duplex"]),
        ("fifo", &[]),
        ("ftok", &[]),
        ("msgq_demo", &[]),
        ("qsnd_pid", &["0x54", "-m", "hi"]),
        ("shm_fork", &[]),
        ("shmbusyaccess", &["--iterations", "1000"]),
        ("shmcontrol", &["--iterations", "1000"]),
        ("semlock", &["--hold-ms", "0"]),
        ("semlock", &["--no-lock", "--hold-ms", "0"]),
        ("pen_and_note", &["--study-ms", "0"]),
        ("ipcls", &[]),
    ];
    let scratch = ScratchDir::new();
    let mut failures = Vec::new();
    for (bin, args) in demos {
        // Racy by nature (when head exits): several runs each.
        for _ in 0..5 {
            let start = Instant::now();
            let running = namespace
                .cmd(bin)
                .args(args.iter().copied())
                .current_dir(scratch.path())
                .env("TMPDIR", scratch.path())
                .wrapped(["sh", "-c", r#""$0" "$@" | head -1"#])
                .start();
            let group = running.pid();
            let out = running.finish();
            let took = start.elapsed();
            if !wait_until(|| !process_group_alive(group)) {
                failures.push(format!("{bin} {args:?} | head -1: left {:?}", process_group_members(group)));
                let _ =
                    std::process::Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
            }
            if out.stderr.contains("panicked") || out.code() != Some(0) {
                failures.push(format!("{bin} {args:?} | head -1: {}\n{}", out.status, out.stderr));
            }
            let left = namespace.objects();
            if !left.is_empty() {
                failures.push(format!("{bin} {args:?} | head -1 left {left:?}"));
                for object in namespace.listing() {
                    let flag = match object.kind {
                        shared::ipc::Kind::MessageQueue => "-q",
                        shared::ipc::Kind::SharedMemory => "-m",
                        shared::ipc::Kind::SemaphoreSet => "-s",
                    };
                    let _ = namespace.command("ipcrm").args([flag, &object.id.to_string()]).status();
                }
            }
            let files = left_in(scratch.path());
            if !files.is_empty() {
                failures.push(format!("{bin} {args:?} | head -1 left files {files:?}"));
            }
            eprintln!("{bin:<14} {:<28} | head -1: ended in {took:.1?}", args.join(" "));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

testkit::main!(
    every_demo_ends_cleanly_when_its_reader_closes_early,
    pipe,
    pipe_duplex,
    udpserv_pipeecho,
    udpserv_fifoecho,
    fifo_demo,
    fifo_read_and_write,
    shm_fork,
    listener,
    shmbusyaccess,
    shmcontrol,
    semlock,
    pen_and_note,
    msgq_demo,
    qsnd_pid,
    msgq_echoserv,
    ipc_bench,
    ftok_tour,
    after_sigkill_ipcclean_removes_only_your_leftovers,
    every_process_of_a_demo_is_in_its_group,
    a_demo_stopped_and_continued_carries_on,
);
