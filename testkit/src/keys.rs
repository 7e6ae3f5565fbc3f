//! What a test owns: its own System V key, checked for leaks, and a scratch directory.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use shared::key::Key;

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

/// An exclusive lock on UDP port `port` of this machine, held while it lives: test runs that need
/// a text's fixed port (the slides' 9999) take turns instead of answering each other's clients.
/// The lock file is in `/tmp` itself, not `$TMPDIR`, which the grader makes private to each run.
pub fn lock_udp_port(port: u16) -> nix::fcntl::Flock<std::fs::File> {
    let path = format!("/tmp/ipc-workbook-udp-{port}.lock");
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| std::fs::File::open(&path)) // another user's: flock needs only a descriptor
        .unwrap_or_else(|err| panic!("{path}: {err}"));
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .unwrap_or_else(|(_, errno)| panic!("flock({path}): {errno}"))
}
