//! `/oauth/*` (authorize page, token, revoke) and the authorization server
//! metadata at `/.well-known/oauth-authorization-server`.

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_SECURITY_POLICY, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::pages::{escape, page};
use super::params::{Params, QueryParams};
use crate::app::App;
use crate::service::apps::{authenticate_client, check_login, issue_code, issue_token};
use crate::service::oauth::{OOB, Scopes, hash_secret, pkce_matches};
use crate::store::oauth::DbApp;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(authorize_page).post(authorize_submit),
        )
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

/// The parameters of an authorization request (query on GET, form on POST).
#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    // Only on the POST from our own form:
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    decision: String,
}

/// A checked authorization request.
struct Checked {
    client: DbApp,
    scopes: Scopes,
    challenge: Option<String>,
}

/// Validates client, redirect URI, scopes and PKCE. Errors are shown as a page,
/// never redirected: the redirect URI is not trusted until it matches.
async fn check(app: &App, p: &AuthorizeParams) -> Result<Checked, Response> {
    let fail = |msg: String| error_page(StatusCode::BAD_REQUEST, &msg);
    let client = match app.store().app_by_client_id(&p.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(fail(
                "Unknown client: the app is not registered here.".into(),
            ));
        }
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    if !client.redirect_uris.contains(&p.redirect_uri) {
        return Err(fail(
            "The redirect URI does not match any URI the app registered.".into(),
        ));
    }
    if p.response_type != "code" {
        return Err(fail("Only response_type=code is supported.".into()));
    }
    let registered = Scopes::parse(&client.scopes).map_err(fail)?;
    let scopes = if p.scope.trim().is_empty() {
        registered.clone()
    } else {
        Scopes::parse(&p.scope).map_err(fail)?
    };
    if !scopes.within(&registered) {
        return Err(fail("The app asks for scopes it did not register.".into()));
    }
    let challenge = p.code_challenge.clone().filter(|c| !c.is_empty());
    if challenge.is_some() && p.code_challenge_method.as_deref().unwrap_or("plain") != "S256" {
        return Err(fail("Only the S256 PKCE method is supported.".into()));
    }
    Ok(Checked {
        client,
        scopes,
        challenge,
    })
}

async fn authorize_page(
    State(app): State<App>,
    QueryParams(p): QueryParams<AuthorizeParams>,
) -> Response {
    match check(&app, &p).await {
        Ok(checked) => sign_in_form(&app, &p, &checked, None, StatusCode::OK),
        Err(response) => response,
    }
}

