//! `/users/:name` (the actor, content-negotiated with its HTML profile), its
//! collections, and the profile page at `/@name`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use starling_protocol::activitystreams::{Actor, OrderedCollection};

mod statuses;

use super::error::ApiError;
use crate::app::App;
use crate::service::collections::{self, Cursor, Kind};
use crate::store::accounts::DbAccount;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/users/{name}", get(actor))
        .route("/users/{name}/outbox", get(outbox))
        .route("/users/{name}/followers", get(followers))
        .route("/users/{name}/following", get(following))
        .route("/users/{name}/collections/featured", get(featured))
        .merge(statuses::routes())
        .route("/@{name}", get(profile_page))
}

/// Loads a local account by username, or answers 410 for a deleted one
/// (so other servers drop it) and 404 for one that never was.
pub(super) async fn local_account(app: &App, name: &str) -> Result<DbAccount, ApiError> {
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

/// `?page=true`, `&max_id=`, `&min_id=` as Mastodon links its collection pages.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct PageQuery {
    page: Option<String>,
    max_id: Option<String>,
    min_id: Option<String>,
}

impl PageQuery {
    /// None for the collection itself, else where the page starts.
    pub(super) fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        let id = |v: &Option<String>| -> Result<Option<i64>, ApiError> {
            v.as_deref()
                .map(|v| {
                    v.parse()
                        .map_err(|_| ApiError::BadRequest(format!("not an id: {v}")))
                })
                .transpose()
        };
        let cursor = Cursor {
            max_id: id(&self.max_id)?,
            min_id: id(&self.min_id)?,
        };
        let paged =
            self.page.as_deref().is_some_and(|p| p != "false") || cursor != Cursor::default();
        Ok(paged.then_some(cursor))
    }
}

async fn collection(
    app: &App,
    name: &str,
    query: &PageQuery,
    kind: Kind,
) -> Result<Response, ApiError> {
    let account = local_account(app, name).await?;
    Ok(match query.cursor()? {
        None => super::activity_json(&collections::collection(app, &account, kind).await?),
        Some(cursor) => {
            super::activity_json(&collections::page(app, &account, kind, cursor).await?)
        }
    })
}

async fn outbox(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    collection(&app, &name, &query, Kind::Outbox).await
}

async fn followers(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    collection(&app, &name, &query, Kind::Followers).await
}

async fn following(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    collection(&app, &name, &query, Kind::Following).await
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
