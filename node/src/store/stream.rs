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
