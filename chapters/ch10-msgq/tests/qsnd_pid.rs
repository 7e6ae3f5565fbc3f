//! `qsnd_pid`: the child's message reaches the parent because its type is the parent's pid; the
//! output comes in the same order every run; the queue is gone afterwards, whatever happened, and
//! whoever made it (slide 21).

use testkit::{Cmd, Output, Signal, TestKey, assert_transcript};

/// The program in an English locale, whatever the grader's own.
fn english(name: &str) -> Cmd {
    Cmd::new(name).env("LC_ALL", "C")
}

fn redacted(out: &Output, key: &TestKey) -> String {
    out.redacted(&[
        (key.arg().as_str(), "[KEY]"),
        (r"(?m)^\d+ process", "[PID] process"),
        (r"type = \d+", "type = [PID]"),
        (r"message queue \d+", "message queue [ID]"),
        (r"메시지 큐 \d+", "메시지 큐 [ID]"),
    ])
}

/// The value after `label = ` in `stdout`.
fn value<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{label} = ")))
        .unwrap_or_else(|| panic!("{label} in {stdout}"))
}

/// The slides' session: the message arrives with the parent's pid as its type, 13 characters as
/// 14 bytes, and the lines always in this order.
fn check_session(out: &Output) {
    out.assert_success();
    let waiting_pid = out.stdout.split_whitespace().next().unwrap();
    assert_eq!(
        value(&out.stdout, "type"),
        waiting_pid,
        "mtype = getppid() in the child = getpid() in the parent"
    );
    assert_eq!(value(&out.stdout, "receiving process PID"), waiting_pid);
    assert_eq!(value(&out.stdout, "recv"), "14 bytes", "13 characters and the NUL");
    assert_eq!(value(&out.stdout, "value"), "Hi! my parent");
    // The child's lines between the parent's, always: the parent prints first, then waits for
    // the child to end before it prints what it received.
    let lines: Vec<&str> = out.stdout.lines().collect();
    let expected = [
        "",
        "Enter message to post :",
        "message posted",
        "recv = ",
        "type = ",
        "receiving process PID = ",
        "value = ",
        "message queue ",
    ];
    assert_eq!(lines.len(), expected.len(), "{}", out.stdout);
    for (line, start) in lines.iter().zip(expected) {
        assert!(line.starts_with(start), "{line:?} should start with {start:?}:\n{}", out.stdout);
    }
    assert!(lines[0].ends_with(" process waiting to read the message queue.."));
}

#[test]
fn the_child_posts_to_its_parent_by_pid() {
    let key = TestKey::new();
    let out = english("qsnd_pid").args([key.arg().as_str(), "--message", "Hi! my parent"]).run();
    check_session(&out);
    assert_transcript!("qsnd_pid", redacted(&out, &key));
}

/// Slide 21: "부모프로세스는메시지를수신후메시지큐를삭제" — whoever made the queue.
#[test]
fn it_removes_the_queue_after_receiving_even_one_it_found() {
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    let made = shared::msg::msgget(key.key(), 0).expect("mkq made the queue");
    let out = english("qsnd_pid").args([key.arg().as_str(), "-m", "Hi! my parent"]).run();
    check_session(&out);
    assert!(out.stdout.ends_with(&format!("message queue {made} removed\n")), "{}", out.stdout);
    let gone = shared::msg::msgget(key.key(), 0).expect_err("the kernel no longer has it");
    assert_eq!(gone.errno(), Some(shared::Errno::ENOENT));
}

/// The type is an address: a message of another type, already on the queue, is not the parent's.
#[test]
fn a_message_of_another_type_is_not_taken() {
    let key = TestKey::new();
    Cmd::new("mkq").arg(key.arg()).run().assert_success();
    Cmd::new("qsend").args([key.arg().as_str(), "1", "not for you"]).run().assert_success();
    let id = shared::msg::msgget(key.key(), 0).unwrap();
    assert_eq!(shared::msg::msgctl_stat(id).unwrap().qnum, 1, "the kernel holds the other message");
    let out = english("qsnd_pid").args([key.arg().as_str(), "-m", "Hi! my parent"]).run();
    check_session(&out);
}

