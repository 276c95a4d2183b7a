//! Reaching the benchmarks' databases.

use sqlx::AnyPool;
use starling_node::config::DatabaseUrl;

/// Runs `sql` on a fresh connection to `url` (creating and dropping the
/// benchmark's PostgreSQL database).
pub async fn admin_sql(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("postgres");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .expect("admin sql");
    pool.close().await;
}

/// The sqlx URL of `db`.
pub fn url_of(db: &DatabaseUrl) -> String {
    match db {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}
