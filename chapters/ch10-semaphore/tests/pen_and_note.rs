//! `pen_and_note`: the one pen is never in two hands, everybody studies, and everything goes back on
//! the table, whether both are taken in one semop or in two.

use testkit::{Cmd, IpcNamespace, Signal, TestKey, assert_transcript};

/// `(student, step)` for every student line, e.g. `(2, "picks up the pen")`.
fn steps(stdout: &str) -> Vec<(u32, &str)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.split_once("] student ")?.1;
            let (student, step) = rest.split_once(' ')?;
            Some((student.parse().ok()?, step))
        })
        .collect()
}

/// Check the lesson on a run's output: at most one pen holder at any time, and each student
/// studied `rounds` times, always holding a pen and a note.
fn check(stdout: &str, students: u32, rounds: usize) {
    let mut holder: Option<u32> = None;
    let mut has_note = vec![false; students as usize + 1];
    for (student, step) in steps(stdout) {
        match step {
            "picks up the pen" => {
                assert_eq!(holder, None, "student {student} took the pen from student {holder:?}:\n{stdout}");
                holder = Some(student);
            }
            "picks up a note" => has_note[student as usize] = true,
            "studies" => {
                assert_eq!(holder, Some(student), "studying without the pen:\n{stdout}");
                assert!(has_note[student as usize], "studying without a note:\n{stdout}");
            }
            "puts down the pen" => holder = None,
            "puts down the note" => has_note[student as usize] = false,
            other => panic!("unexpected step {other:?}"),
        }
    }
    for student in 1..=students {
        let studied =
            steps(stdout).iter().filter(|&&(who, step)| who == student && step == "studies").count();
        assert_eq!(studied, rounds, "student {student}:\n{stdout}");
    }
    assert!(stdout.contains("pens = 1, notes = 2 again"), "{stdout}");
}

fn one_pen_is_never_in_two_hands() {
    let key = TestKey::new();
    let out = Cmd::new("pen_and_note").args(["--key", &key.arg(), "--rounds", "3", "--study-ms", "2"]).run();
    out.assert_success();
    check(&out.stdout, 4, 3);
}

fn transcript_is_the_same_on_every_run() {
    let key = TestKey::new();
    let out = Cmd::new("pen_and_note").args(["--key", &key.arg()]).run();
    out.assert_success();
    check(&out.stdout, 4, 1);
    // Each student's five lines come together (the pen is held while printing); only who goes
    // first varies, so the student's number is redacted with the pid.
    let redactions = [
        (r"--key 0x[0-9a-f]+", "--key KEY"),
        (r"semaphore set \d+", "semaphore set ID"),
        (r"student \d+", "student N"),
    ];
    assert_transcript!("pen_and_note", out.redacted(&redactions));
}

fn two_separate_calls_still_keep_one_pen_holder() {
    let key = TestKey::new();
    let out = Cmd::new("pen_and_note")
        .args(["--key", &key.arg(), "--separate", "--rounds", "2", "--study-ms", "2"])
        .run();
    out.assert_success();
    check(&out.stdout, 4, 2);
}

fn nothing_is_left_after_ctrl_c() {
    // The set is IPC_PRIVATE by default: look for leftovers in a private IPC namespace.
    let Some(namespace) = IpcNamespace::new() else {
        testkit::skip(testkit::NO_NAMESPACE);
    };
    let mut running = namespace.cmd("pen_and_note").args(["--study-ms", "20000"]).start();
    running.expect_line("studies");
    running.signal_group(Signal::SIGINT); // ^C: the parent and every student
    let out = running.finish();
    assert_eq!(out.code(), None, "killed by SIGINT");
    assert_eq!(namespace.objects(), Vec::<String>::new(), "pen_and_note left objects behind");
}

testkit::main!(
    one_pen_is_never_in_two_hands,
    transcript_is_the_same_on_every_run,
    two_separate_calls_still_keep_one_pen_holder,
    nothing_is_left_after_ctrl_c,
);
