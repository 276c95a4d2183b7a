//! `/api/v1/accounts/*`, `/api/v1/follow_requests`, `/api/v1/blocks`,
//! `/api/v1/mutes`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use starling_protocol::mastodon::{Account, Relationship};

use crate::app::App;
use crate::http::api::{PageParams, account_page, paged, path_id};
use crate::http::auth::{Auth, MaybeAuth};
use crate::http::error::ApiError;
use crate::http::params::{Params, QueryParams, de};
use crate::service::present::Presenter;
use crate::service::{follows, visibility};
use crate::store::accounts::ProfileUpdate;
use crate::store::social::Relation;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/accounts", post(register))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            patch(update_credentials),
        )
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/relationships", get(relationships))
        .route("/api/v1/accounts/{id}", get(show))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
        .route("/api/v1/accounts/{id}/followers", get(followers))
        .route("/api/v1/accounts/{id}/following", get(following))
        .route("/api/v1/accounts/{id}/follow", post(follow))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow))
        .route("/api/v1/accounts/{id}/block", post(block))
        .route("/api/v1/accounts/{id}/unblock", post(unblock))
        .route("/api/v1/accounts/{id}/mute", post(mute))
        .route("/api/v1/accounts/{id}/unmute", post(unmute))
        .route("/api/v1/follow_requests", get(follow_requests))
        .route("/api/v1/follow_requests/{id}/authorize", post(authorize))
        .route("/api/v1/follow_requests/{id}/reject", post(reject))
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/mutes", get(mutes))
}

async fn verify_credentials(State(app): State<App>, auth: Auth) -> Result<Json<Account>, ApiError> {
    let me = auth.account("profile")?;
    Presenter::new(&app, Some(me))
        .credential_account(me)
        .await?
        .map(Json)
        .ok_or_else(crate::http::auth::invalid_token)
}

#[derive(Debug, Deserialize)]
struct UpdateCredentials {
    display_name: Option<String>,
    note: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    discoverable: Option<bool>,
    /// `fields_attributes[0][name]=…` (form) or `[{"name":…,"value":…}]` (JSON).
    fields_attributes: Option<Value>,
}

/// Profile fields from either form shape, at most 4, each trimmed.
fn profile_fields(value: &Value) -> Result<String, ApiError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    match value {
        Value::Array(items) => {
            for item in items {
                let name = item["name"].as_str().unwrap_or_default().trim().to_owned();
                let value = item["value"].as_str().unwrap_or_default().trim().to_owned();
                fields.push((name, value));
            }
        }
        Value::Object(map) => {
            let mut indexes: Vec<&str> = map.keys().filter_map(|k| k.split('.').next()).collect();
            indexes.sort_by_key(|i| i.parse::<u32>().unwrap_or(u32::MAX));
            indexes.dedup();
            for i in indexes {
                let get = |k: &str| {
                    map.get(&format!("{i}.{k}"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                };
                fields.push((get("name"), get("value")));
            }
        }
        _ => {
            return Err(ApiError::Unprocessable(
                "fields_attributes must be a list".into(),
            ));
        }
    }
    let fields: Vec<Value> = fields
        .into_iter()
        .filter(|(n, v)| !n.is_empty() || !v.is_empty())
        .map(|(name, value)| serde_json::json!({ "name": name, "value": value, "verified_at": null }))
        .collect();
    if fields.len() > 4 {
        return Err(ApiError::Unprocessable(
            "Validation failed: Fields too many".into(),
        ));
    }
    Ok(Value::Array(fields).to_string())
}

async fn update_credentials(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<UpdateCredentials>,
) -> Result<Json<Account>, ApiError> {
    let me = auth.account("write:accounts")?;
    if p.display_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 30)
    {
        return Err(ApiError::Unprocessable(
            "Validation failed: Display name is too long (maximum is 30 characters)".into(),
        ));
    }
    if p.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::Unprocessable(
            "Validation failed: Note is too long (maximum is 500 characters)".into(),
        ));
    }
    let update = ProfileUpdate {
        display_name: p.display_name.map(|s| s.trim().to_owned()),
        note: p.note.map(|s| s.trim().to_owned()),
        locked: p.locked,
        bot: p.bot,
        discoverable: p.discoverable,
        fields: p
            .fields_attributes
            .as_ref()
            .map(profile_fields)
            .transpose()?,
    };
    app.store().update_profile(me, &update).await?;
    crate::service::people::profile_changed(&app, me).await?;
    verify_credentials(State(app), auth).await
}

