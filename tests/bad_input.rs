//! Every binary against each class of bad input that applies to it: a table-driven matrix.
//!
//! Students mistype arguments, name objects that are gone or belong to someone else, and talk to
//! peers that have died. Each case must end with the workbook's error contract
//! ([`testkit::Output::assert_error`]): exit status 2 and clap's usage message for a bad command
//! line, exit status 1 and one stderr line naming the call and the errno for a failure at run
//! time, never a panic; and nothing left behind: the same System V objects in the case's private
//! IPC namespace, the same files in its scratch directory (`TMPDIR` and working directory), no
//! process left in its group.
//!
//! The test prints a summary (binaries x classes, cases passed/tried), writes it to
//! `target/bad-input-matrix.txt`, and fails once, at the end, listing every failing case. A case
//! that fails because of a known bug in a chapter is marked KNOWN in the table, with the reason,
//! until the chapter is fixed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use testkit::{IpcNamespace, ScratchDir, process_group_alive, process_group_members};

/// The classes of bad input: the columns of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// An option the program does not have.
    Unknown,
    /// A required argument, or an option's value, left out.
    Missing,
    NonNumeric,
    Negative,
    /// A number too large for its type.
    Overflow,
    /// A number (or address) the type holds but the program or the kernel refuses.
    Range,
    /// A key or id that names no object.
    NoObject,
    /// An object (or file) of another kind than the program needs.
    WrongKind,
    /// A path that does not exist, or is not what it must be.
    Path,
    /// Another user's object, file or process (run as `nobody`), or a port below 1024.
    Permission,
    /// An object, key or port already in use by someone else.
    InUse,
    /// A message larger than the kernel allows.
    TooBig,
    /// A peer (process, server, reader) that has gone or was never there.
    PeerGone,
}

const CLASSES: [Class; 13] = [
    Class::Unknown,
    Class::Missing,
    Class::NonNumeric,
    Class::Negative,
    Class::Overflow,
    Class::Range,
    Class::NoObject,
    Class::WrongKind,
    Class::Path,
    Class::Permission,
    Class::InUse,
    Class::TooBig,
    Class::PeerGone,
];

impl Class {
    fn short(self) -> &'static str {
        match self {
            Class::Unknown => "unknown",
            Class::Missing => "missing",
            Class::NonNumeric => "non-num",
            Class::Negative => "negative",
            Class::Overflow => "overflow",
            Class::Range => "range",
            Class::NoObject => "no-obj",
            Class::WrongKind => "wrong-kind",
            Class::Path => "path",
            Class::Permission => "perm",
            Class::InUse => "in-use",
            Class::TooBig => "too-big",
            Class::PeerGone => "peer-gone",
        }
    }
}

