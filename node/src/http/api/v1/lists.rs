//! `/api/v1/lists/*` (lists and their members) and the list timeline
//! `/api/v1/timelines/list/:list_id`.
//!
//! A list is only ever visible to its owner: someone else's list is a 404,
//! exactly like a list that does not exist.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use starling_protocol::mastodon::List;

use crate::app::App;
use crate::http::api::{PageParams, paged};
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::{Params, QueryParams, de};
use crate::service::filters;
use crate::service::present::Presenter;
use crate::store::lists::{AddMembers, DbList};
use crate::store::now_ms;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/lists", get(index).post(create))
        .route(
            "/api/v1/lists/{id}",
            get(show).put(update).patch(update).delete(destroy),
        )
        .route(
            "/api/v1/lists/{id}/accounts",
            get(members).post(add_members).delete(remove_members),
        )
        .route("/api/v1/timelines/list/{list_id}", get(timeline))
}

/// The replies policies Mastodon knows.
const REPLIES_POLICIES: &[&str] = &["followed", "list", "none"];

fn list_entity(l: &DbList) -> List {
    List {
        id: l.id.to_string(),
        title: l.title.clone(),
        replies_policy: l.replies_policy.clone(),
        exclusive: l.exclusive,
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound("Record not found".into())
}

/// The owner's list with this path id, or 404.
async fn owned(app: &App, owner: i64, raw: &str) -> Result<DbList, ApiError> {
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    app.store().list(owner, id).await?.ok_or_else(not_found)
}

// The list rules are small enough to sit with the extraction; they move to a
// `service::lists` when lists gain federation or exclusive-list home rules.
fn valid_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: Title can't be blank".into(),
        ));
    }
    Ok(title.to_owned())
}

fn valid_policy(policy: &str) -> Result<String, ApiError> {
    if REPLIES_POLICIES.contains(&policy) {
        Ok(policy.to_owned())
    } else {
        Err(ApiError::Unprocessable(format!(
            "Validation failed: Replies policy {policy:?} is not one of followed, list, none"
        )))
    }
}

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    replies_policy: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclusive: Option<bool>,
}

async fn index(State(app): State<App>, auth: Auth) -> Result<Json<Vec<List>>, ApiError> {
    let owner = auth.account("read:lists")?;
    let lists = app.store().lists_of(owner).await?;
    Ok(Json(lists.iter().map(list_entity).collect()))
}

async fn show(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<List>, ApiError> {
    let owner = auth.account("read:lists")?;
    Ok(Json(list_entity(&owned(&app, owner, &raw).await?)))
}

async fn create(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> Result<Json<List>, ApiError> {
    let owner = auth.account("write:lists")?;
    let list = DbList {
        id: app.ids().next(),
        account_id: owner,
        title: valid_title(p.title.as_deref().unwrap_or_default())?,
        replies_policy: valid_policy(p.replies_policy.as_deref().unwrap_or("list"))?,
        exclusive: p.exclusive.unwrap_or(false),
        created_at: now_ms(),
    };
    app.store().insert_list(&list).await?;
    Ok(Json(list_entity(&list)))
}

async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<ListParams>,
) -> Result<Json<List>, ApiError> {
    let owner = auth.account("write:lists")?;
    let mut list = owned(&app, owner, &raw).await?;
    if let Some(title) = &p.title {
        list.title = valid_title(title)?;
    }
    if let Some(policy) = &p.replies_policy {
        list.replies_policy = valid_policy(policy)?;
    }
    if let Some(exclusive) = p.exclusive {
        list.exclusive = exclusive;
    }
    if !app.store().update_list(&list).await? {
        return Err(not_found());
    }
    Ok(Json(list_entity(&list)))
}

async fn destroy(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = auth.account("write:lists")?;
    let list = owned(&app, owner, &raw).await?;
    if !app.store().delete_list(owner, list.id).await? {
        return Err(not_found());
    }
    Ok(Json(json!({})))
}

async fn members(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let owner = auth.account("read:lists")?;
    let list = owned(&app, owner, &raw).await?;
    // Mastodon: 40 by default, at most 80, and 0 for every member at once.
    let all = p.limit == Some(0);
    let mut page = p.page(40, 80);
    if all {
        page.limit = i64::MAX;
    }
    let ids = app.store().list_members(list.id, page).await?;
    let accounts = Presenter::new(&app, Some(owner)).account_list(&ids).await?;
    if all {
        return Ok(Json(accounts).into_response());
    }
    Ok(paged(
        &app,
        &format!("/api/v1/lists/{}/accounts", list.id),
        &accounts,
        &ids,
    ))
}

#[derive(Debug, Deserialize)]
struct MemberParams {
    #[serde(default, deserialize_with = "de::ids")]
    account_ids: Vec<i64>,
}

async fn add_members(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<MemberParams>,
) -> Result<Json<Value>, ApiError> {
    let owner = auth.account("write:lists")?;
    let list = owned(&app, owner, &raw).await?;
    match app
        .store()
        .add_list_members(list.id, owner, &p.account_ids)
        .await?
    {
        AddMembers::Added => Ok(Json(json!({}))),
        AddMembers::Unknown(_) => Err(not_found()),
        AddMembers::NotFollowed(ids) => Err(ApiError::Unprocessable(format!(
            "Validation failed: Account must be followed to be added to a list ({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn remove_members(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<MemberParams>,
) -> Result<Json<Value>, ApiError> {
    let owner = auth.account("write:lists")?;
    let list = owned(&app, owner, &raw).await?;
    app.store()
        .remove_list_members(list.id, &p.account_ids)
        .await?;
    Ok(Json(json!({})))
}

async fn timeline(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let owner = auth.account("read:lists")?;
    let list = owned(&app, owner, &raw).await?;
    let rows = app.store().list_timeline(&list, p.page(20, 40)).await?;
    let mut statuses = Presenter::new(&app, Some(owner)).statuses(&rows).await?;
    // Lists are filtered as home is (Mastodon's `home` context covers both).
    filters::apply(&app, owner, "home", &mut statuses).await?;
    // Links follow the stored page, so hidden statuses do not stall paging.
    let cursors: Vec<i64> = rows.iter().map(|s| s.id).collect();
    Ok(paged(
        &app,
        &format!("/api/v1/timelines/list/{}", list.id),
        &statuses,
        &cursors,
    ))
}
