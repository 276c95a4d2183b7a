//! The durable job queue's table. A job is claimed by leasing it
//! (`locked_until`); finished jobs are deleted; failed ones are rescheduled.
//! A crashed worker's leases simply expire, so nothing is lost.
//!
//! `deliver` jobs carry their target `host`: the claim skips jobs for hosts
//! the breaker marked unavailable ([`super::hosts`]) and for hosts the caller
//! names (those already at their concurrency cap in this process), so neither
//! a dead host nor a slow one holds up the queue behind it.

use sqlx::Row;

use super::sql::Sql;
use super::{Backend, Store, StoreError, now_ms};

/// Opens "the job's host is not unavailable at …"; the caller binds the
/// time and closes both parentheses.
const HOST_AVAILABLE: &str =
    "(host IS NULL OR host NOT IN (SELECT domain FROM hosts WHERE unavailable_until > ";

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
    /// The host a `deliver` job POSTs to (None for other kinds, and for
    /// deliveries queued before hosts were recorded).
    pub host: Option<String>,
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

    /// Leases up to `limit` due jobs for `lease_ms`, skipping deliveries to
    /// unavailable hosts and to the hosts in `skip_hosts`. On PostgreSQL
    /// concurrent claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_jobs(
        &self,
        limit: i64,
        lease_ms: i64,
        skip_hosts: &[String],
    ) -> Result<Vec<DbJob>, StoreError> {
        let now = now_ms();
        let mut sql = Sql::new("UPDATE jobs SET locked_until = ");
        sql.bind(now + lease_ms)
            .push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE run_at <= ")
            .bind(now)
            .push(" AND locked_until < ")
            .bind(now)
            .push(" AND ")
            .push(HOST_AVAILABLE)
            .bind(now)
            .push("))");
        if !skip_hosts.is_empty() {
            sql.push(" AND (host IS NULL OR host NOT IN (");
            for (i, host) in skip_hosts.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(host.as_str());
            }
            sql.push("))");
        }
        sql.push(" ORDER BY run_at, id LIMIT ").bind(limit);
        if self.backend == Backend::Postgres {
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") RETURNING id, kind, payload, attempts, host");
        let rows = sql.query().fetch_all(&self.write).await?;
        rows.iter()
            .map(|r| {
                Ok(DbJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                    host: r.try_get("host")?,
                })
            })
            .collect()
    }

    /// Enqueues `deliver` jobs, each `(id, payload, host)`, to run at
    /// `run_at` (ms), in one transaction: a fan-out's deliveries are queued
    /// all or none, with one commit (one fsync on SQLite) for all of them.
    pub async fn enqueue_deliveries(
        &self,
        jobs: &[(i64, String, String)],
        run_at: i64,
    ) -> Result<(), StoreError> {
        /// Rows per INSERT: 4 parameters each, far below either engine's limit.
        const ROWS: usize = 100;
        let mut tx = self.write.begin().await?;
        for chunk in jobs.chunks(ROWS) {
            let mut sql =
                Sql::new("INSERT INTO jobs (id, kind, payload, run_at, created_at, host) VALUES ");
            let at = sql.arg(run_at);
            for (i, (id, payload, host)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(*id)
                    .push(", 'deliver', ")
                    .bind(payload.as_str())
                    .push(&format!(", {at}, {at}, "))
                    .bind(host.as_str())
                    .push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Hands a claimed job back untouched: unleased, due as before, and this
    /// claim not counted as an attempt (it was not tried). Records `host`
    /// for a delivery queued without one, and replaces the payload with
    /// `payload` when given (a delivery with some of its inboxes done).
    pub async fn release_job(
        &self,
        id: i64,
        host: Option<&str>,
        payload: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET locked_until = 0, attempts = attempts - 1, \
             host = coalesce(host, $2), payload = coalesce($3, payload) WHERE id = $1",
        )
        .bind(id)
        .bind(host)
        .bind(payload)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Deletes deliveries created before `before` (ms) that wait for a host
    /// still unavailable: they have waited as long as retries would have.
    /// Returns how many.
    pub async fn expire_parked_deliveries(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE kind = 'deliver' AND created_at < $1 AND host IN \
             (SELECT domain FROM hosts WHERE unavailable_until IS NOT NULL)",
        )
        .bind(before)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes a finished job.
    pub async fn complete_job(&self, id: i64) -> Result<(), StoreError> {
        self.complete_jobs(&[id]).await
    }

    /// Removes finished jobs, in one statement per 500.
    pub async fn complete_jobs(&self, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new("DELETE FROM jobs WHERE id IN (");
            sql.bind_list(chunk).push(")");
            sql.query().execute(&self.write).await?;
        }
        Ok(())
    }

    /// Reschedules a failed job for `run_at`, keeping the error, and
    /// replacing the payload with `payload` when given (a delivery that
    /// still owes only some of its inboxes).
    pub async fn retry_job(
        &self,
        id: i64,
        run_at: i64,
        error: &str,
        payload: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, locked_until = 0, last_error = $2, \
             payload = coalesce($4, payload) WHERE id = $3",
        )
        .bind(run_at)
        .bind(error)
        .bind(id)
        .bind(payload)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// How many jobs are due now, running ones included; deliveries parked
    /// for an unavailable host are not.
    pub async fn due_jobs(&self) -> Result<i64, StoreError> {
        let now = now_ms();
        let mut sql = Sql::new("SELECT count(*) FROM jobs WHERE run_at <= ");
        sql.bind(now)
            .push(" AND ")
            .push(HOST_AVAILABLE)
            .bind(now)
            .push("))");
        let row = sql.query().fetch_one(&self.write).await?;
        Ok(row.try_get(0)?)
    }
}
