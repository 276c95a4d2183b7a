//! `/api/v1/streaming`: Mastodon's streaming API over WebSocket
//! (`GET /api/v1/streaming`, many streams per socket) and Server-Sent Events
//! (`GET /api/v1/streaming/{user,public,…}`, one stream per request).
//!
//! The handlers authenticate, open a [`session::pump`] on the process's event
//! bus and move its frames to the wire with heartbeats; what an event means
//! for whom is decided in `stream::route`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::auth::{authenticate, token_from};
use super::error::ApiError;
use super::params::QueryParams;
use crate::app::App;
use crate::stream::route::{Frame, Refusal, Stream, Viewer, authorize};
use crate::stream::session::{self, QUEUE, Subscriptions};

/// SSE comment and WebSocket ping interval: proxies drop idle connections.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long one WebSocket write may take before the client counts as slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes a stream socket reads at a time. tungstenite's default, 128 KiB,
/// is allocated and zero-filled for every connection as soon as it waits
/// for a message, so 5,000 idle sockets held 640 MiB; clients only send
/// small subscribe commands and pongs.
const READ_BUFFER: usize = 4 * 1024;

/// The largest message or frame a client may send (a subscribe command is
/// under 200 bytes). tungstenite's defaults (64 MiB, 16 MiB) would let any
/// client make us buffer that much.
const MAX_MESSAGE: usize = 64 * 1024;

/// The WebSocket settings of every stream socket (public so that the
/// streaming benchmark's bare baseline server uses the same ones).
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
}

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/streaming", get(websocket))
        .route("/api/v1/streaming/health", get(health))
        .route("/api/v1/streaming/{*name}", get(sse_named))
}

async fn health() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        "OK",
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct StreamParams {
    stream: Option<String>,
    tag: Option<String>,
    list: Option<String>,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r.status {
            401 => ApiError::Unauthorized(r.message),
            403 => ApiError::Forbidden(r.message),
            404 => ApiError::NotFound(r.message),
            400 => ApiError::BadRequest(r.message),
            _ => ApiError::Internal(crate::error::Internal::Corrupt(r.message)),
        }
    }
}

/// The viewer a token names; 401 for a token that is unknown or revoked.
async fn viewer(app: &App, token: Option<String>) -> Result<Viewer, ApiError> {
    let Some(token) = token else {
        return Ok(Viewer::default());
    };
    let auth = authenticate(app, &token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("Invalid access token".into()))?;
    Ok(Viewer {
        account: auth.account_id,
        scopes: Some(auth.scopes),
    })
}

/// `Sec-WebSocket-Protocol`, where browsers (and masto.js) put the token.
fn protocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn sse_named(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    QueryParams(p): QueryParams<StreamParams>,
) -> Result<Response, ApiError> {
    // `/streaming/public/local` is the stream `public:local`.
    let name = name.replace('/', ":");
    sse(&app, &name, &headers, &uri, &p).await
}

/// One stream as Server-Sent Events.
async fn sse(
    app: &App,
    name: &str,
    headers: &HeaderMap,
    uri: &Uri,
    p: &StreamParams,
) -> Result<Response, ApiError> {
    let viewer = viewer(app, token_from(headers, uri)).await?;
    let stream = Stream::parse(name, p.tag.as_deref(), p.list.as_deref())?;
    authorize(app, &viewer, &stream).await?;
    let registration = app.streams().register(app, viewer.account);
    let events = app.streams().subscribe();
    let (tx, rx) = mpsc::channel(QUEUE);
    let subs: Subscriptions = std::sync::Arc::new(std::sync::Mutex::new(vec![stream]));
    tokio::spawn(session::pump(
        app.clone(),
        viewer,
        subs,
        registration,
        events,
        tx,
    ));
    let heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    // A comment first, so the client sees the stream open at once.
    let opening = futures_util::stream::once(async { Ok(Bytes::from_static(b":)\n")) });
    let frames =
        futures_util::stream::unfold((rx, heartbeat), |(mut rx, mut heartbeat)| async move {
            let chunk = tokio::select! {
                // `None`: the pump ended (slow client, shutdown): end the body.
                frame = rx.recv() => Bytes::from(frame?.sse()),
                _ = heartbeat.tick() => Bytes::from_static(b":thump\n"),
            };
            Some((Ok::<_, Infallible>(chunk), (rx, heartbeat)))
        });
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(opening.chain(frames)),
    )
        .into_response())
}

