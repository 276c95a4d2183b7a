//! Home-timeline and fan-out benchmark (docs/PERFORMANCE.md).
//!
//! For each database (SQLite, then PostgreSQL at `STARLING_TEST_POSTGRES`):
//! 1. Seed 100k statuses by 500 accounts that one viewer follows.
//! 2. 32 concurrent connections load `GET /api/v1/timelines/home?limit=40`
//!    on a real node, then a bare endpoint in the same process that returns
//!    the same 40 rows' JSON from one indexed query. Report requests/s, the
//!    ratio, and p50/p99 latency.
//! 3. A post by an account with 100k local followers: time until every
//!    follower's home feed has it, against one raw `INSERT … SELECT` of the
//!    same rows into a scratch table; and timeline p99 while it runs.
//!
//! Run: `cargo bench --bench timeline` (env `BENCH_SECONDS`, default 10;
//! `BENCH_ONLY=sqlite` or `postgres` for one database).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use sqlx::{AnyPool, Row};
use starling_node::app::{self, App};
use starling_node::config::{Config, DatabaseUrl};

#[path = "support/db.rs"]
mod db;
#[path = "support/http1.rs"]
mod http1;
#[path = "support/load.rs"]
mod load_summary;
#[path = "support/users.rs"]
mod users;

use db::{admin_sql, url_of};
use load_summary::{Load, summarise};
use users::user_with_token;

const STATUSES: i64 = 100_000;
const FOLLOWEES: i64 = 500;
const FOLLOWERS: i64 = 100_000;
const CONCURRENCY: usize = 32;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let seconds: u64 = std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("starling-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if only != "postgres" {
            run("SQLite", DatabaseUrl::Sqlite(dir.join("bench.db")), seconds).await;
        }
        if only == "sqlite" {
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let admin = std::env::var("STARLING_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("starling_bench_{}", std::process::id());
        admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(&admin).expect("postgres url");
        url.set_path(&format!("/{name}"));
        run(
            "PostgreSQL",
            DatabaseUrl::Postgres(url.to_string()),
            seconds,
        )
        .await;
        admin_sql(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A raw pool for seeding and for the bare endpoint.
async fn raw_pool(db: &DatabaseUrl) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(16)
        .connect(&url_of(db))
        .await
        .expect("raw pool")
}

async fn exec(pool: &AnyPool, sql: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .expect("seed sql");
}

/// Inserts `count` bare local accounts with ids from `first_id`.
async fn seed_accounts(pool: &AnyPool, first_id: i64, count: i64, prefix: &str) {
    let mut i = 0;
    while i < count {
        let n = (count - i).min(1000);
        let values: Vec<String> = (i..i + n)
            .map(|k| format!("({}, '{prefix}{k}', 0, 0)", first_id + k))
            .collect();
        exec(
            pool,
            format!(
                "INSERT INTO accounts (id, username, created_at, updated_at) VALUES {}",
                values.join(",")
            ),
        )
        .await;
        i += n;
    }
}

/// `follower → target` rows for ids `first..first+count`.
async fn seed_follows(pool: &AnyPool, first_id: i64, pairs: impl Iterator<Item = (i64, i64)>) {
    let pairs: Vec<(i64, i64)> = pairs.collect();
    for (chunk_no, chunk) in pairs.chunks(1000).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(k, (a, t))| {
                format!(
                    "({}, {a}, {t}, 0, TRUE)",
                    first_id + (chunk_no * 1000 + k) as i64
                )
            })
            .collect();
        exec(
            pool,
            format!(
                "INSERT INTO follows (id, account_id, target_account_id, created_at, local_follower) \
                 VALUES {}",
                values.join(",")
            ),
        )
        .await;
    }
}

/// A request to load an endpoint with: where to, and its bytes.
struct Target {
    addr: std::net::SocketAddr,
    request: Vec<u8>,
}

impl Target {
    fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> Arc<Target> {
        let request = http1::get(&format!("localhost:{}", addr.port()), path, token);
        Arc::new(Target { addr, request })
    }
}

