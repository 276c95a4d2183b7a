//! Statuses (posts and boosts), with their mentions, tags, edits, and the
//! per-status counts and per-viewer flags the client API shows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::sql::{Page, Sql};
use super::{Store, StoreError, flag, now_ms};

/// A boost deleted along with the status it boosted.
#[derive(Debug, Clone)]
pub struct DeletedBoost {
    /// The boost's id (what timelines and streams showed).
    pub id: i64,
    /// Who boosted.
    pub account_id: i64,
    /// The boost's visibility.
    pub visibility: String,
}

/// A status row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStatus {
    /// Snowflake id.
    pub id: i64,
    /// Author.
    pub account_id: i64,
    /// ActivityPub id (remote statuses); None for local ones.
    pub uri: Option<String>,
    /// Web URL (remote statuses).
    pub url: Option<String>,
    /// Whether a local user wrote it.
    pub local: bool,
    /// Parent status.
    pub in_reply_to_id: Option<i64>,
    /// Parent's author.
    pub in_reply_to_account_id: Option<i64>,
    /// A remote reply's parent, by ActivityPub id, even while the parent is
    /// not stored (then `in_reply_to_id` is None).
    pub in_reply_to_uri: Option<String>,
    /// For a boost: the boosted status.
    pub reblog_of_id: Option<i64>,
    /// The source text as written.
    pub text: String,
    /// Rendered HTML.
    pub content: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Whether media is marked sensitive.
    pub sensitive: bool,
    /// `public`, `unlisted`, `private` or `direct`.
    pub visibility: String,
    /// ISO 639 language code.
    pub language: Option<String>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last edit time, ms.
    pub edited_at: Option<i64>,
    /// The posting application.
    pub application_id: Option<i64>,
    /// Replies (not deleted), maintained on write.
    pub replies_count: i64,
    /// Boosts (not deleted), maintained on write.
    pub reblogs_count: i64,
    /// Favourites, maintained on write.
    pub favourites_count: i64,
    /// The author's `accounts.version` when the row was read (0 when built
    /// in memory): lets presenters reuse a cached author entity.
    pub author_version: i64,
    /// Row version, bumped by every update (a database trigger).
    pub version: i64,
}

/// The columns [`status_from_row`] reads, for any query aliasing statuses as `s`.
pub(crate) const COLUMNS: &str = "s.id, s.account_id, s.uri, s.url, s.local, s.in_reply_to_id, \
    s.in_reply_to_account_id, s.in_reply_to_uri, s.reblog_of_id, s.text, s.content, s.spoiler_text, s.sensitive, \
    s.visibility, s.language, s.created_at, s.edited_at, s.application_id, s.replies_count, \
    s.reblogs_count, s.favourites_count, s.version, \
    (SELECT av.version FROM accounts av WHERE av.id = s.account_id) AS author_version";

/// Reads a row selected with [`HEADS`]: `(id, version, author_version)`.
pub(crate) fn head_of(row: &AnyRow) -> Result<(i64, i64, i64), sqlx::Error> {
    let author: Option<i64> = row.try_get("author_version")?;
    Ok((
        row.try_get("id")?,
        row.try_get("version")?,
        author.unwrap_or(0),
    ))
}

/// What a timeline query selects: enough to find each row in the row cache
/// (see [`Store::fetch_statuses`]).
pub(crate) const HEADS: &str = "s.id, s.version, \
    (SELECT av.version FROM accounts av WHERE av.id = s.account_id) AS author_version";

pub(crate) fn status_from_row(row: &AnyRow) -> Result<DbStatus, sqlx::Error> {
    Ok(DbStatus {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        uri: row.try_get("uri")?,
        url: row.try_get("url")?,
        local: flag(row, "local")?,
        in_reply_to_id: row.try_get("in_reply_to_id")?,
        in_reply_to_account_id: row.try_get("in_reply_to_account_id")?,
        in_reply_to_uri: row.try_get("in_reply_to_uri")?,
        reblog_of_id: row.try_get("reblog_of_id")?,
        text: row.try_get("text")?,
        content: row.try_get("content")?,
        spoiler_text: row.try_get("spoiler_text")?,
        sensitive: flag(row, "sensitive")?,
        visibility: row.try_get("visibility")?,
        language: row.try_get("language")?,
        created_at: row.try_get("created_at")?,
        edited_at: row.try_get("edited_at")?,
        application_id: row.try_get("application_id")?,
        replies_count: row.try_get("replies_count")?,
        reblogs_count: row.try_get("reblogs_count")?,
        favourites_count: row.try_get("favourites_count")?,
        author_version: row
            .try_get::<Option<i64>, _>("author_version")?
            .unwrap_or(0),
        version: row.try_get("version")?,
    })
}

