//! The one statement the streaming bus needs: `NOTIFY` on PostgreSQL.

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

impl Store {
    /// Which of `candidates` are local followers of `author` (the accounts
    /// whose home feed a post of theirs may be in).
    pub async fn local_followers_among(
        &self,
        author: i64,
        candidates: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
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
}

impl Store {
    /// Which of `candidates` have status `id` in their home feed with nothing
    /// of their own bearing on how it shows there: no block either way and
    /// no mute between them and `authors` (the status's author, and the
    /// boosted status's), no filters at all, and no favourite, boost,
    /// bookmark or pin of any of `ids` (the status and the boosted one).
    /// For them the home timeline shows the same entity, so a stream renders
    /// it once; everyone else is rendered on their own.
    pub async fn plain_home_viewers(
        &self,
        id: i64,
        authors: &[i64],
        ids: &[i64],
        candidates: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        for chunk in candidates.chunks(IDS_PER_QUERY) {
            let mut sql = super::sql::Sql::new(
                "SELECT h.account_id FROM home_feed h JOIN statuses s ON s.id = h.status_id \
                 WHERE s.deleted_at IS NULL AND h.status_id = ",
            );
            sql.bind(id).push(" AND h.account_id IN (");
            sql.bind_list(chunk).push(")");
            sql.push(
                " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = h.account_id \
                 AND b.target_account_id IN (",
            );
            sql.bind_list(authors).push(
                ")) AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.target_account_id = h.account_id \
                 AND b.account_id IN (",
            );
            sql.bind_list(authors).push(
                ")) AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = h.account_id \
                 AND m.target_account_id IN (",
            );
            sql.bind_list(authors).push(
                ")) AND NOT EXISTS (SELECT 1 FROM filters f WHERE f.account_id = h.account_id) \
                 AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = h.account_id \
                 AND f.status_id IN (",
            );
            sql.bind_list(ids).push(
                ")) AND NOT EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = h.account_id \
                 AND b.status_id IN (",
            );
            sql.bind_list(ids).push(
                ")) AND NOT EXISTS (SELECT 1 FROM status_pins p WHERE p.account_id = h.account_id \
                 AND p.status_id IN (",
            );
            sql.bind_list(ids).push(
                ")) AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.account_id = h.account_id \
                 AND r.deleted_at IS NULL AND r.reblog_of_id IN (",
            );
            sql.bind_list(ids).push("))");
            for row in sql.query().fetch_all(&self.read).await? {
                out.push(sqlx::Row::try_get(&row, 0)?);
            }
        }
        Ok(out)
    }
}
