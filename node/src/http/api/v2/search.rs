//! `GET /api/v2/search`: Mastodon's search, answered by `service::search`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use starling_protocol::mastodon::{Search, Tag};

use crate::app::App;
use crate::http::auth::MaybeAuth;
use crate::http::error::ApiError;
use crate::http::params::{QueryParams, de};
use crate::service::present::{Presenter, tag_url};
use crate::service::search::{self as svc, Kind, SearchRequest};
use crate::service::visibility::visible;

/// Mastodon's default page size for each kind of result.
const DEFAULT_LIMIT: i64 = 20;
/// And its maximum.
const MAX_LIMIT: i64 = 40;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new().route("/api/v2/search", get(search))
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "de::bool")]
    resolve: bool,
    #[serde(default, deserialize_with = "de::opt_i64")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "de::bool")]
    following: bool,
    #[serde(default, deserialize_with = "de::opt_id")]
    account_id: Option<i64>,
    /// Hashtags are never reviewed here, so there is nothing to exclude.
    #[serde(default, deserialize_with = "de::bool")]
    #[allow(dead_code)]
    exclude_unreviewed: bool,
}

/// Public, like Mastodon's, but resolving remote resources and paging need a
/// signed-in user (401 otherwise). A token needs `read:search` (or `read`).
async fn search(
    State(app): State<App>,
    auth: MaybeAuth,
    QueryParams(p): QueryParams<SearchParams>,
) -> Result<Json<Search>, ApiError> {
    if let Some(auth) = &auth.0 {
        auth.require("read:search")?;
    }
    let q = p.q.trim();
    if q.is_empty() {
        return Err(ApiError::BadRequest(
            "Param is missing or the value is empty: q".into(),
        ));
    }
    let viewer = auth.viewer();
    if viewer.is_none() {
        if p.offset.is_some() {
            return Err(ApiError::Unauthorized(
                "Search queries pagination is not supported without authentication".into(),
            ));
        }
        if p.resolve {
            return Err(ApiError::Unauthorized(
                "Search queries that resolve remote resources are not supported without authentication"
                    .into(),
            ));
        }
    }
    if p.limit.is_some_and(|l| l < 0) || p.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::BadRequest(
            "Pagination values for `offset` and `limit` must be positive".into(),
        ));
    }
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some("accounts") => Some(Kind::Accounts),
        Some("statuses") => Some(Kind::Statuses),
        Some("hashtags") => Some(Kind::Hashtags),
        // Mastodon answers an unknown type with nothing found.
        Some(_) => return Ok(Json(Search::default())),
    };
    let request = SearchRequest {
        q: q.to_owned(),
        kind,
        resolve: p.resolve,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
        // Paging applies to one kind of result only.
        offset: if kind.is_some() {
            p.offset.unwrap_or(0)
        } else {
            0
        },
        following: p.following,
        account_id: p.account_id,
        viewer,
    };
    let found = svc::search(&app, &request).await?;
    let presenter = Presenter::new(&app, viewer);
    Ok(Json(Search {
        accounts: presenter.account_list(&found.accounts).await?,
        statuses: presenter
            .statuses(&visible(&app, viewer, found.statuses).await?)
            .await?,
        hashtags: found
            .hashtags
            .into_iter()
            .map(|t| Tag {
                id: t.id.map(|id| id.to_string()),
                url: tag_url(&app, &t.name),
                name: t.name,
                history: Vec::new(),
                following: viewer.map(|_| false),
                featuring: None,
            })
            .collect(),
    }))
}
