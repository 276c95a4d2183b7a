//! The two stream clients the tests use, as apps would: WebSocket
//! (tokio-tungstenite) and Server-Sent Events (reqwest's byte stream).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::support::TestNode;

/// How long a test waits for an event it expects.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client of `/api/v1/streaming`.
pub struct Ws(pub Socket);

impl Ws {
    /// Connects with `query` (e.g. `access_token=…&stream=user`).
    pub async fn connect(node: &TestNode, query: &str) -> Ws {
        Self::connect_to(&node.base, query).await
    }

    /// Connects to the server at `base` (`http://host:port`).
    pub async fn connect_to(base: &str, query: &str) -> Ws {
        let url = format!(
            "{}/api/v1/streaming?{query}",
            base.replacen("http", "ws", 1)
        );
        let (socket, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket handshake");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        Ws(socket)
    }

    pub async fn send(&mut self, message: Value) {
        self.0
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// Sends a ping and waits for its pong: the server has handled every
    /// message sent before it.
    pub async fn sync(&mut self) {
        self.0
            .send(Message::Ping(b"sync".to_vec().into()))
            .await
            .expect("ping");
        timeout(PATIENCE, async {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Pong(p))) if p.as_ref() == b"sync" => return,
                    Some(Ok(Message::Text(t))) => panic!("unexpected frame before pong: {t}"),
                    Some(Ok(_)) => {}
                    other => panic!("socket ended: {other:?}"),
                }
            }
        })
        .await
        .expect("pong");
    }

    /// The next frame, parsed, with its payload parsed when it is JSON.
    pub async fn next(&mut self) -> Value {
        timeout(PATIENCE, async {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Text(t))) => {
                        let mut frame: Value = serde_json::from_str(&t).expect("JSON frame");
                        if let Some(p) = frame["payload"].as_str()
                            && let Ok(parsed) = serde_json::from_str::<Value>(p)
                            && parsed.is_object()
                        {
                            frame["payload"] = parsed;
                        }
                        return frame;
                    }
                    Some(Ok(Message::Close(c))) => panic!("closed by the server: {c:?}"),
                    Some(Ok(_)) => {}
                    other => panic!("socket ended: {other:?}"),
                }
            }
        })
        .await
        .expect("a frame in time")
    }
}

/// An SSE client of `/api/v1/streaming/{path}`.
pub struct Sse {
    pub body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    buffer: String,
}

impl Sse {
    pub async fn open(node: &TestNode, path: &str, token: Option<&str>) -> Result<Sse, StatusCode> {
        let mut request = node.http.get(if path.starts_with('?') {
            format!("{}/api/v1/streaming{path}", node.base)
        } else {
            format!("{}/api/v1/streaming/{path}", node.base)
        });
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("request");
        if response.status() != StatusCode::OK {
            return Err(response.status());
        }
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "SSE media type"
        );
        Ok(Sse {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        })
    }

    /// The next event as `(name, data)`, skipping comments (heartbeats).
    pub async fn next(&mut self) -> (String, String) {
        timeout(PATIENCE, async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = None;
                    let mut data = None;
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event: ") {
                            event = Some(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data = Some(v.to_owned());
                        }
                    }
                    if let (Some(e), Some(d)) = (event, data) {
                        return (e, d);
                    }
                }
                match self.body.next().await {
                    Some(Ok(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                    other => panic!("event stream ended: {other:?}"),
                }
            }
        })
        .await
        .expect("an event in time")
    }
}
