//! Removing accounts: a remote actor its server deleted (`Delete(Person)`),
//! and a local user an admin deleted. Both take the account's posts, boosts,
//! favourites and relations away in one transaction and recount what others
//! see counted.

use sqlx::{Any, Row, Transaction};

use super::sql::Sql;
use super::{Store, StoreError, now_ms};

/// Statuses of the account and others' boosts of them (a subquery on `$1`).
const ITS_STATUSES_AND_BOOSTS: &str = "SELECT id FROM statuses WHERE account_id = $1 \
     OR reblog_of_id IN (SELECT id FROM statuses WHERE account_id = $1)";

/// Ids from a one-column query on `$1 = account_id`.
async fn ids(
    tx: &mut Transaction<'_, Any>,
    sql: &'static str,
    account_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(sql)
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<Option<i64>, _>(0))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect())
}

/// Runs `prefix (list) suffix` with the list bound, if the list is not empty.
async fn for_ids(
    tx: &mut Transaction<'_, Any>,
    prefix: &str,
    list: &[i64],
    suffix: &str,
) -> Result<(), StoreError> {
    if list.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(prefix);
    sql.bind_list(list).push(suffix);
    sql.query().execute(&mut **tx).await?;
    Ok(())
}

/// Takes an account's content and relations away, leaving the row: its
/// statuses (and others' boosts of them) marked deleted and out of every
/// feed, its favourites, bookmarks, pins, notifications to and from it,
/// follows, requests, blocks, mutes and list memberships gone; every counter
/// that counted them recomputed.
async fn strip(tx: &mut Transaction<'_, Any>, account_id: i64) -> Result<(), StoreError> {
    // Whose counters change, read before anything goes.
    let parents = ids(
        tx,
        "SELECT DISTINCT in_reply_to_id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL",
        account_id,
    )
    .await?;
    let originals = ids(
        tx,
        "SELECT DISTINCT reblog_of_id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL",
        account_id,
    )
    .await?;
    let favourited = ids(
        tx,
        "SELECT status_id FROM favourites WHERE account_id = $1",
        account_id,
    )
    .await?;
    let boosters = ids(
        tx,
        "SELECT DISTINCT account_id FROM statuses WHERE deleted_at IS NULL \
         AND reblog_of_id IN (SELECT id FROM statuses WHERE account_id = $1)",
        account_id,
    )
    .await?;
    let related = ids(
        tx,
        "SELECT target_account_id FROM follows WHERE account_id = $1 \
         UNION SELECT account_id FROM follows WHERE target_account_id = $1",
        account_id,
    )
    .await?;

    // Other feeds' rows of these statuses go at the next trim, as for one
    // deleted status (`Store::delete_status`).
    let notes = format!(
        "DELETE FROM notifications WHERE account_id = $1 OR from_account_id = $1 \
         OR status_id IN ({ITS_STATUSES_AND_BOOSTS})"
    );
    let gone = format!(
        "UPDATE statuses SET deleted_at = $2 WHERE deleted_at IS NULL AND id IN ({ITS_STATUSES_AND_BOOSTS})"
    );
    for sql in [notes] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(gone))
        .bind(account_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    super::conversations::forget_account(tx, account_id).await?;
    for table in [
        "follows",
        "follow_requests",
        "blocks",
        "mutes",
        "favourites",
        "bookmarks",
        "status_pins",
        "list_accounts",
        "home_feed",
    ] {
        let sql = match table {
            "favourites" | "bookmarks" | "status_pins" | "list_accounts" | "home_feed" => {
                format!("DELETE FROM {table} WHERE account_id = $1")
            }
            _ => format!("DELETE FROM {table} WHERE account_id = $1 OR target_account_id = $1"),
        };
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }

    for_ids(
        tx,
        "UPDATE statuses SET replies_count = (SELECT count(*) FROM statuses c \
         WHERE c.in_reply_to_id = statuses.id AND c.deleted_at IS NULL) WHERE id IN (",
        &parents,
        ")",
    )
    .await?;
    for_ids(
        tx,
        "UPDATE statuses SET reblogs_count = (SELECT count(*) FROM statuses c \
         WHERE c.reblog_of_id = statuses.id AND c.deleted_at IS NULL) WHERE id IN (",
        &originals,
        ")",
    )
    .await?;
    for_ids(
        tx,
        "UPDATE statuses SET favourites_count = (SELECT count(*) FROM favourites f \
         WHERE f.status_id = statuses.id) WHERE id IN (",
        &favourited,
        ")",
    )
    .await?;
    let mut accounts = boosters;
    accounts.extend(related);
    accounts.push(account_id);
    for_ids(
        tx,
        "UPDATE accounts SET \
         statuses_count = (SELECT count(*) FROM statuses s WHERE s.account_id = accounts.id AND s.deleted_at IS NULL), \
         followers_count = (SELECT count(*) FROM follows f WHERE f.target_account_id = accounts.id), \
         following_count = (SELECT count(*) FROM follows f WHERE f.account_id = accounts.id) \
         WHERE id IN (",
        &accounts,
        ")",
    )
    .await?;
    Ok(())
}

impl Store {
    /// Removes a remote account its server deleted, with everything of it
    /// (its key too, so it can no longer sign anything we accept).
    pub async fn purge_remote_account(&self, account_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        strip(&mut tx, account_id).await?;
        sqlx::query("DELETE FROM accounts WHERE id = $1 AND domain IS NOT NULL")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a local account: its content and relations go, its sign-in
    /// data and tokens too; the row stays, blanked and marked deleted, so the
    /// username stays reserved and queued `Delete` deliveries can be signed.
    pub async fn retire_local_account(&self, account_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        strip(&mut tx, account_id).await?;
        sqlx::query("DELETE FROM users WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE accounts SET deleted_at = $1, display_name = '', note = '', fields = '[]', \
             avatar_url = NULL, header_url = NULL, updated_at = $1 WHERE id = $2 AND domain IS NULL",
        )
        .bind(now_ms())
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a local username belongs to a deleted account.
    pub async fn local_account_deleted(&self, username: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM accounts WHERE lower(username) = lower($1) AND domain IS NULL \
             AND deleted_at IS NOT NULL",
        )
        .bind(username)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    /// Distinct inboxes (shared where known) of the remote accounts a local
    /// account follows.
    pub async fn remote_following_inboxes(&self, account: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM follows f \
             JOIN accounts a ON a.id = f.target_account_id \
             WHERE f.account_id = $1 AND a.domain IS NOT NULL AND a.inbox_url IS NOT NULL",
        )
        .bind(account)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}
