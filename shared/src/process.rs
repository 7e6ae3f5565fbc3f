//! Processes: `fork(2)`, `waitpid(2)`, `execv(3)`, with children that are always reaped.
//!
//! A [`Child`] is a handle on a process this one forked. Wait for it with [`Child::wait`]; if a
//! program returns early (an error, say) and drops the handle unwaited, the child is sent SIGTERM and
//! reaped, so no workbook program leaves a zombie or an orphan behind. If this process is killed by
//! SIGINT or SIGTERM, [`crate::cleanup`] does the same from its signal handler.

use std::convert::Infallible;
use std::ffi::CString;
use std::fmt;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

pub use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
pub use nix::unistd::{Pid, getpid, getppid};

use crate::cleanup::{self, Registration, SlotKind};
use crate::error::{CallContext, Errno, Error, Result};

/// What `fork` returned, in the process that sees it.
pub enum Fork {
    /// In the parent: a handle on the new child.
    Parent { child: Child },
    /// In the child. It must end with [`exit_child`], never by returning into the parent's code.
    Child,
}

/// `fork()`: after it, two processes run on from here.
///
/// Standard output and error are flushed first, so the child does not print the parent's buffered
/// text a second time (a classic surprise in C).
pub fn fork() -> Result<Fork> {
    flush_std();
    // Signals held until the parent has registered the child, so a Ctrl-C in between still stops it.
    cleanup::with_signals_held(|| {
        // SAFETY: the workbook's programs fork while single-threaded, so no lock can be held by a
        // thread that does not exist in the child. A multi-threaded caller (a test harness) must keep
        // the child to simple system calls and `exit_child`, as POSIX requires.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Fork::Parent { child: Child::adopt(child) }),
            Ok(nix::unistd::ForkResult::Child) => Ok(Fork::Child),
            Err(errno) => Err(Error::sys("fork()", errno)),
        }
    })
}

/// Fork a child that runs `body` and exits: 0 if it returned `Ok`, 1 (after printing the error as
/// one line, like any workbook program) if it returned `Err`.
pub fn fork_child(body: impl FnOnce() -> Result<()>) -> Result<Child> {
    match fork()? {
        Fork::Parent { child } => Ok(child),
        Fork::Child => {
            // A panic must not unwind out of here: it would run the parent's code in the child.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                Ok(result) => exit_child_with(result),
                Err(_) => exit_child(1),
            }
        }
    }
}

/// End a forked child with its body's result: status 0 for `Ok`, or the error as one line
/// (`program: error`) and status 1, as any workbook program ends.
pub fn exit_child_with(result: Result<()>) -> ! {
    match result {
        Ok(()) => exit_child(0),
        Err(err) => {
            eprintln!("{}: {err}", crate::cli::program_name());
            exit_child(1)
        }
    }
}

/// End a forked child: flush what it printed, then `_exit`, so none of the parent's clean-up code
/// (drop handlers, `atexit`) runs a second time in the child.
pub fn exit_child(code: i32) -> ! {
    flush_std();
    // SAFETY: _exit ends the process at once; it has no preconditions.
    unsafe { libc::_exit(code) }
}

fn flush_std() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Killed(Signal),
}

impl ExitStatus {
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    fn from_wait(status: WaitStatus) -> Option<Self> {
        match status {
            WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code)),
            WaitStatus::Signaled(_, signal, _) => Some(ExitStatus::Killed(signal)),
            _ => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Killed(signal) => write!(f, "killed by {signal}"),
        }
    }
}

/// A child process of this one. Dropping it unwaited stops (SIGTERM) and reaps it.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    /// Held by the process that forked it, until reaped: only that process may wait for it or stop it.
    registration: Registration,
}

impl Child {
    fn adopt(pid: Pid) -> Self {
        Child { pid, registration: Registration::new(SlotKind::Child, pid.as_raw(), None) }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// `waitpid(pid, &status, 0)`: block until the child ends, and reap it.
    pub fn wait(mut self) -> Result<ExitStatus> {
        self.wait_flags(None).map(|status| status.expect("waitpid without WNOHANG returned early"))
    }

    /// `waitpid(pid, &status, WNOHANG)`: reap the child if it has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.wait_flags(Some(WaitPidFlag::WNOHANG))
    }

    fn wait_flags(&mut self, flags: Option<WaitPidFlag>) -> Result<Option<ExitStatus>> {
        loop {
            match waitpid(self.pid, flags) {
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(Error::sys(format!("waitpid({})", self.pid), errno)),
                Ok(status) => match ExitStatus::from_wait(status) {
                    Some(exit) => {
                        self.registration.forget();
                        return Ok(Some(exit));
                    }
                    None if flags.is_some() => return Ok(None),
                    None => continue, // stopped or continued: not an end.
                },
            }
        }
    }

    /// `kill(pid, signal)`.
    pub fn kill(&self, signal: Signal) -> Result<()> {
        nix::sys::signal::kill(self.pid, signal).call(format!("kill({}, {signal})", self.pid))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.registration.is_mine() {
            let _ = self.kill(Signal::SIGTERM);
            let _ = self.wait_flags(None);
        }
    }
}

/// Wait for every child in `children`, in order, and say how each ended.
pub fn wait_all(children: Vec<Child>) -> Result<Vec<(Pid, ExitStatus)>> {
    children
        .into_iter()
        .map(|child| {
            let pid = child.pid();
            child.wait().map(|status| (pid, status))
        })
        .collect()
}

/// The path of another binary of the workbook, found next to the running one (`target/debug/`).
pub fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().call("current_exe()")?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(Error::other(format!(
            "cannot find the program '{name}' next to {} (build it with `cargo build`)",
            me.display()
        )))
    }
}

