//! Streaming benchmark of issue 5 (docs/PERFORMANCE.md): 5,000 WebSocket
//! subscribers of `user` on one node, each following the poster.
//!
//! For each database (SQLite, then PostgreSQL at `STARLING_TEST_POSTGRES`):
//! 1. Seed the poster and 5,000 local accounts following it, each with a
//!    `read` token, with SQL (a few seconds).
//! 2. **Memory.** The node runs as a separate process (the `starling`
//!    binary, role `all`), so its VmRSS (`/proc/<pid>/status`) is the
//!    server's alone. Per idle connection = (RSS with 5,000 idle connections
//!    − RSS before) / 5,000, for: 5,000 idle HTTP/1.1 keep-alive connections
//!    (one request each, then nothing) on a fresh node, the baseline of what
//!    any connection costs there; and 5,000 WebSockets subscribed to `user`
//!    on another fresh node, measured once they are open and again after
//!    the posts (idle again, with whatever buffers the posts left).
//! 3. **Latency.** The poster `POST /api/v1/statuses` (public) `BENCH_POSTS`
//!    times (default 20), one at a time; for each, the time from sending the
//!    POST until the `update` event reached each of the 5,000 subscribers
//!    (all of them, or the post fails the run).
//!
//! Then, once, a **bare** WebSocket server (this benchmark re-executed as a
//! child process: axum, the same WebSocket buffer settings as the node, no
//! database): 5,000 idle sockets (its RSS per connection), and `POST /post`
//! broadcasting a text frame of the node's `update` frame size to all of
//! them through a `tokio::sync::broadcast`. That is the floor for "POST → a
//! frame on 5,000 sockets" on this machine with this client on the same
//! cores; the node's figures are reported as ratios against it.
//!
//! Run: `cargo bench --bench streaming` (env `BENCH_ONLY=sqlite|postgres`,
//! `BENCH_CLIENTS` default 5000, `BENCH_POSTS` default 20).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use starling_node::config::{Config, DatabaseUrl};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[path = "support/db.rs"]
mod db;
#[path = "support/sql.rs"]
mod sql;
#[path = "support/users.rs"]
mod users;

use db::{admin_sql, url_of};
use sql::exec;
use users::user_with_token;

