//! The Mastodon client API under `/api`. Files mirror the URL tree.
//!
//! Shared here: pagination parameters and the `Link` header Mastodon clients
//! follow to load more.

pub mod v1;
pub mod v2;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::http::params::de;
use crate::store::sql::Page;

/// The routes of `/api`.
pub fn routes() -> Router<App> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}

/// `max_id`, `since_id`, `min_id`, `limit` as clients send them.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    /// Items older than this id.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub max_id: Option<i64>,
    /// Items newer than this id (newest first).
    #[serde(default, deserialize_with = "de::opt_id")]
    pub since_id: Option<i64>,
    /// Items immediately newer than this id.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub min_id: Option<i64>,
    /// Page size.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub limit: Option<i64>,
}

impl PageParams {
    /// A [`Page`] with Mastodon's default and maximum sizes.
    pub fn page(&self, default: i64, max: i64) -> Page {
        Page {
            max_id: self.max_id,
            since_id: self.since_id,
            min_id: self.min_id,
            limit: self.limit.unwrap_or(default).clamp(1, max),
        }
    }
}

/// A JSON list with Mastodon's `Link` header: `next` pages to older items
/// (`max_id` = the last cursor), `prev` to newer (`min_id` = the first).
/// `cursors` are the pagination ids of the items, in order.
pub fn paged<T: Serialize>(app: &App, path: &str, items: &[T], cursors: &[i64]) -> Response {
    with_link(app, path, axum::Json(items).into_response(), cursors)
}

/// [`paged`] for a list already serialised as a JSON array.
pub fn paged_json(app: &App, path: &str, json: Vec<u8>, cursors: &[i64]) -> Response {
    let response = (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response();
    with_link(app, path, response, cursors)
}

fn with_link(app: &App, path: &str, mut response: Response, cursors: &[i64]) -> Response {
    if let (Some(first), Some(last)) = (cursors.first(), cursors.last()) {
        let base = app.urls().path(path);
        let link =
            format!("<{base}?max_id={last}>; rel=\"next\", <{base}?min_id={first}>; rel=\"prev\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, v);
        }
    }
    response
}

/// Parses a path id (Mastodon ids are strings of digits): 404 otherwise.
pub fn path_id(id: &str) -> Result<i64, crate::http::error::ApiError> {
    id.parse()
        .map_err(|_| crate::http::error::ApiError::NotFound("Record not found".into()))
}

/// A page of accounts from `(cursor, account id)` rows, with its `Link` header.
pub async fn account_page(
    app: &App,
    viewer: Option<i64>,
    path: &str,
    rows: Vec<(i64, i64)>,
) -> Result<Response, crate::http::error::ApiError> {
    let cursors: Vec<i64> = rows.iter().map(|(c, _)| *c).collect();
    let ids: Vec<i64> = rows.iter().map(|(_, a)| *a).collect();
    let items = crate::service::present::Presenter::new(app, viewer)
        .account_list(&ids)
        .await?;
    Ok(paged(app, path, &items, &cursors))
}

/// Query parameters that `Link` URLs set themselves.
const CURSORS: &[&str] = &["max_id", "min_id", "since_id"];

/// Carries the request's other query parameters (`limit`, `exclude_replies`,
/// `local`, `types[]`…) into the `Link` header's URLs, as Mastodon does, so
/// clients that follow links keep their page size and filters.
pub async fn keep_link_params(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let kept: Vec<(String, String)> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| !CURSORS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let mut response = next.run(request).await;
    if kept.is_empty() {
        return response;
    }
    let Some(link) = response.headers().get(LINK).and_then(|v| v.to_str().ok()) else {
        return response;
    };
    let mut extra = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &kept {
        extra.append_pair(k, v);
    }
    let extra = extra.finish();
    // Each link is `<url>; rel="…"`: append to the URL inside the brackets,
    // dropping any kept parameter the handler already wrote.
    let rewritten = link
        .split(", <")
        .map(|part| {
            let (url, rest) = part
                .trim_start_matches('<')
                .split_once('>')
                .unwrap_or((part, ""));
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let own: Vec<&str> = query
                .split('&')
                .filter(|p| !p.is_empty())
                .filter(|p| {
                    let key = p.split('=').next().unwrap_or_default();
                    CURSORS.contains(&key)
                })
                .collect();
            format!("<{base}?{}&{extra}>{rest}", own.join("&"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&rewritten) {
        response.headers_mut().insert(LINK, v);
    }
    response
}
