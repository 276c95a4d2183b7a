//! Mastodon's rate limits on the client API: 300 requests per 5 minutes per
//! access token, and 7,500 per 5 minutes per client IP, with the
//! `X-RateLimit-Limit/Remaining/Reset` headers clients read.
//!
//! The inbox's limit per source ([`limit_inbox`]) counts only what it
//! refused: a server's deliveries are many and legitimate, while an address
//! that keeps sending what does not verify (forged signatures cost us an RSA
//! operation each, unknown keys a fetch) is turned away for the rest of the
//! window before anything is read.
//!
//! Counters are fixed windows kept in memory per process. With several web
//! processes each enforces its own share; a shared counter (in the database)
//! is future work noted in docs/SCALING.md.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::App;
use crate::service::oauth::hash_secret;
use crate::store::now_ms;

/// The window length.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// Requests per window per token.
pub const PER_TOKEN: u32 = 300;
/// Requests per window per IP address.
pub const PER_IP: u32 = 7_500;
/// Refused inbox requests per window per IP address.
pub const INBOX_REFUSALS_PER_IP: u32 = 300;

/// The process's counters.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// The client API's, keyed by token hash or IP.
    api: Windows<String>,
    /// The inbox's refusals, by the sender's address.
    inbox_refusals: Windows<IpAddr>,
}

/// Fixed-window counters: key → (window start ms, requests in it).
#[derive(Debug)]
struct Windows<K> {
    map: Mutex<HashMap<K, (i64, u32)>>,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Windows {
            map: Mutex::new(HashMap::new()),
        }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy)]
struct Count {
    limit: u32,
    remaining: u32,
    reset_ms: i64,
    allowed: bool,
}

impl<K: Eq + Hash> Windows<K> {
    /// Counts one request (`add` 1) or only reads the count (`add` 0).
    fn count(&self, key: K, add: u32, limit: u32) -> Count {
        let now = now_ms();
        let mut windows = match self.map.lock() {
            Ok(w) => w,
            // A panic while holding the lock cannot leave the map invalid.
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now - *start < WINDOW_MS);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now - entry.0 >= WINDOW_MS {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(add);
        Count {
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_ms: entry.0 + WINDOW_MS,
            allowed: entry.1 <= limit,
        }
    }

    fn hit(&self, key: K, limit: u32) -> Count {
        self.count(key, 1, limit)
    }
}

/// The middleware.
pub async fn limit(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.config().rate_limits {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let limiter = app.rate_limiter();
    let by_ip = limiter.api.hit(format!("ip:{ip}"), PER_IP);
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| {
            limiter
                .api
                .hit(format!("token:{}", hash_secret(t.trim())), PER_TOKEN)
        });
    let shown = token.unwrap_or(by_ip);
    let allowed = by_ip.allowed && token.is_none_or(|t| t.allowed);
    let mut response = if allowed {
        next.run(request).await
    } else {
        ApiError::TooManyRequests.into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", shown.limit.to_string()),
        ("x-ratelimit-remaining", shown.remaining.to_string()),
        (
            "x-ratelimit-reset",
            starling_protocol::datetime::iso8601_millis(shown.reset_ms),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

/// The inbox's middleware: an address with more than
/// [`INBOX_REFUSALS_PER_IP`] refused requests (any 4xx) in the window gets
/// 429 with `Retry-After` until the window ends, before its request is read.
pub async fn limit_inbox(State(app): State<App>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (Some(ip), true) = (ip, app.config().rate_limits) else {
        return next.run(request).await;
    };
    let refusals = &app.rate_limiter().inbox_refusals;
    let so_far = refusals.count(ip, 0, INBOX_REFUSALS_PER_IP);
    if so_far.remaining == 0 {
        let mut response = ApiError::TooManyRequests.into_response();
        let wait_s = (so_far.reset_ms - now_ms()).max(0) / 1000 + 1;
        if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
            response.headers_mut().insert("retry-after", v);
        }
        return response;
    }
    let response = next.run(request).await;
    if response.status().is_client_error() && response.status() != StatusCode::TOO_MANY_REQUESTS {
        refusals.hit(ip, INBOX_REFUSALS_PER_IP);
    }
    response
}
