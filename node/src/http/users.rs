//! `/users/:name` (the actor, content-negotiated with its HTML profile), its
//! collections, and the profile page at `/@name`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use starling_protocol::activitystreams::{
    Actor, Endpoints, OrderedCollection, PublicKey, actor_context,
};
use starling_protocol::datetime::iso8601_seconds;

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

/// Loads a local account by username or answers 404.
async fn local_account(app: &App, name: &str) -> Result<DbAccount, ApiError> {
    app.store()
        .local_account_by_username(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {name} here")))
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
    let keys = app
        .store()
        .account_keys(account.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no key for {}", account.username)))?;
    let urls = app.urls();
    let name = &account.username;
    let id = urls.actor(name);
    Ok(Actor {
        context: actor_context(),
        id: id.clone(),
        kind: if account.bot { "Service" } else { "Person" }.into(),
        preferred_username: name.clone(),
        name: account.display_name.clone(),
        summary: account.note.clone(),
        url: urls.profile(name),
        published: iso8601_seconds(account.created_at),
        inbox: urls.actor_part(name, "inbox"),
        outbox: urls.actor_part(name, "outbox"),
        followers: urls.actor_part(name, "followers"),
        following: urls.actor_part(name, "following"),
        featured: Some(urls.actor_part(name, "collections/featured")),
        endpoints: Endpoints {
            shared_inbox: Some(urls.shared_inbox()),
        },
        manually_approves_followers: account.locked,
        discoverable: account.discoverable,
        indexable: account.discoverable,
        public_key: PublicKey {
            id: urls.actor_key(name),
            owner: id,
            public_key_pem: keys.public_key_pem,
        },
        icon: account.avatar_url.clone().map(image),
        image: account.header_url.clone().map(image),
    })
}

fn image(url: String) -> starling_protocol::activitystreams::Image {
    starling_protocol::activitystreams::Image {
        kind: "Image".into(),
        media_type: None,
        url,
    }
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