/// Connections opened at once while connecting the clients.
const CONNECT_CONCURRENCY: usize = 64;
/// How long one post may take to reach everyone before the run fails.
const REACH_LIMIT: Duration = Duration::from_secs(60);
/// Set in the child that runs the bare WebSocket server.
const BARE_ROLE: &str = "STARLING_BENCH_BARE_WS";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg says.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn main() {
    if std::env::var_os(BARE_ROLE).is_some() {
        bare::serve();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let settings = Settings {
        clients: env_or("BENCH_CLIENTS", 5000),
        posts: env_or("BENCH_POSTS", 20),
    };
    println!(
        "streaming benchmark: {} subscribers, {} posts; load average at start: {}",
        settings.clients,
        settings.posts,
        loadavg()
    );
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("starling-streambench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut frame_len = None;
        if only != "postgres" {
            println!("\n## SQLite");
            let db = DatabaseUrl::Sqlite(dir.join("stream.db"));
            frame_len = Some(run_node(db, &dir, &settings).await);
        }
        if only != "sqlite" {
            let admin = std::env::var("STARLING_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            println!("\n## PostgreSQL");
            let name = format!("starling_streambench_{}", std::process::id());
            admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
            let mut url = url::Url::parse(&admin).expect("postgres url");
            url.set_path(&format!("/{name}"));
            let len = run_node(DatabaseUrl::Postgres(url.to_string()), &dir, &settings).await;
            frame_len.get_or_insert(len);
            admin_sql(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
        }
        println!("\n## Bare axum WebSocket broadcast (baseline)");
        run_bare(frame_len.unwrap_or(2000), &settings).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
    println!("\nload average at end: {}", loadavg());
}

struct Settings {
    clients: usize,
    posts: usize,
}

/// What the seeding leaves for the run.
struct Seeded {
    poster_token: String,
    tokens: Vec<String>,
}

/// The poster (through the services, so it has keys and a real token) and
/// `clients` followers with `read` tokens (SQL, in chunks of 1,000).
async fn seed(db: &DatabaseUrl, clients: usize) -> Seeded {
    use starling_node::service::oauth::hash_secret;

    let t = Instant::now();
    let config = Config::dev(
        "localhost:8080",
        "127.0.0.1:0".parse().expect("addr"),
        db.clone(),
    );
    let app = starling_node::app::App::build(config)
        .await
        .expect("node (migrations)");
    let (poster, poster_token, app_id) = user_with_token(&app, "poster").await;
    app.store().close().await;

    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url_of(db))
        .await
        .expect("raw pool");
    let base = 1_000_000_000_i64;
    let now = starling_node::store::now_ms();
    let tokens: Vec<String> = (0..clients).map(|k| format!("streambench-{k}")).collect();
    for start in (0..clients).step_by(1000) {
        let end = (start + 1000).min(clients);
        let rows = |f: &dyn Fn(i64) -> String| {
            (start..end)
                .map(|k| f(k as i64))
                .collect::<Vec<_>>()
                .join(",")
        };
        exec(
            &pool,
            db,
            format!(
                "INSERT INTO accounts (id, username, created_at, updated_at, following_count) VALUES {}",
                rows(&|k| format!("({}, 'follower{k}', {now}, {now}, 1)", base + k))
            ),
        )
        .await;
        exec(
            &pool,
            db,
            format!(
                "INSERT INTO users (id, account_id, email, password_hash, created_at, last_active_at) VALUES {}",
                rows(&|k| format!(
                    "({}, {}, 'follower{k}@example.com', 'x', {now}, {now})",
                    2 * base + k,
                    base + k
                ))
            ),
        )
        .await;
        exec(
            &pool,
            db,
            format!(
                "INSERT INTO oauth_tokens (id, token_hash, app_id, user_id, scopes, created_at) VALUES {}",
                rows(&|k| format!(
                    "({}, '{}', {}, {}, 'read', {now})",
                    3 * base + k,
                    hash_secret(&tokens[k as usize]),
                    app_id,
                    2 * base + k
                ))
            ),
        )
        .await;
        exec(
            &pool,
            db,
            format!(
                "INSERT INTO follows (id, account_id, target_account_id, created_at, local_follower) VALUES {}",
                rows(&|k| format!(
                    "({}, {}, {}, {now}, TRUE)",
                    4 * base + k,
                    base + k,
                    poster.account.id
                ))
            ),
        )
        .await;
    }
    exec(
        &pool,
        db,
        format!(
            "UPDATE accounts SET followers_count = {clients} WHERE id = {}",
            poster.account.id
        ),
    )
    .await;
    exec(&pool, db, "ANALYZE".into()).await;
    pool.close().await;
    println!(
        "seeded the poster and {clients} followers with tokens in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Seeded {
        poster_token,
        tokens,
    }
}

/// Node log lines saying a query waited over 2 s for a database connection.
static SLOW_ACQUIRES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `starling serve` on `db`, on a loopback port the OS picks; its log is
/// read (and dropped) by a thread so the pipe never blocks it.
fn start_node(db: &DatabaseUrl, dir: &std::path::Path) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starling"));
    for (key, _) in std::env::vars() {
        if key.starts_with("STARLING_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .current_dir(dir)
        .arg("serve")
        .env("STARLING_DATABASE_URL", url_of(db))
        .env("STARLING_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn starling serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(port) = line.split(" on http://127.0.0.1:").nth(1)
                && let Some(t) = tx.take()
            {
                let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
                let _ = t.send(digits.parse::<u16>().expect("port"));
            } else if line.contains("slow_acquire_threshold") {
                // One per query that waited over 2 s for a pooled connection:
                // counted, not printed (thousands when the node falls behind).
                let n = SLOW_ACQUIRES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n == 0 {
                    eprintln!("node: {line}");
                }
            } else if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("node: {line}");
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the node listens");
    Server { child, port }
}

/// This benchmark again, as the bare WebSocket server.
fn start_bare() -> Server {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(BARE_ROLE, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn bare server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("bare server port");
    let port = line.trim().parse().expect("port");
    Server { child, port }
}

/// Waits for an RSS reading to settle (the server finishing work in hand).
async fn settled_rss(pid: u32) -> u64 {
    tokio::time::sleep(Duration::from_secs(2)).await;
    rss_kib(pid)
}

fn per_conn(before: u64, after: u64, n: usize) -> f64 {
    (after.saturating_sub(before)) as f64 / n as f64
}

/// `n` idle HTTP/1.1 keep-alive connections, each after one request.
async fn keepalive_connections(port: u16, n: usize) -> Vec<tokio::net::TcpStream> {
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.write_all(
                b"GET /api/v1/streaming/health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n",
            )
            .await
            .expect("request");
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\r\n\r\nOK") {
                let n = s.read(&mut buf).await.expect("response");
                assert!(n > 0, "the server kept the connection");
                got.extend_from_slice(&buf[..n]);
            }
            s
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(s) = tasks.join_next().await {
        out.push(s.expect("keep-alive client"));
    }
    out
}

/// An `update` as one client saw it: the status id and when.
type Arrival = (u64, Instant);

/// The status id in an `update` frame (the payload is the Status JSON as a
/// string, `{"id":"…",…}`).
fn update_id(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Frame {
        event: String,
        payload: Option<String>,
    }
    let frame: Frame = serde_json::from_str(text).ok()?;
    if frame.event != "update" {
        return None;
    }
    let payload = frame.payload?;
    let rest = payload.strip_prefix("{\"id\":\"")?;
    rest[..rest.find('"')?].parse().ok()
}

/// The client side: `urls.len()` WebSocket clients that report every
/// `update` they read, with the size of the first frame seen.
struct Clients {
    tasks: tokio::task::JoinSet<()>,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    frame_len: Arc<std::sync::atomic::AtomicUsize>,
}

/// Opens one WebSocket per URL (at most `CONNECT_CONCURRENCY` handshakes at
/// once) and returns when all are open.
async fn connect_clients(urls: Vec<String>) -> Clients {
    let (tx, arrivals) = mpsc::unbounded_channel();
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
    let frame_len = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let n = urls.len();
    for url in urls {
        let (gate, tx, ready_tx, frame_len) = (
            gate.clone(),
            tx.clone(),
            ready_tx.clone(),
            frame_len.clone(),
        );
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await.expect("gate");
            // A light client: small buffers, as the 5,000 share the cores.
            let config = WebSocketConfig::default()
                .read_buffer_size(8 * 1024)
                .write_buffer_size(0);
            let (mut ws, _) =
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
                    .await
                    .expect("WebSocket handshake");
            drop(permit);
            let _ = ready_tx.send(());
            while let Some(message) = ws.next().await {
                match message {
                    Ok(Message::Text(text)) => {
                        let at = Instant::now();
                        if let Some(id) = update_id(text.as_str()) {
                            frame_len.store(text.len(), std::sync::atomic::Ordering::Relaxed);
                            let _ = tx.send((id, at));
                        }
                    }
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            // Ends only when the run aborts it; a stream the server ends is
            // a post that never reaches everyone, which fails the run.
            eprintln!("a subscriber's stream ended");
        });
    }
    for _ in 0..n {
        ready.recv().await.expect("a client connected");
    }
    Clients {
        tasks,
        arrivals,
        frame_len,
    }
}

/// Per post: the POST's own response time, and each client's arrival.
struct Round {
    response: Duration,
    arrivals: Vec<Duration>,
}

/// Waits until `clients` arrivals of `id` are in (arrivals of ids not asked
/// for yet are kept in `early`).
async fn collect(
    clients: &mut Clients,
    early: &mut HashMap<u64, Vec<Instant>>,
    id: u64,
    n: usize,
    sent: Instant,
) -> Vec<Duration> {
    let mut got = early.remove(&id).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + REACH_LIMIT;
    while got.len() < n {
        match tokio::time::timeout_at(deadline, clients.arrivals.recv()).await {
            Ok(Some((i, at))) if i == id => got.push(at),
            Ok(Some((i, at))) => early.entry(i).or_default().push(at),
            Ok(None) => panic!("clients ended"),
            Err(_) => panic!(
                "status {id} reached {} of {n} subscribers in {REACH_LIMIT:?}",
                got.len()
            ),
        }
    }
    got.into_iter().map(|at| at - sent).collect()
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What a latency run gives.
struct Latency {
    to_all_p50: Duration,
    to_all_p99: Duration,
    arrival_p50: Duration,
    arrival_p99: Duration,
    response_p50: Duration,
}

fn summarise(label: &str, rounds: &[Round]) -> Latency {
    let mut to_all: Vec<Duration> = rounds
        .iter()
        .map(|r| r.arrivals.iter().max().copied().unwrap_or_default())
        .collect();
    // The first arrival of each post: the time before any frame goes out
    // (for the node: the POST, the fan-out job, the shared render).
    let mut first: Vec<Duration> = rounds
        .iter()
        .map(|r| r.arrivals.iter().min().copied().unwrap_or_default())
        .collect();
    first.sort();
    let mut all: Vec<Duration> = rounds.iter().flat_map(|r| r.arrivals.clone()).collect();
    let mut responses: Vec<Duration> = rounds.iter().map(|r| r.response).collect();
    to_all.sort();
    all.sort();
    responses.sort();
    let l = Latency {
        to_all_p50: pct(&to_all, 0.5),
        to_all_p99: pct(&to_all, 0.99),
        arrival_p50: pct(&all, 0.5),
        arrival_p99: pct(&all, 0.99),
        response_p50: pct(&responses, 0.5),
    };
    println!(
        "{label}: time to all p50 {:.1} ms, p99 {:.1} ms (over {} posts; slowest {:.1} ms); \
         first arrival p50 {:.1} ms; arrivals p50 {:.1} ms, p99 {:.1} ms (over {}); POST response p50 {:.1} ms; load {}",
        ms(l.to_all_p50),
        ms(l.to_all_p99),
        to_all.len(),
        ms(to_all.last().copied().unwrap_or_default()),
        ms(pct(&first, 0.5)),
        ms(l.arrival_p50),
        ms(l.arrival_p99),
        all.len(),
        ms(l.response_p50),
        loadavg()
    );
    l
}

/// The whole run on one database; returns the `update` frame's size.
async fn run_node(db: DatabaseUrl, dir: &std::path::Path, s: &Settings) -> usize {
    let seeded = seed(&db, s.clients).await;

    // Baseline for memory: idle keep-alive HTTP connections on a fresh node.
    let node = start_node(&db, dir);
    let before = settled_rss(node.pid()).await;
    let conns = keepalive_connections(node.port, s.clients).await;
    let after = settled_rss(node.pid()).await;
    let http = per_conn(before, after, s.clients);
    println!(
        "node RSS {before} KiB → {after} KiB with {} idle HTTP keep-alive connections: {http:.1} KiB each; load {}",
        conns.len(),
        loadavg()
    );
    drop(conns);
    drop(node);

    // The WebSockets, on another fresh node.
    let node = start_node(&db, dir);
    let before = settled_rss(node.pid()).await;
    let urls = seeded
        .tokens
        .iter()
        .map(|t| {
            format!(
                "ws://127.0.0.1:{}/api/v1/streaming?stream=user&access_token={t}",
                node.port
            )
        })
        .collect();
    let t = Instant::now();
    let mut clients = connect_clients(urls).await;
    let connect = t.elapsed();
    let idle = settled_rss(node.pid()).await;
    let ws = per_conn(before, idle, s.clients);
    println!(
        "connected {} WebSockets (stream=user) in {:.1} s; node RSS {before} KiB → {idle} KiB: \
         {ws:.1} KiB per idle connection ({:.2}× an idle keep-alive HTTP connection); load {}",
        s.clients,
        connect.as_secs_f64(),
        ws / http.max(0.1),
        loadavg()
    );

    let http_client = reqwest::Client::new();
    let post_url = format!("http://127.0.0.1:{}/api/v1/statuses", node.port);
    let mut early = HashMap::new();
    let mut rounds = Vec::new();
    for k in 0..s.posts {
        let sent = Instant::now();
        let response = http_client
            .post(&post_url)
            .bearer_auth(&seeded.poster_token)
            .form(&[
                ("status", format!("Hello, all {} of you! Post number {k}, with a sentence or two of text in it, as posts have.", s.clients)),
                ("visibility", "public".into()),
            ])
            .send()
            .await
            .expect("POST /api/v1/statuses");
        let answered = sent.elapsed();
        assert!(response.status().is_success(), "{}", response.status());
        let body: serde_json::Value = response.json().await.expect("status JSON");
        let id: u64 = body["id"]
            .as_str()
            .and_then(|i| i.parse().ok())
            .expect("id");
        let arrivals = collect(&mut clients, &mut early, id, s.clients, sent).await;
        rounds.push(Round {
            response: answered,
            arrivals,
        });
        // Let the node settle before the next post.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let latency = summarise("node", &rounds);
    let slow = SLOW_ACQUIRES.swap(0, std::sync::atomic::Ordering::Relaxed);
    if slow > 0 {
        println!("node: {slow} queries waited over 2 s for a pooled database connection");
    }
    let after_posts = settled_rss(node.pid()).await;
    println!(
        "node RSS after the posts, connections idle again: {after_posts} KiB: {:.1} KiB per connection; load {}",
        per_conn(before, after_posts, s.clients),
        loadavg()
    );
    let frame_len = clients.frame_len.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "SUMMARY | {} | per idle WS {ws:.1} KiB | after posts {:.1} KiB | keep-alive HTTP {http:.1} KiB | \
         to-all p50 {:.1} ms p99 {:.1} ms | arrivals p50 {:.1} p99 {:.1} ms | POST {:.1} ms | frame {frame_len} B |",
        match db {
            DatabaseUrl::Sqlite(_) => "SQLite",
            DatabaseUrl::Postgres(_) => "PostgreSQL",
        },
        per_conn(before, after_posts, s.clients),
        ms(latency.to_all_p50),
        ms(latency.to_all_p99),
        ms(latency.arrival_p50),
        ms(latency.arrival_p99),
        ms(latency.response_p50),
    );
    clients.tasks.abort_all();
    drop(node);
    frame_len
}

/// The baseline: the bare server, same client, same number of sockets.
async fn run_bare(frame_len: usize, s: &Settings) {
    let server = start_bare();
    let before = settled_rss(server.pid()).await;
    let urls = (0..s.clients)
        .map(|_| format!("ws://127.0.0.1:{}/ws", server.port))
        .collect();
    let t = Instant::now();
    let mut clients = connect_clients(urls).await;
    let connect = t.elapsed();
    let idle = settled_rss(server.pid()).await;
    let ws = per_conn(before, idle, s.clients);
    println!(
        "connected {} WebSockets in {:.1} s; bare RSS {before} KiB → {idle} KiB: {ws:.1} KiB per idle connection; load {}",
        s.clients,
        connect.as_secs_f64(),
        loadavg()
    );
    let http_client = reqwest::Client::new();
    let post_url = format!("http://127.0.0.1:{}/post", server.port);
    let mut early = HashMap::new();
    let mut rounds = Vec::new();
    for k in 0..s.posts {
        let id = 1_000 + k as u64;
        // A frame shaped like the node's `update`, of the same length.
        let head = format!(
            "{{\"stream\":[\"user\"],\"event\":\"update\",\"payload\":\"{{\\\"id\\\":\\\"{id}\\\",\\\"pad\\\":\\\""
        );
        let tail = "\\\"}\"}";
        let pad = frame_len.saturating_sub(head.len() + tail.len());
        let frame = format!("{head}{}{tail}", "x".repeat(pad));
        let sent = Instant::now();
        let response = http_client
            .post(&post_url)
            .body(frame)
            .send()
            .await
            .expect("POST /post");
        let answered = sent.elapsed();
        assert!(response.status().is_success());
        let arrivals = collect(&mut clients, &mut early, id, s.clients, sent).await;
        rounds.push(Round {
            response: answered,
            arrivals,
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let latency = summarise("bare", &rounds);
    let after_posts = settled_rss(server.pid()).await;
    println!(
        "SUMMARY | bare axum WS | per idle WS {ws:.1} KiB | after posts {:.1} KiB | - | \
         to-all p50 {:.1} ms p99 {:.1} ms | arrivals p50 {:.1} p99 {:.1} ms | POST {:.1} ms | frame {frame_len} B |",
        per_conn(before, after_posts, s.clients),
        ms(latency.to_all_p50),
        ms(latency.to_all_p99),
        ms(latency.arrival_p50),
        ms(latency.arrival_p99),
        ms(latency.response_p50),
    );
    clients.tasks.abort_all();
    drop(server);
}

/// The bare WebSocket server: axum with the node's WebSocket settings, a
/// broadcast channel, and nothing else.
mod bare {
    use super::*;
    use axum::extract::State;
    use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
    use axum::response::Response;
    use axum::routing::{get, post};
    use tokio::sync::broadcast;

    type Bus = broadcast::Sender<Arc<str>>;

    pub fn serve() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (bus, _) = broadcast::channel::<Arc<str>>(64);
            let router = axum::Router::new()
                .route("/ws", get(upgrade))
                .route("/post", post(publish))
                .with_state(bus);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            println!("{}", listener.local_addr().expect("addr").port());
            axum::serve(listener, router).await.expect("serve");
        });
    }

    async fn publish(State(bus): State<Bus>, body: String) -> &'static str {
        let _ = bus.send(Arc::from(body));
        "ok"
    }

    async fn upgrade(State(bus): State<Bus>, ws: WebSocketUpgrade) -> Response {
        let events = bus.subscribe();
        starling_node::http::streaming::configure(ws).on_upgrade(move |socket| pump(socket, events))
    }

    async fn pump(mut socket: WebSocket, mut events: broadcast::Receiver<Arc<str>>) {
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(text) => {
                        if socket.send(Message::Text((&*text).into())).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                message = socket.recv() => match message {
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    }
}
