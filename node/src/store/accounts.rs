//! Accounts (local and remote actors) and the sign-in data of local users.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, conflict_as, flag};

/// An account row. Local accounts have `domain == None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbAccount {
    /// Snowflake id.
    pub id: i64,
    /// Username as registered (matching is case-insensitive).
    pub username: String,
    /// The remote account's domain; `None` for local accounts.
    pub domain: Option<String>,
    /// The remote actor's ActivityPub id; `None` for local accounts (theirs
    /// is derived from the username).
    pub uri: Option<String>,
    /// The remote actor's profile page (its `url`), when it gave one.
    pub url: Option<String>,
    /// Display name, plain text.
    pub display_name: String,
    /// Bio, HTML.
    pub note: String,
    /// Whether follows need approval.
    pub locked: bool,
    /// Whether the account opts into discovery.
    pub discoverable: bool,
    /// Whether the account is automated.
    pub bot: bool,
    /// Avatar image URL, when set.
    pub avatar_url: Option<String>,
    /// Header image URL, when set.
    pub header_url: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Profile metadata, a JSON array of `{name, value}`.
    pub fields: String,
    /// Statuses (and boosts) not deleted, maintained on write.
    pub statuses_count: i64,
    /// Followers, maintained on write.
    pub followers_count: i64,
    /// Accounts followed, maintained on write.
    pub following_count: i64,
    /// Time of the latest status, ms.
    pub last_status_at: Option<i64>,
    /// Row version, bumped by every update (a database trigger).
    pub version: i64,
}

/// A local user: the account plus sign-in data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUser {
    /// The user row's id (tokens and codes refer to it).
    pub id: i64,
    /// The user's account.
    pub account: DbAccount,
    /// The user's email (the OAuth password-grant login).
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Whether the user administers this node.
    pub admin: bool,
}

/// What is needed to create a local user.
#[derive(Debug, Clone)]
pub struct NewLocalUser {
    /// Account id (Snowflake).
    pub account_id: i64,
    /// User row id (Snowflake).
    pub user_id: i64,
    /// Validated username.
    pub username: String,
    /// Validated email.
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Admin flag.
    pub admin: bool,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
    /// PKCS#8 PEM.
    pub private_key_pem: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.domain, a.uri, a.url, a.display_name, a.note, a.locked, \
     a.discoverable, a.bot, a.avatar_url, a.header_url, \
     a.created_at, a.fields, a.statuses_count, a.followers_count, a.following_count, \
     a.last_status_at, a.version";

fn account_from_row(row: &AnyRow) -> Result<DbAccount, sqlx::Error> {
    Ok(DbAccount {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        domain: row.try_get("domain")?,
        uri: row.try_get("uri")?,
        url: row.try_get("url")?,
        display_name: row.try_get("display_name")?,
        note: row.try_get("note")?,
        locked: flag(row, "locked")?,
        discoverable: flag(row, "discoverable")?,
        bot: flag(row, "bot")?,
        avatar_url: row.try_get("avatar_url")?,
        header_url: row.try_get("header_url")?,
        created_at: row.try_get("created_at")?,
        fields: row.try_get("fields")?,
        statuses_count: row.try_get("statuses_count")?,
        followers_count: row.try_get("followers_count")?,
        following_count: row.try_get("following_count")?,
        last_status_at: row.try_get("last_status_at")?,
        version: row.try_get("version")?,
    })
}

fn user_from_row(row: &AnyRow) -> Result<DbUser, sqlx::Error> {
    Ok(DbUser {
        id: row.try_get("user_id")?,
        account: account_from_row(row)?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        admin: flag(row, "admin")?,
    })
}

impl Store {
    /// Creates a local account and its user in one transaction. Usernames and
    /// emails are unique case-insensitively: a clash is
    /// [`StoreError::Conflict`] naming `"username"` or `"email"`.
    pub async fn insert_local_user(&self, new: &NewLocalUser) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        // Checked first for a precise message; the unique indexes still decide
        // when two processes race.
        let taken = sqlx::query(
            "SELECT 1 FROM accounts WHERE lower(username) = lower($1) AND domain IS NULL",
        )
        .bind(&new.username)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("username"));
        }
        let taken = sqlx::query("SELECT 1 FROM users WHERE lower(email) = lower($1)")
            .bind(&new.email)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("email"));
        }
        sqlx::query(
            "INSERT INTO accounts (id, username, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(new.account_id)
        .bind(&new.username)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_as("username"))?;
        sqlx::query(
            "INSERT INTO account_keys (account_id, public_key_pem, private_key_pem) VALUES ($1, $2, $3)",
        )
        .bind(new.account_id)
        .bind(&new.public_key_pem)
        .bind(&new.private_key_pem)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO users (id, account_id, email, password_hash, admin, created_at, \
             last_active_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(new.user_id)
        .bind(new.account_id)
        .bind(&new.email)
        .bind(&new.password_hash)
        .bind(new.admin)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_as("email"))?;
        tx.commit().await?;
        Ok(())
    }

    /// The local account with this username (case-insensitive), unless deleted.
    pub async fn local_account_by_username(
        &self,
        username: &str,
    ) -> Result<Option<DbAccount>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a \
             WHERE lower(a.username) = lower($1) AND a.domain IS NULL AND a.deleted_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// Every local user, oldest first.
    pub async fn local_users(&self) -> Result<Vec<DbUser>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, u.id AS user_id, u.email, u.password_hash, u.admin \
             FROM users u JOIN accounts a ON a.id = u.account_id ORDER BY a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    /// How many local users there are in all, and how many were active since
    /// each of the given times (ms since the epoch).
    pub async fn count_local_users(&self, active_since: [i64; 2]) -> Result<[i64; 3], StoreError> {
        let row = sqlx::query(
            "SELECT count(*), \
             coalesce(sum(CASE WHEN last_active_at >= $1 THEN 1 ELSE 0 END), 0), \
             coalesce(sum(CASE WHEN last_active_at >= $2 THEN 1 ELSE 0 END), 0) FROM users",
        )
        .bind(active_since[0])
        .bind(active_since[1])
        .fetch_one(&self.read)
        .await?;
        Ok([row.try_get(0)?, row.try_get(1)?, row.try_get(2)?])
    }
}

