//! What the benchmark prints: the tables (row by row, as figures complete), the summary against
//! the targets, the CSV, and the progress line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use crate::cpus::CpuList;
use crate::measure::{Figure, RATIO_TARGET, Stats};
use crate::mechanism::{Mechanism, Test, size_text};

/// The shared-memory target: at 1 MiB, at least half of what memcpy moves.
pub const SHM_SHARE_TARGET: f64 = 0.50;
/// The size at which shared memory is held against memcpy.
pub const BULK_SIZE: usize = 1 << 20;

/// Everything measured under one CPU set.
#[derive(Debug, Clone)]
pub struct Setup {
    pub cpus: CpuList,
    pub figures: Vec<Figure>,
}

impl Setup {
    fn find(&self, test: Test, mechanism: Mechanism, size: usize) -> Option<&Figure> {
        self.figures.iter().find(|f| f.test == test && f.mechanism == mechanism && f.size == size)
    }

    /// memcpy's MB/s by size (the Rust figure, the one the Rust rows are held against).
    pub fn memcpy_by_size(&self) -> HashMap<usize, f64> {
        self.figures
            .iter()
            .filter(|f| f.mechanism == Mechanism::Memcpy)
            .map(|f| (f.size, f.rust_stats().median))
            .collect()
    }
}

const CELL: usize = 23;

/// The column titles of a table.
pub fn header(test: Test, runs: usize, max_runs: usize) -> String {
    let (title, value) = match test {
        Test::Latency => ("Latency: one round trip, parent -> child -> parent (lower is better)", "µs"),
        Test::Bandwidth => ("Bandwidth: one process streams to the other (higher is better)", "MB/s"),
        Test::Calls => {
            ("Calls alone: one process sends a message and receives it itself (lower is better)", "ns")
        }
    };
    let mut text = format!("{title}; median (min-max) of {runs} runs");
    if max_runs > runs {
        write!(
            text,
            " (a row ending [N runs]: Rust/C was above {RATIO_TARGET:.2}, so more, up to {max_runs})"
        )
        .expect("string");
    }
    text.push('\n');
    let size = if test == Test::Bandwidth { "transfer" } else { "message" };
    let rust = format!("Rust {value}");
    let c = format!("C {value}");
    write!(text, "  {:<19} {size:>8}  {rust:>CELL$}  {c:>CELL$}  {:>7}", "mechanism", "Rust/C")
        .expect("string");
    match test {
        Test::Bandwidth => text.push_str("  of memcpy"),
        Test::Calls => text.push_str("  Rust-C ns"),
        Test::Latency => {}
    }
    text
}

/// One row of a table. `memcpy` is memcpy's MB/s at this size, for the last column; `runs` is how
/// many runs a figure has unless it needed more (then the row says how many).
pub fn row(figure: &Figure, memcpy: Option<f64>, runs: usize) -> String {
    let rust = cell(figure, figure.rust_stats());
    let c = figure.c_stats().map_or_else(|| "-".to_owned(), |stats| cell(figure, stats));
    let ratio = figure.ratio().map_or_else(|| "-".to_owned(), ratio_text);
    let mut text = format!(
        "  {:<19} {:>8}  {rust:>CELL$}  {c:>CELL$}  {ratio:>7}",
        figure.mechanism.title(),
        size_text(figure.size)
    );
    if figure.test == Test::Bandwidth && figure.mechanism.is_ipc() {
        match memcpy {
            Some(limit) => {
                write!(text, "  {:>8.0}%", 100.0 * figure.rust_stats().median / limit).expect("string")
            }
            None => text.push_str("         -"),
        }
    }
    if let (Test::Calls, Some(c)) = (figure.test, figure.c_stats()) {
        // What the wrappers add to one send and one receive, in nanoseconds.
        write!(text, "  {:>+9.1}", figure.rust_stats().median - c.median).expect("string");
    }
    let mut extras = Vec::new();
    if figure.rust.len() != runs {
        extras.push(format!("{} runs", figure.rust.len()));
    }
    if let (Some(ratio), Some((low, high))) = (figure.ratio(), figure.ratio_interval()) {
        if ratio > RATIO_TARGET {
            extras.push(format!("95%: {low:.2}-{high:.2}"));
        }
    }
    if !extras.is_empty() {
        write!(text, "  [{}]", extras.join(", ")).expect("string");
    }
    if let Some((rust, c)) = rhythms_behind_ratio(figure) {
        write!(
            text,
            "\n      ^ context switches per {}: Rust {rust:.2}, C {c:.2}: different rhythms, see the note below",
            if figure.test == Test::Latency { "round trip" } else { "message" }
        )
        .expect("string");
    }
    text
}

