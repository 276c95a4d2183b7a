//! Delivery health per remote host: the dead-host breaker's table.
//!
//! A host with no row is healthy. Failed deliveries count up in its row; when
//! the count and the time it has been failing both pass the thresholds, the
//! breaker trips (`unavailable_until` set) and the job claim skips the host's
//! deliveries (see [`super::jobs`]). After `unavailable_until` one delivery
//! may go as a probe ([`Store::take_probe`]). A success, or a signed request
//! from the host, deletes the row.
//!
//! The state is in the database so every process on it shares one view.

use sqlx::Row;

use super::{Store, StoreError};

/// What we know of a host that has been failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbHost {
    /// Consecutive failed deliveries.
    pub failures: i64,
    /// When the current run of failures began (ms).
    pub first_failure_at: i64,
    /// Until when deliveries are skipped (ms); `None` while still available.
    pub unavailable_until: Option<i64>,
}

/// When the breaker trips: thresholds and the probe interval, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// Trip after at least this many consecutive failures…
    pub failures: i64,
    /// …spanning at least this long.
    pub window_ms: i64,
    /// Then skip the host this long before one probe.
    pub probe_interval_ms: i64,
}

impl Store {
    /// The failure record of `domain`, if it has one.
    pub async fn host(&self, domain: &str) -> Result<Option<DbHost>, StoreError> {
        let row = sqlx::query(
            "SELECT failures, first_failure_at, unavailable_until FROM hosts WHERE domain = $1",
        )
        .bind(domain)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(DbHost {
                failures: r.try_get("failures")?,
                first_failure_at: r.try_get("first_failure_at")?,
                unavailable_until: r.try_get("unavailable_until")?,
            })
        })
        .transpose()
    }

    /// The failure records of those of `domains` that have one.
    pub async fn hosts_in(
        &self,
        domains: &[String],
    ) -> Result<std::collections::HashMap<String, DbHost>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for chunk in domains.chunks(500) {
            let mut sql = super::sql::Sql::new(
                "SELECT domain, failures, first_failure_at, unavailable_until FROM hosts \
                 WHERE domain IN (",
            );
            for (i, domain) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(domain.as_str());
            }
            sql.push(")");
            for r in sql.query().fetch_all(&self.read).await? {
                found.insert(
                    r.try_get("domain")?,
                    DbHost {
                        failures: r.try_get("failures")?,
                        first_failure_at: r.try_get("first_failure_at")?,
                        unavailable_until: r.try_get("unavailable_until")?,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Counts one failed delivery to `domain` at `now` and trips the breaker
    /// if `breaker` says so. Returns true when this failure tripped it.
    pub async fn record_host_failure(
        &self,
        domain: &str,
        now: i64,
        breaker: Breaker,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO hosts (domain, failures, first_failure_at, last_failure_at) \
             VALUES ($1, 1, $2, $2) ON CONFLICT (domain) DO UPDATE \
             SET failures = hosts.failures + 1, last_failure_at = $2",
        )
        .bind(domain)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let tripped = sqlx::query(
            "UPDATE hosts SET unavailable_until = $2 WHERE domain = $1 \
             AND unavailable_until IS NULL AND failures >= $3 AND first_failure_at <= $4",
        )
        .bind(domain)
        .bind(now + breaker.probe_interval_ms)
        .bind(breaker.failures)
        .bind(now - breaker.window_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(tripped)
    }

    /// Lets one delivery through to an unavailable host whose wait is over,
    /// and makes every other wait `probe_interval_ms` more. True for the one
    /// caller (in any process) that won the probe.
    pub async fn take_probe(
        &self,
        domain: &str,
        now: i64,
        probe_interval_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "UPDATE hosts SET unavailable_until = $3, last_probe_at = $2 \
             WHERE domain = $1 AND unavailable_until IS NOT NULL AND unavailable_until <= $2",
        )
        .bind(domain)
        .bind(now)
        .bind(now + probe_interval_ms)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(taken > 0)
    }

    /// Forgets the failures of `domain` (a delivery succeeded, or it sent us
    /// a signed request). True if there was something to forget.
    pub async fn host_recovered(&self, domain: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM hosts WHERE domain = $1")
            .bind(domain)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}
