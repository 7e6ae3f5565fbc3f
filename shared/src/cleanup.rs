//! Nothing leaks: what a program creates is removed when it ends, however it ends.
//!
//! System V objects outlive the process that made them: a queue stays in `ipcs` until someone
//! removes it, which is why the textbook tells you to run `ipcrm` after its examples. The workbook's
//! programs remove what they create on every path:
//!
//! - **return or error**: [`Owned`], [`OwnedPath`] and [`TempDir`] remove their object when dropped,
//!   and [`crate::process::Child`] reaps its process;
//! - **SIGINT, SIGTERM, SIGHUP** (Ctrl-C, `kill`, a closed terminal): the first registration installs
//!   a handler that stops and reaps this process's children, removes its IPC objects and unlinks its
//!   paths, then dies of the same signal (or exits with the status set by [`exit_on_signal`]).
//!
//! A signal handler may only call async-signal-safe functions (`man 7 signal-safety`): no `malloc`,
//! no locks, no `println!`. So the registry the handler reads is a fixed table of atomics, filled in
//! advance, and the handler makes only system calls: `kill`, `waitpid`, `msgctl`, `shmctl`,
//! `semctl`, `unlink`, `rmdir`, `write`, `_exit`.
//!
//! SIGKILL cannot be caught: after `kill -9`, run `cargo run -p ch10-keys --bin ipcclean`.

use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::error::{CallContext, Result};
use crate::ipc::{MsqId, SemId, ShmId};

/// What a registry slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SlotKind {
    Free = 0,
    Msq = 1,
    Shm = 2,
    Sem = 3,
    Child = 4,
    File = 5,
    Dir = 6,
    /// Being filled in; the handler skips it.
    Busy = 255,
}

struct Slot {
    kind: AtomicU8,
    /// The process that registered it: a forked child inherits the table but must not remove its
    /// parent's objects.
    owner: AtomicI32,
    /// The IPC id or the child's pid.
    value: AtomicI32,
    /// For paths: a NUL-terminated string that is never freed (the handler may read it any time).
    path: AtomicPtr<libc::c_char>,
}

const SLOTS: usize = 128;

static REGISTRY: [Slot; SLOTS] = [const {
    Slot {
        kind: AtomicU8::new(SlotKind::Free as u8),
        owner: AtomicI32::new(0),
        value: AtomicI32::new(0),
        path: AtomicPtr::new(std::ptr::null_mut()),
    }
}; SLOTS];

/// -1: die of the signal (the default); otherwise `_exit` with this status.
static EXIT_STATUS_ON_SIGNAL: AtomicI32 = AtomicI32::new(-1);

/// Instead of dying of SIGINT/SIGTERM after the clean-up, exit with `status` (a server stopped
/// by Ctrl-C has done nothing wrong).
pub fn exit_on_signal(status: i32) {
    EXIT_STATUS_ON_SIGNAL.store(status, Ordering::SeqCst);
    install_handler();
}

/// One entry in the table, held by the value that removes the object on the normal path: dropping
/// it frees the slot, and [`Registration::is_mine`] tells the creator from a forked child (which
/// inherits a copy of the value but must not remove its parent's objects).
#[derive(Debug)]
pub(crate) struct Registration {
    owner: u32,
    slot: Option<usize>,
}

impl Registration {
    /// Record `value` (an IPC id, a pid) or `path` for the signal handler. With the table full only
    /// the normal path removes it.
    pub(crate) fn new(kind: SlotKind, value: i32, path: Option<*mut libc::c_char>) -> Self {
        install_handler();
        let owner = std::process::id();
        let slot = REGISTRY.iter().position(|slot| {
            let claimed = slot
                .kind
                .compare_exchange(
                    SlotKind::Free as u8,
                    SlotKind::Busy as u8,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok();
            if claimed {
                slot.owner.store(owner as i32, Ordering::SeqCst);
                slot.value.store(value, Ordering::SeqCst);
                slot.path.store(path.unwrap_or(std::ptr::null_mut()), Ordering::SeqCst);
                slot.kind.store(kind as u8, Ordering::SeqCst);
            }
            claimed
        });
        Registration { owner, slot }
    }

    /// Whether this process registered it and has not yet removed or handed it over.
    pub(crate) fn is_mine(&self) -> bool {
        self.owner == std::process::id()
    }

    /// The normal path removed the object (or handed it over): the handler must leave it.
    pub(crate) fn forget(&mut self) {
        if let Some(slot) = self.slot.take() {
            REGISTRY[slot].kind.store(SlotKind::Free as u8, Ordering::SeqCst);
        }
        self.owner = 0;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.forget();
    }
}

/// The signals the clean-up handler catches: SIGINT (Ctrl-C), SIGTERM (`kill`), SIGHUP (terminal
/// closed).
pub fn fatal_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set
}