/// The two sides' context switches per message, when they ran in different rhythms and their
/// ratio is off by more than the target either way: the rows that need the note below.
pub fn rhythms_behind_ratio(figure: &Figure) -> Option<(f64, f64)> {
    let off = figure.ratio().is_some_and(|r| !(1.0 / RATIO_TARGET..=RATIO_TARGET).contains(&r));
    figure.different_rhythms().filter(|_| off)
}

/// Said once under a table that has a row in different rhythms.
pub const RHYTHM_NOTE: &str = "\
  note: where the two pairs of processes gave up the CPU at different rates, they fell into different
        rhythms of sleeping and waking (say, a writer that fills the queue before the reader runs,
        against one preempted at every message); that decides the time more than the code does, and
        Rust/C there compares the scheduler's two choices, not the two programs";

/// A ratio, starred when it misses the target.
fn ratio_text(ratio: f64) -> String {
    if ratio > RATIO_TARGET { format!("{ratio:.2}*") } else { format!("{ratio:.2} ") }
}

fn cell(figure: &Figure, stats: Stats) -> String {
    let number = |value: f64| match figure.test {
        Test::Latency if value < 100.0 => format!("{value:.2}"),
        Test::Latency => format!("{value:.1}"),
        Test::Bandwidth if value < 100.0 => format!("{value:.1}"),
        Test::Bandwidth => format!("{value:.0}"),
        Test::Calls if value < 100.0 => format!("{value:.1}"),
        Test::Calls => format!("{value:.0}"),
    };
    format!("{} ({}-{})", number(stats.median), number(stats.min), number(stats.max))
}

