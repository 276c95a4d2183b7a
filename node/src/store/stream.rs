//! The one statement the streaming bus needs: `NOTIFY` on PostgreSQL.

use std::collections::HashSet;

use super::{Backend, Store, StoreError};

/// Account ids bound per statement when asking about the viewers streaming
/// here. Far below the engines' limits (SQLite 32766, PostgreSQL 65535):
/// binding `$n` parameters costs SQLite time quadratic in their number (a
/// linear name look-up per parameter), which at 1,000 per statement was a
/// tenth of the node's CPU time in the streaming benchmark.
const IDS_PER_QUERY: usize = 250;

/// The PostgreSQL channel stream events travel on.
pub const STREAM_CHANNEL: &str = "starling_stream";

impl Store {
    /// Sends `payload` to every process listening on [`STREAM_CHANNEL`] of
    /// this database (ourselves included). `false` on SQLite, which has no
    /// other processes: the caller delivers in-process instead.
    pub async fn notify_stream(&self, payload: &str) -> Result<bool, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(false);
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(STREAM_CHANNEL)
            .bind(payload)
            .execute(&self.write)
            .await?;
        Ok(true)
    }
}

/// Whether reading every local follower of an author with `followers`
/// followers (one statement) costs less than asking about `candidates`
/// [`IDS_PER_QUERY`] at a time: when there is more than one batch and at
/// most 20 followers to read per candidate.
fn scan_followers(followers: i64, candidates: usize) -> bool {
    candidates > IDS_PER_QUERY && followers <= 20 * candidates as i64
}

/// Rows that, if the viewer `h.account_id` has one, mean they do not see
/// the post plainly, each open on a list: the post's authors (`true`) or
/// its ids (`false`).
const NOT_PLAIN: [(&str, bool); 7] = [
    (
        "blocks b WHERE b.account_id = h.account_id AND b.target_account_id",
        true,
    ),
    (
        "blocks b WHERE b.target_account_id = h.account_id AND b.account_id",
        true,
    ),
    (
        "mutes m WHERE m.account_id = h.account_id AND m.target_account_id",
        true,
    ),
    (
        "favourites f WHERE f.account_id = h.account_id AND f.status_id",
        false,
    ),
    (
        "bookmarks b WHERE b.account_id = h.account_id AND b.status_id",
        false,
    ),
    (
        "status_pins p WHERE p.account_id = h.account_id AND p.status_id",
        false,
    ),
    (
        "statuses r WHERE r.account_id = h.account_id AND r.deleted_at IS NULL \
         AND r.reblog_of_id",
        false,
    ),
];

/// Appends the conditions of [`Store::plain_home_viewers`] on the viewer
/// `h.account_id`: none of [`NOT_PLAIN`], and no filters.
fn push_plain(sql: &mut super::sql::Sql, authors: &[i64], ids: &[i64]) {
    for (rows, on_authors) in NOT_PLAIN {
        sql.push(&format!(" AND NOT EXISTS (SELECT 1 FROM {rows} IN ("));
        sql.bind_list(if on_authors { authors } else { ids })
            .push("))");
    }
    sql.push(" AND NOT EXISTS (SELECT 1 FROM filters f WHERE f.account_id = h.account_id)");
}

impl Store {
    /// Which of `candidates` are local followers of `author` (the accounts
    /// whose home feed a post of theirs may be in). `followers` is the
    /// author's follower count: it chooses between reading all of them and
    /// asking about the candidates in batches.
    pub async fn local_followers_among(
        &self,
        author: i64,
        followers: i64,
        candidates: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        if scan_followers(followers, candidates.len()) {
            let wanted: HashSet<i64> = candidates.iter().copied().collect();
            let rows = sqlx::query(
                "SELECT account_id FROM follows WHERE local_follower AND target_account_id = $1",
            )
            .bind(author)
            .fetch_all(&self.read)
            .await?;
            for row in rows {
                let id: i64 = sqlx::Row::try_get(&row, 0)?;
                if wanted.contains(&id) {
                    out.push(id);
                }
            }
            return Ok(out);
        }
        for chunk in candidates.chunks(IDS_PER_QUERY) {
            let mut sql = super::sql::Sql::new(
                "SELECT account_id FROM follows WHERE local_follower AND target_account_id = ",
            );
            sql.bind(author).push(" AND account_id IN (");
            sql.bind_list(chunk).push(")");
            for row in sql.query().fetch_all(&self.read).await? {
                out.push(sqlx::Row::try_get(&row, 0)?);
            }
        }
        Ok(out)
    }

    /// Viewers among `candidates` who have status `id` in their home feed
    /// with nothing of their own bearing on how it shows there: no block
    /// either way and no mute between them and `authors` (the status's
    /// author first, then the boosted status's), no filters at all, and no
    /// favourite, boost, bookmark or pin of any of `ids` (the status and the
    /// boosted one). For them the home timeline shows the same entity, so a
    /// stream renders it once. When the author's local followers are read
    /// whole (see `local_followers_among`; `followers` is their count), only
    /// followers are found: anyone left out is rendered on their own, which
    /// is slower, never wrong.
    pub async fn plain_home_viewers(
        &self,
        id: i64,
        authors: &[i64],
        ids: &[i64],
        followers: i64,
        candidates: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        if let Some(&author) = authors.first()
            && scan_followers(followers, candidates.len())
        {
            let wanted: HashSet<i64> = candidates.iter().copied().collect();
            let mut sql = super::sql::Sql::new(
                "SELECT h.account_id FROM follows fo \
                 JOIN home_feed h ON h.account_id = fo.account_id \
                 JOIN statuses s ON s.id = h.status_id \
                 WHERE fo.local_follower AND s.deleted_at IS NULL AND fo.target_account_id = ",
            );
            sql.bind(author).push(" AND h.status_id = ");
            sql.bind(id);
            push_plain(&mut sql, authors, ids);
            for row in sql.query().fetch_all(&self.read).await? {
                let viewer: i64 = sqlx::Row::try_get(&row, 0)?;
                if wanted.contains(&viewer) {
                    out.push(viewer);
                }
            }
            return Ok(out);
        }
        for chunk in candidates.chunks(IDS_PER_QUERY) {
            let mut sql = super::sql::Sql::new(
                "SELECT h.account_id FROM home_feed h JOIN statuses s ON s.id = h.status_id \
                 WHERE s.deleted_at IS NULL AND h.status_id = ",
            );
            sql.bind(id).push(" AND h.account_id IN (");
            sql.bind_list(chunk).push(")");
            push_plain(&mut sql, authors, ids);
            for row in sql.query().fetch_all(&self.read).await? {
                out.push(sqlx::Row::try_get(&row, 0)?);
            }
        }
        Ok(out)
    }
}