/// Everything stored with a new status, in one transaction.
#[derive(Debug, Clone)]
pub struct NewStatus {
    /// The status itself.
    pub status: DbStatus,
    /// Mentioned account ids.
    pub mentions: Vec<i64>,
    /// Hashtag names (as written).
    pub tags: Vec<String>,
    /// Ids for tags that may need creating, one per tag.
    pub tag_ids: Vec<i64>,
    /// `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// Id of the fan-out job to enqueue.
    pub job_id: i64,
}

/// What one viewer has done to a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewerFlags {
    /// Favourited it.
    pub favourited: bool,
    /// Boosted it.
    pub reblogged: bool,
    /// Bookmarked it.
    pub bookmarked: bool,
    /// Pinned it (own statuses).
    pub pinned: bool,
}

/// Mentioned account ids and tag names, by status id.
type Extras = (HashMap<i64, Vec<i64>>, HashMap<i64, Vec<String>>);

/// Cached mentions and tags of one status: `(version, mentions, tags)`.
pub(crate) type CachedExtras = Arc<(i64, Vec<i64>, Vec<String>)>;

/// Mentions and tags of a page of statuses, by status id.
#[derive(Debug, Default)]
pub struct StatusFacts {
    /// Mentioned account ids.
    pub mentions: HashMap<i64, Vec<i64>>,
    /// Tag names as written.
    pub tags: HashMap<i64, Vec<String>>,
}

