//! Outgoing deliveries: the `deliver` job signs an activity with its author's
//! key (draft-cavage, `rsa-sha256` over `(request-target) host date digest
//! content-type`, as Mastodon requires) and POSTs it through the safe fetcher.
//!
//! 2xx: done. 4xx other than 408/429: dropped and logged (the receiver will
//! never take it). Anything else: the job fails and the queue retries it with
//! backoff, or no earlier than the answer's `Retry-After` (capped at a day).
//!
//! The dead-host breaker (FEDERATION.md "Delivery"): connection errors,
//! timeouts, 408 and 5xx count as failures of the host
//! ([`crate::store::hosts`]); enough of them over long enough mark it
//! unavailable, and its deliveries wait in the queue, unclaimed, until a
//! probe delivery gets through or the host sends us a signed request
//! ([`host_alive`]). A 429 counts neither way: the host is up, just busy.
//! Per-host concurrency is the queue's business ([`crate::queue::slots`]).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};

use crate::app::App;
use crate::error::Internal;
use crate::queue::Outcome;
use crate::store::hosts::Breaker;
use crate::store::now_ms;

/// `Retry-After` is honoured up to this long (ms); a longer one is read as this.
pub const MAX_RETRY_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// The `deliver` job's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// The local account whose key signs.
    pub account_id: i64,
    /// Where to POST.
    pub inbox: String,
    /// The activity, serialised.
    pub activity: String,
}

/// Enqueues one delivery of `activity` by `account_id` to `inbox`.
pub async fn enqueue(
    app: &App,
    account_id: i64,
    inbox: &str,
    activity: &Value,
) -> Result<(), Internal> {
    let payload = serde_json::to_string(&Delivery {
        account_id,
        inbox: inbox.to_owned(),
        activity: activity.to_string(),
    })
    .map_err(|e| Internal::Serialize(e.to_string()))?;
    let Some(host) = crate::urls::authority_of(inbox) else {
        // Nothing could ever be delivered there; do not fail the caller's job.
        tracing::warn!(%inbox, "not delivering to an inbox without a host");
        return Ok(());
    };
    app.store()
        .enqueue_delivery(app.ids().next(), &payload, &host, now_ms())
        .await?;
    app.jobs_enqueued();
    Ok(())
}

/// The host (`host[:port]`) a `deliver` payload goes to.
pub fn host_of(payload: &str) -> Option<String> {
    let job: Delivery = serde_json::from_str(payload).ok()?;
    crate::urls::authority_of(&job.inbox)
}

/// A remote host proved it is up (it sent us a correctly signed request):
/// forget its failures, so deliveries parked for it go out again.
pub async fn host_alive(app: &App, host: &str) -> Result<(), Internal> {
    // Reading first keeps the common case (a healthy host) off the write path.
    if app.store().host(host).await?.is_none() {
        return Ok(());
    }
    if app.store().host_recovered(host).await? {
        tracing::info!(%host, "host is back (it sent a signed request); resuming deliveries");
        app.jobs_enqueued();
    }
    Ok(())
}

fn breaker(app: &App) -> Breaker {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let c = &app.config().delivery;
    Breaker {
        failures: c.breaker_failures,
        window_ms: ms(c.breaker_window),
        probe_interval_ms: ms(c.probe_interval),
    }
}

/// Counts a failed delivery to `host` and builds the retry.
async fn failed(
    app: &App,
    host: &str,
    error: String,
    retry_after: Option<u64>,
) -> Result<Outcome, Internal> {
    let now = now_ms();
    if app
        .store()
        .record_host_failure(host, now, breaker(app))
        .await?
    {
        tracing::warn!(%host, "host keeps failing; marked unavailable, its deliveries wait for a probe");
    }
    Ok(retry(now, error, retry_after))
}

fn retry(now: i64, error: String, retry_after: Option<u64>) -> Outcome {
    let not_before = retry_after.map(|secs| {
        let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        now + ms.min(MAX_RETRY_AFTER_MS)
    });
    Outcome::Retry { error, not_before }
}