/// Run `f` with SIGINT, SIGTERM and SIGHUP held back, then let any that came meanwhile through.
///
/// Creating an object and registering it for removal are two steps; a Ctrl-C between them would
/// end the process with the object made but unknown to the handler. Held signals stay pending and
/// arrive once the object is registered, so the handler removes it. (`fork` does the same.)
pub fn with_signals_held<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::signal::SigmaskHow;
    let previous = fatal_signals().thread_swap_mask(SigmaskHow::SIG_BLOCK).ok();
    let result = f();
    if let Some(previous) = previous {
        // Restoring a mask we just read cannot fail.
        let _ = previous.thread_set_mask();
    }
    result
}

fn install_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // While the handler runs, the other two are held back, so it never runs twice at once.
        let action = SigAction::new(SigHandler::Handler(on_fatal_signal), SaFlags::empty(), fatal_signals());
        for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            // SAFETY: `on_fatal_signal` only makes async-signal-safe calls (see the module docs), and
            // the table it reads is static atomics, so it is sound at any point of the program.
            let _ = unsafe { sigaction(signal, &action) };
        }
    });
}

extern "C" fn on_fatal_signal(signal: libc::c_int) {
    clean_up_now();
    let status = EXIT_STATUS_ON_SIGNAL.load(Ordering::SeqCst);
    // SAFETY: _exit, signal and raise are async-signal-safe. Re-raising with the default action makes
    // the process die of the signal it got, so a shell or a parent sees the truth (e.g. 130 for ^C).
    unsafe {
        if status >= 0 {
            libc::_exit(status);
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Remove everything this process registered. Async-signal-safe: called from the handler.
fn clean_up_now() {
    // SAFETY: getpid has no preconditions and is async-signal-safe.
    let me = unsafe { libc::getpid() };
    let mine = |slot: &Slot, kind: SlotKind| {
        slot.kind.load(Ordering::SeqCst) == kind as u8 && slot.owner.load(Ordering::SeqCst) == me
    };
    // Children first, so nobody is using the objects when they go.
    for slot in REGISTRY.iter().filter(|slot| mine(slot, SlotKind::Child)) {
        // SAFETY: kill has no memory arguments.
        unsafe { libc::kill(slot.value.load(Ordering::SeqCst), libc::SIGTERM) };
    }
    for slot in REGISTRY.iter().filter(|slot| mine(slot, SlotKind::Child)) {
        let mut status = 0;
        // SAFETY: `status` is a valid int for waitpid to write.
        unsafe { libc::waitpid(slot.value.load(Ordering::SeqCst), &mut status, 0) };
        slot.kind.store(SlotKind::Free as u8, Ordering::SeqCst);
    }
    for kind in [SlotKind::Msq, SlotKind::Shm, SlotKind::Sem, SlotKind::File, SlotKind::Dir] {
        for slot in REGISTRY.iter().filter(|slot| mine(slot, kind)) {
            let id = slot.value.load(Ordering::SeqCst);
            let path = slot.path.load(Ordering::SeqCst);
            // SAFETY: the *ctl calls take an id and IPC_RMID ignores the buffer (NULL); `path` is a
            // leaked, never-freed C string for File and Dir slots.
            unsafe {
                match kind {
                    SlotKind::Msq => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                    SlotKind::Shm => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                    SlotKind::Sem => libc::semctl(id, 0, libc::IPC_RMID),
                    SlotKind::File if !path.is_null() => libc::unlink(path),
                    SlotKind::Dir if !path.is_null() => libc::rmdir(path),
                    _ => 0,
                };
            }
            slot.kind.store(SlotKind::Free as u8, Ordering::SeqCst);
        }
    }
}

/// An IPC id that [`Owned`] can remove.
pub trait Removable: Copy + fmt::Display {
    #[doc(hidden)]
    const KIND: u8;
    #[doc(hidden)]
    fn raw(self) -> i32;
    /// The kind's `IPC_RMID` call.
    fn rmid(self) -> Result<()>;
}

impl Removable for MsqId {
    const KIND: u8 = SlotKind::Msq as u8;
    fn raw(self) -> i32 {
        self.0
    }
    fn rmid(self) -> Result<()> {
        crate::msg::msgctl_rmid(self)
    }
}

impl Removable for ShmId {
    const KIND: u8 = SlotKind::Shm as u8;
    fn raw(self) -> i32 {
        self.0
    }
    fn rmid(self) -> Result<()> {
        crate::shm::shmctl_rmid(self)
    }
}

impl Removable for SemId {
    const KIND: u8 = SlotKind::Sem as u8;
    fn raw(self) -> i32 {
        self.0
    }
    fn rmid(self) -> Result<()> {
        crate::sem::semctl_rmid(self)
    }
}

fn kind_from_u8(kind: u8) -> SlotKind {
    match kind {
        1 => SlotKind::Msq,
        2 => SlotKind::Shm,
        _ => SlotKind::Sem,
    }
}

/// An IPC object this process created and will remove (`IPC_RMID`) when the value is dropped, when
/// [`Owned::ipc_rmid`] is called, or when a signal ends the process.
///
/// ```no_run
/// use shared::{cleanup::Owned, ipc::IPC_CREAT, key::IPC_PRIVATE, msg::msgget};
/// let queue = Owned::create(|| msgget(IPC_PRIVATE, IPC_CREAT | 0o600))?;
/// // ... use queue.id() ...
/// queue.ipc_rmid()?; // or let it drop
/// # Ok::<(), shared::Error>(())
/// ```
#[derive(Debug)]
pub struct Owned<T: Removable> {
    id: T,
    registration: Registration,
}

impl<T: Removable> Owned<T> {
    /// Make the object with `make` (a `msgget`, `shmget` or `semget` call) and take charge of
    /// removing it, with no moment in between when a Ctrl-C could leave it behind.
    ///
    /// ```no_run
    /// use shared::{cleanup::Owned, ipc::IPC_CREAT, key::IPC_PRIVATE, msg::msgget};
    /// let queue = Owned::create(|| msgget(IPC_PRIVATE, IPC_CREAT | 0o600))?;
    /// # Ok::<(), shared::Error>(())
    /// ```
    pub fn create(make: impl FnOnce() -> Result<T>) -> Result<Self> {
        with_signals_held(|| make().map(Self::new))
    }

    /// Take charge of removing `id` (prefer [`Owned::create`] for an object made just now).
    pub fn new(id: T) -> Self {
        Owned { id, registration: Registration::new(kind_from_u8(T::KIND), id.raw(), None) }
    }

    /// The id, for the calls that use the object.
    pub fn id(&self) -> T {
        self.id
    }

    /// `IPC_RMID` now (msgctl, shmctl or semctl), reporting an error if that fails.
    pub fn ipc_rmid(mut self) -> Result<()> {
        // Removed first, forgotten after: a signal in between finds it still registered (and a
        // second IPC_RMID of a removed id fails harmlessly).
        let removed = self.id.rmid();
        self.registration.forget();
        removed
    }

    /// Leave the object in the system for other processes (a `--keep` option, a tool like `mkq`
    /// whose whole point is to create it). Returns the id.
    pub fn keep(mut self) -> T {
        self.registration.forget();
        self.id
    }
}

impl<T: Removable> Drop for Owned<T> {
    fn drop(&mut self) {
        if self.registration.is_mine() {
            let _ = self.id.rmid();
        }
    }
}

/// A path (a FIFO, a key file) that this process made and will unlink at the end.
#[derive(Debug)]
pub struct OwnedPath {
    path: PathBuf,
    registration: Registration,
}

impl OwnedPath {
    /// Make `path` with `make` (a `mkfifo`, an `open` with `O_CREAT | O_EXCL`) and take charge of
    /// unlinking it, with no moment in between when a Ctrl-C could leave it behind.
    pub fn create(path: impl Into<PathBuf>, make: impl FnOnce(&Path) -> Result<()>) -> Result<Self> {
        let path = path.into();
        with_signals_held(|| make(&path).map(|()| Self::new(path)))
    }

    /// Take charge of unlinking `path`, which this process made (prefer [`OwnedPath::create`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let registration = Registration::new(SlotKind::File, 0, leak_c_path(&path));
        OwnedPath { path, registration }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `unlink(2)` now, reporting an error if that fails.
    pub fn unlink(mut self) -> Result<()> {
        let removed = std::fs::remove_file(&self.path).call(format!("unlink({})", self.path.display()));
        self.registration.forget();
        removed
    }
}

impl Drop for OwnedPath {
    fn drop(&mut self) {
        if self.registration.is_mine() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A private directory (`mkdtemp`, mode 0700) removed with its contents at the end. Files made in
/// it should be [`OwnedPath`]s too, so the signal path (which can only `rmdir` an empty directory)
/// unlinks them first.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    registration: Registration,
}

impl TempDir {
    /// `mkdtemp("$TMPDIR/<prefix>.XXXXXX")`.
    pub fn new(prefix: &str) -> Result<Self> {
        let template = std::env::temp_dir().join(format!("{prefix}.XXXXXX"));
        with_signals_held(|| {
            let path = nix::unistd::mkdtemp(&template).call(format!("mkdtemp({})", template.display()))?;
            let registration = Registration::new(SlotKind::Dir, 0, leak_c_path(&path));
            Ok(TempDir { path, registration })
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // remove_dir_all needs a descriptor to list the directory; with none left (EMFILE) a
        // plain rmdir still removes it once its files (OwnedPaths) are gone.
        if self.registration.is_mine() && std::fs::remove_dir_all(&self.path).is_err() {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// A C copy of `path` that lives for the rest of the process, for the signal handler to read.
fn leak_c_path(path: &Path) -> Option<*mut libc::c_char> {
    CString::new(path.as_os_str().as_bytes()).ok().map(CString::into_raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::IPC_CREAT;
    use crate::key::IPC_PRIVATE;
    use crate::msg::{msgctl_stat, msgget};
    use crate::process::{Fork, exit_child, fork};

    #[test]
    fn dropping_owned_removes_and_keep_does_not() {
        let queue = Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).unwrap());
        let id = queue.id();
        drop(queue);
        assert!(msgctl_stat(id).is_err(), "removed on drop");

        let kept = Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).unwrap()).keep();
        assert!(msgctl_stat(kept).is_ok(), "kept");
        crate::msg::msgctl_rmid(kept).unwrap();
    }

    #[test]
    fn a_forked_child_does_not_remove_its_parents_objects() {
        let queue = Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).unwrap());
        match fork().unwrap() {
            Fork::Child => {
                // The child's copy of the handle is dropped here; the parent's queue must survive.
                drop(queue);
                exit_child(0)
            }
            Fork::Parent { child } => assert!(child.wait().unwrap().success()),
        }
        assert!(msgctl_stat(queue.id()).is_ok(), "the child left it alone");
    }

    #[test]
    fn the_signal_path_removes_what_this_process_registered() {
        // A child creates a queue and a file, then SIGTERM ends it mid-run.
        let dir = TempDir::new("cleanup-test").unwrap();
        let file = dir.path().join("fifo");
        let (ready_r, ready_w) = nix::unistd::pipe().unwrap();
        let file_in_child = file.clone();
        let child = crate::process::fork_child(move || {
            let queue = Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600)?);
            std::fs::write(&file_in_child, b"x").call("write")?;
            let _path = OwnedPath::new(&file_in_child);
            nix::unistd::write(&ready_w, &queue.id().0.to_ne_bytes()).call("write(pipe)")?;
            loop {
                nix::unistd::pause();
            }
        })
        .unwrap();
        let mut id = [0u8; 4];
        nix::unistd::read(&ready_r, &mut id).unwrap();
        let id = MsqId(i32::from_ne_bytes(id));
        assert!(msgctl_stat(id).is_ok());
        child.kill(Signal::SIGTERM).unwrap();
        assert_eq!(child.wait().unwrap(), crate::process::ExitStatus::Killed(Signal::SIGTERM));
        assert!(msgctl_stat(id).is_err(), "queue removed by the handler");
        assert!(!file.exists(), "file unlinked by the handler");
    }

    #[test]
    fn ipc_rmid_and_unlink_report_an_object_already_gone() {
        let queue = Owned::new(msgget(IPC_PRIVATE, IPC_CREAT | 0o600).unwrap());
        crate::msg::msgctl_rmid(queue.id()).unwrap(); // someone else removed it first
        assert_eq!(queue.ipc_rmid().unwrap_err().errno(), Some(nix::errno::Errno::EINVAL));

        let dir = TempDir::new("cleanup-test").unwrap();
        let path = OwnedPath::new(dir.path().join("gone"));
        assert_eq!(path.unlink().unwrap_err().errno(), Some(nix::errno::Errno::ENOENT));
    }

    #[test]
    fn a_dropped_registration_frees_its_slot() {
        // More registrations one after another than the table has slots: each gets one.
        for _ in 0..SLOTS + 1 {
            assert!(Registration::new(SlotKind::File, 0, None).slot.is_some(), "the table is full");
        }
    }

    #[test]
    fn a_temp_dir_goes_with_its_files() {
        let dir = TempDir::new("cleanup-test").unwrap();
        let path = dir.path().to_owned();
        std::fs::write(path.join("plain file"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists(), "{} is left", path.display());
    }
}
