//! udp_load's bookkeeping: the datagrams it sends, what each client saw, and the final report.

use std::net::SocketAddr;
use std::time::Duration;

use shared::{Error, Result};

/// The tag that starts every datagram: `CCCCC:SSSSSSSSSS` (client, sequence number), 16 bytes.
pub const TAG_LEN: usize = 16;

/// What one client saw.
#[derive(Default)]
pub struct Tally {
    /// Microseconds from the first send of each datagram to its exact echo.
    pub latencies_us: Vec<u64>,
    /// Datagrams sent again after a timeout.
    pub resent: u64,
    /// Echoes of a datagram already given up on or resent (they arrive after the resend).
    pub late: u64,
    /// Echoes that were not exactly what this client sent.
    pub wrong: u64,
    /// Datagrams with no echo after all retries.
    pub lost: u64,
}

/// Datagram `seq` of client `id`: its tag, then letters that differ with the sequence number, so an
/// echo of the wrong datagram, or with bytes swapped or cut, never matches.
pub fn payload(id: u64, seq: u64, size: u32) -> Vec<u8> {
    let mut bytes = format!("{id:05}:{seq:010}").into_bytes();
    let letters = (0u64..).map(|i| b'a' + ((i + seq) % 26) as u8);
    bytes.extend(letters.take(size as usize - TAG_LEN));
    bytes
}

/// Print the run's totals, throughput and latency percentiles; an error if any echo was lost or wrong.
pub fn report(
    count: u64,
    size: u32,
    server: SocketAddr,
    clients: u64,
    tallies: &[Tally],
    elapsed: Duration,
) -> Result<()> {
    let sum = |field: fn(&Tally) -> u64| tallies.iter().map(field).sum::<u64>();
    let (resent, late, wrong, lost) = (sum(|t| t.resent), sum(|t| t.late), sum(|t| t.wrong), sum(|t| t.lost));
    let mut latencies: Vec<u64> = tallies.iter().flat_map(|t| t.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let echoed = latencies.len() as u64;
    let plural = if clients == 1 { "" } else { "s" };
    println!("udp_load: {} datagrams of {} bytes from {clients} client{plural} to {server}", count, size);
    println!("echoed {echoed}/{} exactly ({resent} resent, {late} late, {wrong} wrong, {lost} lost)", count);
    let seconds = elapsed.as_secs_f64();
    println!("throughput: {:.0} echoes/s ({echoed} in {seconds:.3} s)", echoed as f64 / seconds);
    if let Some(&max) = latencies.last() {
        // Nearest rank: the smallest latency that at least p% of the echoes did not exceed.
        let percentile = |p: usize| latencies[(p * latencies.len()).div_ceil(100).max(1) - 1];
        println!(
            "latency: p50 {} us, p90 {} us, p99 {} us, max {max} us",
            percentile(50),
            percentile(90),
            percentile(99)
        );
    }
    if wrong > 0 || lost > 0 {
        return Err(Error::other(format!(
            "{lost} of {} datagrams were never echoed and {wrong} echoes were wrong",
            count
        )));
    }
    Ok(())
}