async fn authorize_submit(State(app): State<App>, Params(p): Params<AuthorizeParams>) -> Response {
    let checked = match check(&app, &p).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    if p.decision == "deny" {
        return redirect_with(
            &p.redirect_uri,
            &[("error", "access_denied")],
            p.state.as_deref(),
        );
    }
    let user = match check_login(&app, &p.login, &p.password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return sign_in_form(
                &app,
                &p,
                &checked,
                Some("Invalid email, username or password."),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let code = match issue_code(
        &app,
        &checked.client,
        &user,
        &p.redirect_uri,
        &checked.scopes,
        checked.challenge,
    )
    .await
    {
        Ok(code) => code,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if p.redirect_uri == OOB {
        let body = format!(
            "<h1>Authorization code</h1><p>Copy this code and paste it into {}:</p>\
             <p><code id=\"code\" style=\"font-size:1.3em;user-select:all\">{}</code></p>",
            escape(&checked.client.name),
            escape(&code)
        );
        let mut response = page("Authorization code", &body);
        no_store(&mut response);
        return response;
    }
    redirect_with(&p.redirect_uri, &[("code", &code)], p.state.as_deref())
}

/// 302 to `base` with query parameters added (and `state` echoed).
fn redirect_with(base: &str, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    let location = format!("{base}{separator}{}", query.finish());
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::FOUND, [(LOCATION, v)]).into_response(),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect URI is not valid."),
    }
}

fn sign_in_form(
    app: &App,
    p: &AuthorizeParams,
    checked: &Checked,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let hidden = [
        ("response_type", "code"),
        ("client_id", p.client_id.as_str()),
        ("redirect_uri", p.redirect_uri.as_str()),
        ("scope", &checked.scopes.to_string_list()),
        ("state", p.state.as_deref().unwrap_or_default()),
        (
            "code_challenge",
            p.code_challenge.as_deref().unwrap_or_default(),
        ),
        (
            "code_challenge_method",
            p.code_challenge_method.as_deref().unwrap_or_default(),
        ),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect::<String>();
    let scopes = checked
        .scopes
        .as_slice()
        .iter()
        .map(|s| {
            format!(
                "<li>{} <small>(<code>{}</code>)</small></li>",
                escape(describe_scope(s)),
                escape(s)
            )
        })
        .collect::<String>();
    let error = error
        .map(|e| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in to {domain}</h1>\
         <p><strong>{name}</strong> would like to use your account with these permissions:</p>\
         <ul>{scopes}</ul>{error}\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <p><label>Email or username<br><input name=\"login\" value=\"{login}\" autocomplete=\"username\" required autofocus></label></p>\
         <p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Authorize</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></p></form>",
        domain = escape(&app.config().domain),
        name = escape(&checked.client.name),
        login = escape(&p.login),
    );
    let mut response = page(&format!("Authorize {}", checked.client.name), &body);
    *response.status_mut() = status;
    no_store(&mut response);
    // The form's submission ends in a redirect to the app's own URI, which a
    // `form-action 'self'` policy would block in some browsers.
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// What a scope lets the app do, in words a person reads before approving.
fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "read" => "Read everything in your account",
        "write" => "Post, edit and change everything in your account",
        "follow" => "Follow, unfollow, block and mute for you",
        "push" => "Receive push notifications for you",
        "profile" => "See your basic profile",
        s if s.starts_with("read:") => "Read part of your account",
        s if s.starts_with("write:") => "Change part of your account",
        s if s.starts_with("admin:") => "Administer this server",
        _ => "Other access",
    }
}

/// Pages with codes or credentials must not be cached.
fn no_store(response: &mut Response) {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let mut response = page(
        "Authorization error",
        &format!("<h1>Authorization error</h1><p>{}</p>", escape(message)),
    );
    *response.status_mut() = status;
    response
}

#[derive(Debug, Deserialize)]
struct TokenParams {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> ApiError {
    ApiError::OAuth {
        status,
        error,
        description: description.to_owned(),
    }
}

/// Client credentials from the body or an HTTP Basic header.
fn client_credentials(
    headers: &HeaderMap,
    id: Option<String>,
    secret: Option<String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    match basic {
        Some((bid, bsecret)) => (Some(id.unwrap_or(bid)), Some(secret.unwrap_or(bsecret))),
        None => (id, secret),
    }
}

async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<TokenParams>,
) -> Result<Response, ApiError> {
    let (client_id, secret) =
        client_credentials(&headers, p.client_id.clone(), p.client_secret.clone());
    let client_id = client_id.ok_or_else(|| {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_id is required",
        )
    })?;
    let pkce_exchange = p.grant_type == "authorization_code" && p.code_verifier.is_some();
    let client = authenticate_client(&app, &client_id, secret.as_deref(), pkce_exchange)
        .await?
        .ok_or_else(|| {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            )
        })?;
    let registered = Scopes::parse(&client.scopes)
        .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &e))?;
    let requested = |fallback: &Scopes| -> Result<Scopes, ApiError> {
        let scopes = match p.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => Scopes::parse(s)
                .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &e))?,
            None => fallback.clone(),
        };
        if scopes.within(&registered) {
            Ok(scopes)
        } else {
            Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The requested scope is invalid, unknown, or malformed.",
            ))
        }
    };
    let invalid_grant = || {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )
    };
    let issued = match p.grant_type.as_str() {
        "authorization_code" => {
            let code = p.code.as_deref().ok_or_else(invalid_grant)?;
            // Consumed here, whatever the outcome: a code works at most once.
            let stored = app
                .store()
                .take_code(&hash_secret(code))
                .await?
                .ok_or_else(invalid_grant)?;
            let redirect_ok = p.redirect_uri.as_deref() == Some(stored.redirect_uri.as_str());
            let fresh = stored.expires_at > crate::store::now_ms();
            let pkce_ok = match (&stored.code_challenge, &p.code_verifier) {
                (Some(challenge), Some(verifier)) => pkce_matches(verifier, challenge),
                (Some(_), None) => false,
                // A verifier without a challenge proves nothing: require the secret.
                (None, Some(_)) => secret.is_some(),
                (None, None) => true,
            };
            if stored.app_id != client.id || !redirect_ok || !fresh || !pkce_ok {
                return Err(invalid_grant());
            }
            let scopes = Scopes::parse(&stored.scopes).map_err(|_| invalid_grant())?;
            issue_token(&app, &client, Some(stored.user_id), scopes).await?
        }
        "password" => {
            let scopes = requested(&Scopes::parse("read").unwrap_or(registered.clone()))?;
            let login = p.username.as_deref().unwrap_or_default();
            let password = p.password.as_deref().unwrap_or_default();
            let user = check_login(&app, login, password)
                .await?
                .ok_or_else(invalid_grant)?;
            issue_token(&app, &client, Some(user.id), scopes).await?
        }
        "client_credentials" => {
            let scopes = requested(&Scopes::parse("read").unwrap_or(registered.clone()))?;
            issue_token(&app, &client, None, scopes).await?
        }
        _ => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
    };
    Ok(axum::Json(json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.scopes.to_string_list(),
        "created_at": issued.created_at / 1000,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct RevokeParams {
    #[serde(default)]
    token: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

/// RFC 7009: answers 200 whether or not the token existed.
async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<RevokeParams>,
) -> Result<Response, ApiError> {
    let (client_id, secret) = client_credentials(&headers, p.client_id, p.client_secret);
    let client = match client_id {
        Some(id) => authenticate_client(&app, &id, secret.as_deref(), false).await?,
        None => None,
    }
    .ok_or_else(|| {
        oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "You are not authorized to revoke this token",
        )
    })?;
    app.store()
        .revoke_token(&hash_secret(&p.token), client.id)
        .await?;
    Ok(axum::Json(json!({})).into_response())
}

async fn metadata(State(app): State<App>) -> Response {
    let urls = app.urls();
    let mut response = axum::Json(json!({
        "issuer": format!("{}/", urls.base()),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": urls.path("/oauth/authorize"),
        "token_endpoint": urls.path("/oauth/token"),
        "revocation_endpoint": urls.path("/oauth/revoke"),
        "app_registration_endpoint": urls.path("/api/v1/apps"),
        "scopes_supported": crate::service::oauth::known_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }))
    .into_response();
    super::well_known::allow_any_origin(&mut response);
    response
}