/// `CONCURRENCY` workers send `target`'s request for `seconds` (or until
/// `stop`), each on its own keep-alive connection.
async fn load(target: Arc<Target>, seconds: u64, stop: Option<Arc<AtomicBool>>) -> Load {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (target, stop) = (target.clone(), stop.clone());
            tokio::spawn(async move {
                let mut conn = http1::Conn::open(target.addr).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline
                    && !stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
                {
                    let t = Instant::now();
                    let reply = conn.send(&target.request).await;
                    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(reply.body));
                    assert!(reply.body.len() > 1000, "a real page came back");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    summarise(all, started.elapsed().as_secs_f64())
}

/// Mean latency of 200 sequential requests on one connection.
async fn sequential(target: &Target) -> Duration {
    let mut conn = http1::Conn::open(target.addr).await;
    let t = Instant::now();
    for _ in 0..200 {
        let reply = conn.send(&target.request).await;
        assert!(reply.status == 200 && reply.body.len() > 1000);
    }
    t.elapsed() / 200
}

#[derive(Clone)]
struct Bare {
    pool: AnyPool,
    viewer: i64,
}

/// The baseline: the same 40 rows from one indexed query, as JSON.
async fn bare(State(b): State<Bare>) -> axum::Json<Vec<serde_json::Value>> {
    let rows = sqlx::query(
        "SELECT s.id, s.account_id, s.content, s.visibility, s.created_at, s.spoiler_text, s.language \
         FROM home_feed h JOIN statuses s ON s.id = h.status_id WHERE h.account_id = $1 \
         AND s.deleted_at IS NULL ORDER BY h.status_id DESC LIMIT 40",
    )
    .bind(b.viewer)
    .fetch_all(&b.pool)
    .await
    .expect("bare query");
    axum::Json(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.get::<i64, _>(0).to_string(),
                    "account_id": r.get::<i64, _>(1).to_string(),
                    "content": r.get::<String, _>(2),
                    "visibility": r.get::<String, _>(3),
                    "created_at": starling_protocol::datetime::iso8601_millis(r.get::<i64, _>(4)),
                    "spoiler_text": r.get::<String, _>(5),
                    "language": r.get::<Option<String>, _>(6),
                })
            })
            .collect(),
    )
}

