//! `cargo xtask`: the workbook's tools for students, instructors and graders (book: "Grading").

mod book;
mod edition;
mod exercises;
mod grade;
mod libtest;
mod report;
mod speed;
mod stamps;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exercises::{Exercise, Exercises};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The workbook's tools: student edition, hints, grader")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a student copy of this repository into DIR: every EXERCISE region becomes todo!().
    StudentEdition {
        dir: PathBuf,
        /// Do not make DIR a fresh git repository with one commit.
        #[arg(long)]
        no_git: bool,
    },
    /// Show the next hint for an exercise (run again for the next one).
    Hint {
        /// The exercise, as `cargo xtask list` shows it.
        id: Option<String>,
        /// Show every hint at once.
        #[arg(long)]
        all: bool,
        /// Forget which hints were shown (all exercises, or ID).
        #[arg(long)]
        reset: bool,
    },
    /// List the exercises: id, chapter, program, difficulty, points.
    List,
    /// Run the tests of each exercise and score them (exit 0 only when all pass).
    Grade {
        /// Only this exercise (repeat for more).
        #[arg(long = "exercise", value_name = "ID")]
        exercises: Vec<String>,
        /// Only the exercises of this chapter crate, e.g. ch10-semaphore.
        #[arg(long, value_name = "CRATE")]
        chapter: Option<String>,
        /// Write JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write Gradescope's results.json here.
        #[arg(long, value_name = "FILE")]
        gradescope: Option<PathBuf>,
        /// Grade the repository in DIR (a student's copy) instead of this one.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// Write the book's lists of coding exercises (book/src/exercises/CRATE.md) from exercises.toml.
    BookExercises {
        /// Write nothing: list the files that are out of date and exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Check the grader end to end: the solution scores full marks, a fresh student edition 0 with a
    /// todo!() reason for every exercise, and every wrong answer loses points. Slow (builds copies).
    Selfcheck {
        /// Only this part (repeat for more); `cargo test` checks the two editions this way.
        #[arg(long, value_enum, value_name = "PART")]
        only: Vec<Part>,
    },
    /// Time `cargo xtask grade` against `cargo test` of the same tests, and student-edition.
    Speed {
        /// How many times to measure (the median is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

/// The parts of `cargo xtask selfcheck`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// The solution scores full marks.
    Solution,
    /// A fresh student edition scores 0, every exercise failing on its todo!().
    StudentEdition,
    /// Every wrong answer in exercises/wrong loses points.
    WrongAnswers,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Where cargo builds this repository: `CARGO_TARGET_DIR`, else `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Cmd::StudentEdition { dir, no_git } => student_edition(&dir, !no_git),
        Cmd::Hint { id, all, reset } => hint(id.as_deref(), all, reset),
        Cmd::List => list(),
        Cmd::Grade { exercises, chapter, junit, gradescope, root } => {
            grade_command(&root.unwrap_or_else(repo_root), &exercises, chapter.as_deref(), junit, gradescope)
        }
        Cmd::BookExercises { check } => book_exercises(check),
        Cmd::Selfcheck { only } => selfcheck(&only),
        Cmd::Speed { runs } => speed::measure(&repo_root(), runs.max(1)).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::from(2)
        }
    }
}

fn student_edition(dir: &Path, init_git: bool) -> Result<ExitCode, String> {
    let started = std::time::Instant::now();
    let (files, replaced) = edition::write(&repo_root(), dir, init_git)?;
    println!(
        "student edition: {files} files in {} ({} exercises replaced by todo!(): {}) in {:.1} s",
        dir.display(),
        replaced.len(),
        replaced.into_iter().collect::<Vec<_>>().join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn book_exercises(check: bool) -> Result<ExitCode, String> {
    let root = repo_root();
    if check {
        let stale = book::stale(&root)?;
        for problem in &stale {
            println!("{problem}: run `cargo xtask book-exercises`");
        }
        return Ok(if stale.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    for path in book::write(&root)? {
        println!("wrote {}", path.strip_prefix(&root).unwrap_or(&path).display());
    }
    Ok(ExitCode::SUCCESS)
}

fn list() -> Result<ExitCode, String> {
    let all = Exercises::load(&repo_root())?;
    for ex in &all.exercises {
        let marked = if ex.marked { "" } else { "  (not yet marked)" };
        println!(
            "{:18} {:16} {:18} {:6} {:>3} points, {} tests{marked}",
            ex.id,
            ex.krate,
            ex.bin,
            ex.difficulty.name(),
            ex.points,
            ex.test_count()
        );
        println!("{:18} {}", "", ex.summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `hint` remembers how many hints of each exercise were shown.
fn hints_file() -> PathBuf {
    target_dir().join("xtask-hints.json")
}

fn hint(id: Option<&str>, all: bool, reset: bool) -> Result<ExitCode, String> {
    let exercises = Exercises::load(&repo_root())?;
    let file = hints_file();
    let mut shown: std::collections::BTreeMap<String, usize> = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    if reset {
        match id {
            Some(id) => drop(shown.remove(id)),
            None => shown.clear(),
        }
    } else {
        let Some(id) = id else {
            return Err("which exercise? `cargo xtask hint ID` (`cargo xtask list` shows them)".into());
        };
        let ex =
            exercises.get(id).ok_or_else(|| format!("no exercise `{id}` (`cargo xtask list` shows them)"))?;
        let count = ex.hints.len();
        let seen = shown.entry(id.to_owned()).or_insert(0);
        let upto = if all { count } else { (*seen + 1).min(count) };
        for (number, text) in ex.hints.iter().enumerate().take(upto) {
            println!("hint {}/{count} for {id}: {text}", number + 1);
        }
        if upto == count && !all && *seen >= count {
            println!("(that was the last hint; `cargo xtask hint --reset {id}` starts again)");
        }
        *seen = upto.max(*seen);
        println!("check your work: cargo xtask grade --exercise {id}");
    }
    std::fs::create_dir_all(file.parent().unwrap()).map_err(|err| err.to_string())?;
    std::fs::write(&file, serde_json::to_string(&shown).unwrap())
        .map_err(|err| format!("{}: {err}", file.display()))?;
    if reset {
        println!("hints reset");
    }
    Ok(ExitCode::SUCCESS)
}

fn select<'a>(
    all: &'a Exercises,
    ids: &[String],
    chapter: Option<&str>,
) -> Result<Vec<&'a Exercise>, String> {
    for id in ids {
        if all.get(id).is_none() {
            return Err(format!("no exercise `{id}` (`cargo xtask list` shows them)"));
        }
    }
    let chosen: Vec<_> = all
        .exercises
        .iter()
        .filter(|ex| ids.is_empty() || ids.contains(&ex.id))
        .filter(|ex| chapter.is_none_or(|c| ex.krate == c))
        .collect();
    if chosen.is_empty() {
        return Err("no exercise matches (`cargo xtask list` shows them)".into());
    }
    Ok(chosen)
}

fn grade_command(
    root: &Path,
    ids: &[String],
    chapter: Option<&str>,
    junit: Option<PathBuf>,
    gradescope: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let root = root.canonicalize().map_err(|err| format!("{}: {err}", root.display()))?;
    let all = Exercises::load(&root)?;
    let chosen = select(&all, ids, chapter)?;
    grade::become_subreaper();
    let isolation = grade::Isolation::probe();
    println!("{}", isolation.describe());
    let (results, _) = grade::grade(&root, None, &all, &chosen, &isolation);
    print!("{}", report::table(&results));
    if let Some(path) = junit {
        std::fs::write(&path, report::junit(&results)).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    if let Some(path) = gradescope {
        std::fs::write(&path, report::gradescope(&results, &isolation.describe()))
            .map_err(|err| format!("{}: {err}", path.display()))?;
    }
    // Nothing graded (only unmarked exercises chosen) is not a pass: Classroom would give full points.
    let all_passed = results.iter().any(|r| r.graded())
        && results.iter().filter(|r| r.graded()).all(|r| r.points() == r.max_points);
    Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The end-to-end check (book: "Check the grader"). `cargo test` runs the two editions' parts
/// (xtask/tests/editions.rs), `.ci/run` the wrong answers.
fn selfcheck(only: &[Part]) -> Result<ExitCode, String> {
    let part = |p: Part| only.is_empty() || only.contains(&p);
    let root = repo_root();
    let all = Exercises::load(&root)?;
    let marked: Vec<&Exercise> = all.exercises.iter().filter(|ex| ex.marked).collect();
    grade::become_subreaper();
    let isolation = grade::Isolation::probe();
    println!("{}", isolation.describe());
    let mut problems = Vec::new();

    if part(Part::Solution) {
        println!("selfcheck: the solution scores full marks");
        let (solved, warnings) = grade::grade(&root, None, &all, &marked, &isolation);
        print!("{}", report::table(&solved));
        problems.extend(warnings.iter().map(|w| format!("solution: the build warns: {w}")));
        for r in solved.iter().filter(|r| r.points() != r.max_points) {
            problems.push(format!("solution: {} scored {}/{}: {}", r.id, r.points(), r.max_points, r.reason));
        }
    }

    // The copies are built in a target directory of their own: cargo never waits on the solution's
    // build lock, and their binaries never replace the solution's in target/debug.
    let work = target_dir().join("selfcheck");
    let copy_target = work.join("target");
    let copies = part(Part::StudentEdition) || part(Part::WrongAnswers);
    if copies {
        std::fs::create_dir_all(&work).map_err(|err| format!("{}: {err}", work.display()))?;
    }
    // One selfcheck at a time builds copies in a target directory: the copies and stamps are shared.
    let _lock = if copies { Some(lock(&work.join("lock"))?) } else { None };
    let mut stamps = stamps::Stamps::open(&copy_target);

    if part(Part::StudentEdition) {
        println!("selfcheck: a fresh student edition scores 0, each exercise failing on its todo!()");
        let copy = work.join("student-edition");
        remove_dir(&copy)?;
        edition::write(&root, &copy, false)?;
        stamps.stamp(&copy, &edition::source_files(&copy)?)?;
        let (results, warnings) = grade::grade(&copy, Some(&copy_target), &all, &marked, &isolation);
        problems.extend(warnings.iter().map(|w| format!("student edition: the build warns: {w}")));
        print!("{}", report::table(&results));
        for r in &results {
            // Another exercise's todo!() is a right reason too: qctl's tests first run mkq.
            let expected = "not yet implemented: ";
            if r.points() != 0 {
                problems.push(format!("student edition: {} scored {} points", r.id, r.points()));
            }
            // The exercise fails for the right reason when one of its tests shows the todo!(); the
            // others may fail as a consequence (a worker that panicked leaves its client waiting).
            let on_todo = |t: &report::TestResult| matches!(&t.outcome, libtest::Outcome::Failed(why) if why.contains(expected));
            if !r.tests.iter().any(on_todo) {
                problems
                    .push(format!("student edition: {}: no test fails on its todo!(): {}", r.id, r.reason));
            }
        }
    }

    if part(Part::WrongAnswers) {
        println!("selfcheck: every wrong answer loses points");
        let wrong: Vec<(&Exercise, &String)> =
            marked.iter().flat_map(|ex| ex.wrong_answers.iter().map(move |w| (*ex, w))).collect();
        if wrong.is_empty() {
            println!("(no wrong answers listed yet)");
        }
        let names = edition::source_files(&root)?;
        for (ex, patch) in wrong {
            let dir = work.join("wrong");
            remove_dir(&dir)?;
            copy_files(&root, &dir, &names)?;
            // A repository of its own: inside the solution's work tree, `git apply` would take paths
            // from the solution's root and silently skip every file.
            git_in(&dir, &["init", "-q"])?;
            let patch_path = root.join("exercises/wrong").join(patch);
            if git_in(&dir, &["apply", &patch_path.display().to_string()]).is_err() {
                problems.push(format!("{}: {patch} does not apply to the solution", ex.id));
                continue;
            }
            stamps.stamp(&dir, &names)?;
            let (results, _) = grade::grade(&dir, Some(&copy_target), &all, &[ex], &isolation);
            let r = &results[0];
            println!("{patch}: {}/{} ({})", r.points(), r.max_points, r.reason);
            if r.points() == r.max_points {
                problems.push(format!("{}: the wrong answer {patch} still gets full marks", ex.id));
            }
        }
    }

    if problems.is_empty() {
        println!("selfcheck: ok");
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &problems {
            println!("selfcheck: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// An exclusive lock on `path` (created if missing), held until the value is dropped.
fn lock(path: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, String> {
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|err| format!("{}: {err}", path.display()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| format!("flock({}): {errno}", path.display()))
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(format!("{}: {err}", dir.display())),
        _ => Ok(()),
    }
}

/// The solution's files `names`, unchanged (to apply a wrong-answer patch to).
fn copy_files(root: &Path, dest: &Path, names: &[String]) -> Result<(), String> {
    for name in names {
        let from = root.join(name);
        if !from.is_file() {
            continue;
        }
        let to = dest.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|err| err.to_string())?;
        std::fs::copy(&from, &to).map_err(|err| format!("{}: {err}", to.display()))?;
    }
    Ok(())
}

fn git_in(dir: &Path, args: &[&str]) -> Result<(), String> {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|err| format!("git {}: {err}", args[0]))?;
    if status.success() { Ok(()) } else { Err(format!("git {}: {status}", args[0])) }
}