/// One bad command line and what it must do.
#[derive(Clone, Debug)]
struct Case {
    bin: &'static str,
    class: Class,
    /// Arguments, split on spaces, with `{fixture}` placeholders (see [`Fixtures`]).
    args: &'static str,
    nobody: bool,
    env: Vec<(&'static str, &'static str)>,
    cwd: Option<&'static str>,
    stdin: Option<&'static str>,
    /// 2 for usage, 1 for a run-time error.
    code: i32,
    /// Each must appear in stderr (the call and the errno, or clap's words).
    texts: Vec<&'static str>,
    /// Fixtures to make even though no argument names them.
    given: Vec<&'static str>,
    /// Once the program sleeps in this kernel function (`/proc/PID/wchan`), run this workbook
    /// command (as root, in the namespace): to remove the object it waits on, say.
    then: Option<(&'static str, &'static str, &'static str)>,
    /// A known bug in the chapter: the case is reported, not failed.
    known: Option<&'static str>,
}

/// A case of `bin`, class `class`, with these arguments; say how it must fail with `usage` or
/// `fails`.
fn case(bin: &'static str, class: Class, args: &'static str) -> Case {
    Case {
        bin,
        class,
        args,
        nobody: false,
        env: Vec::new(),
        cwd: None,
        stdin: None,
        code: 0,
        texts: Vec::new(),
        given: Vec::new(),
        then: None,
        known: None,
    }
}

impl Case {
    /// A usage error: exit 2, clap's message.
    fn usage(mut self, texts: &[&'static str]) -> Self {
        self.code = 2;
        self.texts = [&["error:"][..], texts].concat();
        self
    }

    /// A run-time error: exit 1, one line naming the call and errno.
    fn fails(mut self, texts: &[&'static str]) -> Self {
        self.code = 1;
        self.texts = texts.to_vec();
        self
    }

    /// Exit `code` with these texts in stderr, and nothing else assumed.
    fn expect(mut self, code: i32, texts: &[&'static str]) -> Self {
        self.code = code;
        self.texts = texts.to_vec();
        self
    }

    /// Make this fixture first, though no argument names it.
    fn given(mut self, fixture: &'static str) -> Self {
        self.given.push(fixture);
        self
    }

    /// Once the program sleeps in `wchan`, run `bin` with `args` (placeholders allowed).
    fn then(mut self, wchan: &'static str, bin: &'static str, args: &'static str) -> Self {
        self.then = Some((wchan, bin, args));
        self
    }

    /// Run as `nobody` (when the tests run as root).
    fn nobody(mut self) -> Self {
        self.nobody = true;
        self
    }

    fn env(mut self, name: &'static str, value: &'static str) -> Self {
        self.env.push((name, value));
        self
    }

    fn cwd(mut self, dir: &'static str) -> Self {
        self.cwd = Some(dir);
        self
    }

    fn stdin(mut self, text: &'static str) -> Self {
        self.stdin = Some(text);
        self
    }

    #[allow(dead_code)] // used while a chapter has a known bug
    fn known(mut self, why: &'static str) -> Self {
        self.known = Some(why);
        self
    }

    fn text(&self) -> String {
        let who = if self.nobody { "(as nobody) " } else { "" };
        format!("{who}{} {}", self.bin, self.args).trim_end().to_owned()
    }
}

/// Every case. Keys: 0x5100 a queue, 0x5200 a set, 0x5300 nothing (see [`Fixtures`]).
fn cases() -> Vec<Case> {
    use Class::*;
    vec![
        // ch09-pipe
        case("pipe", Unknown, "--bogus").usage(&["--bogus"]),
        case("pipe", Missing, "-m").usage(&["a value is required"]),
        case("udpserv_pipeecho", Unknown, "0 --bogus").usage(&["--bogus"]),
        case("udpserv_pipeecho", Missing, "").usage(&["<PORT>"]),
        case("udpserv_pipeecho", NonNumeric, "abc").usage(&["invalid value 'abc'"]),
        case("udpserv_pipeecho", Negative, "-- -1").usage(&["'-1'"]),
        case("udpserv_pipeecho", Overflow, "99999999999999999999").usage(&["invalid value"]),
        case("udpserv_pipeecho", Range, "70000").usage(&["70000"]),
        case("udpserv_pipeecho", Range, "0 --bind 192.0.2.1").fails(&["bind(192.0.2.1:0)", "EADDRNOTAVAIL"]),
        case("udpserv_pipeecho", NonNumeric, "0 --bind bogus").usage(&["invalid value 'bogus'"]),
        case("udpserv_pipeecho", Permission, "80").nobody().fails(&["bind(127.0.0.1:80)", "EACCES"]),
        case("udpserv_pipeecho", InUse, "{busy_port}").fails(&["bind(", "EADDRINUSE"]),
        case("udpechocli", Unknown, "127.0.0.1 9 --bogus").usage(&["--bogus"]),
        case("udpechocli", Missing, "127.0.0.1").usage(&["<PORT>"]),
        case("udpechocli", NonNumeric, "127.0.0.1 abc").usage(&["invalid value 'abc'"]),
        case("udpechocli", Negative, "127.0.0.1 -- -1").usage(&["'-1'"]),
        case("udpechocli", Overflow, "127.0.0.1 99999999999999999999").usage(&["invalid value"]),
        case("udpechocli", Range, "127.0.0.1 70000").usage(&["70000"]),
        case("udpechocli", Range, "127.0.0.1 9 --timeout-ms 0").usage(&["--timeout-ms"]),
        case("udpechocli", PeerGone, "127.0.0.1 {closed_port} --timeout-ms 100").stdin("hello\n").fails(&[
            "recvfrom(127.0.0.1:",
            "EAGAIN",
            "is the server running?",
        ]),
        // ch09-fifo
        case("fifo", Unknown, "bogus").usage(&["bogus"]),
        case("fifo", Missing, "read").usage(&["<PATH>"]),
        case("fifo", Missing, "write {dir}/f").usage(&["<MESSAGE>"]),
        case("fifo", Path, "read {nodir}/f").fails(&["mkfifo(", "ENOENT"]),
        case("fifo", Path, "write {nodir}/f hello").fails(&["mkfifo(", "ENOENT"]),
        case("fifo", WrongKind, "read {file}").fails(&["EEXIST", "not a FIFO"]),
        case("fifo", WrongKind, "write {file} hello").fails(&["EEXIST", "not a FIFO"]),
        case("fifo", WrongKind, "read {dir}").fails(&["EEXIST", "not a FIFO"]),
        case("fifo", Permission, "write --nonblock {fifo} hello").nobody().fails(&["open(", "EACCES"]),
        case("fifo", Permission, "read --nonblock {fifo}").nobody().fails(&["open(", "EACCES"]),
        case("fifo", Permission, "read {private}/f").nobody().fails(&["mkfifo(", "EACCES"]),
        case("fifo", PeerGone, "write --nonblock {dir}/f hello").fails(&["open(", "ENXIO"]),
        case("udpserv_fifoecho", Unknown, "0 --bogus").usage(&["--bogus"]),
        case("udpserv_fifoecho", Missing, "").usage(&["<PORT>"]),
        case("udpserv_fifoecho", NonNumeric, "abc").usage(&["invalid value 'abc'"]),
        case("udpserv_fifoecho", Negative, "-- -1").usage(&["'-1'"]),
        case("udpserv_fifoecho", Overflow, "99999999999999999999").usage(&["invalid value"]),
        case("udpserv_fifoecho", Range, "70000").usage(&["70000"]),
        case("udpserv_fifoecho", Range, "0 --bind 192.0.2.1").fails(&["bind(192.0.2.1:0)", "EADDRNOTAVAIL"]),
        case("udpserv_fifoecho", Path, "0").env("TMPDIR", "{nodir}").fails(&["mkdtemp(", "ENOENT"]),
        case("udpserv_fifoecho", Permission, "0")
            .env("TMPDIR", "{private}")
            .nobody()
            .fails(&["mkdtemp(", "EACCES"]),
        case("udpserv_fifoecho", Permission, "80").nobody().fails(&["bind(127.0.0.1:80)", "EACCES"]),
        case("udpserv_fifoecho", InUse, "{busy_port}").fails(&["bind(", "EADDRINUSE"]),
        // ch10-shm
        case("shm_fork", Unknown, "--bogus").usage(&["--bogus"]),
        case("shm_fork", Missing, "--pause").usage(&["a value is required"]),
        case("shm_fork", NonNumeric, "--pause abc").usage(&["invalid value 'abc'"]),
        case("shm_fork", Negative, "--pause -1").usage(&["'-1'"]),
        case("shm_fork", Overflow, "--pause 99999999999999999999").usage(&["invalid value"]),
        case("listener", Unknown, "--bogus").usage(&["--bogus"]),
        case("listener", Missing, "--key").usage(&["a value is required"]),
        case("listener", NonNumeric, "--key bogus").usage(&["not a key"]),
        case("listener", Overflow, "--key 0x1ffffffff").usage(&["not a key"]),
        case("listener", Path, "--keyfile {nodir}/shmfile").fails(&["open(", "ENOENT"]),
        case("listener", Permission, "").nobody().cwd("/").fails(&["open(shmfile", "EACCES"]),
        case("listener", InUse, "--key {shm}").fails(&["shmget(", "EEXIST"]),
        case("talker", Unknown, "--bogus 1").usage(&["--bogus"]),
        case("talker", Missing, "").usage(&["<PID>"]),
        case("talker", NonNumeric, "abc").usage(&["invalid value 'abc'"]),
        case("talker", Negative, "-- -5").usage(&["'-5'"]),
        case("talker", Overflow, "99999999999").usage(&["99999999999"]),
        case("talker", Range, "0").usage(&["'0'"]),
        case("talker", NoObject, "--key {missing} {sleeper}").fails(&["shmget(", "ENOENT"]),
        case("talker", WrongKind, "--key {queue} {sleeper}").fails(&["shmget(", "ENOENT"]),
        case("talker", Path, "--keyfile {nodir}/shmfile {sleeper}").fails(&["ftok(", "ENOENT"]),
        case("talker", Path, "{sleeper}").fails(&["ftok(shmfile, 1)", "ENOENT"]),
        case("talker", Permission, "--key {shm} {sleeper}").nobody().fails(&["kill(", "EPERM"]),
        case("talker", Permission, "--key {shm} {nobody_sleeper}").nobody().fails(&["shmid=", "EACCES"]),
        case("talker", PeerGone, "--key {shm} {dead_pid}").fails(&["kill(", "ESRCH"]),
        case("shmbusyaccess", Unknown, "--bogus").usage(&["--bogus"]),
        case("shmbusyaccess", Missing, "--iterations").usage(&["a value is required"]),
        case("shmbusyaccess", NonNumeric, "--iterations abc").usage(&["invalid value 'abc'"]),
        case("shmbusyaccess", Negative, "--iterations -1").usage(&["'-1'"]),
        case("shmbusyaccess", Overflow, "--iterations 99999999999999999999").usage(&["invalid value"]),
        case("shmbusyaccess", Range, "--iterations 0").usage(&["'0'"]),
        case("shmbusyaccess", Path, "--keyfile {nodir}/key").fails(&["ftok(", "ENOENT"]),
        case("shmbusyaccess", InUse, "{shm} --iterations 10").fails(&["shmget(", "EEXIST"]),
        // ch10-semaphore
        case("semlock", Unknown, "--bogus").usage(&["--bogus"]),
        case("semlock", Missing, "--hold-ms").usage(&["a value is required"]),
        case("semlock", NonNumeric, "--hold-ms abc").usage(&["invalid value 'abc'"]),
        case("semlock", Negative, "--hold-ms -1").usage(&["'-1'"]),
        case("semlock", Overflow, "--init-wait-ms 99999999999999999999").usage(&["invalid value"]),
        case("semlock", Range, "--children 0").usage(&["--children"]),
        case("semlock", Range, "--children 100000").usage(&["--children"]),
        case("semlock", Path, "--keyfile {nodir}/key").fails(&["ftok(", "ENOENT"]),
        case("semlock", Permission, "--key {sem} --hold-ms 0").nobody().fails(&["semctl(", "EACCES"]),
        case("semlock", InUse, "--key {sem0} --hold-ms 0 --init-wait-ms 50")
            .fails(&["initsem(", "sem_otime is 0"]),
        case("pen_and_note", Unknown, "--bogus").usage(&["--bogus"]),
        case("pen_and_note", Missing, "--students").usage(&["a value is required"]),
        case("pen_and_note", NonNumeric, "--rounds abc").usage(&["invalid value 'abc'"]),
        case("pen_and_note", Negative, "--notes -1").usage(&["'-1'"]),
        case("pen_and_note", Overflow, "--study-ms 99999999999999999999").usage(&["invalid value"]),
        case("pen_and_note", Range, "--students 0").usage(&["--students"]),
        case("pen_and_note", Range, "--pens 40000").usage(&["--pens"]),
        case("pen_and_note", Path, "--keyfile {nodir}/key").fails(&["ftok(", "ENOENT"]),
        case("pen_and_note", InUse, "--key {sem}").fails(&["semget(", "EEXIST"]),
        case("shmcontrol", Unknown, "--bogus").usage(&["--bogus"]),
        case("shmcontrol", Missing, "--keyfile").usage(&["a value is required"]),
        case("shmcontrol", NonNumeric, "--iterations abc").usage(&["invalid value 'abc'"]),
        case("shmcontrol", NonNumeric, "0x5900 bogus").usage(&["not a key"]),
        case("shmcontrol", Negative, "--delay -1").usage(&["'-1'"]),
        case("shmcontrol", Overflow, "--iterations 99999999999999999999").usage(&["invalid value"]),
        case("shmcontrol", Range, "--iterations 0").usage(&["'0'"]),
        case("shmcontrol", Path, "--keyfile {nodir}/key").fails(&["ftok(", "ENOENT"]),
        case("shmcontrol", InUse, "{shm} --iterations 10").fails(&["shmget(", "EEXIST"]),
        case("shmcontrol", InUse, "0x5900 {sem} --iterations 10").fails(&["semget(", "EEXIST"]),
        case("semtool", Unknown, "show {sem} --bogus").usage(&["--bogus"]),
        // No subcommand: clap prints the whole help (on stderr, exit 2) rather than one error line.
        case("semtool", Missing, "").usage(&[]).expect(2, &["Usage: semtool <COMMAND>"]),
        case("semtool", Missing, "create {missing}").usage(&["<NSEMS>"]),
        case("semtool", Missing, "op {sem}").usage(&["<OP>"]),
        case("semtool", NonNumeric, "create {missing} abc").usage(&["invalid value 'abc'"]),
        case("semtool", NonNumeric, "op {sem} bogus").usage(&["not a semaphore operation"]),
        case("semtool", NonNumeric, "show bogus").usage(&["not a key"]),
        case("semtool", Negative, "create {missing} -- -1").fails(&["semget(", "EINVAL"]),
        case("semtool", Negative, "set {sem} -- -1").usage(&["'-1'"]),
        case("semtool", Overflow, "create {missing} 99999999999999999999").usage(&["invalid value"]),
        case("semtool", Overflow, "op {sem} 0-99999").usage(&["not a semaphore operation"]),
        case("semtool", Range, "create {missing} 0").fails(&["semget(", "EINVAL"]),
        case("semtool", Range, "create {missing} 100000").fails(&["semget(", "EINVAL"]),
        case("semtool", Range, "create {missing} 1 --values 40000").fails(&["SETALL", "ERANGE"]),
        case("semtool", Range, "create {missing} 1 --values 1 2").fails(&["SETALL", "2 values"]),
        case("semtool", Range, "set {sem} 40000").fails(&["SETALL", "ERANGE"]),
        case("semtool", Range, "op {sem} 5-1").fails(&["semop(", "EFBIG"]),
        case("semtool", NoObject, "op {missing} 0-1").fails(&["semget(", "ENOENT"]),
        case("semtool", NoObject, "show {missing}").fails(&["semget(", "ENOENT"]),
        case("semtool", NoObject, "set {missing} 1").fails(&["semget(", "ENOENT"]),
        case("semtool", NoObject, "rm {missing}").fails(&["semget(", "ENOENT"]),
        case("semtool", WrongKind, "show {queue}").fails(&["semget(", "ENOENT"]),
        case("semtool", Permission, "op --nowait {sem} 0+1").nobody().fails(&["semop(", "EACCES"]),
        case("semtool", Permission, "show {sem}").nobody().fails(&["semctl(", "EACCES"]),
        case("semtool", Permission, "set {sem} 1").nobody().fails(&["semctl(", "EACCES"]),
        case("semtool", Permission, "rm {sem}").nobody().fails(&["IPC_RMID", "EPERM"]),
        case("semtool", InUse, "create {sem} 1").fails(&["semget(", "EEXIST"]),
        case("semtool", InUse, "op --nowait {sem} 0-1 0-1").fails(&["semop(", "EAGAIN"]),
        case("semtool", PeerGone, "op {sem} 0-2")
            .then("do_semtimedop", "semtool", "rm {sem}")
            .fails(&["semop(", "EIDRM"]),
        // ch10-keys
        case("ftok", Unknown, "--bogus").usage(&["--bogus"]),
        case("ftok", NonNumeric, "/etc/passwd abc").usage(&["invalid value 'abc'"]),
        case("ftok", Negative, "/etc/passwd -- -1").usage(&["'-1'"]),
        case("ftok", Overflow, "/etc/passwd 99999999999").usage(&["99999999999"]),
        case("ftok", Path, "{nodir}/key").fails(&["stat(", "ENOENT"]),
        case("ftok", Path, "").env("TMPDIR", "{nodir}").fails(&["mkdtemp(", "ENOENT"]),
        case("ftok", Permission, "{private}/key").nobody().fails(&["stat(", "EACCES"]),
        case("ipcls", Unknown, "--bogus").usage(&["--bogus"]),
        case("ipcls", Missing, "--id").usage(&["a value is required"]),
        case("ipcls", NonNumeric, "--id abc").usage(&["invalid value 'abc'"]),
        case("ipcls", NonNumeric, "--key bogus").usage(&["not a key"]),
        case("ipcls", Negative, "--id -1").usage(&["'-1'"]),
        case("ipcls", Overflow, "--id 99999999999").usage(&["invalid value"]),
        case("ipcls", NoObject, "--id 12345").fails(&["12345"]),
        case("ipcls", NoObject, "-q --id 12345").fails(&["msgctl(", "EINVAL"]),
        case("ipcls", WrongKind, "-q --id {sem_id}").fails(&["msgctl(", "EINVAL"]),
        case("ipcls", WrongKind, "-s --id {queue_id}").fails(&["semctl(", "EINVAL"]),
        case("ipcls", WrongKind, "-m --id {sem_id}").fails(&["shmctl(", "EINVAL"]),
        case("ipcls", Permission, "-q --id {queue_id}").nobody().fails(&["msgctl(", "EACCES"]),
        case("ipcls", Permission, "-s --id {sem_id}").nobody().fails(&["semctl(", "EACCES"]),
        case("ipcls", Permission, "-m --id {shm_id}").nobody().fails(&["shmctl(", "EACCES"]),
        case("ipcclean", Unknown, "--bogus").usage(&["--bogus"]),
        case("ipcclean", Missing, "--key").usage(&["a value is required"]),
        case("ipcclean", NonNumeric, "--key bogus").usage(&["not a key"]),
        case("ipcclean", Overflow, "--key 0x1ffffffff").usage(&["not a key"]),
        case("ipcclean", Permission, "--yes").given("queue").fails(&["refusing", "--key"]),
        // ch10-msgq
        case("mkq", Unknown, "--bogus 5").usage(&["--bogus"]),
        case("mkq", Missing, "").usage(&["<KEY>"]),
        case("mkq", NonNumeric, "bogus").usage(&["not a key"]),
        case("mkq", Overflow, "0x1ffffffff").usage(&["not a key"]),
        case("mkq", Range, "--mode 999 {missing}").usage(&["not a permission mode"]),
        case("mkq", Range, "--mode 7777 {missing}").usage(&["not a permission mode"]),
        case("mkq", Permission, "{queue}").nobody().fails(&["msgget(", "EACCES"]),
        case("mkq", InUse, "--excl {queue}").fails(&["msgget(", "EEXIST"]),
        case("qctl", Unknown, "--bogus {queue}").usage(&["--bogus"]),
        case("qctl", Missing, "").usage(&["<KEY>"]),
        case("qctl", NonNumeric, "bogus").usage(&["not a key"]),
        case("qctl", NoObject, "{missing}").fails(&["msgget(", "ENOENT"]),
        case("qctl", WrongKind, "{sem}").fails(&["msgget(", "ENOENT"]),
        case("qctl", Permission, "{queue}").nobody().fails(&["msgctl(", "EACCES"]),
        case("qctl", Permission, "--keep {queue}").nobody().fails(&["msgctl(", "EACCES"]),
        case("qsend", Unknown, "--bogus {queue} 1 hi").usage(&["--bogus"]),
        case("qsend", Missing, "{queue} 1").usage(&["<TEXT>"]),
        case("qsend", NonNumeric, "{queue} abc hi").usage(&["invalid value 'abc'"]),
        case("qsend", Negative, "{queue} -- -1 hi").fails(&["msgsnd(", "EINVAL"]),
        case("qsend", Overflow, "{queue} 99999999999999999999 hi").usage(&["invalid value"]),
        case("qsend", Range, "{queue} 0 hi").fails(&["msgsnd(", "EINVAL"]),
        case("qsend", NoObject, "{missing} 1 hi").fails(&["msgget(", "ENOENT"]),
        case("qsend", WrongKind, "{sem} 1 hi").fails(&["msgget(", "ENOENT"]),
        case("qsend", Permission, "{queue} 1 hi").nobody().fails(&["msgsnd(", "EACCES"]),
        case("qsend", TooBig, "{queue} 1 {big}").fails(&["msgsnd(", "EINVAL"]),
        case("qsend", InUse, "--nowait {full_queue} 1 {half}").fails(&["msgsnd(", "EAGAIN"]),
        case("qsend", PeerGone, "{full_queue} 1 {half}")
            .then("do_msgsnd", "qctl", "{queue}")
            .fails(&["msgsnd(", "EIDRM"]),
        case("qrecv", Unknown, "--bogus {queue}").usage(&["--bogus"]),
        case("qrecv", Missing, "").usage(&["<KEY>"]),
        case("qrecv", NonNumeric, "--type abc {queue}").usage(&["invalid value 'abc'"]),
        case("qrecv", Negative, "--max -1 {queue}").usage(&["'-1'"]),
        case("qrecv", Overflow, "--max 99999999999 {queue}").usage(&["99999999999"]),
        case("qrecv", NoObject, "--nowait {missing}").fails(&["msgget(", "ENOENT"]),
        case("qrecv", WrongKind, "--nowait {sem}").fails(&["msgget(", "ENOENT"]),
        case("qrecv", Permission, "--nowait {queue}").nobody().fails(&["msgrcv(", "EACCES"]),
        case("qrecv", TooBig, "--max 2 {queue_with_message}").fails(&["msgrcv(", "E2BIG"]),
        case("qrecv", PeerGone, "--nowait {queue}").fails(&["msgrcv(", "ENOMSG"]),
        case("qrecv", PeerGone, "{queue}").then("do_msgrcv", "qctl", "{queue}").fails(&["msgrcv(", "EIDRM"]),
        case("qsnd_pid", Unknown, "--bogus {missing}").usage(&["--bogus"]),
        case("qsnd_pid", Missing, "").usage(&["<KEY>"]),
        case("qsnd_pid", Missing, "{missing}").fails(&["standard input ended"]),
        case("qsnd_pid", NonNumeric, "bogus").usage(&["not a key"]),
        case("qsnd_pid", Permission, "{queue} -m hi").nobody().fails(&["EACCES"]),
        case("qsnd_pid", TooBig, "{missing} -m {big}").fails(&["msgsnd(", "EINVAL"]),
        case("msgq_demo", Unknown, "--bogus").usage(&["--bogus"]),
        case("msgq_echoserv", Unknown, "--bogus 0x5400 0").usage(&["--bogus"]),
        case("msgq_echoserv", Missing, "0x5400").usage(&["<PORT>"]),
        case("msgq_echoserv", NonNumeric, "0x5400 abc").usage(&["invalid value 'abc'"]),
        case("msgq_echoserv", NonNumeric, "bogus 0").usage(&["not a key"]),
        case("msgq_echoserv", Negative, "0x5400 0 --workers -1").usage(&["'-1'"]),
        case("msgq_echoserv", Overflow, "0x5400 99999999999999999999").usage(&["invalid value"]),
        case("msgq_echoserv", Range, "0x5400 70000").usage(&["70000"]),
        case("msgq_echoserv", Range, "0x5400 0 --workers 100000").usage(&["--workers"]),
        case("msgq_echoserv", Range, "0x5400 0 --bind 192.0.2.1")
            .fails(&["bind(192.0.2.1:0)", "EADDRNOTAVAIL"]),
        case("msgq_echoserv", Permission, "0x5400 80").nobody().fails(&["bind(127.0.0.1:80)", "EACCES"]),
        case("msgq_echoserv", InUse, "{queue} 0").fails(&["msgget(", "EEXIST"]),
        case("msgq_echoserv", InUse, "0x5400 {busy_port}").fails(&["bind(", "EADDRINUSE"]),
        case("res_send", Unknown, "--bogus {queue} 9").usage(&["--bogus"]),
        case("res_send", Missing, "{queue}").usage(&["<PORT>"]),
        case("res_send", NonNumeric, "{queue} abc").usage(&["invalid value 'abc'"]),
        case("res_send", Range, "{queue} 70000").usage(&["70000"]),
        case("res_send", NoObject, "{missing} 9").fails(&["msgget(", "ENOENT"]),
        case("res_send", WrongKind, "{sem} 9").fails(&["msgget(", "ENOENT"]),
        case("res_send", WrongKind, "{queue} 9 --stdin-socket").fails(&["ENOTSOCK"]),
        case("res_send", Permission, "{queue} 9").nobody().fails(&["msgrcv(", "EACCES"]),
        // The server removes its queue when it stops: for a reply process that is the end of its
        // work, not an error (res_send.rs says so), so it exits 0 without a word.
        case("res_send", PeerGone, "{queue} 9").then("do_msgrcv", "qctl", "{queue}").expect(0, &[]),
        case("udp_load", Unknown, "--bogus 127.0.0.1 9").usage(&["--bogus"]),
        case("udp_load", Missing, "127.0.0.1").usage(&["<PORT>"]),
        case("udp_load", NonNumeric, "127.0.0.1 abc").usage(&["invalid value 'abc'"]),
        case("udp_load", Negative, "127.0.0.1 9 --clients -1").usage(&["'-1'"]),
        case("udp_load", Overflow, "127.0.0.1 9 --count 99999999999999999999").usage(&["invalid value"]),
        case("udp_load", Range, "127.0.0.1 9 --clients 0").usage(&["--clients"]),
        case("udp_load", Range, "127.0.0.1 9 --size 5").usage(&["--size"]),
        case("udp_load", Range, "127.0.0.1 9 --size 100000").usage(&["--size"]),
        case("udp_load", PeerGone, "127.0.0.1 {closed_port} --count 10 --timeout-ms 50 --retries 0")
            .fails(&["ECONNREFUSED"]),
        // ipc-bench (a tiny run where a case must get past the arguments)
        case("ipc-bench", Unknown, "--bogus").usage(&["--bogus"]),
        case("ipc-bench", Missing, "--runs").usage(&["a value is required"]),
        case("ipc-bench", NonNumeric, "--runs abc").usage(&["invalid value 'abc'"]),
        case("ipc-bench", NonNumeric, "--sizes abc").usage(&["not a size"]),
        case("ipc-bench", NonNumeric, "--cpus abc").usage(&["not a CPU list"]),
        case("ipc-bench", Negative, "--runs -1").usage(&["'-1'"]),
        case("ipc-bench", Overflow, "--sizes 99999999999999999999").usage(&["not a size"]),
        case("ipc-bench", Range, "--runs 0").usage(&["--runs"]),
        case("ipc-bench", Range, "--run-ms 0").usage(&["--run-ms"]),
        case("ipc-bench", Range, "--sizes 0").usage(&["transfer size"]),
        case("ipc-bench", Range, "--cpus 99").fails(&["--cpus", "CPU 99"]),
        case("ipc-bench", WrongKind, "--only bogus").usage(&["possible values"]),
        case("ipc-bench", Path, "--keyfile {nodir}/key").fails(&["ftok(", "ENOENT"]),
        case(
            "ipc-bench",
            Path,
            "--only pipe --test calls --runs 1 --run-ms 1 --cpus any --csv {nodir}/x.csv",
        )
        .fails(&["write(", "ENOENT"]),
        case(
            "ipc-bench",
            InUse,
            "--key {queue} --only svmsg --test calls --runs 1 --run-ms 1 --cpus any --no-c",
        )
        .fails(&["msgget(", "EEXIST"]),
        case(
            "ipc-bench",
            InUse,
            "--key {sem} --only svshm --test calls --runs 1 --run-ms 1 --cpus any --no-c",
        )
        .fails(&["semget(", "EEXIST"]),
        case("ipc-bench", InUse, "--c-key {queue} --only svmsg --test calls --runs 1 --run-ms 1 --cpus any")
            .fails(&["C baseline", "msgget(", "EEXIST"]),
    ]
}

/// What a case's placeholders stand for, made only when the case uses them, in a fresh private IPC
/// namespace and scratch directory. Objects are root's, mode 0600.
struct Fixtures {
    namespace: IpcNamespace,
    scratch: ScratchDir,
    values: BTreeMap<String, String>,
    /// Held while the case runs: a bound socket, processes to signal.
    sockets: Vec<UdpSocket>,
    sleepers: Vec<std::process::Child>,
}

impl Fixtures {
    fn new() -> Self {
        let namespace = IpcNamespace::new().expect("a private IPC namespace (root or user namespaces)");
        let scratch = ScratchDir::new();
        scratch.open_to_all();
        Fixtures { namespace, scratch, values: BTreeMap::new(), sockets: Vec::new(), sleepers: Vec::new() }
    }

    /// `text` with every `{name}` replaced, making each fixture on first use.
    fn expand(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let end = start + rest[start..].find('}').expect("a closing brace");
            out.push_str(&rest[..start]);
            out.push_str(&self.value(&rest[start + 1..end]));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn value(&mut self, name: &str) -> String {
        if let Some(value) = self.values.get(name) {
            return value.clone();
        }
        let value = self.make(name);
        self.values.insert(name.to_owned(), value.clone());
        value
    }

    fn make(&mut self, name: &str) -> String {
        let dir = self.scratch.path().to_path_buf();
        let path = |name: &str| dir.join(name).display().to_string();
        match name {
            "queue" => {
                self.namespace.cmd("mkq").arg("0x5100").run().assert_success();
                "0x5100".into()
            }
            "queue_with_message" => {
                let key = self.value("queue");
                self.namespace.cmd("qsend").args([key.as_str(), "1", "hello"]).run().assert_success();
                key
            }
            "full_queue" => {
                // msgmnb is 16384 bytes in a new namespace: two messages of half of it fill it.
                let key = self.value("queue");
                let half = self.value("half");
                for _ in 0..2 {
                    self.namespace
                        .cmd("qsend")
                        .args([key.as_str(), "1", half.as_str()])
                        .run()
                        .assert_success();
                }
                key
            }
            "half" => "h".repeat(8191),
            "sem" => {
                self.namespace
                    .cmd("semtool")
                    .args(["create", "0x5200", "1", "--values", "1"])
                    .run()
                    .assert_success();
                "0x5200".into()
            }
            // A set as a creator leaves it between semget and its first semop: value 0, sem_otime 0.
            "sem0" => {
                self.namespace
                    .cmd("semtool")
                    .args(["create", "0x5201", "1", "--values", "0"])
                    .run()
                    .assert_success();
                "0x5201".into()
            }
            "shm" => {
                let made = self
                    .namespace
                    .command("ipcmk")
                    .args(["-M", "1024", "-p", "0600"])
                    .output()
                    .expect("ipcmk");
                assert!(made.status.success(), "ipcmk: {}", String::from_utf8_lossy(&made.stderr));
                let key = self.object(shared::ipc::Kind::SharedMemory).key;
                format!("{:#x}", key.raw() as u32)
            }
            "queue_id" | "sem_id" | "shm_id" => {
                let (fixture, kind) = match name {
                    "queue_id" => ("queue", shared::ipc::Kind::MessageQueue),
                    "sem_id" => ("sem", shared::ipc::Kind::SemaphoreSet),
                    _ => ("shm", shared::ipc::Kind::SharedMemory),
                };
                self.value(fixture);
                self.object(kind).id.to_string()
            }
            "missing" => "0x5300".into(),
            "big" => "b".repeat(9000),
            "dir" => dir.display().to_string(),
            "nodir" => "/no/such/dir".into(),
            "file" => {
                std::fs::write(path("plain"), "a regular file\n").expect("write a file");
                path("plain")
            }
            "fifo" => {
                let status =
                    Command::new("mkfifo").args(["-m", "600", &path("fifo")]).status().expect("mkfifo");
                assert!(status.success());
                path("fifo")
            }
            "private" => {
                std::fs::create_dir(path("private")).expect("mkdir");
                std::fs::set_permissions(path("private"), std::fs::Permissions::from_mode(0o700))
                    .expect("chmod");
                path("private")
            }
            "sleeper" | "nobody_sleeper" => {
                let mut command = if name == "sleeper" {
                    Command::new("sleep")
                } else {
                    let mut setpriv = Command::new("setpriv");
                    setpriv.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "sleep"]);
                    setpriv
                };
                let child = command.arg("60").spawn().expect("sleep");
                let pid = child.id();
                self.sleepers.push(child);
                // setpriv changes user, then execs sleep: wait for the exec, so the user is right.
                let comm = format!("/proc/{pid}/comm");
                let deadline = Instant::now() + Duration::from_secs(10);
                while std::fs::read_to_string(&comm).unwrap_or_default().trim() != "sleep" {
                    assert!(Instant::now() < deadline, "{name} never became `sleep`");
                    std::thread::yield_now();
                }
                pid.to_string()
            }
            "dead_pid" => {
                let mut child = Command::new("true").spawn().expect("true");
                let pid = child.id();
                child.wait().expect("wait");
                pid.to_string()
            }
            "closed_port" => {
                let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
                socket.local_addr().expect("local_addr").port().to_string()
            }
            "busy_port" => {
                let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
                let port = socket.local_addr().expect("local_addr").port();
                self.sockets.push(socket);
                port.to_string()
            }
            other => panic!("no fixture {{{other}}}"),
        }
    }

    fn object(&self, kind: shared::ipc::Kind) -> shared::sysvipc::IpcObject {
        self.namespace.listing().into_iter().find(|object| object.kind == kind).expect("the fixture object")
    }

    /// What a case must leave as it found: the objects, every `/proc/sysvipc` column of them
    /// (values, message counts and times included), and the files.
    fn state(&self) -> (Vec<String>, Vec<PathBuf>) {
        let mut objects = self.namespace.objects();
        objects.sort();
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.scratch.path())
            .expect("read_dir")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        files.sort();
        (objects, files)
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        for sleeper in &mut self.sleepers {
            let _ = sleeper.kill();
            let _ = sleeper.wait();
        }
    }
}

/// Run one case; `Err` says how it broke the contract.
fn run_case(case: &Case) -> Result<(), String> {
    let mut fixtures = Fixtures::new();
    let args: Vec<String> = fixtures.expand(case.args).split_whitespace().map(str::to_owned).collect();
    let env: Vec<(&str, String)> =
        case.env.iter().map(|(name, value)| (*name, fixtures.expand(value))).collect();
    let cwd = case.cwd.map(|dir| fixtures.expand(dir));
    for fixture in &case.given {
        fixtures.value(fixture);
    }
    let before = fixtures.state();

    let mut cmd = fixtures.namespace.cmd(case.bin).args(args).timeout(Duration::from_secs(10));
    cmd = cmd.env("TMPDIR", fixtures.scratch.path()).current_dir(fixtures.scratch.path());
    for (name, value) in env {
        cmd = cmd.env(name, value);
    }
    if let Some(dir) = cwd {
        cmd = cmd.current_dir(dir);
    }
    if let Some(text) = case.stdin {
        cmd = cmd.stdin(text);
    }
    if case.nobody {
        cmd = cmd.unprivileged();
    }
    let running = cmd.start();
    let group = running.pid();
    let mut before = before;
    if let Some((wchan, bin, args)) = case.then {
        testkit::wait_until_sleeping_in(group, wchan)?;
        let args: Vec<String> = fixtures.expand(args).split_whitespace().map(str::to_owned).collect();
        fixtures.namespace.cmd(bin).args(args).run().assert_success();
        // The command removed what the program waits on; the program itself must have made nothing.
        let now = fixtures.state();
        if let Some(new) = now.0.iter().find(|object| !before.0.contains(object)) {
            return Err(format!("a new object while it waited: {new}"));
        }
        before = now;
    }
    let out = running.finish();

    // The error contract, as every chapter test checks it.
    for text in &case.texts {
        out.assert_error(case.code, text);
    }
    if case.code == 0 {
        out.assert_success();
        assert!(out.stderr.is_empty(), "a quiet end expected, not:\n{}", out.stderr);
    }
    if case.code == 2 {
        assert!(
            out.stderr.contains("Usage:") || out.stderr.contains("For more information, try '--help'"),
            "clap's usage hint expected:\n{}",
            out.stderr
        );
    }
    let mut problems = Vec::new();
    if process_group_alive(group) {
        problems.push(format!("processes left in its group: {:?}", process_group_members(group)));
    }
    let after = fixtures.state();
    if after.0 != before.0 {
        problems.push(format!("IPC objects before {:?}, after {:?}", before.0, after.0));
    }
    if after.1 != before.1 {
        problems.push(format!("files before {:?}, after {:?}", before.1, after.1));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n--- stderr ---\n{}", problems.join("\n"), out.stderr))
    }
}

/// A case's result: passed, failed (with why), or a known failure.
enum Verdict {
    Pass,
    Fail(String),
    Known(&'static str, String),
    /// A case marked known that passes now: remove the mark.
    FixedKnown,
}

fn judge(case: &Case) -> Verdict {
    let result = std::panic::catch_unwind(|| run_case(case)).unwrap_or_else(|panic| {
        Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".to_owned()))
    });
    match (result, case.known) {
        (Ok(()), None) => Verdict::Pass,
        (Ok(()), Some(_)) => Verdict::FixedKnown,
        (Err(why), None) => Verdict::Fail(why),
        (Err(why), Some(known)) => Verdict::Known(known, why),
    }
}

fn every_binary_against_every_class_of_bad_input() {
    if IpcNamespace::new().is_none() {
        testkit::skip(testkit::NO_NAMESPACE);
    }
    let start = Instant::now();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|case| !case.nobody || testkit::is_root())
        // Ports below 1024 are privileged only where the kernel says so.
        .filter(|case| !case.args.split_whitespace().any(|arg| arg == "80") || privileged_ports())
        .collect();

