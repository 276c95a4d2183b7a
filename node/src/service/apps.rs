//! Registering OAuth applications and issuing codes and tokens.

use crate::app::App;
use crate::error::Internal;
use crate::service::accounts::verify_password;
use crate::service::oauth::{Scopes, hash_secret, random_secret, valid_redirect_uri};
use crate::store::accounts::DbUser;
use crate::store::oauth::{DbApp, DbCode};

/// How long an authorization code lives.
pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// A newly registered app, with its secret (shown once).
#[derive(Debug, Clone)]
pub struct RegisteredApp {
    /// The stored app.
    pub app: DbApp,
    /// The client secret in clear (only ever returned here).
    pub client_secret: String,
}

/// Registers an app. `redirect_uris` may hold several URIs separated by
/// newlines or given as a list.
pub async fn register_app(
    app: &App,
    name: &str,
    redirect_uris: &[String],
    scopes: &str,
    website: Option<String>,
) -> Result<RegisteredApp, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("client_name can't be blank".into());
    }
    if name.chars().count() > 60 {
        return Err("client_name is too long (maximum is 60 characters)".into());
    }
    let uris: Vec<String> = redirect_uris
        .iter()
        .flat_map(|u| u.split(['\n', ' ']))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if uris.is_empty() {
        return Err("redirect_uris can't be blank".into());
    }
    if let Some(bad) = uris.iter().find(|u| !valid_redirect_uri(u)) {
        return Err(format!("redirect_uri {bad:?} must be an absolute URI"));
    }
    let scopes = Scopes::parse(scopes)?;
    let client_secret = random_secret();
    let stored = DbApp {
        id: app.ids().next(),
        name: name.to_owned(),
        website: website.filter(|w| !w.trim().is_empty()),
        redirect_uris: uris,
        scopes: scopes.to_string_list(),
        client_id: random_secret(),
        client_secret_hash: hash_secret(&client_secret),
    };
    app.store()
        .insert_app(&stored)
        .await
        .map_err(|e| crate::error::chain(&e))?;
    Ok(RegisteredApp {
        app: stored,
        client_secret,
    })
}

/// Checks a client's credentials. `secret` may be absent only when
/// `allow_public` (a PKCE code exchange).
pub async fn authenticate_client(
    app: &App,
    client_id: &str,
    secret: Option<&str>,
    allow_public: bool,
) -> Result<Option<DbApp>, Internal> {
    let Some(found) = app.store().app_by_client_id(client_id).await? else {
        return Ok(None);
    };
    let ok = match secret {
        Some(s) => aws_lc_rs::constant_time::verify_slices_are_equal(
            hash_secret(s).as_bytes(),
            found.client_secret_hash.as_bytes(),
        )
        .is_ok(),
        None => allow_public,
    };
    Ok(ok.then_some(found))
}

/// Checks a login (email or username) and password. Hashing runs off the
/// executor.
pub async fn check_login(
    app: &App,
    login: &str,
    password: &str,
) -> Result<Option<DbUser>, Internal> {
    let Some(user) = app.store().user_by_login(login.trim()).await? else {
        // Spend the same time as a real check, so timing does not reveal
        // which logins exist.
        let password = password.to_owned();
        let _ =
            tokio::task::spawn_blocking(move || crate::service::accounts::hash_password(&password))
                .await;
        return Ok(None);
    };
    let (password, hash) = (password.to_owned(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| Internal::Crypto(e.to_string()))?;
    Ok(ok.then_some(user))
}

/// Issues an authorization code; returns it in clear.
pub async fn issue_code(
    app: &App,
    client: &DbApp,
    user: &DbUser,
    redirect_uri: &str,
    scopes: &Scopes,
    code_challenge: Option<String>,
) -> Result<String, Internal> {
    let code = random_secret();
    let row = DbCode {
        app_id: client.id,
        user_id: user.id,
        redirect_uri: redirect_uri.to_owned(),
        scopes: scopes.to_string_list(),
        code_challenge,
        expires_at: crate::store::now_ms() + CODE_LIFETIME_MS,
    };
    app.store().insert_code(&hash_secret(&code), &row).await?;
    Ok(code)
}

/// An access token in clear with its creation time (ms).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

/// Issues an access token.
pub async fn issue_token(
    app: &App,
    client: &DbApp,
    user_id: Option<i64>,
    scopes: Scopes,
) -> Result<IssuedToken, Internal> {
    let token = random_secret();
    let created_at = app
        .store()
        .insert_token(
            app.ids().next(),
            &hash_secret(&token),
            client.id,
            user_id,
            &scopes.to_string_list(),
        )
        .await?;
    Ok(IssuedToken {
        token,
        scopes,
        created_at,
    })
}
