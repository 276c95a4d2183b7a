//! Many fake remote servers at once, one per loopback port, sharing one key:
//! each serves an actor (`/actor`) that can follow a Starling user, and an
//! inbox that records the `Create` activities it answers.
//!
//! The inboxes can be told to stop answering `Create`s after a number of
//! them ([`Inboxes::hang_after`]): later ones are held open forever, as a
//! request cut off by a crash would be, and never count as received.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_lc_rs::rsa::KeyPair;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use starling_federation::keys::{generate_rsa_2048, parse_private_pem};
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};
use tokio::task::JoinHandle;

/// What every fake server shares.
#[derive(Default)]
struct Shared {
    /// The one public key all fake actors publish.
    public_pem: String,
    /// `Create` activities answered, by receiving host: their ids and objects.
    creates: Mutex<HashMap<String, Vec<Value>>>,
    /// While set (and `open` is not), `Create`s past `budget` hang.
    armed: AtomicBool,
    /// `Create`s answered since arming.
    answered: AtomicUsize,
    /// How many `Create`s to answer once armed.
    budget: AtomicUsize,
    /// `Create`s being held open.
    hung: AtomicUsize,
    /// Answer everything from now on (requests already held stay held).
    open: AtomicBool,
}

/// One fake server's view: the shared state and its own `host:port`.
#[derive(Clone)]
struct Host {
    shared: Arc<Shared>,
    host: String,
}

/// The running fake servers; they stop when dropped.
pub struct Inboxes {
    /// `127.0.0.1:{port}` of each server.
    pub hosts: Vec<String>,
    shared: Arc<Shared>,
    key: KeyPair,
    servers: Vec<JoinHandle<()>>,
}

impl Inboxes {
    /// Starts `n` servers on distinct loopback ports.
    pub async fn start(n: usize) -> Inboxes {
        let generated = tokio::task::spawn_blocking(generate_rsa_2048)
            .await
            .unwrap()
            .unwrap();
        let key = parse_private_pem(&generated.private_pem).unwrap();
        let shared = Arc::new(Shared {
            public_pem: generated.public_pem,
            ..Shared::default()
        });
        let mut hosts = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let host = listener.local_addr().expect("addr").to_string();
            let app = Router::new()
                .route("/inbox", post(inbox))
                .route("/actor", get(actor))
                .with_state(Host {
                    shared: shared.clone(),
                    host: host.clone(),
                });
            servers.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            hosts.push(host);
        }
        Inboxes {
            hosts,
            shared,
            key,
            servers,
        }
    }

    /// From now on answer `budget` more `Create`s, then hold the rest open.
    pub fn hang_after(&self, budget: usize) {
        self.shared.budget.store(budget, Ordering::SeqCst);
        self.shared.answered.store(0, Ordering::SeqCst);
        self.shared.armed.store(true, Ordering::SeqCst);
    }

    /// Answer every request that arrives from now on.
    pub fn open(&self) {
        self.shared.open.store(true, Ordering::SeqCst);
    }

    /// `Create`s being held open now.
    pub fn hung(&self) -> usize {
        self.shared.hung.load(Ordering::SeqCst)
    }

    /// `Create` activities answered, by host.
    pub fn creates(&self) -> HashMap<String, Vec<Value>> {
        self.shared.creates.lock().unwrap().clone()
    }

    /// Each host's actor sends a signed `Follow` of `target` (an actor URL)
    /// to the shared inbox of the node at `base` serving `domain`; returns
    /// the statuses answered.
    pub async fn follow(&self, base: &str, domain: &str, target: &str) -> Vec<reqwest::StatusCode> {
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        // A few at a time: the node fetches each actor while verifying.
        for chunk in self.hosts.chunks(16) {
            let mut set = tokio::task::JoinSet::new();
            for host in chunk {
                let actor = format!("http://{host}/actor");
                let body = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("http://{host}/follows/1"),
                    "type": "Follow",
                    "actor": actor,
                    "object": target,
                })
                .to_string();
                let date = http_date(SystemTime::now());
                let digest = sha256_digest_header(body.as_bytes());
                let headers = vec![
                    ("host".to_owned(), domain.to_owned()),
                    ("date".to_owned(), date.clone()),
                    ("digest".to_owned(), digest.clone()),
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
                    &self.key,
                )
                .unwrap();
                let request = client
                    .post(format!("{base}/inbox"))
                    .header("date", date)
                    .header("digest", digest)
                    .header("content-type", "application/activity+json")
                    .header("signature", signature)
                    .body(body);
                set.spawn(async move { request.send().await.expect("send Follow").status() });
            }
            statuses.extend(set.join_all().await);
        }
        statuses
    }
}

impl Drop for Inboxes {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

async fn inbox(State(me): State<Host>, body: String) -> impl IntoResponse {
    let activity: Value = serde_json::from_str(&body).unwrap_or_default();
    if activity["type"] != "Create" {
        return StatusCode::ACCEPTED;
    }
    let shared = &me.shared;
    if shared.armed.load(Ordering::SeqCst)
        && !shared.open.load(Ordering::SeqCst)
        && shared.answered.fetch_add(1, Ordering::SeqCst) >= shared.budget.load(Ordering::SeqCst)
    {
        shared.hung.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
    shared
        .creates
        .lock()
        .unwrap()
        .entry(me.host.clone())
        .or_default()
        .push(activity);
    StatusCode::ACCEPTED
}

async fn actor(State(me): State<Host>) -> impl IntoResponse {
    let actor = format!("http://{}/actor", me.host);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor,
        "type": "Person",
        "preferredUsername": "reader",
        "inbox": format!("http://{}/inbox", me.host),
        "followers": format!("http://{}/followers", me.host),
        "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": me.shared.public_pem},
    });
    (
        [(header::CONTENT_TYPE, "application/activity+json")],
        doc.to_string(),
    )
}
