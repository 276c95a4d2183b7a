//! `/api/v1/statuses/*`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use starling_protocol::datetime::iso8601_millis;
use starling_protocol::mastodon::{Context, Status, Visibility};

use crate::app::App;
use crate::http::api::{PageParams, account_page, path_id};
use crate::http::auth::{Auth, MaybeAuth};
use crate::http::error::ApiError;
use crate::http::params::{Params, QueryParams, de};
use crate::service::present::Presenter;
use crate::service::statuses::{self as svc, PostRequest};
use crate::service::visibility::{visible, visible_one};
use crate::store::feeds::Mark;
use crate::store::statuses::DbStatus;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/statuses", post(create))
        .route(
            "/api/v1/statuses/{id}",
            get(show).delete(destroy).put(update),
        )
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1/statuses/{id}/history", get(history))
        .route("/api/v1/statuses/{id}/source", get(source))
        .route("/api/v1/statuses/{id}/favourite", post(favourite))
        .route("/api/v1/statuses/{id}/unfavourite", post(unfavourite))
        .route("/api/v1/statuses/{id}/reblog", post(reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(unreblog))
        .route("/api/v1/statuses/{id}/bookmark", post(bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(unbookmark))
        .route("/api/v1/statuses/{id}/pin", post(pin))
        .route("/api/v1/statuses/{id}/unpin", post(unpin))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
}

fn parse_visibility(v: Option<&str>) -> Result<Option<Visibility>, ApiError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("public") => Ok(Some(Visibility::Public)),
        Some("unlisted") => Ok(Some(Visibility::Unlisted)),
        Some("private") => Ok(Some(Visibility::Private)),
        Some("direct") => Ok(Some(Visibility::Direct)),
        Some(other) => Err(ApiError::Unprocessable(format!(
            "Validation failed: Visibility {other:?} is not valid"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct CreateParams {
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "de::opt_id")]
    in_reply_to_id: Option<i64>,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default, deserialize_with = "de::bool")]
    sensitive: bool,
    visibility: Option<String>,
    language: Option<String>,
    #[serde(default, deserialize_with = "de::strings")]
    media_ids: Vec<String>,
    scheduled_at: Option<String>,
}

/// Presents one status for the viewer.
async fn one(app: &App, viewer: i64, status: &DbStatus) -> Result<Json<Status>, ApiError> {
    Presenter::new(app, Some(viewer))
        .status(status)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

async fn create(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Params(p): Params<CreateParams>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:statuses")?;
    if !p.media_ids.is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: Media attachments are not supported yet".into(),
        ));
    }
    if p.scheduled_at.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::Unprocessable(
            "Validation failed: Scheduled posts are not supported yet".into(),
        ));
    }
    let request = PostRequest {
        text: p.status,
        in_reply_to_id: p.in_reply_to_id,
        spoiler_text: p.spoiler_text,
        sensitive: p.sensitive,
        visibility: parse_visibility(p.visibility.as_deref())?,
        language: p.language,
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        application_id: Some(auth.app_id),
    };
    let status = svc::post(&app, me, request).await?;
    one(&app, me, &status).await
}

async fn show(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    let viewer = auth.viewer();
    let status = visible_one(&app, viewer, path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    Presenter::new(&app, viewer)
        .status(&status)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

async fn destroy(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:statuses")?;
    let id = path_id(&id)?;
    // Present before deleting: the answer carries the source for redrafting.
    let status = visible_one(&app, Some(me), id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let mut entity = one(&app, me, &status).await?.0;
    svc::delete(&app, me, id).await?;
    entity.text = Some(status.text);
    Ok(Json(entity))
}

#[derive(Debug, Deserialize)]
struct UpdateParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default, deserialize_with = "de::bool")]
    sensitive: bool,
}

async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<UpdateParams>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:statuses")?;
    let status = svc::edit(
        &app,
        me,
        path_id(&id)?,
        p.status,
        p.spoiler_text,
        p.sensitive,
    )
    .await?;
    one(&app, me, &status).await
}

