//! Outgoing deliveries: the `deliver` job signs an activity with its author's
//! key (draft-cavage, `rsa-sha256` over `(request-target) host date digest
//! content-type`, as Mastodon requires) and POSTs it through the safe fetcher.
//!
//! 2xx: done. 4xx other than 408/429: dropped and logged (the receiver will
//! never take it). Anything else: the job fails and the queue retries it with
//! backoff. Still to come (issue 4): `Retry-After`, per-host concurrency and the
//! dead-host breaker.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};

use crate::app::App;
use crate::error::Internal;

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
    app.store()
        .enqueue(
            app.ids().next(),
            "deliver",
            &payload,
            crate::store::now_ms(),
        )
        .await?;
    app.jobs_enqueued();
    Ok(())
}

/// Runs one `deliver` job.
pub async fn run(app: &App, payload: &str) -> Result<(), Internal> {
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
    let pair = starling_federation::keys::parse_private_pem(&keys)
        .map_err(|e| Internal::Crypto(e.to_string()))?;
    let url = url::Url::parse(&job.inbox)
        .map_err(|e| Internal::Job(format!("bad inbox {}: {e}", job.inbox)))?;
    let host = crate::urls::authority(&url)
        .ok_or_else(|| Internal::Job(format!("inbox without host: {}", job.inbox)))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let body = job.activity.into_bytes();
    let mut headers = vec![
        ("host".to_owned(), host),
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
    let posted = app
        .fetcher()
        .post(&job.inbox, &headers, body)
        .await
        .map_err(|e| Internal::Job(format!("delivery to {}: {e}", job.inbox)))?;
    match posted.status {
        200..=299 => Ok(()),
        408 | 429 => Err(Internal::Job(format!(
            "{} answered {}; will retry",
            job.inbox, posted.status
        ))),
        400..=499 => {
            tracing::warn!(inbox = %job.inbox, status = posted.status, "delivery refused; dropped");
            Ok(())
        }
        status => Err(Internal::Job(format!(
            "{} answered {status}; will retry",
            job.inbox
        ))),
    }
}
