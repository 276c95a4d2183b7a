//! Remote lookup: what a search resolves (an actor or status URL) and the
//! missing ancestors of a thread. Every fetch goes through the safe fetcher;
//! every note is stored by `inbound::store_note`, the path a delivered
//! `Create` takes, so the same origin, authorship and sanitising rules hold.

use std::time::{Duration, Instant};

use serde_json::Value;
use starling_federation::fetch::FetchError;

use crate::app::App;
use crate::error::Internal;
use crate::service::inbound::{self, known_status, local_status, local_target};
use crate::service::remote::KeyError;
use crate::store::statuses::DbStatus;
use crate::urls::origin_of;

/// Parents fetched at most for one thread request (the depth of the chain
/// fetched above the highest stored status).
pub const ANCESTOR_FETCHES: usize = 10;

/// Time allowed for all the parent fetches of one thread request.
pub const ANCESTOR_BUDGET: Duration = Duration::from_secs(5);

/// How many ancestors and descendants a thread shows at most.
const THREAD_LIMIT: i64 = 4096;

/// What a URL names.
#[derive(Debug, Clone)]
pub enum Found {
    /// An account, by id.
    Account(i64),
    /// A status (not yet checked for the viewer's eyes).
    Status(Box<DbStatus>),
}

/// A URL we know without fetching: one of ours, or a stored remote actor or
/// status (by id or web URL).
pub async fn known_url(app: &App, url: &str) -> Result<Option<Found>, Internal> {
    if is_ours(app, url) {
        if let Some(status) = local_status(app, url).await? {
            return Ok(Some(Found::Status(Box::new(status))));
        }
        // An actor id (`/users/name`) or a profile page (`/@name`).
        let profile = app.urls().path("/@");
        let account = match url.strip_prefix(&profile) {
            Some(name) if !name.is_empty() && !name.contains('/') => app
                .store()
                .local_account_by_username(name)
                .await?
                .map(|a| a.id),
            _ => local_target(app, url).await?,
        };
        return Ok(account.map(Found::Account));
    }
    if let Some(id) = app.store().remote_account_by_url(url).await? {
        return Ok(Some(Found::Account(id)));
    }
    Ok(app
        .store()
        .remote_status_by_url(url)
        .await?
        .map(|s| Found::Status(Box::new(s))))
}

/// What `url` names: known, else fetched from its server and stored (an
/// actor, or a note with its author). None when it cannot be had; why is
/// logged.
pub async fn resolve_url(app: &App, url: &str) -> Result<Option<Found>, Internal> {
    if let Some(found) = known_url(app, url).await? {
        return Ok(Some(found));
    }
    if is_ours(app, url) {
        return Ok(None);
    }
    let doc = match app.fetcher().fetch_object(url).await {
        Ok(doc) => doc,
        // A web URL answering with the object whose id is elsewhere on the
        // same server (Mastodon's `/@name/1` → `/users/name/statuses/1`):
        // take it from its id, which is then checked like any fetch.
        Err(FetchError::IdMismatch { url: at, id }) if origin_of(&id) == origin_of(&at) => {
            if let Some(found) = known_url(app, &id).await? {
                return Ok(Some(found));
            }
            match app.fetcher().fetch_object(&id).await {
                Ok(doc) => doc,
                Err(e) => return Ok(unresolved(url, &e)),
            }
        }
        Err(e) => return Ok(unresolved(url, &e)),
    };
    let id = inbound::id_of(&doc);
    if inbound::is_note(&doc) {
        return Ok(store_fetched_note(app, &doc)
            .await?
            .map(|s| Found::Status(Box::new(s))));
    }
    if is_actor(&doc) {
        return match crate::service::remote::refresh_actor(app, &id, Some(&doc)).await {
            Ok(account) => Ok(Some(Found::Account(account))),
            Err(KeyError::Internal(e)) => Err(e),
            Err(e) => Ok(unresolved(url, &e)),
        };
    }
    tracing::info!(url, kind = ?doc["type"], "search: not an actor or a status");
    Ok(None)
}

