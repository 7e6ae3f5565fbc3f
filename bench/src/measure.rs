//! The method: warm up, size the runs, then alternate timed Rust and C runs; keep every run.
//!
//! For each figure (a test, a mechanism, a size):
//!
//! 1. both sides set up (objects, a forked peer) outside any timing;
//! 2. warm-up 1: a short run, every byte checked, on each side;
//! 3. warm-up 2: a run sized from warm-up 1 to take about the target time, to re-measure the rate;
//! 4. `runs` timed runs of the size warm-up 2 calls for, Rust and C taking turns (R C, C R, R C...)
//!    so that slow drift in the machine (other load, clock speed) falls on both alike, each run
//!    after the first with both sides set up anew: a new pair of processes per run;
//! 5. if the median of the per-pair ratios Rust/C is above the target (1.05), more batches of
//!    `runs` pairs, up to `max_runs` in all: a figure that one batch puts above the line may be
//!    unlucky (a noisy neighbour, a bad moment of the scheduler), and more pairs tell luck from
//!    cost; figures at or below the target are never re-measured, so this can only bring a
//!    figure's estimate closer to what more runs would say, never hide a cost that every batch
//!    shows;
//! 6. the median and the extremes of each side over all its runs, and the median of the per-pair
//!    ratios Rust/C.

use std::time::Duration;

use shared::key::Key;
use shared::{Error, Result};

use crate::cbaseline::CBaseline;
use crate::cpus::CpuList;
use crate::mechanism::{Mechanism, Test, size_text};
use crate::peer::{Memcpy, Peer, Run, Solo};

/// The Rust/C target: Rust may take at most 5% longer than C; a figure above it gets more runs.
pub const RATIO_TARGET: f64 = 1.05;

/// How to measure, for every figure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Timed runs per figure and side.
    pub runs: usize,
    /// Timed runs per side at most, for a figure whose Rust/C is above the target (batches of
    /// `runs`; equal to `runs`: never more).
    pub max_runs: usize,
    /// About how long one timed run should take.
    pub run_time: Duration,
    /// Check every byte of the timed runs too (warm-up 1 is always checked).
    pub verify: bool,
    /// Keys of the Rust side's objects (the C side has its own).
    pub key: Key,
    /// Tamper with one message, to show that the check works (tests only).
    pub inject_fault: bool,
    /// Where each forked child runs (`None`: wherever the scheduler likes).
    pub child_cpus: Option<CpuList>,
}

/// One figure: what was measured and the time of every timed run.
#[derive(Debug, Clone)]
pub struct Figure {
    pub test: Test,
    pub mechanism: Mechanism,
    pub size: usize,
    /// Round trips or messages in each timed run (the same on both sides).
    pub count: u64,
    pub rust: Vec<Duration>,
    pub c: Vec<Duration>,
    /// Context switches in each timed run, both processes together.
    pub rust_switches: Vec<u64>,
    pub c_switches: Vec<u64>,
}

/// How far apart the two sides' context switches per message may be and still count as the same
/// rhythm of sleeping and waking (a quarter).
const RHYTHM_TOLERANCE: f64 = 1.25;
/// Below this many context switches per message (one in ten messages), a side hardly switches,
/// and a difference says little.
const RHYTHM_FLOOR: f64 = 0.1;

