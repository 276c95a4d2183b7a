//! HTTP routes. Files mirror the URL tree: [`well_known`] serves
//! `/.well-known/*`, [`nodeinfo`] `/nodeinfo/*`, [`users`] `/users/*` and
//! `/@name`, [`actor`] the instance actor at `/actor`, [`pages`] HTML.
//!
//! Handlers are thin: extract, call the store or a service, map the result.
//! Every failure leaves through [`error::ApiError`].

pub mod actor;
pub mod api;
pub mod auth;
pub mod error;
pub mod inbox;
pub mod media;
pub mod nodeinfo;
pub mod oauth;
pub mod pages;
pub mod params;
pub mod rate_limit;
pub mod signed;
pub mod streaming;
pub mod users;
pub mod well_known;

use axum::Router;
use axum::http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;

/// The Mastodon API version we implement, as clients parse it from
/// `/api/v1/instance`'s `version` and NodeInfo.
pub const MASTODON_API_VERSION: &str = "4.3.0";

/// The media type we serve ActivityStreams documents as.
pub const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";

/// Every route of the node.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .merge(well_known::routes())
        .merge(nodeinfo::routes())
        .merge(users::routes())
        .merge(actor::routes())
        .merge(
            inbox::routes().route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                rate_limit::limit_inbox,
            )),
        )
        .merge(oauth::routes())
        .merge(media::routes())
        .merge(streaming::routes())
        .merge(
            api::routes()
                .route_layer(axum::middleware::from_fn(api::keep_link_params))
                .route_layer(axum::middleware::from_fn_with_state(
                    app.clone(),
                    rate_limit::limit,
                )),
        )
        .fallback(error::not_found)
        .with_state(app)
}

/// The router behind a path normaliser: `/api/v1/instance/` is served as
/// `/api/v1/instance`, as Rails-based Mastodon does for every route (clients
/// such as Mastodon.py call some endpoints with a trailing slash).
pub fn service(
    app: App,
) -> tower::util::MapRequest<Router, fn(axum::extract::Request) -> axum::extract::Request> {
    tower::ServiceExt::map_request(router(app), trim_trailing_slash)
}

fn trim_trailing_slash(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rebuilt.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Whether the client asked for an ActivityStreams document rather than HTML:
/// `application/activity+json`, `application/ld+json` (any profile), or plain
/// `application/json` without `text/html`.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .collect();
    types
        .iter()
        .any(|t| *t == "application/activity+json" || *t == "application/ld+json")
        || (types.contains(&"application/json") && !types.contains(&"text/html"))
}

/// A JSON body with the given content type.
pub fn json_as(content_type: &'static str, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
            bytes,
        )
            .into_response(),
        Err(e) => error::ApiError::Internal(crate::error::Internal::Serialize(e.to_string()))
            .into_response(),
    }
}

/// An ActivityStreams document (`application/activity+json`), varying on Accept.
pub fn activity_json(body: &impl serde::Serialize) -> Response {
    let mut response = json_as(ACTIVITY_JSON, body);
    response
        .headers_mut()
        .insert(axum::http::header::VARY, HeaderValue::from_static("Accept"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn content_negotiation_matches_what_servers_send() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(&accept(
            "application/activity+json, application/ld+json; q=0.9"
        )));
        assert!(wants_activity_json(&accept("application/json")));
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(&accept("*/*")));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
