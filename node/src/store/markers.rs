//! Saved read positions (`markers`): one row per account and timeline name.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::sql::Sql;
use super::{Store, StoreError};

/// A saved read position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbMarker {
    /// The timeline's name (`home`, `notifications`).
    pub timeline: String,
    /// The id of the last item read.
    pub last_read_id: i64,
    /// 0 when first saved, +1 on every change.
    pub version: i64,
    /// When it last changed, ms.
    pub updated_at: i64,
}

fn marker_from_row(row: &AnyRow) -> Result<DbMarker, sqlx::Error> {
    Ok(DbMarker {
        timeline: row.try_get("timeline")?,
        last_read_id: row.try_get("last_read_id")?,
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// The markers `account_id` saved for these timelines (those never saved
    /// are absent), ordered by timeline name.
    pub async fn markers(
        &self,
        account_id: i64,
        timelines: &[&str],
    ) -> Result<Vec<DbMarker>, StoreError> {
        if timelines.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT timeline, last_read_id, version, updated_at FROM markers \
             WHERE account_id = ",
        );
        sql.bind(account_id).push(" AND timeline IN (");
        for (i, timeline) in timelines.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*timeline);
        }
        sql.push(") ORDER BY timeline");
        let rows = sql.query().fetch_all(&self.read).await?;
        Ok(rows.iter().map(marker_from_row).collect::<Result<_, _>>()?)
    }

    /// Saves positions for several timelines at once (all or none) and returns
    /// them as stored. A new marker starts at version 0; moving one bumps its
    /// version and time, while saving the same id again changes nothing, as
    /// Mastodon's optimistic lock does.
    pub async fn save_markers(
        &self,
        account_id: i64,
        positions: &[(&str, i64)],
        now: i64,
    ) -> Result<Vec<DbMarker>, StoreError> {
        let mut tx = self.write.begin().await?;
        for (timeline, last_read_id) in positions {
            sqlx::query(
                "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) \
                 VALUES ($1, $2, $3, 0, $4) \
                 ON CONFLICT (account_id, timeline) DO UPDATE SET \
                 last_read_id = excluded.last_read_id, version = markers.version + 1, \
                 updated_at = excluded.updated_at \
                 WHERE markers.last_read_id <> excluded.last_read_id",
            )
            .bind(account_id)
            .bind(*timeline)
            .bind(*last_read_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut saved = Vec::with_capacity(positions.len());
        for (timeline, _) in positions {
            let row = sqlx::query(
                "SELECT timeline, last_read_id, version, updated_at FROM markers \
                 WHERE account_id = $1 AND timeline = $2",
            )
            .bind(account_id)
            .bind(*timeline)
            .fetch_one(&mut *tx)
            .await?;
            saved.push(marker_from_row(&row)?);
        }
        tx.commit().await?;
        saved.sort_by(|a, b| a.timeline.cmp(&b.timeline));
        saved.dedup_by(|a, b| a.timeline == b.timeline);
        Ok(saved)
    }
}
