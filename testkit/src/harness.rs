//! The test runner of the test files that have tests which cannot run everywhere (`harness =
//! false` in Cargo.toml): a test that calls [`skip`] is reported by `cargo test` as `ignored` with
//! its reason and counted in "N ignored", never as passed.
//!
//! ```text
//! fn needs_a_namespace() {
//!     let Some(namespace) = testkit::IpcNamespace::new() else { testkit::skip(testkit::NO_NAMESPACE) };
//!     // ...
//! }
//! testkit::main!(needs_a_namespace);
//! ```

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Why a test did not run: the payload [`skip`] unwinds with.
struct Skip(String);

/// End this test as "not run here" with `reason` (shown after `ignored,` in cargo's output).
pub fn skip(reason: impl Into<String>) -> ! {
    // resume_unwind, not panic!: no panic hook runs, so no "panicked at" line is printed.
    std::panic::resume_unwind(Box::new(Skip(reason.into())))
}

/// Run `tests` as libtest would (same options: filters, `--list`, `--test-threads`), then print
/// how many were not run and why. With `WORKBOOK_STRESS=N` set, N threads keep CPUs busy for
/// the whole run, as on a loaded grading server.
pub fn run(tests: &[(&'static str, fn())]) -> std::process::ExitCode {
    let args = Arguments::from_args();
    let _load = crate::load::Stress::from_env();
    let skipped = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let trials = tests
        .iter()
        .map(|&(name, body)| {
            let skipped = skipped.clone();
            Trial::ignorable_test(name, move || match std::panic::catch_unwind(body) {
                Ok(()) => Ok(Completion::Completed),
                Err(payload) => match payload.downcast::<Skip>() {
                    Ok(skip) => {
                        skipped.lock().unwrap_or_else(|e| e.into_inner()).push(skip.0.clone());
                        Ok(Completion::ignored_with(skip.0))
                    }
                    Err(payload) => Err(Failed::from(panic_text(&*payload))),
                },
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let mut reasons = std::mem::take(&mut *skipped.lock().unwrap_or_else(|e| e.into_inner()));
    if !reasons.is_empty() {
        reasons.sort();
        let mut counted: Vec<(usize, String)> = Vec::new();
        for reason in reasons {
            match counted.last_mut() {
                Some((count, last)) if *last == reason => *count += 1,
                _ => counted.push((1, reason)),
            }
        }
        let total: usize = counted.iter().map(|(count, _)| count).sum();
        println!("NOT RUN here: {total} test(s) of this file (see README, For graders):");
        for (count, reason) in counted {
            println!("  {count} x {reason}");
        }
    }
    conclusion.exit_code()
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_owned())
}

/// `fn main` for a `harness = false` test file: run these test functions with [`crate::harness::run`].
#[macro_export]
macro_rules! main {
    ($($test:ident),* $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::harness::run(&[$((stringify!($test), $test as fn())),*])
        }
    };
}
