//! Statuses (posts). The client API fills this out; for now, the counts that
//! discovery documents publish.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
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
