//! `/users/:name/statuses/:id` (the Note), `…/activity` (its `Create`, or
//! the `Announce` of a boost) and `…/replies`: our objects, dereferenceable
//! at their ids. Public and unlisted ones are served to anyone; followers-only
//! and direct ones only to a request signed by an actor allowed to see them
//! (authorized fetch), and to everyone else they do not exist (404).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::Value;

use super::PageQuery;
use crate::app::App;
use crate::http::error::ApiError;
use crate::http::{activity_json, signed, wants_activity_json};
use crate::service::{activities, collections};
use crate::store::statuses::DbStatus;

/// The routes of this module.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/users/{name}/statuses/{id}", get(note))
        .route("/users/{name}/statuses/{id}/activity", get(activity))
        .route("/users/{name}/statuses/{id}/replies", get(replies))
}

fn not_found() -> ApiError {
    ApiError::NotFound("Record not found".into())
}

/// The status `id` of local user `name`, if the request (signed or not) may
/// see it.
async fn find(
    app: &App,
    name: &str,
    id: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<DbStatus, ApiError> {
    let account = super::local_account(app, name).await?;
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let viewer = signed::viewer(app, uri, headers).await;
    collections::dereference(app, &account, id, viewer)
        .await?
        .ok_or_else(not_found)
}

/// An ActivityStreams answer; one meant for some readers only must not be
/// kept by shared caches.
fn respond(status: &DbStatus, body: &Value) -> Response {
    let mut response = activity_json(body);
    if !matches!(status.visibility.as_str(), "public" | "unlisted") {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    response
}

/// `GET /users/:name/statuses/:id`: the Note; browsers go to the profile.
async fn note(
    State(app): State<App>,
    Path((name, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !wants_activity_json(&headers) {
        let account = super::local_account(&app, &name).await?;
        return Ok(Redirect::to(&app.urls().profile(&account.username)).into_response());
    }
    let status = find(&app, &name, &id, &uri, &headers).await?;
    if status.reblog_of_id.is_some() {
        return Err(not_found());
    }
    Ok(respond(
        &status,
        &activities::note_document(&app, &status).await?,
    ))
}

/// `GET /users/:name/statuses/:id/activity`: the `Create` of a post, or the
/// `Announce` of a boost.
async fn activity(
    State(app): State<App>,
    Path((name, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let status = find(&app, &name, &id, &uri, &headers).await?;
    let body = match status.reblog_of_id {
        Some(original) => {
            let original = app.store().status(original).await?.ok_or_else(not_found)?;
            activities::announce(&app, &status, &original).await?
        }
        None => activities::create_note(&app, &status).await?,
    };
    Ok(respond(&status, &body))
}

/// `GET /users/:name/statuses/:id/replies`: the public replies, with
/// `?page=true&min_id=` paging (oldest first).
async fn replies(
    State(app): State<App>,
    Path((name, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let status = find(&app, &name, &id, &uri, &headers).await?;
    if status.reblog_of_id.is_some() {
        return Err(not_found());
    }
    let note_id = activities::status_uri(&app, &status).await?;
    let mut body = match query.cursor()? {
        None => collections::replies_collection(&app, &status, &note_id).await?,
        Some(cursor) => {
            let collection = format!("{note_id}/replies");
            collections::replies_page(&app, &status, &collection, cursor.min_id).await?
        }
    };
    body["@context"] = serde_json::json!(starling_protocol::activitystreams::AS_CONTEXT);
    Ok(respond(&status, &body))
}
