//! `/users/:name` (the actor, content-negotiated with its HTML profile), its
//! collections, and the profile page at `/@name`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use starling_protocol::activitystreams::{Actor, OrderedCollection};

use super::error::ApiError;
use crate::app::App;
use crate::store::accounts::DbAccount;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/users/{name}", get(actor))
        .route("/users/{name}/outbox", get(outbox))
        .route("/users/{name}/followers", get(followers))
        .route("/users/{name}/following", get(following))
        .route("/users/{name}/collections/featured", get(featured))
        .route("/@{name}", get(profile_page))
}

/// Loads a local account by username, or answers 410 for a deleted one
/// (so other servers drop it) and 404 for one that never was.
async fn local_account(app: &App, name: &str) -> Result<DbAccount, ApiError> {
    if let Some(account) = app.store().local_account_by_username(name).await? {
        return Ok(account);
    }
    if app.store().local_account_deleted(name).await? {
        return Err(ApiError::Gone(format!("user {name} was deleted")));
    }
    Err(ApiError::NotFound(format!("no user {name} here")))
}

/// `GET /users/:name`: the `Person` for ActivityPub clients, the profile page
/// for browsers.
async fn actor(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    if !super::wants_activity_json(&headers) {
        return super::pages::profile(&app, &account).await;
    }
    Ok(super::activity_json(&actor_document(&app, &account).await?))
}

/// The ActivityPub actor document of a local account.
pub async fn actor_document(app: &App, account: &DbAccount) -> Result<Actor, ApiError> {
    crate::service::people::actor_document(app, account)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no key for {}", account.username)))
}

async fn outbox(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    let total = app.store().count_outbox(account.id).await?;
    let id = app.urls().actor_part(&account.username, "outbox");
    Ok(super::activity_json(&OrderedCollection::counted(id, total)))
}

async fn followers(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    let id = app.urls().actor_part(&account.username, "followers");
    // Follows arrive with federation (issue 4); until then nobody follows.
    Ok(super::activity_json(&OrderedCollection::counted(id, 0)))
}

async fn following(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    let id = app.urls().actor_part(&account.username, "following");
    Ok(super::activity_json(&OrderedCollection::counted(id, 0)))
}

async fn featured(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    let id = app
        .urls()
        .actor_part(&account.username, "collections/featured");
    Ok(super::activity_json(&OrderedCollection::inline(
        id,
        Vec::new(),
    )))
}

/// `GET /@name`: the HTML profile page (the actor's `url`).
async fn profile_page(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = local_account(&app, &name).await?;
    if super::wants_activity_json(&headers) {
        return Ok(super::activity_json(&actor_document(&app, &account).await?));
    }
    super::pages::profile(&app, &account).await
}
