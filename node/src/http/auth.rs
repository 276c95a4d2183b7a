//! Bearer-token authentication and scope checks for the client API.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::App;
use crate::service::oauth::{Scopes, hash_secret, secret_digest};

/// Mastodon's 401 for a missing, unknown or revoked token.
pub fn invalid_token() -> ApiError {
    ApiError::Unauthorized("The access token is invalid".into())
}

/// An authenticated request: a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The token's row id.
    pub token_id: i64,
    /// The app the token was issued to.
    pub app_id: i64,
    /// The signed-in account, unless this is a client-credentials token.
    pub account_id: Option<i64>,
    /// What the token may do.
    pub scopes: Scopes,
}

impl Auth {
    /// 403 unless the token grants `scope`.
    pub fn require(&self, scope: &str) -> Result<&Self, ApiError> {
        if self.scopes.allows(scope) {
            Ok(self)
        } else {
            Err(ApiError::Forbidden(
                "This action is outside the authorized scopes".into(),
            ))
        }
    }

    /// The signed-in account's id, after checking `scope`; 422 for app-only
    /// tokens, as Mastodon answers.
    pub fn account(&self, scope: &str) -> Result<i64, ApiError> {
        self.require(scope)?;
        self.account_id.ok_or_else(|| {
            ApiError::Unprocessable("This method requires an authenticated user".into())
        })
    }
}

/// The token from `Authorization: Bearer …` or the `access_token` query
/// parameter.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    token_from(&parts.headers, &parts.uri)
}

/// [`bearer_token`] from a request's headers and URI.
pub fn token_from(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

/// Looks a token up; `Ok(None)` when it is unknown or revoked.
pub async fn authenticate(app: &App, token: &str) -> Result<Option<Auth>, ApiError> {
    let Some(row) = app.store().token_by_hash(&hash_secret(token)).await? else {
        return Ok(None);
    };
    let scopes = Scopes::parse(&row.scopes).map_err(|e| {
        ApiError::Internal(crate::error::Internal::Corrupt(format!(
            "stored scopes: {e}"
        )))
    })?;
    Ok(Some(Auth {
        token_id: row.id,
        app_id: row.app_id,
        account_id: row.account_id,
        scopes,
    }))
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let token = bearer_token(parts).ok_or_else(invalid_token)?;
        let auth = authenticate(app, &token).await?.ok_or_else(invalid_token)?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// Authentication for the hottest read (the home timeline), without a query
/// of its own: a token this process has seen before is taken from memory,
/// and the handler confirms it (still stored, not revoked) in the same
/// statement that reads the page, refusing the request when it is not. So a
/// revoked token is refused on its next request on every process, exactly
/// as with [`Auth`], which costs a round trip to the database per request.
/// A token not in memory is read from the store as [`Auth`] reads it.
#[derive(Debug, Clone)]
pub struct PendingAuth {
    /// What the token grants.
    pub auth: std::sync::Arc<Auth>,
    /// The token row the handler must confirm; None when the token was
    /// just read from the store.
    pub confirm: Option<i64>,
    key: [u8; 32],
}

impl PendingAuth {
    /// [`Auth::account`]; a token from memory that fails it is confirmed
    /// first, so a revoked one gets the same 401 as anywhere else.
    pub async fn account(&self, app: &App, scope: &str) -> Result<i64, ApiError> {
        match (self.auth.account(scope), self.confirm) {
            (Err(_), Some(id)) if !app.store().token_live(id).await? => Err(self.refused(app)),
            (result, _) => result,
        }
    }

    /// The 401 for a token the handler found revoked or gone; it is
    /// forgotten here too.
    pub fn refused(&self, app: &App) -> ApiError {
        app.caches().tokens.remove(&self.key);
        invalid_token()
    }
}

impl FromRequestParts<App> for PendingAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or_else(invalid_token)?;
        let key = secret_digest(&token);
        if let Some(auth) = app.caches().tokens.get(&key) {
            return Ok(PendingAuth {
                confirm: Some(auth.token_id),
                auth,
                key,
            });
        }
        let auth = std::sync::Arc::new(authenticate(app, &token).await?.ok_or_else(invalid_token)?);
        app.caches().tokens.insert(key, auth.clone());
        Ok(PendingAuth {
            auth,
            confirm: None,
            key,
        })
    }
}

/// Authentication that may be absent (public endpoints); a token that is
/// present but invalid is still a 401, as on Mastodon.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

impl MaybeAuth {
    /// The viewer's account id, if signed in with a token that may read.
    pub fn viewer(&self) -> Option<i64> {
        self.0.as_ref().and_then(|a| a.account_id)
    }
}

impl FromRequestParts<App> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        if bearer_token(parts).is_none() {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, app)
            .await
            .map(|a| MaybeAuth(Some(a)))
    }
}