/// Logs why `url` could not be resolved.
fn unresolved(url: &str, error: &dyn std::fmt::Display) -> Option<Found> {
    tracing::info!(url, error = %error, "search: could not resolve a URL");
    None
}

fn is_ours(app: &App, url: &str) -> bool {
    origin_of(url).is_some() && origin_of(url) == origin_of(app.urls().base())
}

fn is_actor(doc: &Value) -> bool {
    matches!(
        doc["type"].as_str(),
        Some("Person" | "Service" | "Application" | "Group" | "Organization")
    )
}

/// Stores a note fetched from its own id, fetching its author first if we
/// have not met them.
async fn store_fetched_note(app: &App, note: &Value) -> Result<Option<DbStatus>, Internal> {
    let author = inbound::author_of(note);
    if origin_of(&author).is_none() || origin_of(&author) != origin_of(&inbound::id_of(note)) {
        tracing::info!(note = %inbound::id_of(note), "a note whose author is on another server");
        return Ok(None);
    }
    if app.store().remote_inboxes_by_uri(&author).await?.is_none() {
        match crate::service::remote::resolve_actor(app, &author).await {
            Ok(_) => {}
            Err(KeyError::Internal(e)) => return Err(e),
            Err(e) => {
                tracing::info!(error = %e, "could not fetch a note's author");
                return Ok(None);
            }
        }
    }
    inbound::store_note(app, note).await
}

/// Ancestors (oldest first) and descendants of `status`. When the chain
/// stops at a remote reply whose parent we never received, the missing
/// parents are fetched first: at most [`ANCESTOR_FETCHES`] of them, within
/// [`ANCESTOR_BUDGET`].
pub async fn thread(
    app: &App,
    status: &DbStatus,
) -> Result<(Vec<DbStatus>, Vec<DbStatus>), Internal> {
    let (ancestors, descendants) = app.store().thread(status.id, THREAD_LIMIT).await?;
    let top = ancestors.first().unwrap_or(status);
    if top.in_reply_to_id.is_none()
        && let Some(parent) = &top.in_reply_to_uri
        && fetch_ancestors(app, parent).await? > 0
    {
        return Ok(app.store().thread(status.id, THREAD_LIMIT).await?);
    }
    Ok((ancestors, descendants))
}

/// Fetches and stores `uri` and its parents until one is stored already,
/// none is left, or the count or time budget runs out. Returns how many
/// were stored; storing each links the reply below it.
async fn fetch_ancestors(app: &App, uri: &str) -> Result<usize, Internal> {
    let deadline = Instant::now() + ANCESTOR_BUDGET;
    let mut next = Some(uri.to_owned());
    let mut stored = 0;
    while let Some(uri) = next.take() {
        // A fetch started within the budget may end after it, but only by
        // the fetcher's own deadline.
        if stored >= ANCESTOR_FETCHES || Instant::now() >= deadline || is_ours(app, &uri) {
            break;
        }
        // Stored but not linked: a loop `store_note` refused to close.
        if known_status(app, &uri).await?.is_some() || app.store().is_tombstoned(&uri).await? {
            break;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let note = match tokio::time::timeout(remaining, app.fetcher().fetch_object(&uri)).await {
            Ok(Ok(note)) => note,
            Ok(Err(e)) => {
                tracing::info!(error = %e, "could not fetch an ancestor");
                break;
            }
            Err(_) => {
                tracing::info!(uri, "out of time fetching ancestors");
                break;
            }
        };
        let Some(parent) = store_fetched_note(app, &note).await? else {
            break;
        };
        stored += 1;
        if parent.in_reply_to_id.is_none() {
            next = parent.in_reply_to_uri;
        }
    }
    Ok(stored)
}