/// `GET /api/v1/streaming`: a WebSocket, or (without the upgrade headers)
/// the stream named by `?stream=` as Server-Sent Events.
async fn websocket(
    State(app): State<App>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    uri: Uri,
    QueryParams(p): QueryParams<StreamParams>,
) -> Result<Response, ApiError> {
    let Ok(upgrade) = upgrade else {
        let name = p.stream.clone().unwrap_or_default();
        return sse(&app, &name, &headers, &uri, &p).await;
    };
    let protocol = protocol_token(&headers);
    let token = token_from(&headers, &uri).or_else(|| protocol.clone());
    let viewer = viewer(&app, token).await?;
    let mut first = Vec::new();
    if let Some(name) = p.stream.as_deref() {
        let stream = Stream::parse(name, p.tag.as_deref(), p.list.as_deref())?;
        authorize(&app, &viewer, &stream).await?;
        first.push(stream);
    }
    // Taken now: events raised once the client sees the 101 are not missed.
    let registration = app.streams().register(&app, viewer.account);
    let events = app.streams().subscribe();
    let upgrade = configure(upgrade);
    let upgrade = match protocol {
        // masto.js sends the token as the subprotocol and requires it back.
        Some(p) => upgrade.protocols([p]),
        None => upgrade,
    };
    Ok(upgrade.on_upgrade(move |socket| async move {
        let subs: Subscriptions = std::sync::Arc::new(std::sync::Mutex::new(first));
        let (tx, rx) = mpsc::channel(QUEUE);
        let pump = tokio::spawn(session::pump(
            app.clone(),
            viewer.clone(),
            subs.clone(),
            registration,
            events,
            tx,
        ));
        serve_socket(&app, &viewer, &subs, socket, rx).await;
        pump.abort();
    }))
}

/// A client's `{"type":"subscribe","stream":…}` message.
#[derive(Debug, Deserialize)]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    stream: String,
    tag: Option<String>,
    list: Option<serde_json::Value>,
}

/// Moves frames to the socket, pings, and applies the client's
/// subscribe/unsubscribe messages, until either side ends.
async fn serve_socket(
    app: &App,
    viewer: &Viewer,
    subs: &Subscriptions,
    socket: WebSocket,
    mut frames: mpsc::Receiver<Frame>,
) {
    let (mut sink, mut incoming) = socket.split();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let close = loop {
        let out = tokio::select! {
            frame = frames.recv() => match frame {
                Some(frame) => Message::Text(frame.websocket().into()),
                // The pump ended: slow client or shutdown.
                None => break close_for(app),
            },
            _ = heartbeat.tick() => Message::Ping(Bytes::new()),
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => match command(app, viewer, subs, &text).await {
                    Ok(()) => continue,
                    Err(refusal) => Message::Text(
                        serde_json::json!({"error": refusal.message, "status": refusal.status})
                            .to_string()
                            .into(),
                    ),
                },
                // The client closes: answer its Close (RFC 6455 §5.5.1)
                // before going, or it sees an abnormal closure (1006).
                Some(Ok(Message::Close(_))) => {
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.close()).await;
                    return;
                }
                None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(out)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("closing a WebSocket whose client does not read");
                return;
            }
        }
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
}

/// The close frame after the pump ended: going away on shutdown, else "try
/// again later" (the client fell behind).
fn close_for(app: &App) -> CloseFrame {
    if *app.streams().closing().borrow() {
        CloseFrame {
            code: 1001,
            reason: "server shutting down".into(),
        }
    } else {
        CloseFrame {
            code: 1013,
            reason: "too slow".into(),
        }
    }
}

/// Applies one client message.
async fn command(
    app: &App,
    viewer: &Viewer,
    subs: &Subscriptions,
    text: &str,
) -> Result<(), Refusal> {
    let bad = || Refusal {
        status: 400,
        message: "Invalid message".into(),
    };
    let c: Command = serde_json::from_str(text).map_err(|_| bad())?;
    let list = c.list.map(|l| match l {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    let stream = Stream::parse(&c.stream, c.tag.as_deref(), list.as_deref())?;
    let mut add = false;
    match c.kind.as_str() {
        "subscribe" => {
            authorize(app, viewer, &stream).await?;
            add = true;
        }
        "unsubscribe" => {}
        _ => return Err(bad()),
    }
    let mut current = subs.lock().unwrap_or_else(|p| p.into_inner());
    current.retain(|s| *s != stream);
    if add {
        current.push(stream);
    }
    Ok(())
}
