//! The OpenSSL baseline shared by the signing and federation benchmarks:
//! `openssl speed -seconds N rsa2048`, parsed for its `sign/s`.
//!
//! Included with `#[path]` by `federation/benches/signing.rs` and
//! `node/benches/federation.rs` (it lives in a subdirectory so cargo does not
//! take it for a benchmark of its own).

use std::process::Command;

/// `sign/s` for 2048-bit RSA from `openssl speed -seconds {seconds} rsa2048`.
/// OpenSSL divides by the user CPU time it used, so this is a per-core,
/// per-CPU-second rate.
pub fn openssl_sign_rate(seconds: u64) -> Result<f64, String> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "rsa2048"])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "rsa 2048 bits 0.000647s 0.000019s   1545.6  52910.2": sign/s is the
    // first number after the two times.
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("rsa 2048 bits"))
        .ok_or_else(|| format!("no 'rsa 2048 bits' line in openssl's output:\n{stdout}"))?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .skip(3)
        .filter_map(|w| w.trim_end_matches('s').parse().ok())
        .collect();
    numbers
        .get(2)
        .copied()
        .ok_or_else(|| format!("cannot read sign/s from {line:?}"))
}
