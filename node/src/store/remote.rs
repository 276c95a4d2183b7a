//! Remote actors (as far as inbox verification needs them) and verified
//! inbound activities.

use sqlx::Row;

use super::{Store, StoreError, now_ms};

/// Whether `e` is a unique violation (however the store reported it).
fn is_unique_violation(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict(_) => true,
        StoreError::Database(e) => e
            .as_database_error()
            .is_some_and(|d| d.is_unique_violation()),
        _ => false,
    }
}

/// A remote actor as fetched from its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteActor {
    /// The actor's id (its URL).
    pub uri: String,
    /// `preferredUsername`.
    pub username: String,
    /// The actor's host (with port, if any).
    pub domain: String,
    /// Display name.
    pub display_name: String,
    /// Bio HTML, already through the sanitiser.
    pub note: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Header image URL.
    pub header_url: Option<String>,
    /// Profile fields, JSON as in `accounts.fields`.
    pub fields: String,
    /// Personal inbox.
    pub inbox_url: String,
    /// Shared inbox, if advertised.
    pub shared_inbox_url: Option<String>,
    /// Profile page.
    pub url: Option<String>,
    /// `Person`, `Service`, …
    pub actor_type: String,
    /// `manuallyApprovesFollowers`.
    pub locked: bool,
    /// The signing key's id.
    pub key_id: String,
    /// The signing key, SPKI PEM.
    pub public_key_pem: String,
}

impl RemoteActor {
    /// Whether the actor is automated (`Service` or `Application`).
    pub fn is_bot(&self) -> bool {
        matches!(self.actor_type.as_str(), "Service" | "Application")
    }
}

/// A key found by its id, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    /// The owning account's actor URI.
    pub owner_uri: String,
    /// SPKI PEM.
    pub public_key_pem: String,
    /// When it was fetched, ms.
    pub fetched_at: i64,
}

