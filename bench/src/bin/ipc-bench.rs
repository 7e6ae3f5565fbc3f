//! `ipc-bench`: how fast is each IPC mechanism on this machine, measured well enough to trust?
//!
//! The texts say it in words ("shared memory is the fastest"); this program measures it, as
//! lmbench (lat_pipe, bw_pipe, lat_sem, bw_mem) and Stevens' UNP vol. 2 (lat_pipe, bw_pipe,
//! lat_svmsg, bw_svmsg) do: the round-trip time of a small message between two processes, and the
//! bandwidth of one process streaming to another at transfer sizes from 64 B to 1 MiB, for pipes,
//! FIFOs, socketpairs, System V message queues, POSIX message queues and System V shared memory
//! with semaphores; and memcpy in one process as the limit. Beside every Rust figure stands the same
//! loop in C (c/bench.c), run in the same invocation, and their ratio: what the safe wrappers cost.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ipc_bench::cbaseline::CBaseline;
use ipc_bench::cpus::{self, CpuList};
use ipc_bench::measure::{Plan, RATIO_TARGET, measure};
use ipc_bench::mechanism::{Limits, Mechanism, Test, parse_size, size_text};
use ipc_bench::report::{self, Progress, Setup};
use shared::cli::KeyArgs;
use shared::key::{IPC_PRIVATE, Key, ftok};
use shared::{CallContext, Result};

/// Latency and bandwidth of pipes, FIFOs, sockets, message queues and shared memory, beside C.
#[derive(Parser)]
#[command(after_help = "\
Examples:
  ipc-bench --quick                      a first look, in under 20 s
  ipc-bench                              the full run (a few minutes): --cpus 0, 0,1 and any
  ipc-bench --cpus 0 --cpus 0,1 --csv bench.csv --svg bench.svg
  ipc-bench --only pipe,svshm --sizes 4K,1M --runs 21

Build it with --release (cargo run --release -p ipc-bench -- --quick): a debug build's Rust
figures say nothing. Every IPC object, FIFO and process it makes is removed at the end, on error
and on Ctrl-C.")]
struct Args {
    /// A first look in under 20 s: 5 short runs per figure, with --cpus 0,1 only.
    #[arg(long)]
    quick: bool,
    /// Where the processes run: 0 (both on CPU 0), 0,1 (the parent on 0, the child on 1) or any
    /// (unpinned). Repeat to compare; default 0, 0,1 and any (with --quick: 0,1).
    #[arg(long, value_name = "LIST")]
    cpus: Vec<CpuList>,
    /// Timed runs per figure and language (default 11; 5 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    runs: Option<u16>,
    /// A figure whose Rust/C is above 1.05 gets more runs, in batches of --runs, up to N per
    /// language (default: 3 times --runs; never fewer than --runs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=3000))]
    max_runs: Option<u16>,
    /// About how long one timed run takes, in milliseconds (default 40; 10 with --quick).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    run_ms: Option<u64>,
    /// Only these mechanisms (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "MECHANISM")]
    only: Vec<Mechanism>,
    /// Only this test (repeat for more; default: all three).
    #[arg(long = "test", value_enum, value_name = "TEST")]
    tests: Vec<Test>,
    /// Bandwidth transfer sizes (default 64,256,1K,4K,16K,64K,256K,1M).
    #[arg(long, value_delimiter = ',', value_parser = parse_size, value_name = "SIZES")]
    sizes: Vec<usize>,
    /// Check every byte of every run (the first warm-up run of each figure is always checked).
    #[arg(long)]
    verify: bool,
    /// Leave out the C baseline.
    #[arg(long)]
    no_c: bool,
    /// How the measured processes are scheduled: batch (a woken process waits for the running
    /// one to block; steadier figures) or other (Linux's default, which may preempt at a wake-up).
    #[arg(long, value_enum, default_value_t = Sched::Batch, value_name = "POLICY")]
    sched: Sched,
    /// With two CPUs (--cpus 0,1), let them idle between messages. By default a process that
    /// only spins, at SCHED_IDLE, keeps each from halting: a halted virtual CPU takes the
    /// hypervisor tens of microseconds to wake.
    #[arg(long)]
    let_cpus_idle: bool,
    /// Write every figure to FILE as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<std::path::PathBuf>,
    /// Draw the chart into FILE (SVG: open it in a browser).
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
    /// Key for the C baseline's objects (default: --key plus 1, or ftok(--keyfile, 'C')).
    #[arg(long, value_name = "KEY")]
    c_key: Option<Key>,
    /// Send one message with a wrong sequence number in every checked run (to test the check).
    #[arg(long, hide = true)]
    inject_fault: bool,
}

/// The scheduling policy of every process the benchmark runs.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Sched {
    /// SCHED_BATCH: a woken process never preempts the running one.
    Batch,
    /// SCHED_OTHER, the default: a woken process may preempt the running one.
    Other,
}

