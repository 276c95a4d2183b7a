//! `/api/v1/notifications/*`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use starling_protocol::mastodon::Notification;

use crate::app::App;
use crate::http::api::{PageParams, paged, path_id};
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::{Params, QueryParams, de};
use crate::service::present::Presenter;
use crate::store::sql::Page;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/clear", post(clear))
        .route("/api/v1/notifications/dismiss", post(dismiss_legacy))
        .route("/api/v1/notifications/{id}", get(show))
        .route("/api/v1/notifications/{id}/dismiss", post(dismiss))
}

/// Types clients may ask for.
const TYPES: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
];

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "de::strings")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "de::strings")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    account_id: Option<i64>,
}

fn known(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .filter(|t| TYPES.contains(&t.as_str()))
        .collect()
}

async fn list(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:notifications")?;
    let asked = !p.types.is_empty();
    let types = known(p.types);
    if asked && types.is_empty() {
        // Only unknown types asked for: nothing can match.
        return Ok(paged::<Notification>(
            &app,
            "/api/v1/notifications",
            &[],
            &[],
        ));
    }
    let mut rows = app
        .store()
        .notifications(me, &types, &known(p.exclude_types), p.page.page(15, 30))
        .await?;
    if let Some(from) = p.account_id {
        rows.retain(|n| n.from_account_id == from);
    }
    let cursors: Vec<i64> = rows.iter().map(|n| n.id).collect();
    let items = Presenter::new(&app, Some(me)).notifications(&rows).await?;
    Ok(paged(&app, "/api/v1/notifications", &items, &cursors))
}

async fn show(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Notification>, ApiError> {
    let me = auth.account("read:notifications")?;
    let id = path_id(&id)?;
    let page = Page {
        max_id: Some(id + 1),
        since_id: Some(id - 1),
        min_id: None,
        limit: 1,
    };
    let rows = app.store().notifications(me, &[], &[], page).await?;
    Presenter::new(&app, Some(me))
        .notifications(&rows)
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

async fn clear(State(app): State<App>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let me = auth.account("write:notifications")?;
    app.store().dismiss_notifications(me, None).await?;
    Ok(Json(json!({})))
}

async fn dismiss(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let me = auth.account("write:notifications")?;
    app.store()
        .dismiss_notifications(me, Some(path_id(&id)?))
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct LegacyDismiss {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<i64>,
}

async fn dismiss_legacy(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<LegacyDismiss>,
) -> Result<Json<Value>, ApiError> {
    let me = auth.account("write:notifications")?;
    let id =
        p.id.ok_or_else(|| ApiError::Unprocessable("id is required".into()))?;
    app.store().dismiss_notifications(me, Some(id)).await?;
    Ok(Json(json!({})))
}
