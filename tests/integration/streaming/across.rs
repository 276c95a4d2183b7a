//! Streams fed from elsewhere: another server (federation) and, on
//! PostgreSQL, another process on the same database (LISTEN/NOTIFY).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::clients::{Sse, Ws};
use super::{follow, post};
use crate::db_test;
use crate::support::{Db, TestNode};

/// Runs both nodes' queues until neither has work.
async fn settle(a: &TestNode, b: &TestNode) {
    for _ in 0..4 {
        a.drain().await;
        b.drain().await;
    }
}

/// `follower` (token on `from`) follows `name` on `to`; returns the id
/// `from` gives that account.
async fn follow_remote(from: &TestNode, follower: &str, to: &TestNode, name: &str) -> String {
    let (status, account) = from
        .api(
            Method::GET,
            &format!("/api/v1/accounts/lookup?acct={name}@{}", to.domain),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    let (status, _) = from
        .api_post(
            &format!("/api/v1/accounts/{id}/follow"),
            follower,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    settle(from, to).await;
    id
}

db_test!(remote_replies_and_likes_reach_the_author_within_a_second);
async fn remote_replies_and_likes_reach_the_author_within_a_second(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    // Bob follows alice across nodes; her post reaches him by delivery.
    follow_remote(&b, &bob, &a, "alice").await;
    let mut bob_home = Ws::connect(&b, &format!("access_token={bob}&stream=user")).await;
    let mut alice_notes = Sse::open(&a, "user/notification", Some(&alice))
        .await
        .unwrap();
    let mut remote_public = Sse::open(&b, "public/remote", None).await.unwrap();
    let mut local_public = Ws::connect(&b, "stream=public:local").await;

    let posted = post(&a, &alice, json!({"status": "who likes this?"})).await;
    settle(&a, &b).await;
    let frame = bob_home.next().await;
    assert_eq!(
        frame["event"], "update",
        "a followed remote post streams home"
    );
    assert_eq!(
        frame["payload"]["account"]["acct"],
        format!("alice@{}", a.domain)
    );
    let remote_id = frame["payload"]["id"].as_str().unwrap().to_owned();
    let (_, data) = remote_public.next().await;
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap()["id"],
        remote_id.as_str()
    );

    // Bob likes it on his node: once his node has delivered the Like, alice's
    // stream has the notification within a second.
    let (status, _) = b
        .api_post(
            &format!("/api/v1/statuses/{remote_id}/favourite"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    b.drain().await;
    let delivered = Instant::now();
    let (event, data) = alice_notes.next().await;
    assert!(
        delivered.elapsed() < Duration::from_secs(1),
        "{:?}",
        delivered.elapsed()
    );
    assert_eq!(event, "notification");
    let n: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(n["type"], "favourite");
    assert_eq!(n["account"]["acct"], format!("bob@{}", b.domain));
    assert_eq!(n["status"]["id"], posted["id"]);

    // A reply from bob: a mention notification, the same way.
    post(
        &b,
        &bob,
        json!({"status": format!("@alice@{} me!", a.domain), "in_reply_to_id": remote_id}),
    )
    .await;
    b.drain().await;
    let delivered = Instant::now();
    let (event, data) = alice_notes.next().await;
    assert!(
        delivered.elapsed() < Duration::from_secs(1),
        "{:?}",
        delivered.elapsed()
    );
    assert_eq!(event, "notification");
    let n: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(n["type"], "mention");
    // Bob's own public reply is local on his node: the first thing on
    // `public:local` there (alice's post was remote).
    let frame = local_public.next().await;
    assert_eq!(frame["payload"]["account"]["acct"], "bob", "{frame}");
    assert_eq!(n["status"]["in_reply_to_id"], posted["id"]);
}

/// PostgreSQL only: two processes on one database; what happens through one
/// reaches a stream opened on the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_processes_on_postgres() {
    let a = TestNode::spawn(Db::Postgres).await;
    let domain = a.domain.clone();
    let b = TestNode::spawn_with(a.db.clone(), |c| c.domain = domain).await;
    let (alice, alice_token) = a.user_with_token("alice").await;
    let (_, bob_token) = a.user_with_token("bob").await;
    follow(&a, &bob_token, alice.account.id).await;
    let mut alice_on_b = Ws::connect(&b, &format!("access_token={alice_token}&stream=user")).await;

    let posted = post(&a, &alice_token, json!({"status": "like me"})).await;
    a.drain().await;
    let frame = alice_on_b.next().await;
    assert_eq!(frame["event"], "update");
    assert_eq!(frame["payload"]["id"], posted["id"]);

    // A favourite through process a notifies at once, in a's request.
    let id = posted["id"].as_str().unwrap();
    a.api_post(
        &format!("/api/v1/statuses/{id}/favourite"),
        &bob_token,
        json!({}),
    )
    .await;
    let frame = alice_on_b.next().await;
    assert_eq!(frame["event"], "notification", "{frame}");
    assert_eq!(frame["payload"]["type"], "favourite");
    assert_eq!(frame["payload"]["account"]["acct"], "bob");
}
