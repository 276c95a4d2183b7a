//! Federation benchmarks of issue 4 (docs/PERFORMANCE.md), for SQLite and
//! then PostgreSQL (at `STARLING_TEST_POSTGRES`):
//!
//! - **Delivery**: one post by a local author with 5,000 remote followers,
//!   each with a personal inbox, on 500 loopback hosts (distinct ports) that
//!   answer 202. Timed from `statuses::post` until every inbox has its
//!   `Create` and the queue is empty, with the production worker loop
//!   (`queue::work`) doing the `fanout` and the 5,000 `deliver` jobs.
//!   Deliveries per second are compared with OpenSSL's RSA-2048 sign rate
//!   × cores, measured in the same run. Peak RSS (`VmHWM`, reset through
//!   `/proc/self/clear_refs` before each round) is reported.
//! - **Inbox**: unique `Create` activities, signed before the clock starts
//!   by 8 remote actors whose keys are already stored (no fetch during the
//!   run), POSTed to `/inbox` over 64 connections to a node serving HTTP
//!   only (role `web`: 202 means verified and in `inbox_activities` with its
//!   job); then the same bodies to a bare axum endpoint that answers 202
//!   and nothing else, the ceiling.
//!
//! Run: `cargo bench --bench federation` (env `BENCH_SECONDS`, default 10,
//! the length of each inbox load; `BENCH_ONLY=sqlite` or `postgres`;
//! `BENCH_PART=delivery` or `inbox` for one part;
//! `BENCH_INBOX_ACTIVITIES`, default 20,000, how many to pre-sign).

#[path = "support/db.rs"]
mod db;
#[path = "federation/delivery.rs"]
mod delivery;
#[path = "support/http1.rs"]
mod http1;
#[path = "federation/inbox.rs"]
mod inbox;
#[path = "support/load.rs"]
mod load_summary;
#[path = "../../federation/benches/support/openssl.rs"]
mod openssl;
#[path = "support/sql.rs"]
mod sql;

use db::{admin_sql, url_of};
pub use load_summary::{Load, summarise};

pub use sql::exec;

use sqlx::AnyPool;
use starling_node::config::{Config, DatabaseUrl};

/// Settings shared by both parts.
pub struct Settings {
    /// Seconds of each inbox load.
    pub seconds: u64,
    /// Activities signed for the inbox part.
    pub activities: usize,
    /// OpenSSL's RSA-2048 sign/s on one core.
    pub openssl: f64,
    /// Cores this process may use.
    pub cores: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg says.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let part = std::env::var("BENCH_PART").unwrap_or_default();
    let runs = |p: &str| part.is_empty() || part == p;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("load average at start: {}", loadavg());
    let openssl = openssl::openssl_sign_rate(3).expect("openssl speed");
    println!(
        "openssl speed -seconds 3 rsa2048: {openssl:.1} sign/s per core; {cores} cores → {:.0} sign/s",
        openssl * cores as f64
    );
    let settings = Settings {
        seconds: env_or("BENCH_SECONDS", 10),
        activities: env_or("BENCH_INBOX_ACTIVITIES", 20_000),
        openssl,
        cores,
    };
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("starling-fedbench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if only != "postgres" {
            let db = |name: &str| DatabaseUrl::Sqlite(dir.join(name));
            println!("\n## SQLite");
            if runs("delivery") {
                delivery::run(db("delivery.db"), &settings).await;
            }
            if runs("inbox") {
                inbox::run(db("inbox.db"), &settings).await;
            }
        }
        if only != "sqlite" {
            let admin = std::env::var("STARLING_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            println!("\n## PostgreSQL");
            for part in ["delivery", "inbox"].into_iter().filter(|p| runs(p)) {
                let name = format!("starling_fedbench_{part}_{}", std::process::id());
                admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
                let mut url = url::Url::parse(&admin).expect("postgres url");
                url.set_path(&format!("/{name}"));
                let db = DatabaseUrl::Postgres(url.to_string());
                if part == "delivery" {
                    delivery::run(db, &settings).await;
                } else {
                    inbox::run(db, &settings).await;
                }
                admin_sql(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
    println!("\nload average at end: {}", loadavg());
}

/// A node's configuration on `database` serving `domain` (dev mode, so
/// loopback targets are allowed; client rate limits off).
pub fn config(database: DatabaseUrl, domain: &str, bind: std::net::SocketAddr) -> Config {
    Config {
        rate_limits: false,
        ..Config::dev(domain, bind, database)
    }
}

/// A raw pool on the same database, for seeding and checks.
pub async fn raw_pool(db: &DatabaseUrl) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = url_of(db);
    sqlx::any::AnyPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .expect("raw pool")
}