impl Store {
    /// Stores a new status with its mentions, tags, the author's own home-feed
    /// row and a fan-out job, atomically. With an idempotency key already used
    /// by this author, stores nothing and returns the earlier status's id.
    pub async fn insert_status(&self, new: &NewStatus) -> Result<i64, StoreError> {
        let s = &new.status;
        let mut tx = self.write.begin().await?;
        if let Some(key) = &new.idempotency_key {
            let earlier = sqlx::query(
                "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND key = $2",
            )
            .bind(s.account_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = earlier {
                return Ok(row.try_get(0)?);
            }
            sqlx::query(
                "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(s.account_id)
            .bind(key)
            .bind(s.id)
            .bind(s.created_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO statuses (id, account_id, uri, url, local, in_reply_to_id, \
             in_reply_to_account_id, reblog_of_id, text, content, spoiler_text, sensitive, \
             visibility, language, created_at, application_id, in_reply_to_uri) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(s.id)
        .bind(s.account_id)
        .bind(&s.uri)
        .bind(&s.url)
        .bind(s.local)
        .bind(s.in_reply_to_id)
        .bind(s.in_reply_to_account_id)
        .bind(s.reblog_of_id)
        .bind(&s.text)
        .bind(&s.content)
        .bind(&s.spoiler_text)
        .bind(s.sensitive)
        .bind(&s.visibility)
        .bind(&s.language)
        .bind(s.created_at)
        .bind(s.application_id)
        .bind(&s.in_reply_to_uri)
        .execute(&mut *tx)
        .await?;
        if let (Some(uri), false) = (&s.uri, s.local) {
            adopt_replies(&mut tx, s, uri).await?;
        }
        for account_id in &new.mentions {
            sqlx::query(
                "INSERT INTO mentions (status_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(s.id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        }
        for (name, fresh_id) in new.tags.iter().zip(&new.tag_ids) {
            sqlx::query("INSERT INTO tags (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(fresh_id)
                .bind(name)
                .bind(s.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO status_tags (status_id, tag_id) \
                 SELECT $1, id FROM tags WHERE lower(name) = lower($2) ON CONFLICT DO NOTHING",
            )
            .bind(s.id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE accounts SET statuses_count = statuses_count + 1, last_status_at = $2 WHERE id = $1",
        )
        .bind(s.account_id)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        if let Some(parent) = s.in_reply_to_id {
            sqlx::query("UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1")
                .bind(parent)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(original) = s.reblog_of_id {
            sqlx::query("UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = $1")
                .bind(original)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO home_feed (account_id, status_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(s.account_id)
        .bind(s.id)
        .execute(&mut *tx)
        .await?;
        super::jobs::enqueue_in(
            &mut tx,
            new.job_id,
            "fanout",
            &serde_json::json!({ "status_id": s.id }).to_string(),
            s.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(s.id)
    }

    /// One status (not deleted).
    pub async fn status(&self, id: i64) -> Result<Option<DbStatus>, StoreError> {
        Ok(self.statuses(&[id]).await?.pop())
    }

    /// Statuses by id (not deleted), in no particular order.
    pub async fn statuses(&self, ids: &[i64]) -> Result<Vec<DbStatus>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s WHERE s.deleted_at IS NULL AND s.id IN ("
        ));
        sql.bind_list(ids).push(")");
        self.fetch_statuses(sql, Page::default()).await
    }

    /// Full rows by id, read fresh and put in the row cache.
    async fn status_rows(&self, ids: &[i64]) -> Result<Vec<Arc<DbStatus>>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM statuses s WHERE s.id IN ("));
        sql.bind_list(ids).push(")");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let status = Arc::new(status_from_row(row)?);
            self.status_rows.insert(status.id, status.clone());
            out.push(status);
        }
        Ok(out)
    }

    /// Soft-deletes a status and the boosts of it, and drops them from feeds.
    /// Returns the boosts it deleted with it, so streams can drop them too.
    pub async fn delete_status(&self, id: i64) -> Result<Vec<DeletedBoost>, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        // Whose counters change: authors of the status and of its boosts, its
        // parent's replies, and (for a boost) the original's boosts.
        let affected = sqlx::query(
            "SELECT account_id, in_reply_to_id, reblog_of_id, id, visibility FROM statuses \
             WHERE (id = $1 OR reblog_of_id = $1) AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE statuses SET deleted_at = $1 WHERE (id = $2 OR reblog_of_id = $2) AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::conversations::forget_status(&mut tx, id).await?;
        // Its home_feed rows stay until the next trim (`trim_home_feeds`):
        // every read of home_feed joins statuses and skips deleted ones, and
        // home_feed has no index by status (fan-out writes it 100k rows at a
        // time), so deleting them here scanned every feed in this
        // transaction.
        sqlx::query(
            "DELETE FROM notifications WHERE status_id = $1 \
             OR status_id IN (SELECT id FROM statuses WHERE reblog_of_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut boosts = Vec::new();
        for row in &affected {
            let author: i64 = row.try_get(0)?;
            if row.try_get::<Option<i64>, _>(2)? == Some(id) {
                boosts.push(DeletedBoost {
                    id: row.try_get(3)?,
                    account_id: author,
                    visibility: row.try_get(4)?,
                });
            }
            sqlx::query(
                "UPDATE accounts SET statuses_count = (SELECT count(*) FROM statuses \
                 WHERE account_id = $1 AND deleted_at IS NULL) WHERE id = $1",
            )
            .bind(author)
            .execute(&mut *tx)
            .await?;
            if let Some(parent) = row.try_get::<Option<i64>, _>(1)? {
                sqlx::query(
                    "UPDATE statuses SET replies_count = (SELECT count(*) FROM statuses c \
                     WHERE c.in_reply_to_id = $1 AND c.deleted_at IS NULL) WHERE id = $1",
                )
                .bind(parent)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(original) = row.try_get::<Option<i64>, _>(2)? {
                sqlx::query(
                    "UPDATE statuses SET reblogs_count = (SELECT count(*) FROM statuses c \
                     WHERE c.reblog_of_id = $1 AND c.deleted_at IS NULL) WHERE id = $1",
                )
                .bind(original)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(boosts)
    }

    /// Replaces a status's text, keeping the previous version in its history.
    /// `edit_ids`: ids for the original version's history row (used on the
    /// first edit only) and for the new version's.
    pub async fn edit_status(
        &self,
        id: i64,
        edit_ids: [i64; 2],
        text: &str,
        content: &str,
        spoiler_text: &str,
        sensitive: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        // The first edit also records the original version.
        sqlx::query(
            "INSERT INTO status_edits (id, status_id, text, content, spoiler_text, sensitive, created_at) \
             SELECT $1, id, text, content, spoiler_text, sensitive, coalesce(edited_at, created_at) \
             FROM statuses WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM status_edits WHERE status_id = $2)",
        )
        .bind(edit_ids[0])
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE statuses SET text = $1, content = $2, spoiler_text = $3, sensitive = $4, \
             edited_at = $5 WHERE id = $6",
        )
        .bind(text)
        .bind(content)
        .bind(spoiler_text)
        .bind(sensitive)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO status_edits (id, status_id, text, content, spoiler_text, sensitive, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(edit_ids[1])
        .bind(id)
        .bind(text)
        .bind(content)
        .bind(spoiler_text)
        .bind(sensitive)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The versions of an edited status, oldest first: (text, content,
    /// spoiler_text, sensitive, created_at).
    pub async fn status_edits(
        &self,
        id: i64,
    ) -> Result<Vec<(String, String, String, bool, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT text, content, spoiler_text, sensitive, created_at FROM status_edits \
             WHERE status_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    flag(r, "sensitive")?,
                    r.try_get(4)?,
                ))
            })
            .collect()
    }

    /// Mentioned account ids per status.
    pub async fn mentions_of(
        &self,
        status_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
        Ok(self.mentions_and_tags(status_ids).await?.0)
    }

    /// Tag names per status.
    pub async fn tags_of(
        &self,
        status_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        Ok(self.mentions_and_tags(status_ids).await?.1)
    }

    /// What `viewer` has done to each of these statuses.
    pub async fn viewer_flags(
        &self,
        viewer: i64,
        ids: &[i64],
    ) -> Result<HashMap<i64, ViewerFlags>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // One statement of constant shape: the viewer's favourites, boosts,
        // bookmarks and pins within the page's id range (index range scans
        // on `(account_id, status_id)`), then kept only for the page's ids.
        let (min, max) = ids.iter().fold((i64::MAX, i64::MIN), |(lo, hi), id| {
            (lo.min(*id), hi.max(*id))
        });
        let rows = sqlx::query(
            "SELECT 0, status_id FROM favourites \
             WHERE account_id = $1 AND status_id >= $2 AND status_id <= $3 \
             UNION ALL SELECT 1, reblog_of_id FROM statuses WHERE account_id = $1 \
             AND reblog_of_id >= $2 AND reblog_of_id <= $3 AND deleted_at IS NULL \
             UNION ALL SELECT 2, status_id FROM bookmarks \
             WHERE account_id = $1 AND status_id >= $2 AND status_id <= $3 \
             UNION ALL SELECT 3, status_id FROM status_pins \
             WHERE account_id = $1 AND status_id >= $2 AND status_id <= $3",
        )
        .bind(viewer)
        .bind(min)
        .bind(max)
        .fetch_all(&self.read)
        .await?;
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        let mut out: HashMap<i64, ViewerFlags> = HashMap::new();
        for row in rows {
            let kind: i64 = row.try_get(0)?;
            let id: i64 = row.try_get(1)?;
            if !wanted.contains(&id) {
                continue;
            }
            let f = out.entry(id).or_default();
            match kind {
                0 => f.favourited = true,
                1 => f.reblogged = true,
                2 => f.bookmarked = true,
                _ => f.pinned = true,
            }
        }
        Ok(out)
    }

    /// Mentions and tags of statuses, read fresh.
    async fn mentions_and_tags(&self, ids: &[i64]) -> Result<Extras, StoreError> {
        let mut out = Extras::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(
            "SELECT 0 AS kind, status_id, account_id AS n, CAST(NULL AS TEXT) AS name \
             FROM mentions WHERE status_id IN (",
        );
        sql.bind_list(ids).push(")");
        sql.push(
            " UNION ALL SELECT 1, st.status_id, 0, t.name FROM status_tags st \
             JOIN tags t ON t.id = st.tag_id WHERE st.status_id IN (",
        )
        .bind_list(ids)
        .push(")");
        for row in sql.query().fetch_all(&self.read).await? {
            let kind: i64 = row.try_get(0)?;
            let id: i64 = row.try_get(1)?;
            if kind == 0 {
                out.0.entry(id).or_default().push(row.try_get(2)?);
            } else {
                let name: Option<String> = row.try_get(3)?;
                out.1.entry(id).or_default().push(name.unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Mentions and tags of a page of statuses given as `(id, version)`.
    /// They only change with the row (an edit bumps its version), so they
    /// come from a per-process cache checked against the version; only
    /// misses are read. (The viewer's flags are [`Store::viewer_flags`].)
    pub async fn status_facts(&self, statuses: &[(i64, i64)]) -> Result<StatusFacts, StoreError> {
        let mut out = StatusFacts::default();
        if statuses.is_empty() {
            return Ok(out);
        }
        let mut missing = Vec::new();
        for &(id, version) in statuses {
            match self.status_extras.get(&id) {
                Some(hit) if hit.0 == version => {
                    if !hit.1.is_empty() {
                        out.mentions.insert(id, hit.1.clone());
                    }
                    if !hit.2.is_empty() {
                        out.tags.insert(id, hit.2.clone());
                    }
                }
                _ => missing.push(id),
            }
        }
        if !missing.is_empty() {
            let (mut mentions, mut tags) = self.mentions_and_tags(&missing).await?;
            let versions: HashMap<i64, i64> = statuses.iter().copied().collect();
            for id in missing {
                let m = mentions.remove(&id).unwrap_or_default();
                let t = tags.remove(&id).unwrap_or_default();
                let version = versions.get(&id).copied().unwrap_or_default();
                self.status_extras
                    .insert(id, Arc::new((version, m.clone(), t.clone())));
                if !m.is_empty() {
                    out.mentions.insert(id, m);
                }
                if !t.is_empty() {
                    out.tags.insert(id, t);
                }
            }
        }
        Ok(out)
    }

    /// An account's statuses, newest first, with Mastodon's filters. Visibility
    /// is limited to `visibilities`.
    pub async fn account_statuses(
        &self,
        account_id: i64,
        visibilities: &[&str],
        exclude_replies: bool,
        exclude_reblogs: bool,
        pinned_only: bool,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s WHERE s.account_id = "
        ));
        sql.bind(account_id).push(" AND s.deleted_at IS NULL");
        push_visibilities(&mut sql, visibilities);
        if exclude_replies {
            // Mastodon keeps self-replies (threads) when excluding replies.
            sql.push(" AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)");
        }
        if exclude_reblogs {
            sql.push(" AND s.reblog_of_id IS NULL");
        }
        if pinned_only {
            sql.push(" AND s.id IN (SELECT status_id FROM status_pins WHERE account_id = ")
                .bind(account_id)
                .push(")");
        }
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }

    /// Runs a query selecting [`HEADS`] and returns the full rows in its
    /// order (reversed back for `min_id` pages): rows whose version matches
    /// come from the per-process row cache, the rest are read in one query.
    /// Timelines thus read three columns per row instead of twenty-three.
    pub(crate) async fn fetch_statuses(
        &self,
        sql: Sql,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let rows = sql.query().fetch_all(&self.read).await?;
        let heads = rows.iter().map(head_of).collect::<Result<Vec<_>, _>>()?;
        self.resolve_heads(&heads, page).await
    }

    /// The full rows for `(id, version, author_version)` heads, in order
    /// (reversed back for `min_id` pages); see [`Store::fetch_statuses`].
    pub(crate) async fn resolve_heads(
        &self,
        heads: &[(i64, i64, i64)],
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut found: HashMap<i64, Arc<DbStatus>> = HashMap::with_capacity(heads.len());
        let mut missing = Vec::new();
        for &(id, version, _) in heads {
            match self.status_rows.get(&id) {
                Some(hit) if hit.version == version => {
                    found.insert(id, hit);
                }
                _ => missing.push(id),
            }
        }
        if !missing.is_empty() {
            for status in self.status_rows(&missing).await? {
                found.insert(status.id, status);
            }
        }
        let mut out: Vec<DbStatus> = heads
            .iter()
            .filter_map(|&(id, _, author_version)| {
                let mut status = DbStatus::clone(found.get(&id)?);
                // The author may have changed since the row was cached.
                status.author_version = author_version;
                Some(status)
            })
            .collect();
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// Ancestors of a status (oldest first), following `in_reply_to_id` up to
    /// `limit` steps, and all descendants (depth-first by id), bounded.
    pub async fn thread(
        &self,
        id: i64,
        limit: i64,
    ) -> Result<(Vec<DbStatus>, Vec<DbStatus>), StoreError> {
        let mut ancestors = Vec::new();
        let mut cursor = self.status(id).await?.and_then(|s| s.in_reply_to_id);
        let mut seen = HashSet::new();
        while let Some(parent) = cursor {
            if ancestors.len() as i64 >= limit || !seen.insert(parent) {
                break;
            }
            match self.status(parent).await? {
                Some(s) => {
                    cursor = s.in_reply_to_id;
                    ancestors.push(s);
                }
                None => break,
            }
        }
        ancestors.reverse();
        let sql = format!(
            "WITH RECURSIVE thread(id, depth) AS (SELECT id, 0 FROM statuses WHERE id = $1 \
             UNION ALL SELECT s.id, t.depth + 1 FROM statuses s JOIN thread t ON s.in_reply_to_id = t.id \
             WHERE t.depth < 100) \
             SELECT {COLUMNS} FROM statuses s JOIN thread t ON t.id = s.id \
             WHERE s.id <> $1 AND s.deleted_at IS NULL ORDER BY s.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let descendants: Vec<DbStatus> =
            rows.iter().map(status_from_row).collect::<Result<_, _>>()?;
        Ok((ancestors, depth_first(id, descendants)))
    }

    /// The boost of `status_id` by `account_id`, if any.
    pub async fn reblog_by(
        &self,
        account_id: i64,
        status_id: i64,
    ) -> Result<Option<DbStatus>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id = $2 \
             AND s.deleted_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(status_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(status_from_row).transpose()?)
    }

    /// Posts written by local users that still exist (not boosts).
    pub async fn count_local_statuses(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT count(*) FROM statuses \
             WHERE local = $1 AND reblog_of_id IS NULL AND deleted_at IS NULL",
        )
        .bind(true)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Public and unlisted posts of one account: the size of its outbox.
    pub async fn count_outbox(&self, account_id: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT count(*) FROM statuses WHERE account_id = $1 \
             AND visibility IN ('public', 'unlisted') AND deleted_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// Replies in thread order: each one followed by its own replies, siblings
/// by id. Ids alone would misplace parents fetched after their replies.
fn depth_first(root: i64, rows: Vec<DbStatus>) -> Vec<DbStatus> {
    let mut children: HashMap<i64, Vec<DbStatus>> = HashMap::new();
    for row in rows {
        children
            .entry(row.in_reply_to_id.unwrap_or_default())
            .or_default()
            .push(row);
    }
    for siblings in children.values_mut() {
        // Popped from the end below, so the lowest id comes out first.
        siblings.sort_by_key(|s| std::cmp::Reverse(s.id));
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        if let Some(mut siblings) = children.remove(&parent) {
            // Visit the first sibling next, its replies before the others.
            let next = siblings.pop();
            if !siblings.is_empty() {
                children.insert(parent, siblings);
                stack.push(parent);
            }
            if let Some(next) = next {
                stack.push(next.id);
                out.push(next);
            }
        }
    }
    // Replies below a deleted reply: still shown, after the rest.
    let mut rest: Vec<DbStatus> = children.into_values().flatten().collect();
    rest.sort_by_key(|s| s.id);
    out.extend(rest);
    out
}

/// ` AND s.visibility IN ('public', …)` from a fixed list (never user input).
pub(crate) fn push_visibilities(sql: &mut Sql, visibilities: &[&str]) {
    sql.push(" AND s.visibility IN (");
    for (i, v) in visibilities.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*v);
    }
    sql.push(")");
}

impl Store {
    /// A (remote) status by its ActivityPub id.
    pub async fn status_by_uri(&self, uri: &str) -> Result<Option<DbStatus>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM statuses s WHERE s.uri = $1 AND s.deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uri)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(status_from_row).transpose()?)
    }
}

/// Links the stored replies that were waiting for the remote status `s`
/// (known only by its id `uri` when they arrived) to it, and counts them.
async fn adopt_replies(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    s: &DbStatus,
    uri: &str,
) -> Result<(), StoreError> {
    let adopted = sqlx::query(
        "UPDATE statuses SET in_reply_to_id = $1, in_reply_to_account_id = $2 \
         WHERE in_reply_to_uri = $3 AND in_reply_to_id IS NULL AND id <> $1",
    )
    .bind(s.id)
    .bind(s.account_id)
    .bind(uri)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if adopted > 0 {
        sqlx::query(
            "UPDATE statuses SET replies_count = (SELECT count(*) FROM statuses c \
             WHERE c.in_reply_to_id = $1 AND c.deleted_at IS NULL) WHERE id = $1",
        )
        .bind(s.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DbStatus, depth_first};

    fn reply(id: i64, parent: i64) -> DbStatus {
        DbStatus {
            id,
            in_reply_to_id: Some(parent),
            ..DbStatus::default()
        }
    }

    #[test]
    fn replies_come_in_thread_order_whatever_their_ids() {
        // 1 ← 9 ← 3, and 1 ← 5; 8 replies to a reply (7) that is gone.
        let rows = vec![reply(3, 9), reply(5, 1), reply(9, 1), reply(8, 7)];
        let order: Vec<i64> = depth_first(1, rows).iter().map(|s| s.id).collect();
        assert_eq!(order, [5, 9, 3, 8]);
    }
}
