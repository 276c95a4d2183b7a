//! OAuth applications, authorization codes and access tokens. Secrets, codes
//! and tokens are stored only as SHA-256 hashes.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// A registered client application.
#[derive(Debug, Clone)]
pub struct DbApp {
    /// Snowflake id.
    pub id: i64,
    /// Name shown to users.
    pub name: String,
    /// The app's website.
    pub website: Option<String>,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes the app may request, space-separated.
    pub scopes: String,
    /// Public client id.
    pub client_id: String,
    /// SHA-256 of the client secret.
    pub client_secret_hash: String,
}

/// An authorization code, as taken (consumed) from the store.
#[derive(Debug, Clone)]
pub struct DbCode {
    /// The app it was issued to.
    pub app_id: i64,
    /// The user who approved it.
    pub user_id: i64,
    /// The redirect URI it was issued for (must match exactly at exchange).
    pub redirect_uri: String,
    /// Granted scopes.
    pub scopes: String,
    /// PKCE S256 challenge, if the client sent one.
    pub code_challenge: Option<String>,
    /// Expiry, ms since the epoch.
    pub expires_at: i64,
}

/// A live access token with what it belongs to.
#[derive(Debug, Clone)]
pub struct DbToken {
    /// Token row id.
    pub id: i64,
    /// The app.
    pub app_id: i64,
    /// The user (None for client-credentials tokens).
    pub user_id: Option<i64>,
    /// The user's account.
    pub account_id: Option<i64>,
    /// Granted scopes, space-separated.
    pub scopes: String,
    /// Creation time, ms.
    pub created_at: i64,
}

fn app_from_row(row: &AnyRow) -> Result<DbApp, sqlx::Error> {
    let uris: String = row.try_get("redirect_uris")?;
    Ok(DbApp {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        website: row.try_get("website")?,
        redirect_uris: uris.lines().map(str::to_owned).collect(),
        scopes: row.try_get("scopes")?,
        client_id: row.try_get("client_id")?,
        client_secret_hash: row.try_get("client_secret_hash")?,
    })
}

impl Store {
    /// Registers an application.
    pub async fn insert_app(&self, app: &DbApp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_apps (id, name, website, redirect_uris, scopes, client_id, \
             client_secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(app.id)
        .bind(&app.name)
        .bind(&app.website)
        .bind(app.redirect_uris.join("\n"))
        .bind(&app.scopes)
        .bind(&app.client_id)
        .bind(&app.client_secret_hash)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The application with this client id.
    pub async fn app_by_client_id(&self, client_id: &str) -> Result<Option<DbApp>, StoreError> {
        let row = sqlx::query("SELECT * FROM oauth_apps WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(app_from_row).transpose()?)
    }

    /// The application with this id.
    pub async fn app_by_id(&self, id: i64) -> Result<Option<DbApp>, StoreError> {
        let row = sqlx::query("SELECT * FROM oauth_apps WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(app_from_row).transpose()?)
    }

    /// Stores an authorization code (by hash).
    pub async fn insert_code(&self, code_hash: &str, code: &DbCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, \
             code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(code_hash)
        .bind(code.app_id)
        .bind(code.user_id)
        .bind(&code.redirect_uri)
        .bind(&code.scopes)
        .bind(&code.code_challenge)
        .bind(code.expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Consumes a code: it is deleted whatever happens next, so it works once.
    pub async fn take_code(&self, code_hash: &str) -> Result<Option<DbCode>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_codes WHERE code_hash = $1 RETURNING app_id, user_id, \
             redirect_uri, scopes, code_challenge, expires_at",
        )
        .bind(code_hash)
        .fetch_optional(&self.write)
        .await?;
        row.map(|row| {
            Ok(DbCode {
                app_id: row.try_get("app_id")?,
                user_id: row.try_get("user_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                scopes: row.try_get("scopes")?,
                code_challenge: row.try_get("code_challenge")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Stores an access token (by hash).
    pub async fn insert_token(
        &self,
        id: i64,
        token_hash: &str,
        app_id: i64,
        user_id: Option<i64>,
        scopes: &str,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO oauth_tokens (id, token_hash, app_id, user_id, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(app_id)
        .bind(user_id)
        .bind(scopes)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(now)
    }

    /// The unrevoked token with this hash.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<DbToken>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.app_id, t.user_id, u.account_id, t.scopes, t.created_at \
             FROM oauth_tokens t LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            Ok(DbToken {
                id: row.try_get("id")?,
                app_id: row.try_get("app_id")?,
                user_id: row.try_get("user_id")?,
                account_id: row.try_get("account_id")?,
                scopes: row.try_get("scopes")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Whether the token row `id` is still there and not revoked.
    pub async fn token_live(&self, id: i64) -> Result<bool, StoreError> {
        let live: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM oauth_tokens WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        Ok(live.is_some())
    }

    /// Revokes a token of this app. Returns whether one was revoked.
    pub async fn revoke_token(&self, token_hash: &str, app_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $1 \
             WHERE token_hash = $2 AND app_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(token_hash)
        .bind(app_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
