//! Seeding SQL shared by the benchmarks.

use sqlx::AnyPool;
use starling_node::config::DatabaseUrl;

/// Runs SQL text; `TRUE`/`FALSE` become 1/0 on SQLite.
pub async fn exec(pool: &AnyPool, db: &DatabaseUrl, sql: String) {
    let sql = if matches!(db, DatabaseUrl::Sqlite(_)) {
        sql.replace("TRUE", "1").replace("FALSE", "0")
    } else {
        sql
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .expect("seed sql");
}
