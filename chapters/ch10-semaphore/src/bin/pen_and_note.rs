//! `pen_and_note`: the slides' counting semaphores. One set of two members counts what is on the
//! table, pens (member 0) and notes (member 1); each student needs a pen *and* a note at once, and
//! takes both with ONE semop of two operations, which the kernel does all together or not at all.

use std::time::Duration;

use ch10_semaphore::{NOTE, PEN, Step, done_line, table_line};
use clap::Parser;
use shared::cleanup::Owned;
use shared::cli::KeyArgs;
use shared::ipc::{IPC_CREAT, IPC_EXCL, SemId};
use shared::key::IPC_PRIVATE;
use shared::lang::{Lang, LangArgs};
use shared::process::{Child, fork_child, wait_all};
use shared::sem::{SemOp, semctl_getall, semctl_setall, semget, semop};
use shared::{Error, Result, say};

/// Slides ch. 8 §8.5, slides 44 and 50 (pen_and_note.c, described but not listed): 4 students share
/// 1 pen and 2 notes, counted by a two-member semaphore set.
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  pen_and_note                      1 pen, 2 notes, 4 students, as in the slides\n  pen_and_note --rounds 3           each student studies three times\n  pen_and_note --separate           take the pen and the note in two semop calls\n  pen_and_note --pens 3 --notes 3 --students 10\n                                    the slides' other example (3 pens, 3 notes, 10 students)"
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    lang: LangArgs,
    /// How many times each student studies.
    #[arg(long, value_name = "N", default_value_t = 1)]
    rounds: u32,
    /// Take (and return) the pen and the note in two semop calls instead of one.
    #[arg(long)]
    separate: bool,
    /// How many students (processes) share the table.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    students: u16,
    /// Pens on the table: the initial value of member 0.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=32767))]
    pens: u16,
    /// Notes on the table: the initial value of member 1.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32767))]
    notes: u16,
    /// How long each study session lasts.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    study_ms: u64,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // Parent and children share the set through fork, so no key is needed (the slides use one;
        // --key gives it one, to find it with `semtool show KEY` while it runs).
        let key = args.key.resolve(IPC_PRIVATE, 1)?;
        let semid = Owned::create(|| semget(key, 2, IPC_CREAT | IPC_EXCL | 0o600))?;
        semctl_setall(semid.id(), &[args.pens, args.notes])?;
        let lang = args.lang.resolve();
        println!("{}", table_line(lang, semid.id(), args.pens, args.notes, args.students));

        let study = Duration::from_millis(args.study_ms);
        let children: Vec<Child> = (1..=args.students)
            .map(|_| {
                fork_child(|| {
                    (0..args.rounds).try_for_each(|_| study_once(semid.id(), lang, study, args.separate))
                })
            })
            .collect::<Result<_>>()?;
        for (pid, status) in wait_all(children)? {
            if !status.success() {
                return Err(Error::other(format!("student process {pid} {status}")));
            }
        }
        println!("{}", done_line(lang, args.rounds, &semctl_getall(semid.id())?));
        semid.ipc_rmid()
    })
}

// ANCHOR: study
/// One study session: take a pen and a note, study, put both back. Lines are printed while the
/// pen is held, so with one pen the steps of two students never mix.
fn study_once(semid: SemId, lang: Lang, study: Duration, separate: bool) -> Result<()> {
    // EXERCISE(pen_and_note): take pen and note in ONE semop of two undo SemOps, study, give both back
    // SEM_UNDO: a student killed mid-session gives back what it took.
    let take_pen = SemOp::new(PEN, -1).undo();
    let take_note = SemOp::new(NOTE, -1).undo();
    let give_pen = SemOp::new(PEN, 1).undo();
    let give_note = SemOp::new(NOTE, 1).undo();

    if separate {
        // The slides' two calls: between them the student holds the pen and waits for a note.
        semop(semid, &[take_pen])?;
        say!("{}", Step::TakePen.text(lang));
        semop(semid, &[take_note])?;
        say!("{}", Step::TakeNote.text(lang));
    } else {
        // One call: the kernel takes both together, so nobody holds one while waiting for the other.
        semop(semid, &[take_pen, take_note])?;
        say!("{}", Step::TakePen.text(lang));
        say!("{}", Step::TakeNote.text(lang));
    }

    say!("{}", Step::Study.text(lang));
    std::thread::sleep(study);

    if separate {
        say!("{}", Step::PutPen.text(lang));
        semop(semid, &[give_pen])?;
        say!("{}", Step::PutNote.text(lang));
        semop(semid, &[give_note])?;
    } else {
        say!("{}", Step::PutPen.text(lang));
        say!("{}", Step::PutNote.text(lang));
        semop(semid, &[give_pen, give_note])?;
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: study