/// The seed's Korean lines, spaces lost in the PDF extraction: ours must match with spaces removed.
#[test]
fn in_korean_it_prints_the_slides_lines() {
    let key = TestKey::new();
    // The locale decides (LC_ALL and LC_MESSAGES empty count as unset)...
    let out = Cmd::new("qsnd_pid")
        .args([key.arg().as_str(), "-m", "Hi! my parent"])
        .env("LC_ALL", "")
        .env("LC_MESSAGES", "")
        .env("LANG", "ko_KR.UTF-8")
        .run();
    out.assert_success();
    let squeezed: Vec<String> = out.stdout.lines().map(|line| line.split_whitespace().collect()).collect();
    let pid = out.stdout.split_whitespace().next().unwrap();
    assert_eq!(squeezed[0], format!("{pid}프로세스메시지큐읽기대기중.."));
    assert_eq!(squeezed[5], format!("수신프로세스PID={pid}"));
    assert_eq!(value(&out.stdout, "type"), pid);
    assert_eq!(value(&out.stdout, "recv"), "14 bytes");
    assert_transcript!("qsnd_pid_ko", redacted(&out, &key).replace(pid, "[PID]"));
    // ...and --lang beats it.
    let out = Cmd::new("qsnd_pid")
        .args(["--lang", "en", &key.arg(), "-m", "Hi! my parent"])
        .env("LC_ALL", "ko_KR.UTF-8")
        .run();
    check_session(&out);
}

#[test]
fn the_child_reads_the_line_from_standard_input() {
    let key = TestKey::new();
    let out = english("qsnd_pid").arg(key.arg()).stdin("Hi! my parent\n").run();
    check_session(&out);
}

#[test]
fn the_output_order_is_the_same_every_run() {
    let key = TestKey::new();
    let first = redacted(&english("qsnd_pid").args([key.arg().as_str(), "-m", "x"]).run(), &key);
    for _ in 0..4 {
        assert_eq!(redacted(&english("qsnd_pid").args([key.arg().as_str(), "-m", "x"]).run(), &key), first);
    }
}

#[test]
fn no_line_to_post_is_one_error_and_no_hang() {
    let key = TestKey::new();
    // The child finds no line; it removes the queue so the parent's msgrcv returns (EIDRM).
    let out = english("qsnd_pid").arg(key.arg()).run();
    out.assert_error(1, "no message to post: standard input ended before a line");
    // A line longer than msgmax (8192 bytes): the child's msgsnd is EINVAL.
    let long = "x".repeat(9000);
    let out = english("qsnd_pid").args([key.arg().as_str(), "-m", &long]).run();
    out.assert_error(1, "9001 bytes): EINVAL (Invalid argument)");
}

#[test]
fn interrupted_while_waiting_it_removes_the_queue_and_stops_the_child() {
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let key = TestKey::new();
        // stdin stays open, so the child waits for a line and the parent waits in msgrcv.
        let mut running = english("qsnd_pid").arg(key.arg()).stdin("").start();
        running.expect_line("Enter message to post :");
        let pgid = running.pid();
        testkit::wait_until_sleeping_in(pgid, "do_msgrcv").unwrap();
        running.signal(signal); // to the parent only: its handler must stop the child too
        let out = running.finish();
        assert!(out.code().is_none(), "it dies of {signal}");
        assert!(!testkit::process_group_alive(pgid), "no child left behind");
        // TestKey's drop fails the test if the queue is still there.
    }
}

/// `qsnd_pid KEY -m hi | head -1`: head exits after the first line, the child's next println fails
/// (EPIPE). The child must still wake its parent, which must not wait in msgrcv for ever; the
/// queue is removed. Racy by nature (when head exits), so run it several times.
#[test]
fn a_reader_that_closes_early_ends_the_demo_without_a_hang() {
    for _ in 0..10 {
        let key = TestKey::new();
        let out = english("qsnd_pid")
            .args([key.arg().as_str(), "-m", "hi"])
            .wrapped(["sh", "-c", r#""$0" "$@" | head -1"#])
            .timeout(std::time::Duration::from_secs(10))
            .run();
        assert_eq!(out.code(), Some(0), "head's status ends the pipeline: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert!(out.stdout.ends_with("process waiting to read the message queue..\n"), "{}", out.stdout);
    }
}
