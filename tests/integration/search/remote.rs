//! A fake remote server on a loopback port that serves ActivityStreams
//! documents by path (an actor and its notes) and counts every request, so
//! tests can see what a node fetched and how often.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use starling_federation::keys::generate_rsa_2048;
use starling_federation::signatures::{HttpRequest, ParsedSignature, Policy};
use tokio::task::JoinHandle;

#[derive(Default)]
struct Inner {
    /// Path → (content type, body).
    documents: Mutex<HashMap<String, (String, String)>>,
    /// Path → requests so far.
    hits: Mutex<HashMap<String, usize>>,
    /// Path → how long to wait before answering.
    delays: Mutex<HashMap<String, Duration>>,
    /// Secure ("authorized fetch") mode: every request must be signed by
    /// this key id with this public key, or it gets 401.
    signer: Mutex<Option<(String, String)>>,
    /// Requests refused for want of a valid signature.
    refused: Mutex<usize>,
}

/// The running server; stops when dropped.
pub struct Remote {
    /// `http://localhost:{port}`.
    pub base: String,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl Remote {
    /// A server with one actor, `/users/ann` (`ann` with a real key).
    pub async fn start() -> Remote {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let inner = Arc::new(Inner::default());
        let app = Router::new().fallback(serve).with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let remote = Remote {
            base,
            inner,
            server,
        };
        let key = tokio::task::spawn_blocking(generate_rsa_2048)
            .await
            .unwrap()
            .unwrap();
        let actor = remote.url("/users/ann");
        remote.put(
            "/users/ann",
            json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": actor,
                "type": "Person",
                "preferredUsername": "ann",
                "name": "Ann Remote",
                "inbox": remote.url("/users/ann/inbox"),
                "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": key.public_pem},
            }),
        );
        remote
    }

    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves `doc` at `path` as `application/activity+json`.
    pub fn put(&self, path: &str, doc: Value) {
        self.put_raw(path, "application/activity+json", doc.to_string());
    }

    /// Serves `body` at `path` with this content type.
    pub fn put_raw(&self, path: &str, content_type: &str, body: String) {
        self.inner
            .documents
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body));
    }

    /// A public Note by ann at `/notes/{n}`, replying to `/notes/{parent}`.
    pub fn note(&self, n: u32, parent: Option<u32>, content: &str) -> String {
        let path = format!("/notes/{n}");
        let id = self.url(&path);
        self.put(
            &path,
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": id,
                "type": "Note",
                "attributedTo": self.url("/users/ann"),
                "inReplyTo": parent.map(|p| self.url(&format!("/notes/{p}"))),
                "content": content,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [self.url("/users/ann/followers")],
                "published": "2024-01-01T00:00:00Z",
            }),
        );
        id
    }

    /// Makes requests for `path` wait this long before they are answered.
    pub fn delay(&self, path: &str, delay: Duration) {
        self.inner
            .delays
            .lock()
            .unwrap()
            .insert(path.to_owned(), delay);
    }

    /// The JSON served at `path`.
    pub fn doc(&self, path: &str) -> Value {
        let documents = self.inner.documents.lock().unwrap();
        serde_json::from_str(&documents[path].1).expect("a JSON document")
    }

    /// Answers only requests signed by `key_id` (whose public key is
    /// `public_pem`), as a Mastodon server in secure mode does.
    pub fn require_signatures_by(&self, key_id: &str, public_pem: &str) {
        *self.inner.signer.lock().unwrap() = Some((key_id.to_owned(), public_pem.to_owned()));
    }

    /// How many requests were refused for want of a valid signature.
    pub fn refused(&self) -> usize {
        *self.inner.refused.lock().unwrap()
    }

    /// How many times `path` was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.inner
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Whether the request carries a valid signature by `key_id`.
fn signed_by(uri: &Uri, headers: &HeaderMap, key_id: &str, public_pem: &str) -> bool {
    let list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let request = HttpRequest {
        method: "GET",
        scheme: "http",
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: &list,
    };
    let Ok(parsed) = ParsedSignature::parse(&request) else {
        return false;
    };
    parsed.key_id() == key_id
        && parsed
            .check(request, &[], &Policy::new(host), SystemTime::now())
            .is_ok_and(|checked| checked.verify(public_pem).is_ok())
}

async fn serve(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let path = uri.path().to_owned();
    *inner.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let signer = inner.signer.lock().unwrap().clone();
    if let Some((key_id, pem)) = signer
        && !signed_by(&uri, &headers, &key_id, &pem)
    {
        *inner.refused.lock().unwrap() += 1;
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            "request not signed".to_owned(),
        );
    }
    let delay = inner.delays.lock().unwrap().get(&path).copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match inner.documents.lock().unwrap().get(&path) {
        Some((content_type, body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type.clone())],
            body.clone(),
        ),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            "not found".to_owned(),
        ),
    }
}
