//! Schema migrations: numbered SQL files per dialect under `migrations/`,
//! compiled into the binary, applied in order, each in its own transaction.
//!
//! On PostgreSQL an advisory lock makes concurrent starts (several processes
//! on one database) apply each migration exactly once.

use sqlx::Row;

use super::{Backend, Store, StoreError, now_ms};

/// One schema step, in both dialects.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, oldest first. Append only: a landed migration never changes.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../../../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "client_api",
        sqlite: include_str!("../../../migrations/sqlite/0002_client_api.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_client_api.sql"),
    },
    Migration {
        version: 3,
        name: "inbox",
        sqlite: include_str!("../../../migrations/sqlite/0003_inbox.sql"),
        postgres: include_str!("../../../migrations/postgres/0003_inbox.sql"),
    },
    Migration {
        version: 4,
        name: "delivery",
        sqlite: include_str!("../../../migrations/sqlite/0004_delivery.sql"),
        postgres: include_str!("../../../migrations/postgres/0004_delivery.sql"),
    },
    Migration {
        version: 5,
        name: "people",
        sqlite: include_str!("../../../migrations/sqlite/0005_people.sql"),
        postgres: include_str!("../../../migrations/postgres/0005_people.sql"),
    },
    Migration {
        version: 6,
        name: "read_paths",
        sqlite: include_str!("../../../migrations/sqlite/0006_read_paths.sql"),
        postgres: include_str!("../../../migrations/postgres/0006_read_paths.sql"),
    },
    Migration {
        version: 7,
        name: "reply_uri",
        sqlite: include_str!("../../../migrations/sqlite/0007_reply_uri.sql"),
        postgres: include_str!("../../../migrations/postgres/0007_reply_uri.sql"),
    },
    Migration {
        version: 8,
        name: "conversations",
        sqlite: include_str!("../../../migrations/sqlite/0008_conversations.sql"),
        postgres: include_str!("../../../migrations/postgres/0008_conversations.sql"),
    },
];

/// An arbitrary constant naming Starling's migration lock on PostgreSQL.
const PG_LOCK: &str = "DO $$ BEGIN PERFORM pg_advisory_lock(7140312202); END $$";
const PG_UNLOCK: &str = "DO $$ BEGIN PERFORM pg_advisory_unlock(7140312202); END $$";

impl Store {
    /// Applies every migration the database has not seen yet. Returns how many
    /// were applied. Refuses a database whose schema is newer than this binary.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.write.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::raw_sql(PG_LOCK).execute(&mut *conn).await?;
        }
        let result = self.migrate_locked(&mut conn).await;
        if self.backend == Backend::Postgres {
            sqlx::raw_sql(PG_UNLOCK).execute(&mut *conn).await?;
        }
        result
    }

    async fn migrate_locked(&self, conn: &mut sqlx::AnyConnection) -> Result<usize, StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
        if let Some(v) = applied.iter().find(|v| **v > newest_known) {
            return Err(StoreError::Open(format!(
                "the database has schema version {v}, newer than this starling ({newest_known}); \
                 run a newer starling"
            )));
        }
        let mut count = 0;
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let script = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::raw_sql(script).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            count += 1;
        }
        Ok(count)
    }
}
