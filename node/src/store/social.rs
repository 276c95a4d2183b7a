//! The social graph: follows, follow requests, blocks, mutes.

use std::collections::HashSet;

use sqlx::Row;

use super::sql::{Page, Sql};
use super::{Store, StoreError, now_ms};

/// Which relation table an operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `follows`: account follows target.
    Follow,
    /// `follow_requests`: account asked to follow target.
    FollowRequest,
    /// `blocks`: account blocks target.
    Block,
    /// `mutes`: account mutes target.
    Mute,
}

impl Relation {
    fn table(self) -> &'static str {
        match self {
            Relation::Follow => "follows",
            Relation::FollowRequest => "follow_requests",
            Relation::Block => "blocks",
            Relation::Mute => "mutes",
        }
    }
}

/// Inserts a follow `($1 id, $2 follower, $3 target, $4 time)`, noting
/// whether the follower is local.
const FOLLOW_INSERT: &str = "INSERT INTO follows \
    (id, account_id, target_account_id, created_at, local_follower) \
    SELECT $1, $2, $3, $4, a.domain IS NULL FROM accounts a WHERE a.id = $2 \
    ON CONFLICT DO NOTHING";

/// The relations between one account and others, as sets of target ids.
#[derive(Debug, Clone, Default)]
pub struct RelationSets {
    /// Targets the account follows.
    pub following: HashSet<i64>,
    /// Targets that follow the account.
    pub followed_by: HashSet<i64>,
    /// Targets the account asked to follow.
    pub requested: HashSet<i64>,
    /// Targets that asked to follow the account.
    pub requested_by: HashSet<i64>,
    /// Targets the account blocks.
    pub blocking: HashSet<i64>,
    /// Targets that block the account.
    pub blocked_by: HashSet<i64>,
    /// Targets the account mutes.
    pub muting: HashSet<i64>,
    /// Targets the account follows with notifications on.
    pub notifying: HashSet<i64>,
    /// Targets whose boosts the account hides.
    pub hiding_reblogs: HashSet<i64>,
}

/// The accounts hidden from viewer `v` (a placeholder or literal) in
/// timelines, as one column `x`: those blocked either way and those muted.
pub(crate) fn hidden_accounts_sql(v: &str) -> String {
    format!(
        "SELECT target_account_id AS x FROM blocks WHERE account_id = {v} \
         UNION SELECT account_id FROM blocks WHERE target_account_id = {v} \
         UNION SELECT target_account_id FROM mutes WHERE account_id = {v}"
    )
}

/// The accounts viewer `v` follows that have more than `threshold`
/// followers (merged into home at read time), as one column `id`. The
/// threshold is a literal, not a parameter: it is the same for every
/// request, and with a parameter PostgreSQL's generic plan cannot know the
/// range is tiny and scans accounts.
pub(crate) fn big_followed_sql(v: &str, threshold: i64) -> String {
    format!(
        "SELECT a.id FROM accounts a WHERE a.followers_count > {threshold} AND EXISTS \
         (SELECT 1 FROM follows fb WHERE fb.account_id = {v} AND fb.target_account_id = a.id)"
    )
}

/// See [`Store::viewer_context`].
#[derive(Debug, Default, Clone)]
pub struct ViewerContext {
    /// Accounts whose statuses the viewer must not see in timelines.
    pub hidden: HashSet<i64>,
    /// Followed accounts too big to fan out to.
    pub big_followed: Vec<i64>,
    /// Whether the viewer has filters (so they must be applied).
    pub has_filters: bool,
}

impl Store {
    /// Recomputes follower and following counts of these accounts.
    async fn recount_follows(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut sql = Sql::new(
            "UPDATE accounts SET \
             followers_count = (SELECT count(*) FROM follows f WHERE f.target_account_id = accounts.id), \
             following_count = (SELECT count(*) FROM follows f WHERE f.account_id = accounts.id) \
             WHERE id IN (",
        );
        sql.bind_list(ids).push(")");
        sql.query().execute(&self.write).await?;
        Ok(())
    }

