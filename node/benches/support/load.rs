//! What a closed-loop load run measured.

use std::time::Duration;

/// Requests done, their rate and latency percentiles.
pub struct Load {
    /// Requests completed.
    pub requests: usize,
    /// Requests per second of wall time.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
}

/// Summarises the latencies of every request of a run that lasted
/// `elapsed` seconds.
pub fn summarise(mut latencies: Vec<Duration>, elapsed: f64) -> Load {
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Load {
        requests: latencies.len(),
        rps: latencies.len() as f64 / elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    }
}