#[derive(Debug, Deserialize)]
struct LookupParams {
    #[serde(default)]
    acct: String,
}

async fn lookup(
    State(app): State<App>,
    _auth: MaybeAuth,
    QueryParams(p): QueryParams<LookupParams>,
) -> Result<Json<Account>, ApiError> {
    let acct = p.acct.trim().trim_start_matches('@');
    let (user, domain) = match acct.split_once('@') {
        Some((u, d)) if !d.eq_ignore_ascii_case(&app.config().domain) => (u, Some(d)),
        Some((u, _)) => (u, None),
        None => (acct, None),
    };
    let account = match (app.store().account_by_acct(user, domain).await?, domain) {
        (Some(a), _) => a.id,
        // Someone on another server we have not met: WebFinger, then the actor.
        (None, Some(domain)) => crate::service::remote::resolve_acct(&app, user, domain)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "remote lookup failed");
                ApiError::NotFound("Record not found".into())
            })?,
        (None, None) => return Err(ApiError::NotFound("Record not found".into())),
    };
    let account = app
        .store()
        .account(account)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    Presenter::new(&app, None)
        .account(account.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

async fn show(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    let id = path_id(&id)?;
    Presenter::new(&app, auth.viewer())
        .account(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

#[derive(Debug, Deserialize)]
struct IdsParams {
    #[serde(default, deserialize_with = "de::ids")]
    id: Vec<i64>,
}

async fn relationships(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<IdsParams>,
) -> Result<Json<Vec<Relationship>>, ApiError> {
    let me = auth.account("read:follows")?;
    Ok(Json(
        Presenter::new(&app, Some(me))
            .relationships(me, &p.id)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
struct StatusesParams {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "de::bool")]
    exclude_replies: bool,
    #[serde(default, deserialize_with = "de::bool")]
    exclude_reblogs: bool,
    #[serde(default, deserialize_with = "de::bool")]
    only_media: bool,
    #[serde(default, deserialize_with = "de::bool")]
    pinned: bool,
}

async fn statuses(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<StatusesParams>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    app.store()
        .account(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    let viewer = auth.viewer();
    let page = p.page.page(20, 40);
    // We have no media yet: only_media finds nothing.
    let rows = if p.only_media {
        Vec::new()
    } else {
        let follows = match viewer {
            Some(v) if v == id => true,
            Some(v) => app
                .store()
                .relation_sets(v, &[id])
                .await?
                .following
                .contains(&id),
            None => false,
        };
        let mut visibilities = vec!["public", "unlisted"];
        if follows {
            visibilities.push("private");
        }
        if viewer == Some(id) {
            visibilities.push("direct");
        }
        app.store()
            .account_statuses(
                id,
                &visibilities,
                p.exclude_replies,
                p.exclude_reblogs,
                p.pinned,
                page,
            )
            .await?
    };
    // Direct posts to the viewer, blocks and boosts of hidden posts: the
    // general rule decides.
    let rows = visibility::visible(&app, viewer, rows).await?;
    let cursors: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let items = Presenter::new(&app, viewer).statuses(&rows).await?;
    Ok(paged(
        &app,
        &format!("/api/v1/accounts/{id}/statuses"),
        &items,
        &cursors,
    ))
}

async fn followers(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let path = format!("/api/v1/accounts/{id}/followers");
    relation_page(&app, auth.viewer(), id, Relation::Follow, true, &p, &path).await
}

async fn following(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let path = format!("/api/v1/accounts/{id}/following");
    relation_page(&app, auth.viewer(), id, Relation::Follow, false, &p, &path).await
}

#[derive(Debug, Deserialize)]
struct FollowParams {
    #[serde(default, deserialize_with = "de::opt_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    notify: Option<bool>,
}

async fn relationship(app: &App, me: i64, target: i64) -> Result<Json<Relationship>, ApiError> {
    Presenter::new(app, Some(me))
        .relationships(me, &[target])
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))
}

async fn follow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<FollowParams>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:follows")?;
    let target = path_id(&id)?;
    follows::follow(&app, me, target, p.reblogs, p.notify).await?;
    relationship(&app, me, target).await
}

async fn unfollow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:follows")?;
    let target = path_id(&id)?;
    follows::unfollow(&app, me, target).await?;
    relationship(&app, me, target).await
}

async fn block(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:blocks")?;
    let target = path_id(&id)?;
    app.store()
        .account(target)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    follows::block(&app, me, target).await?;
    relationship(&app, me, target).await
}

async fn unblock(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:blocks")?;
    let target = path_id(&id)?;
    follows::unblock(&app, me, target).await?;
    relationship(&app, me, target).await
}

async fn mute(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:mutes")?;
    let target = path_id(&id)?;
    app.store()
        .account(target)
        .await?
        .ok_or_else(|| ApiError::NotFound("Record not found".into()))?;
    follows::mute(&app, me, target).await?;
    relationship(&app, me, target).await
}

async fn unmute(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:mutes")?;
    let target = path_id(&id)?;
    app.store().unrelate(Relation::Mute, me, target).await?;
    relationship(&app, me, target).await
}

async fn follow_requests(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:follows")?;
    let path = "/api/v1/follow_requests";
    relation_page(&app, Some(me), me, Relation::FollowRequest, true, &p, path).await
}

async fn authorize(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:follows")?;
    let requester = path_id(&id)?;
    follows::authorize(&app, me, requester).await?;
    relationship(&app, me, requester).await
}

async fn reject(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, ApiError> {
    let me = auth.account("write:follows")?;
    let requester = path_id(&id)?;
    follows::reject(&app, me, requester).await?;
    relationship(&app, me, requester).await
}

async fn blocks(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:blocks")?;
    relation_page(
        &app,
        Some(me),
        me,
        Relation::Block,
        false,
        &p,
        "/api/v1/blocks",
    )
    .await
}

async fn mutes(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:mutes")?;
    relation_page(
        &app,
        Some(me),
        me,
        Relation::Mute,
        false,
        &p,
        "/api/v1/mutes",
    )
    .await
}

/// A page of the accounts `account` has `relation` with (`incoming`: those
/// who have it with `account`), as `viewer` sees them, paged as Mastodon
/// pages them (40 by default, 80 at most).
async fn relation_page(
    app: &App,
    viewer: Option<i64>,
    account: i64,
    relation: Relation,
    incoming: bool,
    p: &PageParams,
    path: &str,
) -> Result<Response, ApiError> {
    let rows = app
        .store()
        .related_accounts(relation, account, incoming, p.page(40, 80))
        .await?;
    account_page(app, viewer, path, rows).await
}

#[derive(Debug, Deserialize)]
struct Registration {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, deserialize_with = "de::bool")]
    agreement: bool,
}

