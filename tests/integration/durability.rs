//! Crash durability: a node is killed (SIGKILL) in the middle of delivering
//! one post to 200 remote inboxes on 200 loopback hosts; after a restart on
//! the same database every inbox gets the post. Duplicates are allowed (a
//! delivery answered just before the kill may go again), losses are not,
//! and every copy carries the same activity id, which is what receivers
//! dedupe by.

mod inboxes;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::process::{Server, WorkDir, starling};
use crate::support::{Db, TestNode};
use inboxes::Inboxes;

const FOLLOWERS: usize = 200;
/// `Create`s answered before the inboxes start hanging and the node is killed.
const BEFORE_KILL: usize = 60;

/// Waits until `check` holds, failing the test after `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

db_test!(a_post_reaches_every_inbox_after_a_kill_mid_delivery);
async fn a_post_reaches_every_inbox_after_a_kill_mid_delivery(db: Db) {
    // 200 remote followers, each on its own host, gained through signed
    // Follows to a node running in this process.
    let inboxes = Inboxes::start(FOLLOWERS).await;
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let alice_uri = format!("{}/users/alice", node.base);
    let answers = inboxes.follow(&node.base, &node.domain, &alice_uri).await;
    assert!(
        answers.iter().all(|s| *s == StatusCode::ACCEPTED),
        "{answers:?}"
    );
    node.drain().await;
    let (_, me) = node
        .api_get("/api/v1/accounts/verify_credentials", &token)
        .await;
    assert_eq!(me["followers_count"], FOLLOWERS, "{me}");
    assert_eq!(me["id"], alice.account.id.to_string());
    let domain = node.domain.clone();
    let db = node.stop().await;

    // The node again, as the real binary, with short leases so a killed
    // process's jobs come back in seconds rather than minutes.
    let dir = WorkDir::new();
    let process = || {
        let mut cmd = starling(&dir.0, Some(&db));
        cmd.env("STARLING_DATABASE_URL", db.url_string())
            .env("STARLING_DOMAIN", &domain)
            .env("STARLING_JOB_LEASE_SECONDS", "1");
        cmd
    };
    let server = Server::start(process());
    inboxes.hang_after(BEFORE_KILL);
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v1/statuses", server.port))
        .bearer_auth(&token)
        .json(&json!({"status": "this must reach everyone"}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let post: Value = response.json().await.expect("json");

    // Mid-delivery: some inboxes have it, more requests are in flight.
    eventually("deliveries under way", Duration::from_secs(20), || {
        inboxes.creates().len() == BEFORE_KILL && inboxes.hung() > 0
    })
    .await;
    server.kill();
    let before_restart: HashSet<String> = inboxes.creates().into_keys().collect();
    assert_eq!(before_restart.len(), BEFORE_KILL, "killed mid-delivery");

    inboxes.open();
    let restarted = Server::start(process());
    eventually(
        "every inbox gets the post after the restart",
        Duration::from_secs(30),
        || inboxes.creates().len() == FOLLOWERS,
    )
    .await;
    let creates = inboxes.creates();
    let ids: HashSet<&str> = creates
        .values()
        .flatten()
        .map(|c| c["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "one activity id, so receivers dedupe: {ids:?}"
    );
    for (host, received) in &creates {
        for create in received {
            assert_eq!(create["object"]["id"], post["uri"], "{host}: {create}");
            assert!(
                create["object"]["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("this must reach everyone")),
                "{host}: {create}"
            );
        }
    }
    assert!(restarted.terminate().success());
}
