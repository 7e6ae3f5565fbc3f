//! How busy the machine is: the factor every deadline is stretched by, and the stress mode that
//! keeps CPUs busy on purpose.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How much slower than an idle machine this one runs now (1.0 idle, 2.0 with every CPU shared
/// with one other busy process; at most 10), measured once per test process: a fixed piece of
/// work's wall-clock time over the CPU time it took. Every deadline is multiplied by it, so a busy
/// grading server slows the tests down without failing them.
pub fn load_factor() -> f64 {
    static FACTOR: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *FACTOR.get_or_init(|| {
        use nix::time::{ClockId, clock_gettime};
        let cpu = || clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map(Duration::from);
        let (Ok(cpu_start), wall_start) = (cpu(), Instant::now()) else { return 1.0 };
        let mut spin = 0u64;
        // About 50 ms of CPU on an idle machine: long enough to span several scheduler slices.
        while cpu().map_or(true, |now| now - cpu_start < Duration::from_millis(50)) {
            for _ in 0..10_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        let Ok(cpu_end) = cpu() else { return 1.0 };
        (wall_start.elapsed().as_secs_f64() / (cpu_end - cpu_start).as_secs_f64()).clamp(1.0, 10.0)
    })
}

/// Busy threads that keep CPUs saturated while alive: the suite's stress mode, to show that no
/// test depends on an idle machine. `WORKBOOK_STRESS=N` starts N of them for a test file's run.
pub struct Stress {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Stress {
    /// `threads` spinning threads, until dropped.
    pub fn new(threads: usize) -> Self {
        use std::sync::atomic::AtomicBool;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut spin = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        spin = std::hint::black_box(spin.wrapping_add(1));
                    }
                })
            })
            .collect();
        Stress { stop, threads }
    }

    /// As many spinning threads as `WORKBOOK_STRESS` says (none when unset).
    pub fn from_env() -> Option<Self> {
        let threads: usize = std::env::var("WORKBOOK_STRESS").ok()?.parse().ok()?;
        (threads > 0).then(|| {
            eprintln!("stress mode: {threads} busy thread(s) while the tests run");
            Self::new(threads)
        })
    }
}

impl Drop for Stress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
