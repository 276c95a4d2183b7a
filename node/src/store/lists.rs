//! Lists: an account's named groups of followed accounts, their members, and
//! the list timeline built from the members' statuses.

use std::collections::HashSet;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::sql::{Page, Sql};
use super::statuses::{DbStatus, HEADS, push_visibilities};
use super::{Store, StoreError, flag};

/// A list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbList {
    /// Snowflake id.
    pub id: i64,
    /// The owner.
    pub account_id: i64,
    /// The name shown to the owner.
    pub title: String,
    /// Which replies the list timeline shows: `followed`, `list` or `none`.
    pub replies_policy: String,
    /// Whether members' posts stay out of the owner's home timeline.
    pub exclusive: bool,
    /// Creation time, ms.
    pub created_at: i64,
}

fn list_from_row(row: &AnyRow) -> Result<DbList, sqlx::Error> {
    Ok(DbList {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        title: row.try_get("title")?,
        replies_policy: row.try_get("replies_policy")?,
        exclusive: flag(row, "exclusive")?,
        created_at: row.try_get("created_at")?,
    })
}

/// What adding members to a list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddMembers {
    /// All were added (or already members).
    Added,
    /// Nothing was added: these ids are no accounts.
    Unknown(Vec<i64>),
    /// Nothing was added: the owner neither follows nor asked to follow these.
    NotFollowed(Vec<i64>),
}

