//! A private IPC namespace per test, so "nothing was left behind" can be checked exactly.

use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::command::{Cmd, is_root};

/// The reason a test that needs a private IPC namespace gives where none can be made.
pub const NO_NAMESPACE: &str =
    "needs root or unprivileged user namespaces (a private IPC namespace; see README, For graders)";

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