/// Median and extremes of a figure's runs, in its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    /// The unit of [`Figure::value`].
    pub fn unit(&self) -> &'static str {
        match self.test {
            Test::Latency => "µs",
            Test::Bandwidth => "MB/s",
            Test::Calls => "ns",
        }
    }

    /// A run's time as the figure reports it: µs per round trip, or MB/s (10^6 bytes per second).
    pub fn value(&self, time: Duration) -> f64 {
        let nanos = time.as_nanos().max(1) as f64;
        match self.test {
            Test::Latency => nanos / 1000.0 / self.count as f64,
            Test::Bandwidth => (self.count as f64 * self.size as f64) / nanos * 1000.0,
            Test::Calls => nanos / self.count as f64,
        }
    }

    pub fn rust_stats(&self) -> Stats {
        self.stats(&self.rust)
    }

    pub fn c_stats(&self) -> Option<Stats> {
        (!self.c.is_empty()).then(|| self.stats(&self.c))
    }

    /// The median over the pairs of Rust time / C time: 1.00 is the same speed, 1.05 is Rust
    /// taking 5% longer (latency 5% higher, bandwidth 5% lower).
    pub fn ratio(&self) -> Option<f64> {
        let ratios = self.pair_ratios();
        (!ratios.is_empty()).then(|| median(ratios))
    }

    /// Where the true median of Rust/C lies, with 95% confidence or more: an interval between two
    /// of the pairs' ratios, from the sign test (it assumes nothing about how the runs scatter,
    /// only that pairs are independent). `None` with fewer than 6 pairs, too few to say.
    pub fn ratio_interval(&self) -> Option<(f64, f64)> {
        let mut ratios = self.pair_ratios();
        ratios.sort_by(f64::total_cmp);
        let k = median_interval_rank(ratios.len())?;
        Some((ratios[k], ratios[ratios.len() - 1 - k]))
    }

    fn pair_ratios(&self) -> Vec<f64> {
        self.rust
            .iter()
            .zip(&self.c)
            .map(|(rust, c)| rust.as_secs_f64() / c.as_secs_f64().max(1e-12))
            .collect()
    }

    /// Context switches per round trip or message, Rust's and C's (medians over the runs).
    pub fn switches_per_message(&self) -> Option<(f64, f64)> {
        let per = |switches: &[u64]| {
            median(switches.iter().map(|&n| n as f64 / self.count.max(1) as f64).collect())
        };
        (!self.c_switches.is_empty()).then(|| (per(&self.rust_switches), per(&self.c_switches)))
    }

    /// Whether the two sides fell into different rhythms of sleeping and waking: one switches
    /// at least a quarter more often per message than the other. Then the ratio compares what the
    /// scheduler did to each pair more than it compares the two programs.
    pub fn different_rhythms(&self) -> Option<(f64, f64)> {
        let (rust, c) = self.switches_per_message()?;
        let (low, high) = (rust.min(c), rust.max(c));
        (high >= RHYTHM_FLOOR && high > RHYTHM_TOLERANCE * low).then_some((rust, c))
    }

    fn stats(&self, times: &[Duration]) -> Stats {
        let values: Vec<f64> = times.iter().map(|&time| self.value(time)).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Stats { median: median(values), min, max }
    }

    /// `latency pipe 1 B`, for progress lines and errors.
    pub fn name(test: Test, mechanism: Mechanism, size: usize) -> String {
        format!("{} {} {}", test.name(), mechanism.slug(), size_text(size))
    }
}

/// For `n` sorted values, the 0-based rank `k` such that values `k` and `n - 1 - k` bound the
/// median with at least 95% confidence: the largest `k` for which the chance that `k` or fewer of
/// `n` values fall below the true median, P(Binomial(n, 1/2) <= k), is at most 2.5% (and as much
/// again above it).
fn median_interval_rank(n: usize) -> Option<usize> {
    // P(X <= j) for X ~ Binomial(n, 1/2), built term by term: C(n, j) / 2^n.
    let mut term = 0.5f64.powi(n as i32);
    let mut below = 0.0;
    let mut rank = None;
    for j in 0..n / 2 {
        below += term;
        if below > 0.025 {
            break;
        }
        rank = Some(j + 1);
        term *= (n - j) as f64 / (j + 1) as f64;
    }
    rank.map(|k| k - 1).filter(|_| n >= 6)
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The Rust side of a figure: two processes, or memcpy in this one.
enum RustSide {
    Ipc(Box<Peer>),
    Solo(Box<Solo>),
    Memcpy(Memcpy),
}

impl RustSide {
    fn run(&mut self, count: u64, verify: bool) -> Result<Run> {
        match self {
            RustSide::Ipc(peer) => peer.run(count, verify),
            RustSide::Solo(solo) => solo.run(count),
            RustSide::Memcpy(memcpy) => memcpy.run(count),
        }
    }
}

/// Both sides of one figure, set up (objects, a forked peer) or not.
struct Sides<'a> {
    plan: &'a Plan,
    test: Test,
    mechanism: Mechanism,
    size: usize,
    name: String,
    rust: Option<RustSide>,
    c: Option<&'a mut CBaseline>,
}