/// The findings the issue asks for, and each target, met or not.
pub fn summary(setup: &Setup) -> Vec<String> {
    let mut lines = Vec::new();
    let latency: Vec<&Figure> =
        setup.figures.iter().filter(|f| f.test == Test::Latency && f.size == 1).collect();
    if let Some((fast, slow)) = extremes(&latency, |f| -f.rust_stats().median) {
        let (fast_value, slow_value) = (fast.rust_stats().median, slow.rust_stats().median);
        lines.push(format!(
            "small messages (1-byte round trip): fastest {} {fast_value:.2} µs, slowest {} {slow_value:.2} µs ({:.2}x)",
            fast.mechanism,
            slow.mechanism,
            slow_value / fast_value
        ));
    }
    // Bulk: what each mechanism moves at its best transfer size.
    let mut best: Vec<&Figure> = Vec::new();
    for mechanism in Mechanism::ALL.into_iter().filter(|m| m.is_ipc()) {
        let figures = setup.figures.iter().filter(|f| f.test == Test::Bandwidth && f.mechanism == mechanism);
        if let Some(top) = figures.max_by(|a, b| a.rust_stats().median.total_cmp(&b.rust_stats().median)) {
            best.push(top);
        }
    }
    if let Some((fast, slow)) = extremes(&best, |f| f.rust_stats().median) {
        let (fast_value, slow_value) = (fast.rust_stats().median, slow.rust_stats().median);
        lines.push(format!(
            "bulk data (each at its best size): fastest {} {fast_value:.0} MB/s at {}, slowest {} {slow_value:.0} MB/s at {} ({:.2}x)",
            fast.mechanism,
            size_text(fast.size),
            slow.mechanism,
            size_text(slow.size),
            fast_value / slow_value
        ));
    }
    if let (Some(shm), Some(limit)) = (
        setup.find(Test::Bandwidth, Mechanism::Svshm, BULK_SIZE),
        setup.find(Test::Bandwidth, Mechanism::Memcpy, BULK_SIZE),
    ) {
        let share = shm.rust_stats().median / limit.rust_stats().median;
        lines.push(format!(
            "shared memory at {}: {:.0} MB/s = {:.0}% of memcpy's {:.0} MB/s (target >= {:.0}%: {})",
            size_text(BULK_SIZE),
            shm.rust_stats().median,
            100.0 * share,
            limit.rust_stats().median,
            100.0 * SHM_SHARE_TARGET,
            met(share >= SHM_SHARE_TARGET)
        ));
    }
    let calls: Vec<(&Figure, f64, f64)> = setup
        .figures
        .iter()
        .filter(|f| f.test == Test::Calls)
        .filter_map(|f| f.c_stats().map(|c| (f, f.rust_stats().median - c.median, c.median)))
        .collect();
    if let Some((most, extra, c)) = calls.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        lines.push(format!(
            "what the Rust side adds to a send and a receive (calls test): at most {extra:+.1} ns ({} {}, {:+.1}% of C's {c:.0} ns)",
            most.mechanism,
            size_text(most.size),
            100.0 * extra / c
        ));
    }
    // The target is for the mechanisms. memcpy is the machine's limit, and its two loops are the
    // same instructions calling the same C library function: what differs there is where the
    // loader put each program (see the results' README), so its ratios are shown apart.
    let memcpy: Vec<f64> =
        setup.figures.iter().filter(|f| !f.mechanism.is_ipc()).filter_map(Figure::ratio).collect();
    if let (Some(low), Some(high)) =
        (memcpy.iter().copied().min_by(f64::total_cmp), memcpy.iter().copied().max_by(f64::total_cmp))
    {
        lines.push(format!(
            "memcpy (the limit, not a mechanism; the same instructions in Rust and C): Rust/C from {low:.2} to {high:.2}"
        ));
    }
    let paired: Vec<(&Figure, f64)> = setup
        .figures
        .iter()
        .filter(|f| f.mechanism.is_ipc())
        .filter_map(|f| f.ratio().map(|r| (f, r)))
        .collect();
    if let Some((worst, ratio)) = paired.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let within = paired.iter().filter(|(_, r)| *r <= RATIO_TARGET).count();
        let misses: Vec<&Figure> =
            paired.iter().filter(|(_, r)| *r > RATIO_TARGET).map(|(figure, _)| *figure).collect();
        // Why a figure is above the target: its two sides ran in different rhythms (the row says
        // so), or its runs cannot tell it from the target (the 95% interval of its ratio reaches
        // down to 1.05 or below), or neither: a cost the runs show.
        let apart = misses.iter().filter(|figure| figure.different_rhythms().is_some()).count();
        let noise = misses
            .iter()
            .filter(|figure| figure.different_rhythms().is_none())
            .filter(|figure| figure.ratio_interval().is_some_and(|(low, _)| low <= RATIO_TARGET))
            .count();
        let shown = misses.len() - apart - noise;
        // Unpinned, the Rust and the C pair of one figure may each get another placement (one CPU
        // or two), so their ratio compares placements: no target there.
        let verdict = if setup.cpus.0.is_empty() {
            "no target unpinned: each pair may get another placement"
        } else if misses.is_empty() {
            "target: all; met"
        } else if shown == 0 {
            "target: all; no figure is above it beyond its noise"
        } else {
            "target: all; NOT met"
        };
        let mut line = format!(
            "Rust/C: {within} of {} mechanism figures within {RATIO_TARGET:.2} ({verdict}); the highest, {ratio:.2}, is {} {} {}",
            paired.len(),
            worst.test.name(),
            worst.mechanism,
            size_text(worst.size)
        );
        if !misses.is_empty() {
            let mut why = Vec::new();
            if apart > 0 {
                why.push(format!("{apart} ran in different rhythms"));
            }
            if noise > 0 {
                why.push(format!("{noise} within noise of it (95% interval reaching {RATIO_TARGET:.2})"));
            }
            if shown > 0 {
                why.push(format!("{shown} beyond its noise"));
            }
            write!(line, "; of the {} above it, {}", misses.len(), why.join(", ")).expect("string");
        }
        lines.push(line);
    }
    lines
}