/// Round trips are timed with these message sizes: one byte, and a small message.
const LATENCY_SIZES: [usize; 2] = [1, 64];
/// The calls test sends messages of this size to itself.
const CALLS_SIZES: [usize; 1] = [64];
const BANDWIDTH_SIZES: [usize; 8] = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];

fn main() -> ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        // ANCHOR: plan
        let runs = args.runs.map_or(if args.quick { 5 } else { 11 }, usize::from);
        let plan = Plan {
            runs,
            max_runs: args.max_runs.map_or(3 * runs, usize::from).max(runs),
            run_time: Duration::from_millis(args.run_ms.unwrap_or(if args.quick { 10 } else { 40 })),
            verify: args.verify,
            key: args.key.resolve(IPC_PRIVATE, b'R')?,
            inject_fault: args.inject_fault,
            child_cpus: None,
        };
        let c_key = match (args.c_key, &args.key.key, &args.key.keyfile) {
            (Some(key), _, _) => key,
            (None, Some(key), _) => Key(key.0.wrapping_add(1)),
            (None, None, Some(path)) => ftok(path, b'C')?,
            (None, None, None) => IPC_PRIVATE,
        };
        let allowed = cpus::allowed()?;
        // A child pinned to a CPU this process may not use would fail after its parent has begun
        // to wait for it: refuse such a list here, in one line.
        for cpu in args.cpus.iter().flat_map(|list| list.0.iter()) {
            if !allowed.0.contains(cpu) {
                return Err(shared::Error::other(format!(
                    "--cpus: CPU {cpu} is not one this process may use ({allowed})"
                )));
            }
        }
        let cpu_sets = match (args.cpus.is_empty(), allowed.0.as_slice()) {
            (false, _) => args.cpus.clone(),
            (true, [first, second, ..]) if args.quick => vec![CpuList(vec![*first, *second])],
            (true, [first, second, ..]) => {
                vec![CpuList(vec![*first]), CpuList(vec![*first, *second]), CpuList(Vec::new())]
            }
            (true, _) => vec![CpuList(allowed.0.iter().take(1).copied().collect())],
        };
        // ANCHOR_END: plan
        let limits = Limits::read()?;
        let mechanisms: Vec<Mechanism> =
            Mechanism::ALL.into_iter().filter(|m| args.only.is_empty() || args.only.contains(m)).collect();
        let tests: Vec<Test> = [Test::Latency, Test::Bandwidth, Test::Calls]
            .into_iter()
            .filter(|t| args.tests.is_empty() || args.tests.contains(t))
            .collect();
        let sizes = if args.sizes.is_empty() { BANDWIDTH_SIZES.to_vec() } else { args.sizes.clone() };
        let work = work_list(&tests, &mechanisms, &sizes, &limits);

        print_header(&args, &plan, &limits, &sizes)?;
        if args.sched == Sched::Batch {
            // Before anything is started: the C baseline and every peer inherit it.
            ipc_bench::sys::sched_setscheduler(ipc_bench::sys::Policy::Batch)?;
        }
        let mut setups = Vec::new();
        for cpus in cpu_sets {
            cpus::pin(&cpus.parent().unwrap_or_else(|| allowed.clone()))?;
            let plan = Plan { child_cpus: cpus.child(), ..plan.clone() };
            println!("\nCPUs {cpus}: {}", cpus.story());
            let _awake = match (cpus.0.len(), args.let_cpus_idle) {
                (2.., false) => cpus::keep_awake(&cpus)?,
                _ => Vec::new(),
            };
            // Started after pinning: the C program inherits the parent's CPU.
            let mut c = if args.no_c { None } else { Some(CBaseline::spawn(c_key, cpus.child().as_ref())?) };
            let mut progress = Progress::new(work.len());
            let mut setup = Setup { cpus, figures: Vec::new() };
            let mut rhythms_apart = false;
            for (index, &(test, mechanism, size)) in work.iter().enumerate() {
                if index == 0 || work[index - 1].0 != test {
                    println!("\n{}", report::header(test, plan.runs, plan.max_runs));
                }
                let figure =
                    measure(&plan, test, mechanism, size, c.as_mut(), &mut |what| progress.show(what));
                progress.step();
                let figure = figure?;
                let memcpy = setup.memcpy_by_size().get(&size).copied();
                println!("{}", report::row(&figure, memcpy, plan.runs));
                rhythms_apart |= report::rhythms_behind_ratio(&figure).is_some();
                setup.figures.push(figure);
                // Under the table, once: what a row in different rhythms means.
                let table_ends = work.get(index + 1).is_none_or(|next| next.0 != test);
                if table_ends && std::mem::take(&mut rhythms_apart) {
                    println!("{}", report::RHYTHM_NOTE);
                }
            }
            if let Some(c) = c {
                c.close()?;
            }
            println!("\nSummary, CPUs {}:", setup.cpus);
            for line in report::summary(&setup) {
                println!("  {line}");
            }
            setups.push(setup);
        }
        cpus::pin(&allowed)?;

        println!();
        let checked = if plan.verify { "every run" } else { "the first warm-up run of each figure" };
        println!("checked: in {checked}, every message arrived once, in order, every byte intact");
        println!("load average at the end: {}", load_average());
        if let Some(path) = &args.csv {
            std::fs::write(path, report::csv(&setups)).call(format!("write({})", path.display()))?;
            println!("wrote {}", path.display());
        }
        if let Some(path) = &args.svg {
            let title = format!("ipc-bench: {}", machine()?);
            std::fs::write(path, ipc_bench::svg::chart(&setups, &title))
                .call(format!("write({})", path.display()))?;
            println!("wrote {}", path.display());
        }
        Ok(())
    })
}

