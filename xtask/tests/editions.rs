//! Both editions graded, as part of `cargo test`: the solution scores full marks, and a student
//! edition written now scores 0 with every exercise failing on a `todo!()` (`cargo xtask selfcheck
//! --only ...`; `.ci/run` adds the wrong answers). The copy is built in `target/selfcheck/target`,
//! kept between runs, so only what changed since the last run is rebuilt.

use std::time::Duration;

fn selfcheck(part: &str, minutes: u64) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    if root.join(".student-edition").exists() {
        testkit::skip("a student edition: its programs are the student's to write");
    }
    let out = testkit::Cmd::new("xtask")
        .args(["selfcheck", "--only", part])
        .env("CARGO_NET_OFFLINE", "true")
        .timeout(Duration::from_secs(minutes * 60).mul_f64(testkit::load_factor()))
        .run();
    assert!(out.code() == Some(0), "cargo xtask selfcheck --only {part} failed:\n{}", out.transcript());
    assert!(out.stdout.contains("selfcheck: ok"), "{}", out.transcript());
}

fn the_solution_scores_full_marks() {
    selfcheck("solution", 10);
}

fn a_fresh_student_edition_scores_0_each_exercise_on_its_todo() {
    // The first run builds the copy's dependencies too.
    selfcheck("student-edition", 30);
}

testkit::main!(the_solution_scores_full_marks, a_fresh_student_edition_scores_0_each_exercise_on_its_todo,);