impl Sides<'_> {
    /// Whether every timed run gets a new pair of processes. A pair can keep one rhythm of
    /// sleeping and waking for its whole life, and its speed with it, so the runs of one pair are
    /// not independent trials, which the sign test's interval assumes they are.
    fn fresh_pairs(&self) -> bool {
        self.mechanism.is_ipc() && self.test != Test::Calls
    }

    fn rust_error(&self, err: Error) -> Error {
        in_context(err, &format!("{} (Rust)", self.name))
    }

    /// Make the objects and fork the peers, Rust's first (the C side copies its buffer offsets).
    fn start(&mut self) -> Result<()> {
        let (plan, test, mechanism, size) = (self.plan, self.test, self.mechanism, self.size);
        let rust = if !mechanism.is_ipc() {
            Memcpy::new(size).map(RustSide::Memcpy)
        } else if test == Test::Calls {
            Solo::start(mechanism, size, plan.key).map(|solo| RustSide::Solo(Box::new(solo)))
        } else {
            Peer::start(test, mechanism, size, plan.key, plan.child_cpus.as_ref(), plan.inject_fault)
                .map(|peer| RustSide::Ipc(Box::new(peer)))
        };
        let rust = rust.map_err(|err| self.rust_error(err))?;
        let offsets = match &rust {
            RustSide::Ipc(peer) => peer.text_offsets(),
            RustSide::Solo(solo) => solo.text_offsets(),
            RustSide::Memcpy(_) => [0; 4],
        };
        self.rust = Some(rust);
        if let Some(c) = self.c.as_deref_mut() {
            c.setup(test, mechanism, size, offsets).map_err(|err| in_context(err, &self.name))?;
        }
        Ok(())
    }

    /// Stop the peers and remove the objects.
    fn stop(&mut self) -> Result<()> {
        let finished = match self.rust.take() {
            Some(RustSide::Ipc(peer)) => peer.finish(),
            Some(RustSide::Solo(solo)) => solo.finish(),
            Some(RustSide::Memcpy(_)) | None => Ok(()),
        };
        finished.map_err(|err| self.rust_error(err))?;
        if let Some(c) = self.c.as_deref_mut() {
            c.end().map_err(|err| in_context(err, &self.name))?;
        }
        Ok(())
    }

    /// One run of each side, C first if `c_first`.
    fn run(&mut self, count: u64, verify: bool, c_first: bool) -> Result<(Run, Option<Run>)> {
        let name = &self.name;
        let c_run = |c: Option<&mut CBaseline>| match c {
            Some(c) => c.run(count, verify).map(Some).map_err(|err| in_context(err, name)),
            None => Ok(None),
        };
        let rust = self.rust.as_mut().expect("started");
        let rust_error = |err: Error| in_context(err, &format!("{name} (Rust)"));
        if c_first {
            let c_run = c_run(self.c.as_deref_mut())?;
            Ok((rust.run(count, verify).map_err(rust_error)?, c_run))
        } else {
            let rust_run = rust.run(count, verify).map_err(rust_error)?;
            Ok((rust_run, c_run(self.c.as_deref_mut())?))
        }
    }
}