/// Every figure to measure, in table order: latency, then bandwidth (memcpy first, at every size
/// any mechanism uses, so each row can say what share of memcpy it reaches).
fn work_list(
    tests: &[Test],
    mechanisms: &[Mechanism],
    sizes: &[usize],
    limits: &Limits,
) -> Vec<(Test, Mechanism, usize)> {
    let mut work = Vec::new();
    for &test in tests {
        for &mechanism in mechanisms {
            let sizes = match test {
                Test::Latency if mechanism.is_ipc() => LATENCY_SIZES.to_vec(),
                Test::Latency => Vec::new(),
                // A FIFO is a pipe once open, and one process cannot open both of its ends.
                Test::Calls if mechanism.is_ipc() && mechanism != Mechanism::Fifo => CALLS_SIZES.to_vec(),
                Test::Calls => Vec::new(),
                Test::Bandwidth if mechanism.is_ipc() => limits.sizes_for(mechanism, sizes),
                Test::Bandwidth => {
                    let mut all: Vec<usize> =
                        mechanisms.iter().flat_map(|&m| limits.sizes_for(m, sizes)).collect();
                    all.sort_unstable();
                    all.dedup();
                    all
                }
            };
            work.extend(sizes.into_iter().map(|size| (test, mechanism, size)));
        }
    }
    work
}

fn print_header(args: &Args, plan: &Plan, limits: &Limits, sizes: &[usize]) -> Result<()> {
    let command: Vec<String> = std::env::args().skip(1).collect();
    println!("ipc-bench {}", command.join(" "));
    println!("machine: {}; load average {} at the start", machine()?, load_average());
    if cfg!(debug_assertions) {
        println!("note: a debug build: the Rust figures are unoptimised; use cargo run --release");
    }
    println!(
        "method: per figure, 2 warm-up runs (the first checks every byte), then {} timed runs of about {} ms,",
        plan.runs,
        plan.run_time.as_millis()
    );
    println!(
        "        Rust and C alternating; Rust/C = Rust's time / C's, median over the pairs (1.00: same speed;"
    );
    println!("        * marks one above {:.2}); MB/s = 10^6 bytes per second", RATIO_TARGET);
    if plan.max_runs > plan.runs {
        println!(
            "        a figure whose Rust/C is above {:.2} gets more pairs of runs, {} at a time, up to {}: more",
            RATIO_TARGET, plan.runs, plan.max_runs
        );
        println!("        pairs tell an unlucky batch from a real cost; the others are never re-measured");
    }
    println!(
        "        a row above {:.2} also gives the 95% interval of its ratio (sign test over the pairs): one",
        RATIO_TARGET
    );
    println!("        reaching down to {:.2} means its runs cannot tell it from the target", RATIO_TARGET);
    println!(
        "sizes: round trips of {}; calls with {}; transfers of {} to {} (SysV queue up to msgmax {}, POSIX queue up to msgsize_max {})",
        LATENCY_SIZES.map(size_text).join(" and "),
        CALLS_SIZES.map(size_text).join(" and "),
        size_text(sizes.iter().copied().min().unwrap_or(0)),
        size_text(sizes.iter().copied().max().unwrap_or(0)),
        limits.msgmax,
        limits.mq_msgsize_max
    );
    match args.sched {
        Sched::Batch => println!(
            "scheduling: SCHED_BATCH for every process (a woken process waits for the running one to block; --sched other: the default)"
        ),
        Sched::Other => println!("scheduling: SCHED_OTHER, Linux's default (--sched other)"),
    }
    if !args.let_cpus_idle {
        println!(
            "        with two CPUs, a spinning process at SCHED_IDLE keeps each from idling (--let-cpus-idle: not)"
        );
    }
    if args.no_c {
        println!("C baseline: left out (--no-c)");
    }
    Ok(())
}

/// "AMD EPYC, 2 CPUs, Linux 6.1.0": what the figures were measured on.
fn machine() -> Result<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").call("read(/proc/cpuinfo)")?;
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").call("read(/proc/sys/kernel/osrelease)")?;
    Ok(format!("{model}, {cpus} CPUs, Linux {}", kernel.trim()))
}

/// The 1-minute load average: how busy the machine was (other work makes the figures noisier).
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_owned()
}