async fn run(label: &str, db: DatabaseUrl, seconds: u64) {
    println!("\n## {label}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = Config {
        rate_limits: false,
        ..Config::dev(format!("localhost:{}", addr.port()), addr, db.clone())
    };
    let app = App::build(config).await.expect("node");
    let (viewer, token, _) = user_with_token(&app, "viewer").await;

    let pool = raw_pool(&db).await;
    let seed = Instant::now();
    let base = 1_000_000_000_i64;
    seed_accounts(&pool, base, FOLLOWEES, "author").await;
    seed_follows(
        &pool,
        base * 2,
        (0..FOLLOWEES).map(|k| (viewer.account.id, base + k)),
    )
    .await;
    let now = starling_node::store::now_ms();
    let mut i = 0;
    while i < STATUSES {
        let n = (STATUSES - i).min(1000);
        let values: Vec<String> = (i..i + n)
            .map(|k| {
                let id = (now - STATUSES + k) << 16;
                format!("({id}, {}, TRUE, '', '<p>Status number {k} with a little text in it, as posts have.</p>', 'public', {})", base + k % FOLLOWEES, now - STATUSES + k)
            })
            .collect();
        let sql = format!(
            "INSERT INTO statuses (id, account_id, local, text, content, visibility, created_at) VALUES {}",
            values.join(",")
        );
        exec(
            &pool,
            if matches!(db, DatabaseUrl::Sqlite(_)) {
                sql.replace("TRUE", "1")
            } else {
                sql
            },
        )
        .await;
        i += n;
    }
    exec(&pool, format!(
        "INSERT INTO home_feed (account_id, status_id) SELECT {}, id FROM statuses WHERE account_id >= {base}",
        viewer.account.id
    ))
    .await;
    exec(&pool, "ANALYZE".into()).await;
    // As the node keeps a SQLite database (it drops ANALYZE's STAT4 samples
    // at startup, `Store::drop_stat4_samples`): the samples would make SQLite
    // prepare the home statements again on every request.
    app.store().drop_stat4_samples().await.expect("stat4");
    println!(
        "seeded {STATUSES} statuses by {FOLLOWEES} followed accounts in {:.1} s",
        seed.elapsed().as_secs_f64()
    );

    breakdown(&app, viewer.account.id).await;

    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(app.clone(), listener, async {
        let _ = rx.await;
    }));
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare_addr = bare_listener.local_addr().expect("addr");
    let router = axum::Router::new()
        .route("/bare", get(bare))
        .with_state(Bare {
            pool: pool.clone(),
            viewer: viewer.account.id,
        });
    let bare_server = tokio::spawn(async move { axum::serve(bare_listener, router).await });

    let home_target = Target::get(addr, "/api/v1/timelines/home?limit=40", Some(&token));
    let bare_target = Target::get(bare_addr, "/bare", None);
    // Warm both up (connections, caches).
    load(home_target.clone(), 1, None).await;
    load(bare_target.clone(), 1, None).await;
    // One connection, one request at a time: CPU cost per request apart
    // from contention.
    let home_one = sequential(&home_target).await;
    let bare_one = sequential(&bare_target).await;
    println!(
        "one at a time: home {:.3} ms, bare {:.3} ms per request",
        home_one.as_secs_f64() * 1e3,
        bare_one.as_secs_f64() * 1e3
    );
    let home = load(home_target.clone(), seconds, None).await;
    let baseline = load(bare_target.clone(), seconds, None).await;
    println!("| endpoint | requests | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|");
    for (name, l) in [
        ("GET /api/v1/timelines/home?limit=40", &home),
        ("bare: one indexed query → same 40 rows as JSON", &baseline),
    ] {
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} |",
            l.requests,
            l.rps,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3
        );
    }
    println!(
        "ratio home/bare = {:.2} (target ≥ 0.5); home p99 = {:.2} ms (target < 20 ms)",
        home.rps / baseline.rps,
        home.p99.as_secs_f64() * 1e3
    );

    // Fan-out: an account with 100k local followers.
    let celebrity = base * 3;
    seed_accounts(&pool, celebrity, 1, "celebrity").await;
    seed_accounts(&pool, base * 4, FOLLOWERS, "fan").await;
    seed_follows(
        &pool,
        base * 5,
        (0..FOLLOWERS).map(|k| (base * 4 + k, celebrity)),
    )
    .await;
    exec(&pool, "ANALYZE".into()).await;
    // As the node keeps a SQLite database (it drops ANALYZE's STAT4 samples
    // at startup, `Store::drop_stat4_samples`): the samples would make SQLite
    // prepare the home statements again on every request.
    app.store().drop_stat4_samples().await.expect("stat4");

    // Baseline: the same rows with one raw INSERT … SELECT into a scratch
    // table of the same shape, seeded like home_feed with the viewer's
    // 100k entries; alternated with real fan-outs, five rounds, medians
    // (on a busy machine single rounds vary by up to 2×).
    exec(&pool, "CREATE TABLE home_feed_scratch (account_id BIGINT NOT NULL, status_id BIGINT NOT NULL, PRIMARY KEY (account_id, status_id))".into()).await;
    exec(
        &pool,
        "INSERT INTO home_feed_scratch SELECT account_id, status_id FROM home_feed".into(),
    )
    .await;
    let (mut raws, mut fanouts, mut posts) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        // The scratch table grows round by round as home_feed does, so both
        // inserts meet a table in the same state.
        let t = Instant::now();
        exec(&pool, format!("INSERT INTO home_feed_scratch (account_id, status_id) SELECT account_id, {} FROM follows WHERE target_account_id = {celebrity}", 42 + round)).await;
        raws.push(t.elapsed());

        // The fan-out alone, on a quiet node.
        let t = Instant::now();
        let post = starling_node::service::statuses::post(
            &app,
            celebrity,
            starling_node::service::statuses::PostRequest {
                text: format!("hello, all of you ({round})"),
                ..Default::default()
            },
        )
        .await
        .expect("post");
        posts.push(t.elapsed());
        starling_node::queue::drain(&app).await.expect("drain");
        fanouts.push(t.elapsed());
        let reached: i64 = sqlx::query("SELECT count(*) FROM home_feed WHERE status_id = $1")
            .bind(post.id)
            .fetch_one(&pool)
            .await
            .expect("count")
            .get(0);
        assert_eq!(
            reached,
            FOLLOWERS + 1,
            "every follower (and the author) has the post"
        );
    }
    raws.sort();
    fanouts.sort();
    posts.sort();
    let (raw, fanout, posted) = (raws[2], fanouts[2], posts[2]);

    // A second post while 32 connections read home timelines.
    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(load(home_target.clone(), 120, Some(stop.clone())));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    starling_node::service::statuses::post(
        &app,
        celebrity,
        starling_node::service::statuses::PostRequest {
            text: "and again".into(),
            ..Default::default()
        },
    )
    .await
    .expect("post");
    starling_node::queue::drain(&app).await.expect("drain");
    let loaded_fanout = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = during.await.expect("load during fan-out");
    println!(
        "fan-out to {FOLLOWERS} followers: {:.0} ms; raw INSERT … SELECT: {:.0} ms; ratio {:.2} (target ≤ 2)",
        fanout.as_secs_f64() * 1e3,
        raw.as_secs_f64() * 1e3,
        fanout.as_secs_f64() / raw.as_secs_f64(),
    );
    println!(
        "  of which the post (status, own feed row, job enqueued): {:.1} ms; raw rounds {:?} ms, fan-out rounds {:?} ms",
        posted.as_secs_f64() * 1e3,
        raws.iter().map(Duration::as_millis).collect::<Vec<_>>(),
        fanouts.iter().map(Duration::as_millis).collect::<Vec<_>>(),
    );
    println!(
        "under load: fan-out {:.0} ms; home p50 {:.2} ms, p99 {:.2} ms over {} requests while it ran",
        loaded_fanout.as_secs_f64() * 1e3,
        during.p50.as_secs_f64() * 1e3,
        during.p99.as_secs_f64() * 1e3,
        during.requests
    );

    let _ = tx.send(());
    let _ = server.await;
    bare_server.abort();
    pool.close().await;
}