    // The cases' own panics (assert_error's messages) are collected, not printed as they happen.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let next = AtomicUsize::new(0);
    let verdicts: Mutex<Vec<Option<Verdict>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(index) else { break };
                    let verdict = judge(case);
                    verdicts.lock().unwrap()[index] = Some(verdict);
                }
            });
        }
    });
    std::panic::set_hook(hook);
    let verdicts: Vec<Verdict> = verdicts.into_inner().unwrap().into_iter().map(Option::unwrap).collect();

    let report = summary(&cases, &verdicts, start.elapsed());
    eprintln!("{report}");
    let dir =
        std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()));
    if let Some(target) = dir {
        let _ = std::fs::write(target.join("bad-input-matrix.txt"), &report);
    }
    let failures: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter_map(|(case, verdict)| match verdict {
            Verdict::Fail(why) => Some(format!("`{}` [{}]:\n{why}", case.text(), case.class.short())),
            _ => None,
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Whether binding a port below 1024 needs privileges here (it does unless a container lowered
/// `ip_unprivileged_port_start`).
fn privileged_ports() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .is_some_and(|start| start > 80)
}

/// The table: one row per binary, one column per class, `passed/tried` in each cell (`K` when
/// known failures are among them); then the known failures and the timing.
fn summary(cases: &[Case], verdicts: &[Verdict], took: Duration) -> String {
    let mut bins: Vec<&str> = Vec::new();
    for case in cases {
        if !bins.contains(&case.bin) {
            bins.push(case.bin);
        }
    }
    let mut out = String::new();
    let _ = write!(out, "{:<18}", "bad input");
    for class in CLASSES {
        let _ = write!(out, " {:>10}", class.short());
    }
    let _ = writeln!(out, " {:>10}", "total");
    let mut known_lines = Vec::new();
    let (mut all_passed, mut all_tried) = (0, 0);
    for bin in &bins {
        let _ = write!(out, "{bin:<18}");
        let (mut bin_passed, mut bin_tried) = (0, 0);
        for class in CLASSES {
            let (mut passed, mut tried, mut known) = (0, 0, 0);
            for (case, verdict) in cases.iter().zip(verdicts) {
                if case.bin != *bin || case.class != class {
                    continue;
                }
                tried += 1;
                match verdict {
                    Verdict::Pass | Verdict::FixedKnown => passed += 1,
                    Verdict::Known(why, failure) => {
                        known += 1;
                        let first = failure.lines().next().unwrap_or_default();
                        known_lines.push(format!(
                            "  KNOWN `{}` [{}]: {why} ({first})",
                            case.text(),
                            class.short()
                        ));
                    }
                    Verdict::Fail(_) => {}
                }
                if let Verdict::FixedKnown = verdict {
                    known_lines
                        .push(format!("  `{}` is marked known but passes now: remove the mark", case.text()));
                }
            }
            let cell = match (tried, known) {
                (0, _) => "-".to_owned(),
                (_, 0) => format!("{passed}/{tried}"),
                (_, known) => format!("{passed}/{tried} {known}K"),
            };
            let _ = write!(out, " {cell:>10}");
            bin_passed += passed;
            bin_tried += tried;
        }
        let _ = writeln!(out, " {:>10}", format!("{bin_passed}/{bin_tried}"));
        all_passed += bin_passed;
        all_tried += bin_tried;
    }
    let _ = writeln!(out, "all: {all_passed}/{all_tried} cases passed, {} ms", took.as_millis());
    for line in known_lines {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Key 0 is IPC_PRIVATE: where processes must meet on a key, every program refuses it as a usage
/// error that says why, before it makes anything (else each run leaves a queue or set no one finds).
fn key_0_is_refused_wherever_a_key_is_shared() {
    let runs: [(&str, &[&str]); 16] = [
        ("mkq", &["0"]),
        ("qsend", &["0", "1", "hi"]),
        ("qrecv", &["--nowait", "0"]),
        ("qctl", &["--keep", "0"]),
        ("qsnd_pid", &["0", "-m", "hi"]),
        ("res_send", &["0", "9"]),
        ("msgq_echoserv", &["0", "0"]),
        ("semtool", &["create", "0", "1"]),
        ("semlock", &["--key", "0"]),
        ("shmcontrol", &["0"]),
        ("shmcontrol", &["0x5900", "0"]),
        ("shmbusyaccess", &["0x0"]),
        ("listener", &["--key", "0"]),
        ("talker", &["--key", "0", "1"]),
        ("pen_and_note", &["--key", "0"]),
        ("semtool", &["op", "0", "0-1"]),
    ];
    for (bin, args) in runs {
        testkit::Cmd::new(bin)
            .args(args.iter().copied())
            .run()
            .assert_error(2, "key 0 is IPC_PRIVATE: it makes a new object no other process can find by key");
    }
}

/// A datagram the queue cannot carry (kernel.msgmax lowered to 1024, a per-namespace setting) is
/// refused with a line, and the server goes on echoing: a remote client cannot stop it.
fn msgq_echoserv_survives_a_datagram_larger_than_msgmax() {
    let namespace = IpcNamespace::new().unwrap_or_else(|| testkit::skip(testkit::NO_NAMESPACE));
    let set = namespace.command("sh").args(["-c", "echo 1024 > /proc/sys/kernel/msgmax"]).status();
    if !set.is_ok_and(|status| status.success()) {
        testkit::skip("needs root, to lower kernel.msgmax in a private IPC namespace");
    }
    let mut server = namespace.cmd("msgq_echoserv").args(["0x7b", "0"]).start();
    let listening = server.expect_line("listening on 127.0.0.1:");
    let port: u16 = listening.rsplit(':').next().and_then(|port| port.parse().ok()).expect("port");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.connect(("127.0.0.1", port)).expect("connect");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    socket.send(&[b'x'; 1500]).expect("send 1500 bytes");
    server.expect_line("refused a 1500-byte datagram");
    socket.send(b"still here").expect("send");
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf).expect("an echo after the refused datagram");
    assert_eq!(&buf[..n], b"still here");
    server.signal(testkit::Signal::SIGTERM);
    let out = server.finish();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(namespace.objects(), Vec::<String>::new(), "the queue is removed");
}

/// The echo servers refuse a datagram larger than one record, with no echo: `--help` says so.
fn echo_servers_document_their_datagram_limit() {
    let limit = format!("more than {} bytes gets no echo", shared::echo::MAX_DATA);
    for bin in ["udpserv_pipeecho", "udpserv_fifoecho", "msgq_echoserv"] {
        let help = testkit::Cmd::new(bin).arg("--help").run();
        help.assert_success();
        assert!(help.stdout.replace('\n', " ").contains(&limit), "{bin} --help:\n{}", help.stdout);
    }
}

testkit::main!(
    echo_servers_document_their_datagram_limit,
    msgq_echoserv_survives_a_datagram_larger_than_msgmax,
    key_0_is_refused_wherever_a_key_is_shared,
    every_binary_against_every_class_of_bad_input,
);