async fn context(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Context>, ApiError> {
    let viewer = auth.viewer();
    let status = visible_one(&app, viewer, path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let (ancestors, descendants) = crate::service::lookup::thread(&app, &status).await?;
    let presenter = Presenter::new(&app, viewer);
    Ok(Json(Context {
        ancestors: presenter
            .statuses(&visible(&app, viewer, ancestors).await?)
            .await?,
        descendants: presenter
            .statuses(&visible(&app, viewer, descendants).await?)
            .await?,
    }))
}

async fn history(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let viewer = auth.viewer();
    let status = visible_one(&app, viewer, path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let account = Presenter::new(&app, viewer)
        .account(status.account_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let mut versions = app.store().status_edits(status.id).await?;
    if versions.is_empty() {
        versions.push((
            status.text.clone(),
            status.content.clone(),
            status.spoiler_text.clone(),
            status.sensitive,
            status.created_at,
        ));
    }
    Ok(Json(
        versions
            .into_iter()
            .map(|(_, content, spoiler_text, sensitive, at)| {
                json!({
                    "content": content,
                    "spoiler_text": spoiler_text,
                    "sensitive": sensitive,
                    "created_at": iso8601_millis(at),
                    "account": account,
                    "poll": null,
                    "media_attachments": [],
                    "emojis": [],
                })
            })
            .collect(),
    ))
}

async fn source(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let me = auth.account("read:statuses")?;
    let status = visible_one(&app, Some(me), path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    Ok(Json(
        json!({ "id": status.id.to_string(), "text": status.text, "spoiler_text": status.spoiler_text }),
    ))
}

async fn favourite(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:favourites")?;
    let status = svc::favourite(&app, me, path_id(&id)?).await?;
    one(&app, me, &status).await
}

async fn unfavourite(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:favourites")?;
    let status = svc::unfavourite(&app, me, path_id(&id)?).await?;
    one(&app, me, &status).await
}

#[derive(Debug, Deserialize)]
struct ReblogParams {
    visibility: Option<String>,
}

async fn reblog(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<ReblogParams>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:statuses")?;
    let boost = svc::reblog(
        &app,
        me,
        path_id(&id)?,
        parse_visibility(p.visibility.as_deref())?,
    )
    .await?;
    one(&app, me, &boost).await
}

async fn unreblog(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account("write:statuses")?;
    let status = svc::unreblog(&app, me, path_id(&id)?).await?;
    one(&app, me, &status).await
}

async fn marked(
    app: App,
    auth: Auth,
    id: String,
    mark: Mark,
    on: bool,
    scope: &str,
) -> Result<Json<Status>, ApiError> {
    let me = auth.account(scope)?;
    let status = svc::set_mark(&app, me, path_id(&id)?, mark, on).await?;
    one(&app, me, &status).await
}

async fn bookmark(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    marked(app, auth, id, Mark::Bookmark, true, "write:bookmarks").await
}

async fn unbookmark(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    marked(app, auth, id, Mark::Bookmark, false, "write:bookmarks").await
}

async fn pin(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    marked(app, auth, id, Mark::Pin, true, "write:accounts").await
}

async fn unpin(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, ApiError> {
    marked(app, auth, id, Mark::Pin, false, "write:accounts").await
}

async fn favourited_by(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let viewer = auth.viewer();
    let status = visible_one(&app, viewer, path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let rows = app
        .store()
        .marking_accounts(Mark::Favourite, status.id, p.page(40, 80))
        .await?;
    account_page(
        &app,
        viewer,
        &format!("/api/v1/statuses/{}/favourited_by", status.id),
        rows,
    )
    .await
}

async fn reblogged_by(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let viewer = auth.viewer();
    let status = visible_one(&app, viewer, path_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let rows = app
        .store()
        .reblogging_accounts(status.id, p.page(40, 80))
        .await?;
    account_page(
        &app,
        viewer,
        &format!("/api/v1/statuses/{}/reblogged_by", status.id),
        rows,
    )
    .await
}
