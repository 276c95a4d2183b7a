//! Inbox: pre-signed unique `Create`s at 64 connections, against the bare
//! ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use axum::routing::post;
use starling_federation::keys::{generate_rsa_2048, parse_private_pem};
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};
use starling_node::app::{self, App};
use starling_node::config::{DatabaseUrl, Role};
use starling_node::store::remote::RemoteActor;

use super::{Load, Settings, config, http1, loadavg, raw_pool, summarise};

const CONNECTIONS: usize = 64;
const ACTORS: usize = 8;
/// Activities sent to warm up (connections, caches) before measuring.
const WARM_UP: usize = 1_000;

/// One signed POST, as the bytes sent (Host, the signed headers, body).
struct Signed {
    request: Vec<u8>,
}

/// Signs `n` unique Creates by `ACTORS` actors to `domain`, on every core.
async fn sign_all(
    n: usize,
    domain: &str,
    actors: &[(String, String)],
    cores: usize,
) -> Vec<Signed> {
    let mut tasks = Vec::new();
    for part in 0..cores {
        let domain = domain.to_owned();
        let actors = actors.to_vec();
        tasks.push(tokio::task::spawn_blocking(move || {
            let keys: Vec<_> = actors
                .iter()
                .map(|(_, pem)| parse_private_pem(pem).expect("key"))
                .collect();
            let date = http_date(SystemTime::now());
            (part..n)
                .step_by(cores)
                .map(|k| {
                    let a = k % ACTORS;
                    let actor = &actors[a].0;
                    let body = serde_json::json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor}/statuses/{k}/activity"),
                        "type": "Create",
                        "actor": actor,
                        "published": "2026-11-28T12:00:00Z",
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        "cc": [format!("{actor}/followers")],
                        "object": {
                            "id": format!("{actor}/statuses/{k}"),
                            "type": "Note",
                            "attributedTo": actor,
                            "content": format!("<p>Note number {k}, a short post as most are.</p>"),
                            "published": "2026-11-28T12:00:00Z",
                            "to": ["https://www.w3.org/ns/activitystreams#Public"],
                            "cc": [format!("{actor}/followers")],
                        },
                    })
                    .to_string();
                    let mut headers = vec![
                        ("host".to_owned(), domain.clone()),
                        ("date".to_owned(), date.clone()),
                        ("digest".to_owned(), sha256_digest_header(body.as_bytes())),
                        (
                            "content-type".to_owned(),
                            "application/activity+json".to_owned(),
                        ),
                    ];
                    let signature = sign_request(
                        "POST",
                        "/inbox",
                        &headers,
                        &format!("{actor}#main-key"),
                        &keys[a],
                    )
                    .expect("sign");
                    headers.push(("signature".to_owned(), signature));
                    Signed {
                        request: http1::post("/inbox", &headers, body.as_bytes()),
                    }
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("signer"));
    }
    all
}

/// `CONNECTIONS` workers POST `signed[from..]` to `addr`, each activity
/// once, until they run out or `seconds` pass.
async fn load(
    addr: std::net::SocketAddr,
    signed: &Arc<Vec<Signed>>,
    from: usize,
    to: usize,
    seconds: u64,
) -> Load {
    let next = Arc::new(AtomicUsize::new(from));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (signed, next) = (signed.clone(), next.clone());
            tokio::spawn(async move {
                let mut conn = http1::Conn::open(addr).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    let t = Instant::now();
                    let reply = conn.send(&signed[i].request).await;
                    assert_eq!(
                        reply.status,
                        StatusCode::ACCEPTED.as_u16(),
                        "{addr}: {}",
                        String::from_utf8_lossy(reply.body)
                    );
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

pub async fn run(db: DatabaseUrl, settings: &Settings) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let domain = addr.to_string();
    let app = App::build(config(db.clone(), &domain, addr))
        .await
        .expect("node starts");

    // A handful of remote actors whose keys the node already has.
    let mut actors = Vec::new();
    for a in 0..ACTORS {
        let key = tokio::task::spawn_blocking(generate_rsa_2048)
            .await
            .unwrap()
            .unwrap();
        let origin = format!("remote{a}.example");
        let uri = format!("http://{origin}/users/u{a}");
        app.store()
            .upsert_remote_actor(
                app.ids().next(),
                &RemoteActor {
                    uri: uri.clone(),
                    username: format!("u{a}"),
                    domain: origin,
                    display_name: String::new(),
                    note: String::new(),
                    avatar_url: None,
                    header_url: None,
                    fields: "[]".into(),
                    inbox_url: format!("{uri}/inbox"),
                    shared_inbox_url: None,
                    url: None,
                    actor_type: "Person".into(),
                    locked: false,
                    key_id: format!("{uri}#main-key"),
                    public_key_pem: key.public_pem,
                },
            )
            .await
            .expect("actor");
        actors.push((uri, key.private_pem));
    }
    let t = Instant::now();
    let signed = Arc::new(sign_all(settings.activities, &domain, &actors, settings.cores).await);
    println!(
        "\ninbox: signed {} unique Creates by {ACTORS} actors in {:.1} s; {CONNECTIONS} connections, {} s each",
        signed.len(),
        t.elapsed().as_secs_f64(),
        settings.seconds
    );

    // HTTP only: what a 202 promises is in the database; the worker that
    // applies inbox jobs is another process's business (role `worker`).
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::run_role(
        app.clone(),
        Role::Web,
        Some(listener),
        async {
            let _ = rx.await;
        },
    ));
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare_addr = bare_listener.local_addr().expect("addr");
    let router = axum::Router::new().route(
        "/inbox",
        post(|_body: axum::body::Bytes| async { StatusCode::ACCEPTED }),
    );
    let bare_server = tokio::spawn(async move { axum::serve(bare_listener, router).await });

    let n = signed.len();
    let warm = WARM_UP.min(n / 4);
    load(addr, &signed, 0, warm, settings.seconds).await;
    load(bare_addr, &signed, 0, warm, settings.seconds).await;
    let load_before = loadavg();
    let node = load(addr, &signed, warm, n, settings.seconds).await;
    let bare = load(bare_addr, &signed, warm, n, settings.seconds).await;
    let load_after = loadavg();
    if warm + node.requests >= n {
        println!("(ran out of signed activities: raise BENCH_INBOX_ACTIVITIES)");
    }
    println!(
        "| endpoint | accepted | per s | per s per core (target ≥ 10,000) | p50 ms | p99 ms (target < 10) |\n|---|---|---|---|---|---|"
    );
    for (name, l) in [
        ("POST /inbox (verify, dedupe, store + job)", &node),
        ("bare axum: 202, nothing else", &bare),
    ] {
        println!(
            "| {name} | {} | {:.0} | {:.0} | {:.2} | {:.2} |",
            l.requests,
            l.rps,
            l.rps / settings.cores as f64,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3
        );
    }
    println!(
        "ratio node/bare = {:.2}; load average {load_before} before, {load_after} after",
        node.rps / bare.rps
    );
    let _ = tx.send(());
    let _ = server.await;
    bare_server.abort();
    // Every 202 is durable: the rows are there (the node's pool is closed).
    let pool = raw_pool(&db).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox_activities")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        rows as usize,
        warm + node.requests,
        "every accepted activity is stored"
    );
    // Each in an `inbox` job (one per group commit).
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'inbox'")
        .fetch_all(&pool)
        .await
        .expect("jobs");
    let queued: usize = payloads
        .iter()
        .map(|p| {
            let p: serde_json::Value = serde_json::from_str(p).expect("payload");
            p["inbox_activities"]
                .as_array()
                .map_or(usize::from(p["inbox_activity"].is_i64()), Vec::len)
        })
        .sum();
    assert_eq!(queued as i64, rows, "each with its job");
    println!(
        "{rows} activities in {} inbox jobs ({:.1} per commit)",
        payloads.len(),
        rows as f64 / payloads.len().max(1) as f64
    );
    pool.close().await;
}