/// Measure one figure (see the module's description); `progress` hears what is happening.
pub fn measure(
    plan: &Plan,
    test: Test,
    mechanism: Mechanism,
    size: usize,
    c: Option<&mut CBaseline>,
    progress: &mut dyn FnMut(&str),
) -> Result<Figure> {
    let name = Figure::name(test, mechanism, size);
    let mut sides = Sides { plan, test, mechanism, size, name: name.clone(), rust: None, c };
    sides.start()?;

    progress(&format!("{name}: warming up"));
    let first = first_count(test, size);
    let (warm_up, _) = sides.run(first, true, false)?;
    let second = sized_for(plan.run_time, warm_up.time, first, test, size);
    let (warm_up, _) = sides.run(second, plan.verify, false)?;
    let count = sized_for(plan.run_time, warm_up.time, second, test, size);

    let mut figure = Figure {
        test,
        mechanism,
        size,
        count,
        rust: Vec::new(),
        c: Vec::new(),
        rust_switches: Vec::new(),
        c_switches: Vec::new(),
    };
    let mut goal = plan.runs;
    loop {
        for run in figure.rust.len()..goal {
            let more = if run >= plan.runs {
                format!(" (Rust/C above {RATIO_TARGET:.2}: more runs)")
            } else {
                String::new()
            };
            progress(&format!("{name}: run {}/{goal}{more}", run + 1));
            if sides.fresh_pairs() && run > 0 {
                sides.stop()?;
                sides.start()?;
            }
            let (rust_run, c_run) = sides.run(count, plan.verify, run % 2 == 1)?;
            figure.rust.push(rust_run.time);
            figure.rust_switches.push(rust_run.switches);
            if let Some(c_run) = c_run {
                figure.c.push(c_run.time);
                figure.c_switches.push(c_run.switches);
            }
        }
        match more_runs(plan, goal, figure.ratio()) {
            Some(more) => goal = more,
            None => break,
        }
    }
    sides.stop()?;
    Ok(figure)
}

/// After `done` pairs whose median ratio is `ratio`: how many pairs in all, if more are needed.
fn more_runs(plan: &Plan, done: usize, ratio: Option<f64>) -> Option<usize> {
    let above = ratio.is_some_and(|ratio| ratio > RATIO_TARGET);
    (above && done < plan.max_runs).then(|| (done + plan.runs).min(plan.max_runs))
}

/// Warm-up 1: enough to touch every page and path once, quickly.
fn first_count(test: Test, size: usize) -> u64 {
    match test {
        Test::Latency => 100,
        Test::Bandwidth => ((256 << 10) / size).max(8) as u64,
        Test::Calls => 1000,
    }
}

/// How many round trips or messages take about `target`, at the rate of a run of `count` that
/// took `took`.
fn sized_for(target: Duration, took: Duration, count: u64, test: Test, size: usize) -> u64 {
    let per_item = took.as_secs_f64() / count as f64;
    let wanted = (target.as_secs_f64() / per_item.max(1e-10)).round() as u64;
    let (least, most) = match test {
        Test::Latency => (20, 10_000_000),
        Test::Calls => (100, 100_000_000),
        Test::Bandwidth => (4, ((8u64 << 30) / size as u64).max(4)),
    };
    wanted.clamp(least, most)
}

