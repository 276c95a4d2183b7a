//! `/api/v1/conversations`: direct messages grouped by thread, per user.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use starling_protocol::mastodon::Conversation;

use crate::app::App;
use crate::http::api::{PageParams, paged, path_id};
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::QueryParams;
use crate::service::conversations;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/conversations", get(list))
        .route("/api/v1/conversations/{id}", delete(remove))
        .route("/api/v1/conversations/{id}/read", post(read))
}

async fn list(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:statuses")?;
    let (items, cursors) = conversations::list(&app, me, p.page(20, 40)).await?;
    Ok(paged(&app, "/api/v1/conversations", &items, &cursors))
}

async fn read(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let me = auth.account("write:conversations")?;
    Ok(Json(
        conversations::mark_read(&app, me, path_id(&id)?).await?,
    ))
}

async fn remove(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let me = auth.account("write:conversations")?;
    conversations::remove(&app, me, path_id(&id)?).await?;
    Ok(Json(json!({})))
}