/// `POST /api/v1/accounts`: sign-up with an app token, when registrations
/// are open. Answers a user token, as Mastodon does.
async fn register(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<Registration>,
) -> Result<Json<Value>, ApiError> {
    auth.require("write:accounts")?;
    if !app.config().registrations_open {
        return Err(ApiError::Forbidden(
            "Registrations are closed on this server".into(),
        ));
    }
    if !p.agreement {
        return Err(ApiError::Unprocessable(
            "Validation failed: Agreement must be accepted".into(),
        ));
    }
    use crate::service::accounts::{CreateUserError, NewUser, create_local_user};
    let user = create_local_user(
        &app,
        NewUser {
            username: p.username,
            email: p.email,
            password: p.password,
            admin: false,
        },
    )
    .await
    .map_err(|e| match e {
        CreateUserError::Internal(e) => ApiError::Internal(e),
        other => ApiError::Unprocessable(format!("Validation failed: {other}")),
    })?;
    let client = app
        .store()
        .app_by_id(auth.app_id)
        .await?
        .ok_or_else(crate::http::auth::invalid_token)?;
    let scopes = auth.scopes.clone();
    let token = crate::service::apps::issue_token(&app, &client, Some(user.id), scopes).await?;
    Ok(Json(serde_json::json!({
        "access_token": token.token,
        "token_type": "Bearer",
        "scope": token.scopes.to_string_list(),
        "created_at": token.created_at / 1000,
    })))
}