/// Prefix an error with what was being measured, keeping its errno.
fn in_context(err: Error, context: &str) -> Error {
    match err {
        Error::Sys { call, errno } => Error::sys(format!("{context}: {call}"), errno),
        Error::Other(message) => Error::other(format!("{context}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe figure of `count` items with these runs' times and context switches.
    fn figure(test: Test, size: usize, count: u64, rust: Vec<Duration>, c: Vec<Duration>) -> Figure {
        let mechanism = Mechanism::Pipe;
        Figure { test, mechanism, size, count, rust, c, rust_switches: Vec::new(), c_switches: Vec::new() }
    }

    #[test]
    fn median_ratio_and_units() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let ms = Duration::from_millis;
        let figure = Figure {
            rust_switches: vec![300, 350, 200],
            c_switches: vec![1300, 1200, 1250],
            ..figure(Test::Bandwidth, 1000, 1000, vec![ms(2), ms(1), ms(4)], vec![ms(2); 3])
        };
        // 10^6 bytes in 1 ms is 1000 MB/s.
        let rust = figure.rust_stats();
        assert_eq!((rust.median, rust.min, rust.max), (500.0, 250.0, 1000.0));
        assert_eq!(figure.ratio(), Some(1.0), "pairs 1.0, 0.5, 2.0");
        let latency = Figure { test: Test::Latency, ..figure };
        assert_eq!(latency.rust_stats().median, 2.0, "2 ms for 1000 round trips is 2 µs each");
        assert_eq!(latency.switches_per_message(), Some((0.3, 1.25)), "medians, per round trip");
        assert_eq!(latency.different_rhythms(), Some((0.3, 1.25)));
        let alike = Figure { c_switches: vec![360, 370, 380], ..latency.clone() };
        assert_eq!(alike.different_rhythms(), None, "0.30 against 0.37: within a quarter");
        let apart = Figure { c_switches: vec![380, 380, 380], ..latency.clone() };
        assert_eq!(apart.different_rhythms(), Some((0.3, 0.38)), "0.38 is more than 0.30 x 1.25");
        let calm = Figure { rust_switches: vec![0; 3], c_switches: vec![10, 15, 19], ..latency };
        assert_eq!(calm.different_rhythms(), None, "0.019 per message: neither side switches much");
    }

    #[test]
    fn only_a_figure_above_the_target_gets_more_runs() {
        let plan = Plan {
            runs: 11,
            max_runs: 30,
            run_time: Duration::from_millis(1),
            verify: false,
            key: shared::key::IPC_PRIVATE,
            inject_fault: false,
            child_cpus: None,
        };
        assert_eq!(more_runs(&plan, 11, Some(1.05)), None, "at the target: done");
        assert_eq!(more_runs(&plan, 11, Some(0.80)), None, "faster than C: done");
        assert_eq!(more_runs(&plan, 11, None), None, "no C figure: done");
        assert_eq!(more_runs(&plan, 11, Some(1.06)), Some(22), "one more batch");
        assert_eq!(more_runs(&plan, 22, Some(1.06)), Some(30), "the last batch stops at max_runs");
        assert_eq!(more_runs(&plan, 30, Some(1.20)), None, "at max_runs: done, above or not");
        let once = Plan { max_runs: 11, ..plan };
        assert_eq!(more_runs(&once, 11, Some(1.20)), None, "max_runs = runs: never more");
    }

    #[test]
    fn the_ratio_interval_is_the_sign_test_s() {
        // Textbook ranks (1-based) for a 95% interval of the median: n = 6: 1st and 6th (96.9%),
        // n = 11: 2nd and 10th (98.8%), n = 22: 6th and 17th (98.3%), n = 33: 11th and 23rd (96.5%).
        assert_eq!(median_interval_rank(5), None, "too few pairs");
        assert_eq!(median_interval_rank(6), Some(0));
        assert_eq!(median_interval_rank(11), Some(1));
        assert_eq!(median_interval_rank(22), Some(5));
        assert_eq!(median_interval_rank(33), Some(10));
        let ms = Duration::from_millis;
        let figure = figure(Test::Latency, 1, 1, (1..=11).map(|i| ms(100 + i)).collect(), vec![ms(100); 11]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(figure.ratio().is_some_and(|r| close(r, 1.06)));
        let (low, high) = figure.ratio_interval().expect("11 pairs");
        assert!(close(low, 1.02) && close(high, 1.10), "the 2nd and the 10th pair: {low} {high}");
    }

    #[test]
    fn runs_are_sized_to_the_target() {
        let count = sized_for(Duration::from_millis(10), Duration::from_millis(1), 100, Test::Latency, 1);
        assert_eq!(count, 1000);
        let count =
            sized_for(Duration::from_millis(10), Duration::from_secs(10), 100, Test::Bandwidth, 1 << 20);
        assert_eq!(count, 4, "never fewer than 4 messages");
    }
}
