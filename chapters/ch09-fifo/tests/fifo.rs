//! `fifo`: two processes that share only a path meet through a FIFO; open() waits for the other
//! end, end of file comes when the last writer closes, and every bad path fails cleanly.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use testkit::{Cmd, ScratchDir, assert_transcript};

/// The demo's private directory and a test's scratch directory differ on every run.
const PATHS: &[(&str, &str)] = &[
    (r"/[^\s,()]*/fifo\.[A-Za-z0-9]{6}/", "$$TMPDIR/fifo.XXXXXX/"),
    (r"/[^\s,()]*/workbook-test\.[A-Za-z0-9]{6}/", "$$DIR/"),
];

/// What the reader printed as read, in order.
fn lines_read(stdout: &str) -> Vec<&str> {
    stdout.lines().filter_map(|line| line.split_once("reader: read \"")?.1.strip_suffix('"')).collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn text(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_owned()
}

fn make_fifo(path: &Path, mode: u32) {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(mode)).expect("mkfifo");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn demo_a_separate_reader_program_gets_every_line_then_eof_after_the_last_writer() {
    let out = Cmd::new("fifo").run();
    out.assert_success();
    assert_eq!(
        lines_read(&out.stdout),
        [
            "Hello, reader",
            "All we share is this FIFO's name",
            "Closing my first end now",
            "Still here: this is the second write end"
        ],
        "the line written after the first write end closed still arrives: no EOF while a writer is left"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[lines.len() - 3].contains("reader: read() returned 0: end of file"), "EOF last");
    assert!(out.stdout.contains("with no reader: ENXIO"), "O_NONBLOCK writer without a reader");
    // Reader and writer are different processes: the reader is a program of its own.
    let pids: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|line| line.split(']').next()).collect();
    assert_eq!(pids.len(), 2, "two processes print: {pids:?}");

    // The FIFO and its directory are gone.
    let fifo = out.stdout.split("mkfifo(").nth(1).and_then(|rest| rest.split(',').next()).expect("path");
    let fifo = PathBuf::from(fifo);
    assert!(!fifo.parent().expect("dir").exists(), "{} was left behind", fifo.display());

    assert_transcript!("fifo_demo", out.redacted(PATHS));
}

#[test]
fn read_and_write_run_as_two_separate_programs() {
    let scratch = ScratchDir::new();
    let path = scratch.path().join("myfifo");
    // The reader makes the FIFO and waits in open() for a writer.
    let mut reader = Cmd::new("fifo").args(["read", &text(&path)]).start();
    reader.expect_line("O_RDONLY) waits until a writer has the FIFO open");
    // The kernel's word, not the transcript's: a FIFO, mode 0600 whatever the umask.
    let meta = std::fs::metadata(&path).expect("the reader made the FIFO before its open()");
    assert!(meta.file_type().is_fifo(), "{} is not a FIFO", path.display());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "the FIFO's mode");
    let writer = Cmd::new("fifo").args(["write", &text(&path), "hello", "world"]).run();
    writer.assert_success();
    let reader = reader.finish();
    reader.assert_success();

    assert_eq!(lines_read(&reader.stdout), ["hello", "world"]);
    assert!(reader.stdout.contains("end of file"));
    assert!(entries(scratch.path()).is_empty(), "the reader made the FIFO, so it removed it");
    assert_transcript!("fifo_read", reader.redacted(PATHS));
    assert_transcript!("fifo_write", writer.redacted(PATHS));
}

#[test]
fn a_writer_that_comes_first_waits_in_open_for_a_reader() {
    let scratch = ScratchDir::new();
    let path = scratch.path().join("myfifo");
    let mut writer = Cmd::new("fifo").args(["write", &text(&path), "first come"]).start();
    writer.expect_line("O_WRONLY) waits until a reader has the FIFO open");
    let reader = Cmd::new("fifo").args(["read", &text(&path)]).run();
    reader.assert_success();
    writer.finish().assert_success();
    assert_eq!(lines_read(&reader.stdout), ["first come"]);
    assert!(reader.stdout.contains("is already a FIFO: using it"));
    assert!(entries(scratch.path()).is_empty(), "the writer made the FIFO, so it removed it");
}

