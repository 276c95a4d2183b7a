//! Mastodon's rate limits on the client API: 300 requests per 5 minutes per
//! access token, and 7,500 per 5 minutes per client IP, with the
//! `X-RateLimit-Limit/Remaining/Reset` headers clients read.
//!
//! The inbox's limit per source ([`limit_inbox`]) counts only what it
//! refused: a server's deliveries are many and legitimate, while an address
//! that keeps sending what does not verify (forged signatures cost us an RSA
//! operation each, unknown keys a fetch) is turned away for the rest of the
//! window before anything is read. Refusals that a sound server causes (the
//! `Delete`s of accounts it removed, whose keys are gone) do not count.
//!
//! The client's address is the peer's, or, when the peer is a proxy on this
//! machine or a private network (loopback, 10/8, 172.16/12, 192.168/16,
//! fc00::/7, as Rails trusts by default), the nearest address before it in
//! `X-Forwarded-For`. IPv6 clients count by their /64, the block one host
//! usually has. At most [`MAX_KEYS`] keys are tracked; past that (an attack
//! from that many addresses) new ones go uncounted until old windows end.
//!
//! Counters are fixed windows kept in memory per process. With several web
//! processes each enforces its own share; a shared counter (in the database)
//! is future work noted in docs/SCALING.md.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::App;
use crate::service::oauth::secret_digest;
use crate::store::now_ms;

/// The window length.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// Requests per window per token.
pub const PER_TOKEN: u32 = 300;
/// Requests per window per IP address.
pub const PER_IP: u32 = 7_500;
/// Refused inbox requests per window per IP address.
pub const INBOX_REFUSALS_PER_IP: u32 = 300;
/// The most counters kept by one limiter.
pub const MAX_KEYS: usize = 100_000;
/// How often, at most, a full limiter looks for ended windows (ms).
const PRUNE_EVERY_MS: i64 = 10_000;

/// The process's counters.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// The client API's requests.
    api: Windows<ApiKey>,
    /// The inbox's refusals, by the sender's address.
    inbox_refusals: Windows<IpAddr>,
}

/// What the client API counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ApiKey {
    /// The client's address.
    Ip(IpAddr),
    /// The token's SHA-256.
    Token([u8; 32]),
}

/// Fixed-window counters.
#[derive(Debug)]
struct Windows<K> {
    map: Mutex<WindowMap<K>>,
}