impl Store {
    /// The local user whose email or username is `login` (case-insensitive),
    /// as the OAuth password grant and the sign-in page look them up.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<DbUser>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, u.id AS user_id, u.email, u.password_hash, u.admin \
             FROM users u JOIN accounts a ON a.id = u.account_id \
             WHERE lower(u.email) = lower($1) OR (lower(a.username) = lower($1) AND a.domain IS NULL)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(login)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// The local user with this user id.
    pub async fn user_by_id(&self, user_id: i64) -> Result<Option<DbUser>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, u.id AS user_id, u.email, u.password_hash, u.admin \
             FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }
}

/// Profile changes from `update_credentials`; `None` leaves a value alone.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// Display name.
    pub display_name: Option<String>,
    /// Bio (plain text for local accounts).
    pub note: Option<String>,
    /// Follows need approval.
    pub locked: Option<bool>,
    /// Automated account.
    pub bot: Option<bool>,
    /// Opt into discovery.
    pub discoverable: Option<bool>,
    /// Metadata fields, JSON.
    pub fields: Option<String>,
}

impl Store {
    /// Accounts by id, in no particular order.
    pub async fn accounts(&self, ids: &[i64]) -> Result<Vec<DbAccount>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = super::sql::Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id IN ("
        ));
        sql.bind_list(ids).push(")");
        let rows = sql.query().fetch_all(&self.read).await?;
        Ok(rows
            .iter()
            .map(account_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// One account by id.
    pub async fn account(&self, id: i64) -> Result<Option<DbAccount>, StoreError> {
        Ok(self.accounts(&[id]).await?.pop())
    }

    /// An account by `username` and `domain` (None = local), ignoring case.
    pub async fn account_by_acct(
        &self,
        username: &str,
        domain: Option<&str>,
    ) -> Result<Option<DbAccount>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE lower(a.username) = lower($1) \
             AND lower(coalesce(a.domain, '')) = lower($2) AND a.deleted_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .bind(domain.unwrap_or_default())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// Applies profile changes.
    pub async fn update_profile(&self, id: i64, u: &ProfileUpdate) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET display_name = coalesce($1, display_name), note = coalesce($2, note), \
             locked = coalesce($3, locked), bot = coalesce($4, bot), \
             discoverable = coalesce($5, discoverable), fields = coalesce($6, fields), \
             updated_at = $7 WHERE id = $8",
        )
        .bind(&u.display_name)
        .bind(&u.note)
        .bind(u.locked)
        .bind(u.bot)
        .bind(u.discoverable)
        .bind(&u.fields)
        .bind(super::now_ms())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// An account's signing keys.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKeys {
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
    /// PKCS#8 PEM; only local accounts have one.
    pub private_key_pem: Option<String>,
}

impl std::fmt::Debug for DbKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private half.
        f.debug_struct("DbKeys")
            .field("public_key_pem", &self.public_key_pem)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The signing keys of an account.
    pub async fn account_keys(&self, account_id: i64) -> Result<Option<DbKeys>, StoreError> {
        let row = sqlx::query(
            "SELECT public_key_pem, private_key_pem FROM account_keys WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(DbKeys {
                public_key_pem: r.try_get(0)?,
                private_key_pem: r.try_get(1)?,
            })
        })
        .transpose()
    }
}