impl Store {
    /// The stored remote key with this id.
    pub async fn key_by_id(&self, key_id: &str) -> Result<Option<KnownKey>, StoreError> {
        let row = sqlx::query(
            "SELECT a.uri, k.public_key_pem, coalesce(k.fetched_at, 0) FROM account_keys k JOIN accounts a ON a.id = k.account_id \
             WHERE k.key_id = $1 AND a.uri IS NOT NULL",
        )
        .bind(key_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(KnownKey {
                owner_uri: r.try_get(0)?,
                public_key_pem: r.try_get(1)?,
                fetched_at: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Inserts or refreshes a remote actor and its key. Returns the account id.
    pub async fn upsert_remote_actor(
        &self,
        new_id: i64,
        actor: &RemoteActor,
    ) -> Result<i64, StoreError> {
        // A server delivering several activities at once from an actor we
        // have not met makes several requests race to insert it (on
        // PostgreSQL; SQLite has one writer). The loser's unique violation
        // means the row now exists: trying again updates it.
        let mut tries = 0;
        loop {
            match self.try_upsert_remote_actor(new_id, actor).await {
                Err(e) if tries < 3 && is_unique_violation(&e) => tries += 1,
                done => return done,
            }
        }
    }

    async fn try_upsert_remote_actor(
        &self,
        new_id: i64,
        actor: &RemoteActor,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query("SELECT id FROM accounts WHERE uri = $1")
            .bind(&actor.uri)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(row) => {
                let id: i64 = row.try_get(0)?;
                sqlx::query(
                    "UPDATE accounts SET username = $1, display_name = $2, note = $3, inbox_url = $4, \
                     shared_inbox_url = $5, url = $6, actor_type = $7, locked = $8, updated_at = $9, \
                     avatar_url = $11, header_url = $12, fields = $13, bot = $14 \
                     WHERE id = $10",
                )
                .bind(&actor.username)
                .bind(&actor.display_name)
                .bind(&actor.note)
                .bind(&actor.inbox_url)
                .bind(&actor.shared_inbox_url)
                .bind(&actor.url)
                .bind(&actor.actor_type)
                .bind(actor.locked)
                .bind(now)
                .bind(id)
                .bind(&actor.avatar_url)
                .bind(&actor.header_url)
                .bind(&actor.fields)
                .bind(actor.is_bot())
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                sqlx::query(
                    "INSERT INTO accounts (id, username, domain, uri, display_name, note, inbox_url, \
                     shared_inbox_url, url, actor_type, locked, created_at, updated_at, \
                     avatar_url, header_url, fields, bot) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)",
                )
                .bind(new_id)
                .bind(&actor.username)
                .bind(&actor.domain)
                .bind(&actor.uri)
                .bind(&actor.display_name)
                .bind(&actor.note)
                .bind(&actor.inbox_url)
                .bind(&actor.shared_inbox_url)
                .bind(&actor.url)
                .bind(&actor.actor_type)
                .bind(actor.locked)
                .bind(now)
                .bind(&actor.avatar_url)
                .bind(&actor.header_url)
                .bind(&actor.fields)
                .bind(actor.is_bot())
                .execute(&mut *tx)
                .await
                .map_err(super::conflict_as("remote account"))?;
                new_id
            }
        };
        // The key id moves to this account if another row held it; this
        // account's key row is replaced in place (an upsert, so concurrent
        // refreshes of one actor do not collide).
        sqlx::query("DELETE FROM account_keys WHERE key_id = $2 AND account_id <> $1")
            .bind(id)
            .bind(&actor.key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO account_keys (account_id, public_key_pem, key_id, fetched_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET public_key_pem = excluded.public_key_pem, \
             key_id = excluded.key_id, fetched_at = excluded.fetched_at",
        )
        .bind(id)
        .bind(&actor.public_key_pem)
        .bind(&actor.key_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// How many verified activities are stored.
    pub async fn count_inbox_activities(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT count(*) FROM inbox_activities")
            .fetch_one(&self.write)
            .await?;
        Ok(row.try_get(0)?)
    }
}

/// A remote account's delivery addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inboxes {
    /// Account id.
    pub account_id: i64,
    /// Personal inbox.
    pub inbox_url: String,
    /// Shared inbox, if any.
    pub shared_inbox_url: Option<String>,
}

impl Store {
    /// The account with this actor URI (remote accounts have one).
    pub async fn remote_inboxes_by_uri(&self, uri: &str) -> Result<Option<Inboxes>, StoreError> {
        let row =
            sqlx::query("SELECT id, inbox_url, shared_inbox_url FROM accounts WHERE uri = $1")
                .bind(uri)
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| {
            Ok(Inboxes {
                account_id: r.try_get(0)?,
                inbox_url: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                shared_inbox_url: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// A stored inbound activity's JSON.
    pub async fn inbox_activity(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT body FROM inbox_activities WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The types of stored inbound activities, oldest first (for tests and
    /// diagnostics).
    pub async fn inbox_activity_types(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT body FROM inbox_activities ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get(0)?;
                Ok(serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_owned))
                    .unwrap_or_default())
            })
            .collect()
    }
}

impl Store {
    /// A remote account's actor URI and inboxes, by account id.
    pub async fn remote_inboxes(
        &self,
        account_id: i64,
    ) -> Result<Option<(String, Inboxes)>, StoreError> {
        let row = sqlx::query(
            "SELECT uri, inbox_url, shared_inbox_url FROM accounts WHERE id = $1 AND domain IS NOT NULL",
        )
        .bind(account_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get::<String, _>(0)?,
                Inboxes {
                    account_id,
                    inbox_url: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                    shared_inbox_url: r.try_get(2)?,
                },
            ))
        })
        .transpose()
    }

    /// Distinct inboxes (shared where known) of an author's remote followers.
    pub async fn remote_follower_inboxes(&self, author: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM follows f \
             JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND NOT f.local_follower AND a.inbox_url IS NOT NULL",
        )
        .bind(author)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Shared (else personal) inboxes of the remote accounts that boosted,
    /// favourited or replied to a status, deleted boosts and replies
    /// included: servers holding a copy of it that its author's followers'
    /// servers may not cover.
    pub async fn interacted_inboxes(&self, status_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM accounts a \
             WHERE a.inbox_url IS NOT NULL AND a.id IN ( \
             SELECT account_id FROM statuses WHERE reblog_of_id = $1 \
             UNION SELECT account_id FROM statuses WHERE in_reply_to_id = $1 \
             UNION SELECT account_id FROM favourites WHERE status_id = $1)",
        )
        .bind(status_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

impl Store {
    /// Records that `actor_uri` deleted `uri`.
    pub async fn add_tombstone(&self, uri: &str, actor_uri: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tombstones (uri, actor_uri, deleted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(uri)
            .bind(actor_uri)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records that the actor `uri` deleted itself (over any tombstone another
    /// actor of its server may have put on its id first).
    pub async fn tombstone_actor(&self, uri: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tombstones (uri, actor_uri, deleted_at) VALUES ($1, $1, $2) \
             ON CONFLICT (uri) DO UPDATE SET actor_uri = excluded.actor_uri",
        )
        .bind(uri)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Whether the actor `uri` deleted itself (`Delete(Person)`).
    pub async fn deleted_itself(&self, uri: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM tombstones WHERE uri = $1 AND actor_uri = $1")
            .bind(uri)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// Whether `uri` was deleted.
    pub async fn is_tombstoned(&self, uri: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM tombstones WHERE uri = $1")
            .bind(uri)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }
}

impl Store {
    /// Remembers the id of the remote `Follow` behind a follow request, so the
    /// `Accept` or `Reject` can name it.
    pub async fn set_follow_request_uri(
        &self,
        account_id: i64,
        target_id: i64,
        uri: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE follow_requests SET uri = $1 WHERE account_id = $2 AND target_account_id = $3",
        )
        .bind(uri)
        .bind(account_id)
        .bind(target_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The remote `Follow` id behind a follow request, when one was recorded.
    pub async fn follow_request_uri(
        &self,
        account_id: i64,
        target_id: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT uri FROM follow_requests WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(account_id)
        .bind(target_id)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.flatten())
    }
}
