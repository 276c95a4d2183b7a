//! The `fanout` job when it runs again: a worker that died after the feed
//! rows were committed, but before the job's end was recorded, leaves the job
//! to run a second time. That run must still do the rest of the post's work.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{Db, TestNode};

/// The ids of a page of statuses, or of the statuses of a page of
/// notifications.
fn ids(page: &Value) -> Vec<String> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let status = if s["status"].is_object() {
                &s["status"]
            } else {
                s
            };
            status["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

db_test!(a_fan_out_run_again_after_its_rows_committed_still_notifies_and_fills_every_feed);
async fn a_fan_out_run_again_after_its_rows_committed_still_notifies_and_fills_every_feed(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    let (_, dave) = node.user_with_token("dave").await;
    let alice_id = alice_user.account.id;
    let follow = format!("/api/v1/accounts/{alice_id}/follow");
    let (_, rel) = node.api_post(&follow, &bob, json!({"notify": true})).await;
    assert_eq!(rel["notifying"], true, "{rel}");
    node.api_post(&follow, &carol, json!({})).await;
    let (code, post) = node
        .api_post("/api/v1/statuses", &alice, json!({"status": "news!"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{post}");
    let post_id = post["id"].as_str().unwrap().to_owned();
    node.drain().await;

    // What a first run killed after its feed rows were committed leaves: the
    // rows, no notification yet, the job back once its lease runs out. Dave
    // follows in the meantime.
    node.db
        .execute(&format!(
            "DELETE FROM notifications WHERE account_id = {}",
            bob_user.account.id
        ))
        .await;
    node.api_post(&follow, &dave, json!({})).await;
    node.db
        .execute(&format!(
            "INSERT INTO jobs (id, kind, payload, run_at, created_at) \
             VALUES (1, 'fanout', '{{\"status_id\": {post_id}}}', 0, 0)"
        ))
        .await;
    node.drain().await;

    let (_, notes) = node
        .api_get("/api/v1/notifications?types[]=status", &bob)
        .await;
    assert_eq!(ids(&notes), vec![post_id.clone()], "bob is told, once");
    for (who, token) in [("bob", &bob), ("carol", &carol), ("dave", &dave)] {
        let (_, home) = node.api_get("/api/v1/timelines/home", token).await;
        assert_eq!(ids(&home), vec![post_id.clone()], "once in {who}'s feed");
    }
}
