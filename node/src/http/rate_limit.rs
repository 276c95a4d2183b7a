//! Mastodon's rate limits on the client API: 300 requests per 5 minutes per
//! access token, and 7,500 per 5 minutes per client IP, with the
//! `X-RateLimit-Limit/Remaining/Reset` headers clients read.
//!
//! Counters are fixed windows kept in memory per process. With several web
//! processes each enforces its own share; a shared counter (in the database)
//! is future work noted in docs/SCALING.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
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

/// Fixed-window counters keyed by token hash or IP.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// key → (window start ms, requests in it).
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy)]
struct Count {
    limit: u32,
    remaining: u32,
    reset_ms: i64,
    allowed: bool,
}

impl RateLimiter {
    fn hit(&self, key: String, limit: u32) -> Count {
        let now = now_ms();
        let mut windows = match self.windows.lock() {
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
        entry.1 = entry.1.saturating_add(1);
        Count {
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_ms: entry.0 + WINDOW_MS,
            allowed: entry.1 <= limit,
        }
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
    let by_ip = limiter.hit(format!("ip:{ip}"), PER_IP);
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| limiter.hit(format!("token:{}", hash_secret(t.trim())), PER_TOKEN));
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