    /// Adds a relation (idempotent). Returns whether it is new.
    pub async fn relate(
        &self,
        relation: Relation,
        id: i64,
        account_id: i64,
        target_id: i64,
    ) -> Result<bool, StoreError> {
        let sql = match relation {
            // A follow records whether its follower is local (fan-out and
            // delivery each read only their own kind).
            Relation::Follow => FOLLOW_INSERT.to_owned(),
            _ => format!(
                "INSERT INTO {} (id, account_id, target_account_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                relation.table()
            ),
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(target_id)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        if relation == Relation::Follow && done.rows_affected() > 0 {
            self.recount_follows(&[account_id, target_id]).await?;
        }
        Ok(done.rows_affected() > 0)
    }

    /// Removes a relation. Returns whether one existed.
    pub async fn unrelate(
        &self,
        relation: Relation,
        account_id: i64,
        target_id: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE account_id = $1 AND target_account_id = $2",
            relation.table()
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(target_id)
            .execute(&self.write)
            .await?;
        if relation == Relation::Follow && done.rows_affected() > 0 {
            self.recount_follows(&[account_id, target_id]).await?;
        }
        Ok(done.rows_affected() > 0)
    }

    /// Sets a follow's options (`reblogs`, `notify`).
    pub async fn set_follow_options(
        &self,
        account_id: i64,
        target_id: i64,
        show_reblogs: bool,
        notify: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE follows SET show_reblogs = $1, notify = $2 WHERE account_id = $3 AND target_account_id = $4")
            .bind(show_reblogs)
            .bind(notify)
            .bind(account_id)
            .bind(target_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Turns a follow request into a follow, atomically. Returns false if there
    /// was no such request.
    pub async fn accept_follow_request(
        &self,
        follow_id: i64,
        account_id: i64,
        target_id: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(account_id)
        .bind(target_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(FOLLOW_INSERT)
            .bind(follow_id)
            .bind(account_id)
            .bind(target_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.recount_follows(&[account_id, target_id]).await?;
        Ok(true)
    }

    /// When `account_id` blocks `target_id`: follows both ways end.
    pub async fn sever(&self, account_id: i64, target_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for table in ["follows", "follow_requests"] {
            let sql = format!(
                "DELETE FROM {table} WHERE (account_id = $1 AND target_account_id = $2) \
                 OR (account_id = $2 AND target_account_id = $1)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(target_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.recount_follows(&[account_id, target_id]).await?;
        Ok(())
    }

    /// All relations between `account_id` and each of `targets`.
    pub async fn relation_sets(
        &self,
        account_id: i64,
        targets: &[i64],
    ) -> Result<RelationSets, StoreError> {
        let mut sets = RelationSets::default();
        if targets.is_empty() {
            return Ok(sets);
        }
        for relation in [
            Relation::Follow,
            Relation::FollowRequest,
            Relation::Block,
            Relation::Mute,
        ] {
            let table = relation.table();
            let mut sql = Sql::new(&format!(
                "SELECT target_account_id, {} FROM {table} WHERE account_id = ",
                if relation == Relation::Follow {
                    "show_reblogs, notify"
                } else {
                    "0, 0"
                }
            ));
            sql.bind(account_id)
                .push(" AND target_account_id IN (")
                .bind_list(targets)
                .push(")");
            for row in sql.query().fetch_all(&self.read).await? {
                let id: i64 = row.try_get(0)?;
                match relation {
                    Relation::Follow => {
                        sets.following.insert(id);
                        if !super::flag(&row, "show_reblogs")? {
                            sets.hiding_reblogs.insert(id);
                        }
                        if super::flag(&row, "notify")? {
                            sets.notifying.insert(id);
                        }
                    }
                    Relation::FollowRequest => {
                        sets.requested.insert(id);
                    }
                    Relation::Block => {
                        sets.blocking.insert(id);
                    }
                    Relation::Mute => {
                        sets.muting.insert(id);
                    }
                }
            }
            if relation == Relation::Mute {
                continue;
            }
            let mut sql = Sql::new(&format!(
                "SELECT account_id FROM {table} WHERE target_account_id = "
            ));
            sql.bind(account_id)
                .push(" AND account_id IN (")
                .bind_list(targets)
                .push(")");
            for row in sql.query().fetch_all(&self.read).await? {
                let id: i64 = row.try_get(0)?;
                match relation {
                    Relation::Follow => sets.followed_by.insert(id),
                    Relation::FollowRequest => sets.requested_by.insert(id),
                    _ => sets.blocked_by.insert(id),
                };
            }
        }
        Ok(sets)
    }

    /// Accounts on one side of a relation, paged by the relation row's id.
    /// `incoming`: who relates to `account_id` (followers); otherwise whom
    /// `account_id` relates to (following). Returns (row id, account id).
    pub async fn related_accounts(
        &self,
        relation: Relation,
        account_id: i64,
        incoming: bool,
        page: Page,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let (mine, theirs) = if incoming {
            ("target_account_id", "account_id")
        } else {
            ("account_id", "target_account_id")
        };
        let mut sql = Sql::new(&format!(
            "SELECT r.id, r.{theirs} FROM {} r WHERE r.{mine} = ",
            relation.table()
        ));
        sql.bind(account_id);
        page.apply(&mut sql, "r.id");
        self.fetch_pairs(sql, page).await
    }

    /// What every timeline read needs about its viewer, in one round trip:
    /// the accounts hidden from them (blocked either way, muted), with
    /// `big_threshold` the followed accounts above it (merged into home at
    /// read time), and whether they have any filters.
    pub async fn viewer_context(
        &self,
        viewer: i64,
        big_threshold: Option<i64>,
    ) -> Result<ViewerContext, StoreError> {
        let mut sql = format!(
            "SELECT 0, x FROM ({}) h UNION ALL SELECT 2, id FROM filters WHERE account_id = $1",
            hidden_accounts_sql("$1")
        );
        if let Some(threshold) = big_threshold {
            sql.push_str(&format!(
                " UNION ALL SELECT 1, id FROM ({}) b",
                big_followed_sql("$1", threshold)
            ));
        }
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(viewer);
        let mut out = ViewerContext::default();
        for row in query.fetch_all(&self.read).await? {
            let kind: i64 = row.try_get(0)?;
            let id: i64 = row.try_get(1)?;
            match kind {
                0 => {
                    out.hidden.insert(id);
                }
                1 => out.big_followed.push(id),
                _ => out.has_filters = true,
            }
        }
        Ok(out)
    }

    /// Local followers of `author` who follow with notifications on.
    pub async fn notifying_followers(&self, author: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.account_id FROM follows f \
             WHERE f.target_account_id = $1 AND f.notify AND f.local_follower",
        )
        .bind(author)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// How many accounts relate to `account_id` this way (e.g. pending follow
    /// requests it has received).
    pub async fn count_incoming(
        &self,
        relation: Relation,
        account_id: i64,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE target_account_id = $1",
            relation.table()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Whether `account_id` blocks or mutes `other`, or is blocked by it: one
    /// query, for the per-notification check.
    pub async fn hides(&self, account_id: i64, other: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2) \
             OR EXISTS (SELECT 1 FROM blocks WHERE account_id = $2 AND target_account_id = $1) \
             OR EXISTS (SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2)",
        )
        .bind(account_id)
        .bind(other)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }
}
