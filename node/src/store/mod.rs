//! All SQL of Starling, behind one [`Store`] that works on SQLite and
//! PostgreSQL alike.
//!
//! Queries go through sqlx's `Any` driver, written once in the SQL both
//! dialects share (`$1` placeholders, `lower()`, `coalesce()`, expression
//! indexes); where the dialects differ the store picks a statement per
//! [`Backend`] and nothing outside this module ever knows which one runs.
//!
//! Architecture invariant: SQLite writes are funnelled through one connection
//! (the `write` pool holds exactly one), in WAL mode with a busy timeout, so
//! "database is locked" never reaches a caller; reads use a separate read-only
//! pool. On PostgreSQL both handles are the same pool.
//!
//! Modules, one per aggregate: [`accounts`] (accounts and local users),
//! [`statuses`], [`instance`] (the instance actor's key), [`migrate`].

pub mod accounts;
pub mod collections;
pub mod conversations;
pub mod feeds;
pub mod filters;
pub mod hosts;
pub mod inbox_batch;
pub mod instance;
pub mod jobs;
pub mod lists;
pub mod markers;
pub mod migrate;
pub mod oauth;
pub mod remote;
pub mod removal;
pub mod search;
pub mod social;
pub mod sql;
pub mod statuses;
pub mod stream;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::config::DatabaseUrl;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (single process).
    Sqlite,
    /// PostgreSQL (any number of processes).
    Postgres,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed the operation.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A unique value (username, email, uri…) is already in use.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// The database could not be prepared (directory, schema version).
    #[error("cannot open the database: {0}")]
    Open(String),
}

/// The handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Which dialect `read` and `write` speak.
    backend: Backend,
    /// Reads. SQLite: several read-only connections. PostgreSQL: the pool.
    read: AnyPool,
    /// Writes and transactions. SQLite: exactly one connection (the funnel).
    /// PostgreSQL: the same pool as `read`.
    write: AnyPool,
    /// Status rows by id, each valid while its `version` is the row's.
    status_rows: std::sync::Arc<crate::cache::GenCache<i64, std::sync::Arc<statuses::DbStatus>>>,
    /// Mentions and tags by status id, each valid for one status version.
    status_extras: std::sync::Arc<crate::cache::GenCache<i64, statuses::CachedExtras>>,
    /// The inbox's group-commit writer (started on first use).
    inbox_writer: std::sync::Arc<inbox_batch::InboxWriter>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// How long a caller may wait for the SQLite write funnel or a pool slot.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens the database (creating an SQLite file and its directory if needed).
    /// Does not run migrations; see [`Store::migrate`].
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        match url {
            DatabaseUrl::Sqlite(path) => Self::connect_sqlite(path).await,
            DatabaseUrl::Postgres(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?;
                Ok(Store {
                    status_rows: Default::default(),
                    status_extras: Default::default(),
                    inbox_writer: Default::default(),
                    backend: Backend::Postgres,
                    read: pool.clone(),
                    write: pool,
                })
            }
        }
    }

    async fn connect_sqlite(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open(format!("{}: {e}", dir.display())))?;
        }
        let path = path.display();
        // synchronous=FULL: a post acknowledged with 200 survives a power cut,
        // not just a process crash.
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{path}?mode=rwc"))
            .await?;
        // Opening the writer first creates the file and switches it to WAL, so
        // the read-only connections below always find a WAL database.
        let read = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{path}?mode=ro"))
            .await?;
        let store = Store {
            status_rows: Default::default(),
            status_extras: Default::default(),
            inbox_writer: Default::default(),
            backend: Backend::Sqlite,
            read,
            write,
        };
        store.drop_stat4_samples().await?;
        Ok(store)
    }

    /// SQLite only: removes the `sqlite_stat4` samples an `ANALYZE` leaves
    /// (the bundled SQLite is built with STAT4), keeping the row counts in
    /// `sqlite_stat1`. With samples present, SQLite marks every prepared
    /// statement whose bound values might change its plan, and prepares it
    /// again on each execution with new bindings: that tripled the cost of a
    /// home timeline request. Run at startup, so an `ANALYZE` run by hand
    /// costs nothing after a restart; connections opened later load the
    /// statistics without samples (`ANALYZE sqlite_schema` reloads them).
    pub async fn drop_stat4_samples(&self) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let present: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'",
        )
        .fetch_optional(&self.write)
        .await?;
        if present.is_some() {
            sqlx::raw_sql("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for checked-out ones to come back).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

impl Store {
    /// Runs a paged query whose rows are `(cursor, id)` pairs, newest first.
    pub(crate) async fn fetch_pairs(
        &self,
        sql: sql::Sql,
        page: sql::Page,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] naming `what`.
fn conflict_as(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// Reads a flag column: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite.
fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