/// The parsed form of `pem`, the private key of `account_id` as just read
/// from the database: from the cache when it holds the same PEM.
fn signing_key(
    app: &App,
    account_id: i64,
    pem: &str,
) -> Result<std::sync::Arc<aws_lc_rs::rsa::KeyPair>, Internal> {
    let cache = &app.caches().signing_keys;
    if let Some(hit) = cache.get(&account_id).filter(|c| &*c.pem == pem) {
        return Ok(hit.pair);
    }
    let pair = starling_federation::keys::parse_private_pem(pem)
        .map_err(|e| Internal::Crypto(e.to_string()))?;
    let pair = std::sync::Arc::new(pair);
    cache.insert(
        account_id,
        crate::service::cache::CachedSigningKey {
            pem: pem.into(),
            pair: pair.clone(),
        },
    );
    Ok(pair)
}

/// Runs one `deliver` job.
pub async fn run(app: &App, payload: &str) -> Result<Outcome, Internal> {
    let job: Delivery = serde_json::from_str(payload)
        .map_err(|e| Internal::Job(format!("bad deliver payload: {e}")))?;
    let account = app
        .store()
        .account(job.account_id)
        .await?
        .ok_or_else(|| Internal::Job(format!("no account {}", job.account_id)))?;
    let keys = app
        .store()
        .account_keys(job.account_id)
        .await?
        .and_then(|k| k.private_key_pem)
        .ok_or_else(|| Internal::Job(format!("account {} has no private key", job.account_id)))?;
    let pair = signing_key(app, job.account_id, &keys)?;
    let url = url::Url::parse(&job.inbox)
        .map_err(|e| Internal::Job(format!("bad inbox {}: {e}", job.inbox)))?;
    let host = crate::urls::authority(&url)
        .ok_or_else(|| Internal::Job(format!("inbox without host: {}", job.inbox)))?;
    // The claim skips unavailable hosts, but the breaker may have tripped
    // since; and once the wait is over, only one delivery goes, as a probe.
    let known = app.store().host(&host).await?;
    if let Some(until) = known.and_then(|h| h.unavailable_until) {
        let now = now_ms();
        if until > now
            || !app
                .store()
                .take_probe(&host, now, breaker(app).probe_interval_ms)
                .await?
        {
            return Ok(Outcome::Parked);
        }
        tracing::info!(%host, "probing an unavailable host");
    }
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let body = job.activity.into_bytes();
    let mut headers = vec![
        ("host".to_owned(), host.clone()),
        ("date".to_owned(), http_date(SystemTime::now())),
        ("digest".to_owned(), sha256_digest_header(&body)),
        (
            "content-type".to_owned(),
            "application/activity+json".to_owned(),
        ),
    ];
    let key_id = app.urls().actor_key(&account.username);
    let signature = sign_request("POST", &path, &headers, &key_id, &pair)
        .map_err(|e| Internal::Crypto(e.to_string()))?;
    headers.push(("signature".to_owned(), signature));
    let posted = match app.fetcher().post(&job.inbox, &headers, body).await {
        Ok(posted) => posted,
        Err(e) => return failed(app, &host, format!("delivery to {}: {e}", job.inbox), None).await,
    };
    let status = posted.status;
    let recovered = || async {
        if known.is_some() && app.store().host_recovered(&host).await? {
            tracing::info!(%host, "host is back; resuming deliveries");
            app.jobs_enqueued();
        }
        Ok::<_, Internal>(())
    };
    match status {
        200..=299 => {
            recovered().await?;
            Ok(Outcome::Done)
        }
        // Up, but asking us to slow down: not a failure of the host.
        429 => Ok(retry(
            now_ms(),
            format!("{} answered 429; will retry", job.inbox),
            posted.retry_after,
        )),
        408 => {
            let error = format!("{} answered 408; will retry", job.inbox);
            failed(app, &host, error, posted.retry_after).await
        }
        400..=499 => {
            recovered().await?;
            tracing::warn!(inbox = %job.inbox, status, "delivery refused; dropped");
            Ok(Outcome::Done)
        }
        status => {
            let error = format!("{} answered {status}; will retry", job.inbox);
            failed(app, &host, error, posted.retry_after).await
        }
    }
}
