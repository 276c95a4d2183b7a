//! The one statement the streaming bus needs: `NOTIFY` on PostgreSQL.

use super::{Backend, Store, StoreError};

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
        // Bind-parameter limits: SQLite allows 32766, PostgreSQL 65535.
        for chunk in candidates.chunks(1000) {
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