/// The figures with the highest and the lowest `score`.
fn extremes<'a>(figures: &[&'a Figure], score: impl Fn(&Figure) -> f64) -> Option<(&'a Figure, &'a Figure)> {
    let best = figures.iter().copied().max_by(|a, b| score(a).total_cmp(&score(b)))?;
    let worst = figures.iter().copied().min_by(|a, b| score(a).total_cmp(&score(b)))?;
    Some((best, worst))
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

/// Every figure as a CSV line, with a header; values in the figure's unit.
pub fn csv(setups: &[Setup]) -> String {
    let mut text = String::from(
        "cpus,test,mechanism,bytes,count,runs,unit,rust_median,rust_min,rust_max,c_median,c_min,c_max,rust_over_c,rust_switches_per_item,c_switches_per_item,rust_over_c_low95,rust_over_c_high95\n",
    );
    for setup in setups {
        for figure in &setup.figures {
            let rust = figure.rust_stats();
            let c = figure.c_stats();
            let unit = match figure.test {
                Test::Latency => "us_per_round_trip",
                Test::Bandwidth => "MB_per_s",
                Test::Calls => "ns_per_message",
            };
            let opt = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.4}"));
            writeln!(
                text,
                "\"{}\",{},{},{},{},{},{unit},{:.4},{:.4},{:.4},{},{},{},{},{},{},{},{}",
                setup.cpus,
                figure.test.slug(),
                figure.mechanism.slug(),
                figure.size,
                figure.count,
                figure.rust.len(),
                rust.median,
                rust.min,
                rust.max,
                opt(c.map(|s| s.median)),
                opt(c.map(|s| s.min)),
                opt(c.map(|s| s.max)),
                opt(figure.ratio()),
                opt(figure.switches_per_message().map(|(rust, _)| rust)),
                opt(figure.switches_per_message().map(|(_, c)| c)),
                opt(figure.ratio_interval().map(|(low, _)| low)),
                opt(figure.ratio_interval().map(|(_, high)| high)),
            )
            .expect("string");
        }
    }
    text
}

