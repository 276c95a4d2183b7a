//! `cargo bench --bench signing`: how fast our signer makes `rsa-sha256`
//! HTTP signatures (draft-cavage, as every delivery is signed), as a ratio
//! to `openssl speed -seconds 3 rsa2048` on the same machine in the same
//! run. Target: ≥ 0.9 (issue 4). Both are single-threaded.
//!
//! Prints our signer through `sign_request` (signing string, RSA-2048
//! PKCS#1 v1.5 SHA-256 with aws-lc-rs, base64, header), the bare aws-lc-rs
//! signature for comparison, OpenSSL's `sign/s`, and the ratio. Ours is
//! measured before and after OpenSSL and the mean is used, since the
//! machine may be shared. `BENCH_SECONDS` (default 3) sets each run's length.

use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use starling_federation::keys::{generate_rsa_2048, parse_private_pem};
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};

#[path = "support/openssl.rs"]
mod openssl;
use openssl::openssl_sign_rate;

/// Calls per second of wall-clock time and per second of this thread's CPU
/// time.
#[derive(Debug, Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

/// This thread's time on a CPU so far (Linux `schedstat`, in ns), if known.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `one` repeatedly for `length` of wall-clock time.
fn rate(length: Duration, mut one: impl FnMut()) -> Rate {
    // Warm up caches and the CPU's clock.
    for _ in 0..50 {
        one();
    }
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut n = 0u64;
    while start.elapsed() < length {
        for _ in 0..16 {
            one();
        }
        n += 16;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => wall,
    };
    Rate {
        wall: n as f64 / wall,
        cpu: n as f64 / cpu,
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let length = Duration::from_secs(seconds);
    let generated = generate_rsa_2048().expect("generate a key");
    let key = parse_private_pem(&generated.private_pem).expect("parse the key");

    // What a delivery signs: a Create of a short note to an inbox.
    let body = br#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://a.example/users/alice/statuses/1/activity","type":"Create","actor":"https://a.example/users/alice","object":{"id":"https://a.example/users/alice/statuses/1","type":"Note","content":"<p>hello</p>"}}"#;
    let headers = vec![
        ("host".to_owned(), "b.example".to_owned()),
        ("date".to_owned(), http_date(SystemTime::now())),
        ("digest".to_owned(), sha256_digest_header(body)),
        (
            "content-type".to_owned(),
            "application/activity+json".to_owned(),
        ),
    ];
    let key_id = "https://a.example/users/alice#main-key";
    let mut ours = || {
        let header = sign_request("POST", "/inbox", &headers, key_id, &key).expect("sign");
        std::hint::black_box(header);
    };

    let ours_before = rate(length, &mut ours);
    let rng = SystemRandom::new();
    let mut signature = vec![0u8; key.public_modulus_len()];
    let bare = rate(length, || {
        key.sign(
            &RSA_PKCS1_SHA256,
            &rng,
            b"(request-target): post /inbox",
            &mut signature,
        )
        .expect("sign");
        std::hint::black_box(&signature);
    });
    let openssl = match openssl_sign_rate(seconds) {
        Ok(rate) => Some(rate),
        Err(e) => {
            eprintln!("openssl baseline unavailable: {e}");
            None
        }
    };
    let ours_after = rate(length, &mut ours);
    let ours = Rate {
        wall: (ours_before.wall + ours_after.wall) / 2.0,
        cpu: (ours_before.cpu + ours_after.cpu) / 2.0,
    };

    // `openssl speed` divides by the user CPU time it used, not by elapsed
    // time (unless given `-elapsed`), so the fair comparison is per CPU
    // second; on a busy machine the wall-clock rate is lower.
    println!("signing, RSA-2048 rsa-sha256, one thread, {seconds} s per run");
    println!("                          per CPU second   per wall second");
    println!(
        "  ours (sign_request)     {:>10.1}/s      {:>10.1}/s   (runs, CPU: {:.1}, {:.1})",
        ours.cpu, ours.wall, ours_before.cpu, ours_after.cpu
    );
    println!(
        "  bare aws-lc-rs sign     {:>10.1}/s      {:>10.1}/s",
        bare.cpu, bare.wall
    );
    if let Some(openssl) = openssl {
        println!(
            "  openssl speed rsa2048   {openssl:>10.1}/s      (user CPU time, as openssl counts)"
        );
        println!(
            "  ratio ours / openssl    {:>10.2}        (target >= 0.9)",
            ours.cpu / openssl
        );
    }
}