/// `execv(path, argv)` of a sibling binary: only returns if the exec failed.
pub fn exec_sibling(name: &str, args: &[String]) -> Error {
    let path = match sibling(name) {
        Ok(path) => path,
        Err(err) => return err,
    };
    let to_c = |bytes: &[u8]| CString::new(bytes).map_err(|_| Error::other("argument contains a NUL byte"));
    let c_path = match to_c(path.as_os_str().as_bytes()) {
        Ok(c) => c,
        Err(err) => return err,
    };
    let mut argv = vec![to_c(name.as_bytes())];
    argv.extend(args.iter().map(|arg| to_c(arg.as_bytes())));
    let argv: Result<Vec<CString>> = argv.into_iter().collect();
    match argv {
        Err(err) => err,
        Ok(argv) => {
            flush_std();
            let result: Result<Infallible, Errno> = nix::unistd::execv(&c_path, &argv);
            match result {
                Err(errno) => Error::sys(format!("execv({})", path.display()), errno),
            }
        }
    }
}

/// The slides' `fork_and_exec`: fork, and in the child exec the sibling binary `name` with `args`.
pub fn spawn_sibling(name: &str, args: &[String]) -> Result<Child> {
    sibling(name)?; // fail in the parent, with a clear message, if it is not there
    fork_child(|| Err(exec_sibling(name, args)))
}

/// `sigtimedwait(2)`: wait up to `timeout` for one of `set` (which the caller has blocked).
/// `Ok(None)` if none came in time, so a wait for a peer's signal can check that the peer is alive.
pub fn sigtimedwait(set: &nix::sys::signal::SigSet, timeout: std::time::Duration) -> Result<Option<Signal>> {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: `set` is a valid sigset_t, `timeout` a valid timespec; a null siginfo is allowed.
    let signal = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &timeout) };
    match signal {
        -1 if Errno::last() == Errno::EAGAIN => Ok(None),
        -1 => Err(Error::last("sigtimedwait()")),
        signal => Signal::try_from(signal).map(Some).map_err(|errno| Error::sys("sigtimedwait()", errno)),
    }
}

/// Let the program `command` starts take the default action on SIGINT, SIGQUIT, SIGTERM and SIGHUP,
/// as one started from a terminal does. A script's background job (`cargo test &`) inherits SIGINT
/// and SIGQUIT ignored, `nohup` SIGHUP, and an ignored signal stays ignored across exec: a test
/// that sends Ctrl-C would then wait in vain.
pub fn with_default_signals(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls signal(2), which is async-signal-safe,
    // and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_exit_code_is_reported() {
        let child = fork_child(|| Err(Error::other("planned failure"))).unwrap();
        assert_eq!(child.wait().unwrap(), ExitStatus::Exited(1));
        let child = fork_child(|| Ok(())).unwrap();
        assert!(child.wait().unwrap().success());
    }

    #[test]
    fn exit_child_writes_out_what_stdout_still_holds() {
        use std::io::{Read, Write};
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        match fork().unwrap() {
            Fork::Child => {
                let _ = nix::unistd::dup2_stdout(&write_end);
                // No newline: it stays in the line buffer until a flush.
                let _ = std::io::stdout().write_all(b"no newline");
                exit_child(0)
            }
            Fork::Parent { child } => {
                drop(write_end);
                assert!(child.wait().unwrap().success());
                let mut out = String::new();
                std::fs::File::from(read_end).read_to_string(&mut out).unwrap();
                assert_eq!(out, "no newline");
            }
        }
    }

    #[test]
    fn sigtimedwait_times_out_with_none_and_reports_an_interruption() {
        use nix::sys::signal::{SigHandler, SigSet, signal};
        extern "C" fn ignore(_: libc::c_int) {}
        let child = fork_child(|| {
            let mut usr1 = SigSet::empty();
            usr1.add(Signal::SIGUSR1);
            usr1.thread_block().call("sigprocmask")?;
            let expect = |ok: bool, what: &str| if ok { Ok(()) } else { Err(Error::other(what.to_owned())) };
            expect(sigtimedwait(&usr1, std::time::Duration::from_millis(1))?.is_none(), "no SIGUSR1: None")?;
            // SAFETY: the handler does nothing, so it is async-signal-safe.
            unsafe { signal(Signal::SIGALRM, SigHandler::Handler(ignore)) }.call("signal")?;
            let in_10_ms = libc::itimerval {
                it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
                it_value: libc::timeval { tv_sec: 0, tv_usec: 10_000 },
            };
            // SAFETY: `in_10_ms` is a valid itimerval; the old value is not wanted (null).
            unsafe { libc::setitimer(libc::ITIMER_REAL, &in_10_ms, std::ptr::null_mut()) };
            // A handled signal outside the set ends the wait with EINTR: an error, not "none came".
            let interrupted = sigtimedwait(&usr1, std::time::Duration::from_secs(20));
            expect(interrupted.is_err_and(|err| err.errno() == Some(Errno::EINTR)), "EINTR: an error")
        })
        .unwrap();
        assert_eq!(child.wait().unwrap(), ExitStatus::Exited(0));
    }

    #[test]
    fn dropping_an_unwaited_child_stops_and_reaps_it() {
        let child = fork_child(|| {
            nix::unistd::pause();
            Ok(())
        })
        .unwrap();
        let pid = child.pid();
        drop(child);
        // Reaped: it is no longer our child, not even a zombie.
        assert_eq!(waitpid(pid, Some(WaitPidFlag::WNOHANG)), Err(Errno::ECHILD));
    }
}
