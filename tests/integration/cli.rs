//! The `starling` binary as an admin uses it: zero-config start, user
//! management, migrations, bad configuration, graceful shutdown.

use serde_json::Value;

use crate::db_test;
use crate::process::{Server, WorkDir, run, starling, text};
use crate::support::{Db, TestDb};

async fn get_json(port: u16, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

db_test!(zero_config_serve_finds_users_and_keeps_keys_across_restarts);
async fn zero_config_serve_finds_users_and_keeps_keys_across_restarts(db: Db) {
    let dir = WorkDir::new();
    let test_db = TestDb::new(db).await;
    let out = run(starling(&dir.0, Some(&test_db)).args([
        "admin",
        "create-user",
        "alice",
        "--email",
        "alice@example.com",
        "--password",
        "hunter2hunter2",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created user alice"));
    if db == Db::Sqlite {
        assert!(
            dir.0.join("starling-data/starling.db").exists(),
            "default database location"
        );
    }

    let server = Server::start(starling(&dir.0, Some(&test_db)));
    // Zero config: the domain is localhost:8080 whatever port we bound for the test.
    let jrd = get_json(
        server.port,
        "/.well-known/webfinger?resource=acct:alice@localhost:8080",
    )
    .await;
    assert_eq!(jrd["subject"], "acct:alice@localhost:8080");
    let actor = get_json(server.port, "/users/alice").await;
    assert_eq!(actor["id"], "http://localhost:8080/users/alice");
    let key = actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("-----BEGIN PUBLIC KEY-----"));
    let info = get_json(server.port, "/nodeinfo/2.1").await;
    assert_eq!(info["usage"]["users"]["total"], 1);
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    let server = Server::start(starling(&dir.0, Some(&test_db)));
    let actor = get_json(server.port, "/users/alice").await;
    assert_eq!(
        actor["publicKey"]["publicKeyPem"],
        key.as_str(),
        "same key after restart"
    );
    assert!(server.terminate().success());
}

db_test!(create_user_refuses_duplicates_and_bad_names);
async fn create_user_refuses_duplicates_and_bad_names(db: Db) {
    let dir = WorkDir::new();
    let test_db = TestDb::new(db).await;
    let create = |name: &str, email: &str| {
        run(starling(&dir.0, Some(&test_db)).args([
            "admin",
            "create-user",
            name,
            "--email",
            email,
            "--password",
            "correct horse",
        ]))
    };
    let out = create("alice", "alice@example.com");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(starling(&dir.0, Some(&test_db)).args([
        "admin",
        "create-user",
        "root",
        "--email",
        "root@example.com",
        "--password",
        "correct horse",
        "--admin",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));

    for (name, email, expect) in [
        ("ALICE", "other@example.com", "username is already taken"),
        ("carol", "Alice@Example.com", "email is already taken"),
        ("bad name", "x@example.com", "may only contain"),
        (".dot", "y@example.com", "must start and end"),
        (
            "waytoolongusernamewaytoolongusername",
            "z@example.com",
            "longer than 30",
        ),
        ("dave", "not-an-email", "not a valid email"),
    ] {
        let out = create(name, email);
        assert!(!out.status.success(), "{name} should be refused");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{name}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }

    let out = run(starling(&dir.0, Some(&test_db)).args(["admin", "list-users"]));
    assert!(out.status.success());
    let listing = text(&out.stdout);
    let rows: Vec<&str> = listing.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{listing}");
    assert!(
        rows[0].contains("alice") && rows[0].contains(" no "),
        "{listing}"
    );
    assert!(
        rows[1].contains("root") && rows[1].contains(" yes "),
        "{listing}"
    );
}

db_test!(migrate_applies_the_schema_once);
async fn migrate_applies_the_schema_once(db: Db) {
    let dir = WorkDir::new();
    let test_db = TestDb::new(db).await;
    let out = run(starling(&dir.0, Some(&test_db)).arg("migrate"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("applied 0 "),
        "{}",
        text(&out.stdout)
    );
    let out = run(starling(&dir.0, Some(&test_db)).arg("migrate"));
    assert!(
        text(&out.stdout).contains("applied 0 migration"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn bad_configuration_is_one_line_naming_the_key() {
    let dir = WorkDir::new();
    for (key, value) in [
        ("STARLING_BIND", "nowhere"),
        ("STARLING_DOMAIN", "http://example.com/"),
        ("STARLING_DATABASE_URL", "mysql://localhost/x"),
        ("STARLING_DEV", "perhaps"),
    ] {
        let out = run(starling(&dir.0, None).env(key, value).arg("serve"));
        assert!(!out.status.success(), "{key}={value}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: invalid configuration: {key}: ")),
            "{err}"
        );
    }
    let config = dir.0.join("starling.toml");
    std::fs::write(&config, "domain = \"social.example\"\nport = 80\n").unwrap();
    let out = run(starling(&dir.0, None)
        .arg("--config")
        .arg(&config)
        .arg("serve"));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("port") && err.contains("starling.toml"),
        "{err}"
    );
    assert!(
        !dir.0.join("starling-data").exists(),
        "nothing created on a config error"
    );
}

#[test]
fn config_file_sets_the_domain() {
    let dir = WorkDir::new();
    let config = dir.0.join("starling.toml");
    std::fs::write(
        &config,
        "domain = \"social.example\"\ndatabase_url = \"sqlite://node.db\"\n",
    )
    .unwrap();
    let out = run(starling(&dir.0, None).arg("--config").arg(&config).args([
        "admin",
        "create-user",
        "alice",
        "--email",
        "a@example.com",
        "--password",
        "hunter2hunter2",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Not a local domain: dev mode is off, so ids are https.
    assert!(
        text(&out.stdout).contains("https://social.example/users/alice"),
        "{}",
        text(&out.stdout)
    );
    assert!(dir.0.join("node.db").exists());
}