/// A one-line progress display on stderr, only when stderr is a terminal.
pub struct Progress {
    enabled: bool,
    total: usize,
    done: usize,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress { enabled: std::io::stderr().is_terminal(), total, done: 0 }
    }

    /// Show `what` beside a bar of the figures done so far.
    pub fn show(&self, what: &str) {
        if self.enabled {
            const WIDTH: usize = 24;
            let filled = WIDTH * self.done / self.total.max(1);
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
            eprint!("\r\x1b[2K[{bar}] {}/{} {what}", self.done, self.total);
            let _ = std::io::stderr().flush();
        }
    }

    /// One more figure done; clear the line so the next table row prints cleanly.
    pub fn step(&mut self) {
        self.done += 1;
        self.clear();
    }

    pub fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A bandwidth figure of `mechanism` whose Rust runs take `rust_ms` and C's 10 ms, each with
    /// the given context switches per run (100 messages).
    fn figure(mechanism: Mechanism, rust_ms: u64, switches: (u64, u64)) -> Figure {
        let ms = Duration::from_millis;
        Figure {
            test: Test::Bandwidth,
            mechanism,
            size: 4096,
            count: 100,
            rust: vec![ms(rust_ms); 3],
            c: vec![ms(10); 3],
            rust_switches: vec![switches.0; 3],
            c_switches: vec![switches.1; 3],
        }
    }

    fn ratio_line(setup: &Setup) -> String {
        summary(setup).into_iter().find(|line| line.starts_with("Rust/C:")).expect("a Rust/C line")
    }

    #[test]
    fn the_summary_holds_pinned_figures_to_the_target_and_names_rhythms() {
        let figures = vec![
            figure(Mechanism::Memcpy, 11, (0, 0)),
            figure(Mechanism::Pipe, 10, (50, 50)),
            figure(Mechanism::Mqueue, 13, (80, 30)),
            figure(Mechanism::Svmsg, 12, (50, 52)),
        ];
        let pinned = Setup { cpus: CpuList(vec![0]), figures };
        let line = ratio_line(&pinned);
        assert!(line.contains("1 of 3 mechanism figures within 1.05 (target: all; NOT met)"), "{line}");
        let memcpy = summary(&pinned).into_iter().find(|line| line.starts_with("memcpy")).expect("memcpy");
        assert!(memcpy.ends_with("Rust/C from 1.10 to 1.10"), "shown apart, not counted: {memcpy}");
        assert!(line.contains("the highest, 1.30, is bandwidth POSIX mqueue 4 KiB"), "{line}");
        assert!(
            line.ends_with("; of the 2 above it, 1 ran in different rhythms, 1 beyond its noise"),
            "{line}"
        );
        let only_rhythms = Setup { figures: pinned.figures[..3].to_vec(), ..pinned.clone() };
        let line = ratio_line(&only_rhythms);
        assert!(line.contains("(target: all; no figure is above it beyond its noise)"), "{line}");
        assert!(line.ends_with("; of the 1 above it, 1 ran in different rhythms"), "{line}");

        // 11 pairs from 0.98 to 1.18: the median 1.08 is above, but its interval (1.00-1.16) is
        // not: the runs cannot tell it from 1.05.
        let ms = Duration::from_micros;
        let scattered = Figure {
            rust: (0..11).map(|i| ms(9800 + 200 * i)).collect(),
            c: vec![ms(10_000); 11],
            rust_switches: vec![50; 11],
            c_switches: vec![50; 11],
            ..figure(Mechanism::Svmsg, 10, (50, 50))
        };
        let text = super::row(&scattered, None, 11);
        assert!(text.contains("1.08*") && text.ends_with("[95%: 1.00-1.16]"), "{text}");
        let noisy = Setup { cpus: CpuList(vec![0]), figures: vec![scattered] };
        let line = ratio_line(&noisy);
        assert!(line.contains("(target: all; no figure is above it beyond its noise)"), "{line}");
        assert!(
            line.ends_with("of the 1 above it, 1 within noise of it (95% interval reaching 1.05)"),
            "{line}"
        );

        let row = row(&pinned.figures[2], None, 3);
        assert!(row.contains("context switches per message: Rust 0.80, C 0.30"), "{row}");
        assert!(!super::row(&pinned.figures[3], None, 3).contains('^'), "0.50 and 0.52: one rhythm");
        let near = figure(Mechanism::Mqueue, 10, (80, 30));
        assert!(!super::row(&near, None, 3).contains('^'), "apart, but Rust/C 1.00 needs no note");

        let unpinned = Setup { cpus: CpuList(Vec::new()), ..pinned };
        let line = ratio_line(&unpinned);
        assert!(line.contains("(no target unpinned: each pair may get another placement)"), "{line}");

        let all_in = Setup { cpus: CpuList(vec![0, 1]), figures: vec![figure(Mechanism::Pipe, 10, (1, 1))] };
        assert!(ratio_line(&all_in).contains("1 of 1 mechanism figures within 1.05 (target: all; met)"));
    }
}
