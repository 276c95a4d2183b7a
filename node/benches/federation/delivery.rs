//! Delivery: one post to 5,000 personal inboxes on 500 loopback hosts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sqlx::Row;
use starling_node::app::App;
use starling_node::config::DatabaseUrl;
use starling_node::service::accounts::{NewUser, create_local_user};
use starling_node::service::statuses::{PostRequest, post as post_status};

use super::{Settings, config, exec, loadavg, raw_pool};

const HOSTS: usize = 500;
const PER_HOST: usize = 10;
const INBOXES: usize = HOSTS * PER_HOST;
const ROUNDS: usize = 2;

/// What the fake inboxes saw.
#[derive(Default)]
struct Seen {
    /// Signed `Create`s answered with 202.
    creates: AtomicUsize,
    /// Requests without a signature (answered 401; must stay 0).
    unsigned: AtomicUsize,
}

async fn inbox(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    if !headers.contains_key("signature") || !headers.contains_key("digest") {
        seen.unsigned.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    if body.windows(8).any(|w| w == b"\"Create\"") {
        seen.creates.fetch_add(1, Ordering::Relaxed);
    }
    StatusCode::ACCEPTED
}

/// Memory of this process in kB: (`VmRSS`, `VmHWM`).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

/// Starts the fake remote servers; returns their `127.0.0.1:port`s.
async fn start_hosts(seen: Arc<Seen>) -> Vec<String> {
    let mut hosts = Vec::new();
    for _ in 0..HOSTS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        hosts.push(listener.local_addr().expect("addr").to_string());
        let router = axum::Router::new()
            .route("/users/{name}/inbox", post(inbox))
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    hosts
}

pub async fn run(db: DatabaseUrl, settings: &Settings) {
    let app = App::build(config(
        db.clone(),
        "bench.localhost",
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .expect("node starts");
    let author = create_local_user(
        &app,
        NewUser {
            username: "alice".into(),
            email: "alice@example.com".into(),
            password: "bench password".into(),
            admin: false,
        },
    )
    .await
    .expect("author");
    let seen = Arc::new(Seen::default());
    let hosts = start_hosts(seen.clone()).await;

    // 5,000 remote followers, 10 per host, each with its own inbox.
    let pool = raw_pool(&db).await;
    let base = 1_000_000_000_i64;
    for (h, host) in hosts.iter().enumerate() {
        let accounts: Vec<String> = (0..PER_HOST)
            .map(|k| {
                let id = base + (h * PER_HOST + k) as i64;
                format!(
                    "({id}, 'f{k}', '{host}', 'http://{host}/users/f{k}', 'http://{host}/users/f{k}/inbox', 0, 0)"
                )
            })
            .collect();
        let follows: Vec<String> = (0..PER_HOST)
            .map(|k| {
                let id = base + (h * PER_HOST + k) as i64;
                format!("({}, {id}, {}, 0, FALSE)", id + base, author.account.id)
            })
            .collect();
        exec(&pool, &db, format!(
            "INSERT INTO accounts (id, username, domain, uri, inbox_url, created_at, updated_at) VALUES {}",
            accounts.join(",")
        ))
        .await;
        exec(&pool, &db, format!(
            "INSERT INTO follows (id, account_id, target_account_id, created_at, local_follower) VALUES {}",
            follows.join(",")
        ))
        .await;
    }
    exec(
        &pool,
        &db,
        format!(
            "UPDATE accounts SET followers_count = {INBOXES} WHERE id = {}",
            author.account.id
        ),
    )
    .await;
    exec(&pool, &db, "ANALYZE".into()).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(starling_node::queue::work(app.clone(), stopped));
    println!(
        "delivery: 1 post → {INBOXES} personal inboxes on {HOSTS} loopback hosts answering 202; \
         delivery_per_host {}, {} in flight per process",
        app.config().delivery.per_host,
        starling_node::queue::slots::TOTAL_IN_FLIGHT
    );
    println!(
        "| round | time | deliveries/s | ratio to openssl × {} cores (target ≥ 0.5) | CPU s per 1,000 | per CPU s ÷ openssl per CPU s | RSS before | peak RSS | load avg |",
        settings.cores
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for round in 1..=ROUNDS {
        let before = seen.creates.load(Ordering::SeqCst);
        // Reset VmHWM to the current RSS, so the peak is this round's.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let (rss_before, _) = memory_kb();
        let cpu = cpu_seconds();
        let t = Instant::now();
        post_status(
            &app,
            author.account.id,
            PostRequest {
                text: format!("hello, all 5,000 of you (round {round})"),
                ..Default::default()
            },
        )
        .await
        .expect("post");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if seen.creates.load(Ordering::SeqCst) - before >= INBOXES {
                let left: i64 = sqlx::query("SELECT count(*) FROM jobs")
                    .fetch_one(&pool)
                    .await
                    .expect("jobs")
                    .get(0);
                if left == 0 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "delivery did not finish in 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        let (_, peak) = memory_kb();
        let delivered = seen.creates.load(Ordering::SeqCst) - before;
        assert_eq!(delivered, INBOXES, "each inbox got the post exactly once");
        assert_eq!(
            seen.unsigned.load(Ordering::SeqCst),
            0,
            "every delivery was signed"
        );
        let rate = INBOXES as f64 / elapsed;
        println!(
            "| {round} | {:.2} s | {rate:.0} | **{:.2}** | {:.2} | {:.2} | {} MiB | {} MiB | {} |",
            elapsed,
            rate / (settings.openssl * settings.cores as f64),
            cpu / INBOXES as f64 * 1000.0,
            // What the ratio would be with the cores to ourselves: deliveries
            // per CPU second of this process (fake servers included, the
            // PostgreSQL server not) against openssl's signs per CPU second.
            INBOXES as f64 / cpu / settings.openssl,
            rss_before / 1024,
            peak / 1024,
            loadavg()
        );
    }
    let _ = stop.send(true);
    let _ = worker.await;
    pool.close().await;
    app.store().close().await;
}
