//! `POST /inbox` (shared) and `POST /users/:name/inbox`: verify, record once,
//! enqueue, answer 202 (SECURITY.md "Inbox"). The signature checks are
//! [`super::signed::verify`].
//!
//! Order matters: the body cap applies before buffering; the cheap checks
//! (Host, coverage, Date window, Digest = body) run before any key fetch; a
//! request that fails anything gets 401 (400 for a malformed body) and leaves
//! no trace. Only then is the activity id recorded (the dedupe) together with
//! its `inbox` job, in one transaction, and the sender's host counted as up
//! for delivery (`service::deliver::host_alive`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use super::error::ApiError;
use crate::app::App;
use crate::urls::authority_of;

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

fn unauthorized(reason: impl std::fmt::Display) -> Response {
    tracing::info!(%reason, "inbox refused a request");
    ApiError::Unauthorized(format!("Request not signed or not verifiable: {reason}"))
        .into_response()
}

async fn receive(app: &App, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let key = match super::signed::verify(app, "POST", uri, headers, body).await {
        Ok(key) => key,
        // Our own failure (the database) is not the sender's: a 500 makes
        // it retry, where a 401 would make it drop the activity for good.
        Err(super::signed::Refused::Key(crate::service::remote::KeyError::Internal(e))) => {
            tracing::error!(error = %crate::error::chain(&e), "inbox could not look up a key");
            return ApiError::Internal(e).into_response();
        }
        Err(e) => return unauthorized(e),
    };

    let activity: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return ApiError::BadRequest("the body is not a JSON object".into()).into_response(),
    };
    let actor = match &activity["actor"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    if actor != key.owner_uri {
        return unauthorized("the signing key's owner is not the activity's actor");
    }
    let Some(activity_id) = activity["id"].as_str().filter(|id| !id.is_empty()) else {
        return ApiError::BadRequest("the activity has no id".into()).into_response();
    };
    // Checked before the id is recorded, so nobody can reserve another
    // server's ids (Fedify GHSA-4qhx-hhwf-8685).
    let activity_host = authority_of(activity_id);
    if activity_host.is_none() || activity_host != authority_of(&actor) {
        return unauthorized("the activity id is not on the actor's server");
    }
    // A host that signs requests to us is up: deliveries parked for it resume.
    if let Some(host) = &activity_host
        && let Err(e) = crate::service::deliver::host_alive(app, host).await
    {
        tracing::warn!(%host, error = %crate::error::chain(&e), "could not mark a host available");
    }
    let body_text = String::from_utf8_lossy(body);
    match app
        .store()
        .record_inbox_activity(
            app.ids().next(),
            app.ids().next(),
            activity_id,
            &actor,
            &body_text,
        )
        .await
    {
        Ok(fresh) => {
            if fresh {
                app.jobs_enqueued();
            }
            StatusCode::ACCEPTED.into_response()
        }
        // A database error must be a 5xx so the sender retries.
        Err(e) => ApiError::from(e).into_response(),
    }
}