/// Where one home-timeline request spends its time: each store call of the
/// request path, averaged over 50 runs, single-threaded.
async fn breakdown(app: &App, viewer: i64) {
    use starling_node::store::sql::Page;
    let store = app.store();
    let page = Page {
        limit: 40,
        ..Page::default()
    };
    let rows = store.home_timeline(viewer, page).await.expect("home");
    let authors: Vec<i64> = rows.iter().map(|s| s.account_id).collect();
    macro_rules! time {
        ($name:expr, $e:expr) => {{
            let t = Instant::now();
            for _ in 0..50 {
                let _ = $e.await.expect($name);
            }
            println!(
                "  {:<28} {:>8.3} ms",
                $name,
                t.elapsed().as_secs_f64() * 1e3 / 50.0
            );
        }};
    }
    println!("home request breakdown (ms per call):");
    time!("home_timeline", store.home_timeline(viewer, page));
    time!(
        "home_page (what home runs)",
        store.home_page(viewer, app.config().fanout_threshold, page, None)
    );
    time!(
        "viewer_context",
        store.viewer_context(viewer, Some(app.config().fanout_threshold))
    );
    let versions: Vec<(i64, i64)> = rows.iter().map(|s| (s.id, s.version)).collect();
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    time!("status_facts", store.status_facts(&versions));
    time!("viewer_flags", store.viewer_flags(viewer, &ids));
    time!("accounts (cache misses)", store.accounts(&authors));
    let presenter = starling_node::service::present::Presenter::new(app, Some(viewer));
    time!("Presenter::statuses (all)", presenter.statuses(&rows));
    let entities = presenter.statuses(&rows).await.expect("entities");
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..50 {
        bytes = serde_json::to_vec(&entities).expect("json").len();
    }
    println!(
        "  {:<28} {:>8.3} ms ({bytes} bytes)",
        "serialise 40 statuses",
        t.elapsed().as_secs_f64() * 1e3 / 50.0
    );
}
