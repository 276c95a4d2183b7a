//! `POST /inbox` (shared) and `POST /users/:name/inbox`: verify, record once,
//! enqueue, answer 202 (SECURITY.md "Inbox"). The signature checks are
//! [`super::signed::verify`].
//!
//! Order matters: the body cap applies before buffering; the cheap checks
//! (Host, coverage, Date window, Digest = body) run before any key fetch; a
//! request that fails anything gets 401 (400 for a malformed body) and leaves
//! no trace. Only then is the activity id recorded (the dedupe) together with
//! its `inbox` job and the sender's host counted as up for delivery, in one
//! transaction shared with concurrent requests (group commit,
//! [`crate::store::inbox_batch`]); the 202 waits for its commit.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::error::ApiError;
use super::rate_limit::Refusal;
use super::signed::Refused;
use crate::app::App;
use crate::store::inbox_batch::InboxEntry;
use crate::urls::authority_of;

mod envelope;
use envelope::Envelope;

/// The largest activity accepted.
pub const INBOX_BODY_LIMIT: usize = 1024 * 1024;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/inbox", post(shared_inbox))
        .route("/users/{name}/inbox", post(user_inbox))
        .layer(DefaultBodyLimit::max(INBOX_BODY_LIMIT))
}

async fn shared_inbox(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&app, &uri, &headers, &body).await
}

async fn user_inbox(
    State(app): State<App>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match app.store().local_account_by_username(&name).await {
        Ok(Some(_)) => receive(&app, &uri, &headers, &body).await,
        Ok(None) => ApiError::NotFound(format!("no user {name} here")).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A 401 that counts against the sender's address (`rate_limit::limit_inbox`).
fn unauthorized(reason: impl std::fmt::Display) -> Response {
    counted(uncounted_401(reason))
}

fn uncounted_401(reason: impl std::fmt::Display) -> Response {
    tracing::info!(%reason, "inbox refused a request");
    ApiError::Unauthorized(format!("Request not signed or not verifiable: {reason}"))
        .into_response()
}

/// A 400 that counts against the sender's address.
fn bad_request(reason: &str) -> Response {
    counted(ApiError::BadRequest(reason.to_owned()).into_response())
}

fn counted(mut response: Response) -> Response {
    response.extensions_mut().insert(Refusal);
    response
}

async fn receive(app: &App, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let verified = match super::signed::verify_remembered(app, "POST", uri, headers, body).await {
        Ok(verified) => verified,
        Err(e) => return refused(e),
    };

    // Stored as text: a body that is not UTF-8 is refused, not mangled, and
    // so is a NUL byte, which PostgreSQL's text cannot hold (JSON has no
    // raw control characters; an escaped one in the id is checked below).
    let Ok(text) = std::str::from_utf8(body) else {
        return bad_request("the body is not UTF-8");
    };
    if body.contains(&0) {
        return bad_request("the body holds a NUL byte");
    }
    let Some(envelope) = Envelope::parse(text) else {
        return bad_request("the body is not a JSON object");
    };
    let actor = envelope.actor.0.as_ref();
    if actor != verified.key.owner_uri {
        return unauthorized("the signing key's owner is not the activity's actor");
    }
    let Some(activity_id) = envelope
        .id
        .as_ref()
        .map(|id| id.0.as_ref())
        .filter(|id| !id.is_empty())
    else {
        return bad_request("the activity has no id");
    };
    if activity_id.contains('\0') {
        return bad_request("the activity id holds a NUL character");
    }
    // Checked before the id is recorded, so nobody can reserve another
    // server's ids (Fedify GHSA-4qhx-hhwf-8685).
    let activity_host = authority_of(activity_id);
    if activity_host.is_none() || activity_host != authority_of(actor) {
        return unauthorized("the activity id is not on the actor's server");
    }
    let entry = |key_check| InboxEntry {
        row_id: app.ids().next(),
        job_id: app.ids().next(),
        activity_id: activity_id.to_owned(),
        actor_uri: actor.to_owned(),
        body: text.to_owned(),
        // A host that signs requests to us is up: deliveries parked for it
        // resume (the same transaction forgets its failures).
        host: activity_host.clone(),
        key_check,
    };
    let mut recorded = app
        .store()
        .record_inbox_entry(entry(verified.remembered))
        .await;
    if let Ok(r) = &recorded
        && r.stale_key
    {
        // The key in memory is not the stored one any more: verify again
        // with the store's (or a refetched) key, as if never remembered.
        match super::signed::verify(app, "POST", uri, headers, body).await {
            Ok(key) if key.owner_uri == actor => {}
            Ok(_) => return unauthorized("the signing key's owner is not the activity's actor"),
            Err(e) => return refused(e),
        }
        recorded = app.store().record_inbox_entry(entry(None)).await;
    }
    match recorded {
        Ok(recorded) => {
            if recorded.host_recovered {
                tracing::info!(host = ?activity_host, "host is back (it sent a signed request); resuming deliveries");
            }
            if recorded.fresh || recorded.host_recovered {
                app.jobs_enqueued();
            }
            StatusCode::ACCEPTED.into_response()
        }
        // A database error must be a 5xx so the sender retries.
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn refused(e: Refused) -> Response {
    match e {
        // Our own failure: a 500 makes the sender retry, where a 401 would
        // make it drop the activity for good.
        Refused::Internal(e) => ApiError::Internal(e).into_response(),
        // A server's activities for accounts it removed: refused, but not
        // held against its address.
        Refused::Key(k) if k.actor_gone() => uncounted_401(k),
        e => unauthorized(e),
    }
}