#[derive(Debug)]
struct WindowMap<K> {
    /// key → (window start ms, requests in it).
    counts: HashMap<K, (i64, u32)>,
    /// When ended windows were last removed (ms).
    pruned_at: i64,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Windows {
            map: Mutex::new(WindowMap {
                counts: HashMap::new(),
                pruned_at: 0,
            }),
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
    fn lock(&self) -> std::sync::MutexGuard<'_, WindowMap<K>> {
        match self.map.lock() {
            Ok(w) => w,
            // A panic while holding the lock cannot leave the map invalid.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Counts one request.
    fn hit(&self, key: K, limit: u32) -> Count {
        let now = now_ms();
        let mut map = self.lock();
        if map.counts.len() >= MAX_KEYS && !map.counts.contains_key(&key) {
            if now - map.pruned_at >= PRUNE_EVERY_MS {
                map.counts.retain(|_, (start, _)| now - *start < WINDOW_MS);
                map.pruned_at = now;
            }
            if map.counts.len() >= MAX_KEYS {
                return Count::fresh(limit, now);
            }
        }
        let entry = map.counts.entry(key).or_insert((now, 0));
        if now - entry.0 >= WINDOW_MS {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Count::of(*entry, limit)
    }

    /// The count so far, without counting (and without keeping anything
    /// for a key never counted).
    fn peek(&self, key: &K, limit: u32) -> Count {
        let now = now_ms();
        match self.lock().counts.get(key) {
            Some(&(start, n)) if now - start < WINDOW_MS => Count::of((start, n), limit),
            _ => Count::fresh(limit, now),
        }
    }
}

impl Count {
    fn of((start, n): (i64, u32), limit: u32) -> Count {
        Count {
            limit,
            remaining: limit.saturating_sub(n),
            reset_ms: start + WINDOW_MS,
            allowed: n <= limit,
        }
    }

    fn fresh(limit: u32, now: i64) -> Count {
        Count::of((now, 0), limit)
    }
}

/// The address a request comes from (see the module's notes), IPv6 by /64.
pub fn client_address(request: &Request) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let mut client = peer.to_canonical();
    if trusted_proxy(client) {
        let hops: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !trusted_proxy(client) {
                break;
            }
        }
    }
    Some(match client {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    })
}

/// A peer whose `X-Forwarded-For` is believed.
fn trusted_proxy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The middleware.
pub async fn limit(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.config().rate_limits {
        return next.run(request).await;
    }
    // Without a peer address (not served from a socket) requests share one
    // counter.
    let ip = client_address(&request).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let limiter = app.rate_limiter();
    let by_ip = limiter.api.hit(ApiKey::Ip(ip), PER_IP);
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
                .hit(ApiKey::Token(secret_digest(t.trim())), PER_TOKEN)
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

/// Marks an inbox response as a refusal that counts against the sender's
/// address ([`limit_inbox`]); a 413 (body over the cap) counts unmarked.
#[derive(Debug, Clone, Copy)]
pub struct Refusal;

/// The inbox's middleware: once an address has [`INBOX_REFUSALS_PER_IP`]
/// counted refusals in the window, its requests get 429 with `Retry-After`
/// until the window ends, before they are read.
pub async fn limit_inbox(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.config().rate_limits {
        return next.run(request).await;
    }
    let Some(ip) = client_address(&request) else {
        return next.run(request).await;
    };
    let refusals = &app.rate_limiter().inbox_refusals;
    let so_far = refusals.peek(&ip, INBOX_REFUSALS_PER_IP);
    if so_far.remaining == 0 {
        let mut response = ApiError::TooManyRequests.into_response();
        let wait_s = (so_far.reset_ms - now_ms()).max(0) / 1000 + 1;
        if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
            response.headers_mut().insert("retry-after", v);
        }
        return response;
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        || response.extensions().get::<Refusal>().is_some()
    {
        refusals.hit(ip, INBOX_REFUSALS_PER_IP);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(peer: &str, forwarded: &[&str]) -> Option<IpAddr> {
        let mut request = Request::new(axum::body::Body::empty());
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40000)));
        for value in forwarded {
            request
                .headers_mut()
                .append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        client_address(&request)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_public_peer_cannot_name_another_client() {
        assert_eq!(from("203.0.113.5", &["198.51.100.7"]), ip("203.0.113.5"));
    }

    #[test]
    fn behind_proxies_the_nearest_untrusted_hop_is_the_client() {
        assert_eq!(from("127.0.0.1", &[]), ip("127.0.0.1"));
        assert_eq!(from("127.0.0.1", &["198.51.100.7"]), ip("198.51.100.7"));
        // What the client itself wrote in front does not count.
        assert_eq!(
            from("127.0.0.1", &["1.1.1.1, 198.51.100.7, 10.0.0.2"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            from("::ffff:127.0.0.1", &["1.1.1.1", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        // An unreadable hop ends the walk at the last address believed.
        assert_eq!(from("10.0.0.2", &["198.51.100.7, junk"]), ip("10.0.0.2"));
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        assert_eq!(from("2001:db8:1:2:3:4:5:6", &[]), ip("2001:db8:1:2::"));
        assert_eq!(from("::1", &["2001:db8::ff"]), ip("2001:db8::"));
    }

    #[test]
    fn a_full_limiter_stops_tracking_new_keys_but_keeps_counting_old_ones() {
        let windows = Windows::<u32>::default();
        for k in 0..MAX_KEYS as u32 {
            windows.hit(k, 2);
        }
        assert!(!windows.hit(0, 1).allowed, "a known key still counts");
        windows.hit(u32::MAX, 1);
        assert!(windows.hit(u32::MAX, 1).allowed, "a new key is not kept");
        assert_eq!(windows.peek(&7, 2).remaining, 1);
        assert_eq!(windows.peek(&(u32::MAX - 1), 2).remaining, 2);
    }
}
