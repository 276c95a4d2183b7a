//! A fake remote server on a loopback port: an inbox that answers as told
//! (scripted answers, then a default; optionally slowly) and records every
//! delivery, plus an actor document so it can sign requests of its own.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use starling_federation::keys::{GeneratedKey, generate_rsa_2048, parse_private_pem};
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};
use tokio::task::JoinHandle;

use crate::support::TestNode;

/// One answer of the inbox: a status and an optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            retry_after: None,
        }
    }

    pub fn retry_after(status: u16, value: impl Into<String>) -> Answer {
        Answer {
            status,
            retry_after: Some(value.into()),
        }
    }
}

/// One delivery the inbox saw.
#[derive(Debug, Clone)]
pub struct Hit {
    /// When it arrived.
    pub at: Instant,
    /// The activity's id.
    pub id: String,
    /// The inbox's path (`/inbox`, or `/users/{name}/inbox`).
    pub path: String,
    /// What the inbox answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Option<Answer>>,
    delay: Mutex<Duration>,
    hits: Mutex<Vec<Hit>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    actor: Mutex<Value>,
}

/// The running fake server; stops when dropped.
pub struct FakeHost {
    /// `127.0.0.1:{port}`.
    pub host: String,
    inner: Arc<Inner>,
    key: GeneratedKey,
    server: JoinHandle<()>,
}

impl FakeHost {
    /// A server whose inbox answers `default` (after the script runs out).
    pub async fn start(default: Answer) -> FakeHost {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let key = tokio::task::spawn_blocking(generate_rsa_2048)
            .await
            .unwrap()
            .unwrap();
        let actor = format!("http://{host}/actor");
        let inner = Arc::new(Inner::default());
        *inner.default.lock().unwrap() = Some(default);
        *inner.actor.lock().unwrap() = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Service",
            "preferredUsername": "relay",
            "inbox": format!("http://{host}/inbox"),
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": key.public_pem},
        });
        let app = Router::new()
            .route("/inbox", post(inbox))
            .route("/users/{name}/inbox", post(inbox))
            .route("/actor", get(actor_document))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeHost {
            host,
            inner,
            key,
            server,
        }
    }

    /// `http://{host}/inbox`.
    pub fn inbox(&self) -> String {
        format!("http://{}/inbox", self.host)
    }

    /// The personal inbox of `name` on this host.
    pub fn personal_inbox(&self, name: &str) -> String {
        format!("http://{}/users/{name}/inbox", self.host)
    }

    /// The next answers, before the default applies again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.script.lock().unwrap().extend(answers);
    }

    /// Changes the answer given once the script is used up.
    pub fn answer(&self, default: Answer) {
        *self.inner.default.lock().unwrap() = Some(default);
    }

    /// Makes every request take this long before it is answered.
    pub fn delay(&self, delay: Duration) {
        *self.inner.delay.lock().unwrap() = delay;
    }

    /// Every delivery so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    /// Deliveries so far.
    pub fn count(&self) -> usize {
        self.inner.hits.lock().unwrap().len()
    }

    /// The ids of the activities accepted (2xx) so far.
    pub fn accepted(&self) -> Vec<String> {
        self.hits()
            .into_iter()
            .filter(|h| (200..300).contains(&h.status))
            .map(|h| h.id)
            .collect()
    }

    /// The most requests the inbox was ever handling at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// POSTs a correctly signed activity of this host's actor to `node`'s
    /// shared inbox, as a live server would; returns the status.
    pub async fn send_signed(&self, node: &TestNode, activity_type: &str) -> reqwest::StatusCode {
        let actor = format!("http://{}/actor", self.host);
        let body = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("http://{}/activities/{}", self.host, crate::support::unique("a")),
            "type": activity_type,
            "actor": actor,
            "object": actor,
        })
        .to_string();
        let headers = vec![
            ("host".to_owned(), node.domain.clone()),
            ("date".to_owned(), http_date(SystemTime::now())),
            ("digest".to_owned(), sha256_digest_header(body.as_bytes())),
            (
                "content-type".to_owned(),
                "application/activity+json".to_owned(),
            ),
        ];
        let pair = parse_private_pem(&self.key.private_pem).unwrap();
        let signature = sign_request(
            "POST",
            "/inbox",
            &headers,
            &format!("{actor}#main-key"),
            &pair,
        )
        .unwrap();
        node.http
            .post(format!("{}/inbox", node.base))
            .header("date", &headers[1].1)
            .header("digest", &headers[2].1)
            .header("content-type", &headers[3].1)
            .header("signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn inbox(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    body: String,
) -> impl IntoResponse {
    let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *inner.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let answer = {
        let next = inner.script.lock().unwrap().pop_front();
        next.or_else(|| inner.default.lock().unwrap().clone())
            .unwrap_or(Answer::status(202))
    };
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    inner.hits.lock().unwrap().push(Hit {
        at: Instant::now(),
        id,
        path: uri.path().to_owned(),
        status: answer.status,
    });
    inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut headers = HeaderMap::new();
    if let Some(value) = &answer.retry_after {
        headers.insert(header::RETRY_AFTER, value.parse().unwrap());
    }
    (
        StatusCode::from_u16(answer.status).unwrap(),
        headers,
        String::new(),
    )
}

async fn actor_document(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    let doc = inner.actor.lock().unwrap().to_string();
    ([(header::CONTENT_TYPE, "application/activity+json")], doc)
}
