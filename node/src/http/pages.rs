//! Server-rendered HTML: the front page and profile pages. Everything
//! interpolated is escaped, and a strict Content-Security-Policy forbids
//! scripts altogether.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::App;
use crate::store::accounts::DbAccount;

/// No scripts, no plugins, no framing; styles inline only; images from us or
/// https.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    starling_protocol::text::escape_html(text)
}

/// Wraps a body in the page shell, with the security headers.
pub fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;\
         margin:2rem auto;padding:0 1rem;line-height:1.5}}.handle{{color:#555}}</style>\
         </head><body>{body}</body></html>\n",
        escape(title)
    );
    let mut response = ([(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(VARY, HeaderValue::from_static("Accept"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /`: what this node is.
pub async fn home(State(app): State<App>) -> Result<Response, ApiError> {
    let [users, _, _] = app.store().count_local_users([0, 0]).await?;
    let domain = escape(&app.config().domain);
    Ok(page(
        &app.config().domain,
        &format!(
            "<h1>{domain}</h1><p>A <a href=\"https://www.w3.org/TR/activitypub/\">federated</a> \
             Starling node with {users} {}. Use any Mastodon app to sign in.</p>",
            if users == 1 { "user" } else { "users" }
        ),
    ))
}

/// The HTML profile page of a local account.
pub async fn profile(app: &App, account: &DbAccount) -> Result<Response, ApiError> {
    let urls = app.urls();
    let handle = format!("@{}@{}", account.username, app.config().domain);
    let name = if account.display_name.is_empty() {
        &account.username
    } else {
        &account.display_name
    };
    let posts = app.store().count_outbox(account.id).await?;
    let body = format!(
        "<main class=\"h-card\"><h1 class=\"p-name\">{}</h1>\
         <p class=\"handle\"><a class=\"u-url\" rel=\"me\" href=\"{}\">{}</a></p>\
         <div class=\"p-note\">{}</div><p>{posts} {}, joined {}.</p></main>",
        escape(name),
        escape(&urls.profile(&account.username)),
        escape(&handle),
        escape(&account.note),
        if posts == 1 { "post" } else { "posts" },
        starling_protocol::datetime::date(account.created_at),
    );
    let mut response = page(&format!("{name} ({handle})"), &body);
    // Let ActivityPub software find the actor from the page.
    if let Ok(link) = format!(
        "<{}>; rel=\"alternate\"; type=\"application/activity+json\"",
        urls.actor(&account.username)
    )
    .parse()
    {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, link);
    }
    Ok(response)
}