#[test]
fn nonblocking_open_reader_returns_at_once_writer_gets_enxio() {
    let scratch = ScratchDir::new();
    let path = text(&scratch.path().join("f"));

    let out = Cmd::new("fifo").args(["write", "--nonblock", &path, "hi"]).run();
    out.assert_error(1, "open(");
    out.assert_error(1, "O_WRONLY | O_NONBLOCK): ENXIO");
    assert!(entries(scratch.path()).is_empty(), "the writer removed the FIFO it made");

    // No writer anywhere: the reader's open returns, and its first read() is end of file.
    let out = Cmd::new("fifo").args(["read", "--nonblock", &path]).run();
    out.assert_success();
    assert!(out.stdout.contains("returned at once"));
    assert!(lines_read(&out.stdout).is_empty());
    assert!(out.stdout.contains("read() returned 0: end of file"));
    assert!(entries(scratch.path()).is_empty());
    assert_transcript!("fifo_read_nonblock", out.redacted(PATHS));
}

#[test]
fn a_regular_file_at_the_path_is_refused_and_left_as_it_was() {
    let scratch = ScratchDir::new();
    let file = scratch.path().join("notes.txt");
    std::fs::write(&file, "keep me\n").expect("write");
    for verb in [&["read"][..], &["write"], &["write", "--nonblock"]] {
        let mut args: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        args.push(text(&file));
        if verb[0] == "write" {
            args.push("overwrite?".into());
        }
        Cmd::new("fifo").args(args).run().assert_error(1, "mkfifo(").assert_error(1, "EEXIST");
    }
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep me\n", "never opened nor written");
    assert_eq!(entries(scratch.path()), ["notes.txt"]);
}

#[test]
fn a_missing_directory_is_enoent() {
    let scratch = ScratchDir::new();
    let path = text(&scratch.path().join("no-such-dir/f"));
    Cmd::new("fifo").args(["read", &path]).run().assert_error(1, "mkfifo(").assert_error(1, "ENOENT");
    Cmd::new("fifo").args(["write", &path, "x"]).run().assert_error(1, "ENOENT");
    assert!(entries(scratch.path()).is_empty());
}

#[test]
fn a_directory_we_may_not_write_is_eacces() {
    let scratch = ScratchDir::new();
    // r-x for everyone: we may look in, not add a name. (Root ignores this, hence `nobody`.)
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let path = text(&scratch.path().join("f"));
    let out = Cmd::new("fifo").args(["read", &path]).unprivileged().run();
    out.assert_error(1, "mkfifo(").assert_error(1, "EACCES");
    assert!(entries(scratch.path()).is_empty());
}

#[test]
fn a_fifo_we_may_not_open_is_eacces_and_stays() {
    let scratch = ScratchDir::new();
    scratch.open_to_all();
    // Write-only for its owner and nothing for others: nobody (and the owner) may not read it...
    let unreadable = scratch.path().join("unreadable");
    make_fifo(&unreadable, 0o200);
    let out = Cmd::new("fifo").args(["read", &text(&unreadable)]).unprivileged().run();
    out.assert_error(1, "open(").assert_error(1, "O_RDONLY): EACCES");
    // ...and read-only: nobody may write it.
    let unwritable = scratch.path().join("unwritable");
    make_fifo(&unwritable, 0o400);
    let out = Cmd::new("fifo").args(["write", &text(&unwritable), "x"]).unprivileged().run();
    out.assert_error(1, "open(").assert_error(1, "O_WRONLY): EACCES");

    // Not ours, so not removed: both FIFOs are still there, and nothing else.
    assert_eq!(entries(scratch.path()), ["unreadable", "unwritable"]);
    assert!(std::fs::metadata(&unreadable).expect("stat").file_type().is_fifo());
}

#[test]
fn usage_errors_exit_2() {
    Cmd::new("fifo").arg("read").run().assert_error(2, "<PATH>");
    Cmd::new("fifo").args(["write", "/tmp/x"]).run().assert_error(2, "<MESSAGE>");
    Cmd::new("fifo").arg("--frobnicate").run().assert_error(2, "unexpected argument");
}
