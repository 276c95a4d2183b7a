//! Storage behaviour a user relies on: unique names, keys that survive a
//! restart, migrations that apply once, writes that never hit "database is
//! locked".

use reqwest::StatusCode;
use starling_node::config::Config;
use starling_node::service::accounts::{CreateUserError, NewUser, create_local_user};
use starling_node::store::Store;

use crate::db_test;
use crate::support::{AS_JSON, Db, TestDb, TestNode};

fn new_user(username: &str, email: &str) -> NewUser {
    NewUser {
        username: username.into(),
        email: email.into(),
        password: "long enough password".into(),
        admin: false,
    }
}

db_test!(usernames_and_emails_are_unique_ignoring_case);
async fn usernames_and_emails_are_unique_ignoring_case(db: Db) {
    let node = TestNode::spawn(db).await;
    create_local_user(&node.app, new_user("Alice", "alice@example.com"))
        .await
        .unwrap();
    let err = create_local_user(&node.app, new_user("aLiCe", "other@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::Taken("username")), "{err:?}");
    let err = create_local_user(&node.app, new_user("bob", "ALICE@example.COM"))
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::Taken("email")), "{err:?}");
    let err = create_local_user(&node.app, new_user("-bob", "bob@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::Invalid(_)), "{err:?}");

    let users = node.app.store().local_users().await.unwrap();
    assert_eq!(users.len(), 1, "failed attempts leave nothing behind");
    // Lookups ignore case but keep the registered spelling.
    let (status, actor) = node.get_json("/users/ALICE", AS_JSON).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["preferredUsername"], "Alice");
}

db_test!(keys_survive_a_restart);
async fn keys_survive_a_restart(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let (_, before) = node.get_json("/users/alice", AS_JSON).await;
    let (_, instance_before) = node.get_json("/actor", AS_JSON).await;
    let db = node.stop().await;

    let node = TestNode::spawn_on(db).await;
    let (status, after) = node.get_json("/users/alice", AS_JSON).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        after["publicKey"]["publicKeyPem"],
        before["publicKey"]["publicKeyPem"]
    );
    let (_, instance_after) = node.get_json("/actor", AS_JSON).await;
    assert_eq!(
        instance_after["publicKey"]["publicKeyPem"],
        instance_before["publicKey"]["publicKeyPem"]
    );
}

db_test!(migrations_apply_once_and_refuse_a_newer_schema);
async fn migrations_apply_once_and_refuse_a_newer_schema(db: Db) {
    let test_db = TestDb::new(db).await;
    let store = Store::connect(&test_db.url).await.unwrap();
    assert!(store.migrate().await.unwrap() >= 1);
    assert_eq!(
        store.migrate().await.unwrap(),
        0,
        "second run applies nothing"
    );
    // Two processes starting at once both succeed and apply nothing twice.
    let other = Store::connect(&test_db.url).await.unwrap();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    other.close().await;

    test_db
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
        )
        .await;
    let err = store.migrate().await.unwrap_err().to_string();
    assert!(err.contains("newer than this starling"), "{err}");
    store.close().await;
}

db_test!(concurrent_sign_ups_all_land);
async fn concurrent_sign_ups_all_land(db: Db) {
    let node = TestNode::spawn(db).await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let app = node.app.clone();
            tokio::spawn(async move {
                create_local_user(
                    &app,
                    new_user(&format!("user{i}"), &format!("u{i}@example.com")),
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("no write may fail under concurrency");
    }
    let users = node.app.store().local_users().await.unwrap();
    assert_eq!(users.len(), 24);
    // Ids are unique and time-ordered (the listing is by id).
    assert!(users.windows(2).all(|w| w[0].account.id < w[1].account.id));
    let (_, info) = node.get_json("/nodeinfo/2.0", "application/json").await;
    assert_eq!(info["usage"]["users"]["total"], 24);
}

db_test!(a_fresh_database_gets_its_schema_at_start);
async fn a_fresh_database_gets_its_schema_at_start(db: Db) {
    // App::build on an empty database migrates it: the node is usable at once.
    let test_db = TestDb::new(db).await;
    let config = Config::dev(
        "localhost:1",
        "127.0.0.1:1".parse().unwrap(),
        test_db.url.clone(),
    );
    let app = starling_node::app::App::build(config).await.unwrap();
    assert_eq!(app.store().migrate().await.unwrap(), 0);
    assert!(app.store().local_users().await.unwrap().is_empty());
    app.store().close().await;
}

db_test!(sqlite_statistics_samples_are_dropped_at_start);
async fn sqlite_statistics_samples_are_dropped_at_start(db: Db) {
    // An ANALYZE run by hand leaves STAT4 samples, which make SQLite prepare
    // statements again on every execution; a (re)started node drops them and
    // keeps the row counts. PostgreSQL has nothing of the kind.
    let test_db = TestDb::new(db).await;
    let store = Store::connect(&test_db.url).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let starling_node::config::DatabaseUrl::Sqlite(path) = &test_db.url else {
        let store = Store::connect(&test_db.url).await.unwrap();
        store.drop_stat4_samples().await.unwrap();
        return;
    };
    let url = format!("sqlite://{}", path.display());
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    let count = |table: &'static str| {
        let raw = raw.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table}"
            )))
            .fetch_one(&raw)
            .await
            .unwrap()
        }
    };
    sqlx::raw_sql(
        "CREATE TABLE t (x INTEGER); CREATE INDEX t_x ON t (x); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
         INSERT INTO t SELECT i % 7 FROM n; ANALYZE;",
    )
    .execute(&raw)
    .await
    .unwrap();
    assert!(count("sqlite_stat4").await > 0, "ANALYZE wrote samples");

    let store = Store::connect(&test_db.url).await.unwrap();
    assert_eq!(count("sqlite_stat4").await, 0, "the samples are gone");
    assert!(count("sqlite_stat1").await > 0, "the row counts stay");
    store.close().await;
    raw.close().await;
}

db_test!(requests_after_the_database_dropped_idle_connections_succeed);
/// The database ends the node's connections while they sit idle (a
/// PostgreSQL restart, a proxy's idle timeout; SQLite has none to end, so
/// there it is just the requests): the next requests are served as if
/// nothing happened, because a pooled connection is checked before it is
/// used.
async fn requests_after_the_database_dropped_idle_connections_succeed(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, token) = node.user_with_token("alice").await;
    let (status, _) = node.api_get("/api/v1/timelines/home", &token).await;
    assert_eq!(status, StatusCode::OK);
    if db == Db::Postgres {
        node.db
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for path in [
        "/api/v1/timelines/home",
        "/api/v1/accounts/verify_credentials",
        "/api/v1/notifications",
    ] {
        let (status, body) = node.api_get(path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}
