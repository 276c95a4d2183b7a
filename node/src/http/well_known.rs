//! `/.well-known/*`: WebFinger, host-meta and NodeInfo discovery, shaped as
//! Mastodon's so any server can find our users.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use starling_protocol::nodeinfo::{Discovery, DiscoveryLink, SCHEMA_2_0, SCHEMA_2_1};
use starling_protocol::webfinger::{ACTIVITY_JSON, Acct, Jrd, Link};

use super::error::ApiError;
use crate::app::App;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo))
}

#[derive(Debug, Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

/// `GET /.well-known/webfinger?resource=acct:alice@DOMAIN` (or the actor or
/// profile URL). 400 for a missing or malformed resource, 404 for anyone who
/// is not a local user of this domain.
async fn webfinger(
    State(app): State<App>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, ApiError> {
    let resource = query
        .resource
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("the resource parameter is required".into()))?;
    let username = local_username_of(&app, resource.trim())?;
    let account = app
        .store()
        .local_account_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {username} here")))?;

    let urls = app.urls();
    let actor = urls.actor(&account.username);
    let profile = urls.profile(&account.username);
    let jrd = Jrd {
        subject: format!("acct:{}@{}", account.username, app.config().domain),
        aliases: vec![profile.clone(), actor.clone()],
        links: vec![
            Link {
                rel: "http://webfinger.net/rel/profile-page".into(),
                kind: Some("text/html".into()),
                href: Some(profile),
                template: None,
            },
            Link {
                rel: "self".into(),
                kind: Some(ACTIVITY_JSON.into()),
                href: Some(actor),
                template: None,
            },
        ],
    };
    let mut response = super::json_as("application/jrd+json; charset=utf-8", &jrd);
    allow_any_origin(&mut response);
    Ok(response)
}

/// Finds which local username a WebFinger resource names. `acct:` URIs and our
/// own actor/profile URLs are understood; anything else on another host is 404;
/// anything that is neither an acct URI nor a URL is 400.
fn local_username_of(app: &App, resource: &str) -> Result<String, ApiError> {
    let domain = &app.config().domain;
    let not_here = || ApiError::NotFound(format!("{resource} is not an account of {domain}"));
    if resource.starts_with("http://") || resource.starts_with("https://") {
        let url = url::Url::parse(resource)
            .map_err(|_| ApiError::BadRequest(format!("{resource:?} is not a valid URL")))?;
        let host = crate::urls::authority(&url).ok_or_else(not_here)?;
        if !host.eq_ignore_ascii_case(domain) {
            return Err(not_here());
        }
        let path = url.path();
        let name = path
            .strip_prefix("/users/")
            .or_else(|| path.strip_prefix("/@"))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(not_here)?;
        return Ok(name.to_owned());
    }
    let acct = Acct::parse(resource).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{resource:?} is not an acct: URI or URL (expected acct:user@{domain})"
        ))
    })?;
    if !acct.host.eq_ignore_ascii_case(domain) {
        return Err(not_here());
    }
    Ok(acct.user)
}

/// `GET /.well-known/host-meta`: the XRD pointing at our WebFinger endpoint.
async fn host_meta(State(app): State<App>) -> Response {
    let template = format!(
        "{}/.well-known/webfinger?resource={{uri}}",
        super::pages::escape(app.urls().base())
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{template}\"/>\n</XRD>\n"
    );
    let mut response =
        ([(CONTENT_TYPE, "application/xrd+xml; charset=utf-8")], xml).into_response();
    allow_any_origin(&mut response);
    response
}

/// `GET /.well-known/nodeinfo`: links to NodeInfo 2.0 and 2.1.
async fn nodeinfo(State(app): State<App>) -> Response {
    let urls = app.urls();
    let discovery = Discovery {
        links: vec![
            DiscoveryLink {
                rel: SCHEMA_2_0.into(),
                href: urls.path("/nodeinfo/2.0"),
            },
            DiscoveryLink {
                rel: SCHEMA_2_1.into(),
                href: urls.path("/nodeinfo/2.1"),
            },
        ],
    };
    let mut response = super::json_as("application/json; charset=utf-8", &discovery);
    allow_any_origin(&mut response);
    response
}

/// Discovery documents are public: let browsers' scripts read them.
pub fn allow_any_origin(response: &mut Response) {
    response.headers_mut().insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
}
