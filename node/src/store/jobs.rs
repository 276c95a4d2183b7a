//! The durable job queue's table. A job is claimed by leasing it
//! (`locked_until`); finished jobs are deleted; failed ones are rescheduled.
//! A crashed worker's leases simply expire, so nothing is lost.

use sqlx::Row;

use super::{Backend, Store, StoreError, now_ms};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbJob {
    /// Job id.
    pub id: i64,
    /// What to do (`fanout`, `deliver`, …).
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// How many times it has been claimed, this time included.
    pub attempts: i64,
}

/// Inserts a job inside an open transaction.
pub(crate) async fn enqueue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    kind: &str,
    payload: &str,
    run_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(kind)
    .bind(payload)
    .bind(run_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Enqueues a job to run at `run_at` (ms).
    pub async fn enqueue(
        &self,
        id: i64,
        kind: &str,
        payload: &str,
        run_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        enqueue_in(&mut tx, id, kind, payload, run_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Leases up to `limit` due jobs for `lease_ms`. On PostgreSQL concurrent
    /// claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_jobs(&self, limit: i64, lease_ms: i64) -> Result<Vec<DbJob>, StoreError> {
        let now = now_ms();
        let sql = match self.backend {
            Backend::Sqlite => {
                "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM jobs WHERE run_at <= $2 AND locked_until < $2 ORDER BY run_at, id LIMIT $3) \
                 RETURNING id, kind, payload, attempts"
            }
            Backend::Postgres => {
                "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM jobs WHERE run_at <= $2 AND locked_until < $2 ORDER BY run_at, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts"
            }
        };
        let rows = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DbJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Removes a finished job.
    pub async fn complete_job(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Reschedules a failed job for `run_at`, keeping the error.
    pub async fn retry_job(&self, id: i64, run_at: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET run_at = $1, locked_until = 0, last_error = $2 WHERE id = $3")
            .bind(run_at)
            .bind(error)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// How many jobs are due now, running ones included.
    pub async fn due_jobs(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT count(*) FROM jobs WHERE run_at <= $1")
            .bind(now_ms())
            .fetch_one(&self.write)
            .await?;
        Ok(row.try_get(0)?)
    }
}