impl Store {
    /// The lists an account owns, oldest first.
    pub async fn lists_of(&self, owner: i64) -> Result<Vec<DbList>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, title, replies_policy, exclusive, created_at FROM lists \
             WHERE account_id = $1 ORDER BY id",
        )
        .bind(owner)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(list_from_row).collect::<Result<_, _>>()?)
    }

    /// One list, only if `owner` owns it.
    pub async fn list(&self, owner: i64, id: i64) -> Result<Option<DbList>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, title, replies_policy, exclusive, created_at FROM lists \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(list_from_row).transpose()?)
    }

    /// Stores a new list.
    pub async fn insert_list(&self, list: &DbList) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(list.id)
        .bind(list.account_id)
        .bind(&list.title)
        .bind(&list.replies_policy)
        .bind(list.exclusive)
        .bind(list.created_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Saves a list's title and options. Returns whether the owner's list exists.
    pub async fn update_list(&self, list: &DbList) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE lists SET title = $1, replies_policy = $2, exclusive = $3 \
             WHERE id = $4 AND account_id = $5",
        )
        .bind(&list.title)
        .bind(&list.replies_policy)
        .bind(list.exclusive)
        .bind(list.id)
        .bind(list.account_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the owner's list and its memberships. Returns whether it existed.
    pub async fn delete_list(&self, owner: i64, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        // Explicit, so SQLite connections without foreign-key enforcement
        // leave no orphans either.
        sqlx::query(
            "DELETE FROM list_accounts WHERE list_id IN \
             (SELECT id FROM lists WHERE id = $1 AND account_id = $2)",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM lists WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Member account ids of a list, paged by account id (newest first, as
    /// Mastodon pages by membership id).
    pub async fn list_members(&self, list_id: i64, page: Page) -> Result<Vec<i64>, StoreError> {
        let mut sql = Sql::new("SELECT la.account_id FROM list_accounts la WHERE la.list_id = ");
        sql.bind(list_id);
        page.apply(&mut sql, "la.account_id");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// Adds accounts to a list, all or none: every one must exist and be
    /// followed (or requested) by `owner`, checked in the same transaction as
    /// the insert so an unfollow cannot slip in between.
    pub async fn add_list_members(
        &self,
        list_id: i64,
        owner: i64,
        ids: &[i64],
    ) -> Result<AddMembers, StoreError> {
        if ids.is_empty() {
            return Ok(AddMembers::Added);
        }
        let mut tx = self.write.begin().await?;
        let mut sql = Sql::new("SELECT id FROM accounts WHERE id IN (");
        sql.bind_list(ids).push(")");
        let known: HashSet<i64> = sql
            .query()
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let unknown: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !known.contains(id))
            .collect();
        if !unknown.is_empty() {
            return Ok(AddMembers::Unknown(unknown));
        }
        let mut sql = Sql::new("SELECT target_account_id FROM follows WHERE account_id = ");
        sql.bind(owner)
            .push(" AND target_account_id IN (")
            .bind_list(ids)
            .push(") UNION SELECT target_account_id FROM follow_requests WHERE account_id = ")
            .bind(owner)
            .push(" AND target_account_id IN (")
            .bind_list(ids)
            .push(")");
        let followed: HashSet<i64> = sql
            .query()
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !followed.contains(id))
            .collect();
        if !missing.is_empty() {
            return Ok(AddMembers::NotFollowed(missing));
        }
        for id in ids {
            sqlx::query(
                "INSERT INTO list_accounts (list_id, account_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(list_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(AddMembers::Added)
    }

    /// Removes accounts from a list. Returns how many were members.
    pub async fn remove_list_members(&self, list_id: i64, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::new("DELETE FROM list_accounts WHERE list_id = ");
        sql.bind(list_id)
            .push(" AND account_id IN (")
            .bind_list(ids)
            .push(")");
        Ok(sql.query().execute(&self.write).await?.rows_affected())
    }

    /// A page of a list's timeline: statuses and boosts by members, newest
    /// first. Private posts only while the owner follows the author; direct
    /// messages never. Replies to others show as the list's `replies_policy`
    /// says; authors (or boosted authors) the owner blocks, is blocked by or
    /// mutes are left out.
    pub async fn list_timeline(
        &self,
        list: &DbList,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let owner = list.account_id;
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s JOIN list_accounts la \
             ON la.account_id = s.account_id WHERE s.deleted_at IS NULL AND la.list_id = "
        ));
        sql.bind(list.id);
        push_visibilities(&mut sql, &["public", "unlisted", "private"]);
        sql.push(
            " AND (s.visibility <> 'private' OR EXISTS (SELECT 1 FROM follows f \
             WHERE f.target_account_id = s.account_id AND f.account_id = ",
        )
        .bind(owner)
        .push("))");

        // Replies: to nobody known, to themselves and to the owner always show.
        sql.push(
            " AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id \
             OR s.in_reply_to_account_id = ",
        )
        .bind(owner);
        match list.replies_policy.as_str() {
            "followed" => {
                sql.push(
                    " OR EXISTS (SELECT 1 FROM follows rf WHERE \
                     rf.target_account_id = s.in_reply_to_account_id AND rf.account_id = ",
                )
                .bind(owner)
                .push(")");
            }
            "list" => {
                sql.push(
                    " OR EXISTS (SELECT 1 FROM list_accounts rl WHERE \
                     rl.account_id = s.in_reply_to_account_id AND rl.list_id = ",
                )
                .bind(list.id)
                .push(")");
            }
            _ => {}
        }
        sql.push(")");

        push_not_hidden(&mut sql, "s.account_id", owner);
        sql.push(
            " AND (s.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM statuses o \
             WHERE o.id = s.reblog_of_id AND (o.deleted_at IS NOT NULL",
        );
        push_hidden_or(&mut sql, "o.account_id", owner);
        sql.push(")))");
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }
}

/// ` AND NOT (<column> is hidden from viewer)`.
fn push_not_hidden(sql: &mut Sql, column: &str, viewer: i64) {
    sql.push(" AND NOT (FALSE");
    push_hidden_or(sql, column, viewer);
    sql.push(")");
}

/// ` OR <column> is blocked by, blocks, or is muted by viewer`.
fn push_hidden_or(sql: &mut Sql, column: &str, viewer: i64) {
    sql.push(&format!(
        " OR EXISTS (SELECT 1 FROM blocks b WHERE b.target_account_id = {column} AND b.account_id = "
    ))
    .bind(viewer)
    .push(&format!(
        ") OR EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {column} AND b.target_account_id = "
    ))
    .bind(viewer)
    .push(&format!(
        ") OR EXISTS (SELECT 1 FROM mutes m WHERE m.target_account_id = {column} AND m.account_id = "
    ))
    .bind(viewer)
    .push(")");
}
