//! Three Starling nodes federating over real HTTP on loopback, driven
//! through the client API: one author on A, followers on B and C. A post
//! reaches both; a reply from C reaches A's thread and notifies the author;
//! a followers-only post, and a direct message, reach only their audience.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::peers::settle;
use crate::support::{Db, TestNode};

/// `token`'s user on `node` looks `acct` up and follows it; returns the
/// account's id on `node`.
async fn follow(node: &TestNode, token: &str, acct: &str) -> String {
    let (status, account) = node
        .api(
            Method::GET,
            &format!("/api/v1/accounts/lookup?acct={acct}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    let (status, rel) = node
        .api_post(&format!("/api/v1/accounts/{id}/follow"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    id
}

/// The status with this `uri` in `token`'s home timeline on `node`.
async fn in_home(node: &TestNode, token: &str, uri: &Value) -> Option<Value> {
    let (status, home) = node.api_get("/api/v1/timelines/home", token).await;
    assert_eq!(status, StatusCode::OK, "{home}");
    home.as_array()
        .unwrap()
        .iter()
        .find(|s| &s["uri"] == uri)
        .cloned()
}

/// Whether `node` stored the status `uri` at all.
async fn stored(node: &TestNode, uri: &Value) -> bool {
    node.app
        .store()
        .status_by_uri(uri.as_str().unwrap())
        .await
        .unwrap()
        .is_some()
}

db_test!(a_post_a_reply_and_restricted_posts_across_three_nodes);
async fn a_post_a_reply_and_restricted_posts_across_three_nodes(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let c = TestNode::spawn(db).await;
    let all = [&a, &b, &c];
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, carol) = c.user_with_token("carol").await;
    let alice_acct = format!("alice@{}", a.domain);

    let _ = follow(&b, &bob, &alice_acct).await;
    let alice_on_c = follow(&c, &carol, &alice_acct).await;
    settle(&all).await;
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["followers_count"], 2, "{me}");

    // A public post reaches both followers' homes.
    let (_, post) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "hello from A"}),
        )
        .await;
    settle(&all).await;
    let on_b = in_home(&b, &bob, &post["uri"]).await;
    assert!(on_b.is_some(), "not in bob's home on B");
    let on_c = in_home(&c, &carol, &post["uri"])
        .await
        .expect("in carol's home on C");
    assert_eq!(on_c["account"]["acct"], alice_acct);

    // Carol replies from C, mentioning alice as apps do.
    let (status, reply) = c
        .api_post(
            "/api/v1/statuses",
            &carol,
            json!({
                "status": format!("@{alice_acct} greetings from C"),
                "in_reply_to_id": on_c["id"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    settle(&all).await;

    let post_id = post["id"].as_str().unwrap();
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{post_id}"), &alice)
        .await;
    assert_eq!(seen["replies_count"], 1, "{seen}");
    let (_, notes) = a.api_get("/api/v1/notifications", &alice).await;
    let mention = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "mention")
        .unwrap_or_else(|| panic!("no mention: {notes}"));
    assert_eq!(mention["account"]["acct"], format!("carol@{}", c.domain));
    assert_eq!(mention["status"]["uri"], reply["uri"]);
    assert_eq!(mention["status"]["in_reply_to_id"], post["id"]);
    let (_, thread) = a
        .api_get(&format!("/api/v1/statuses/{post_id}/context"), &alice)
        .await;
    let descendants: Vec<&Value> = thread["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["uri"])
        .collect();
    assert_eq!(descendants, vec![&reply["uri"]], "{thread}");
    // Carol's own thread view on C has the parent and her reply.
    let (_, thread) = c
        .api_get(
            &format!("/api/v1/statuses/{}/context", reply["id"].as_str().unwrap()),
            &carol,
        )
        .await;
    assert_eq!(thread["ancestors"][0]["uri"], post["uri"], "{thread}");

    // Carol stops following: a followers-only post reaches bob, and C never
    // even receives it.
    let (_, rel) = c
        .api_post(
            &format!("/api/v1/accounts/{alice_on_c}/unfollow"),
            &carol,
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], false, "{rel}");
    settle(&all).await;
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["followers_count"], 1, "{me}");
    let (_, private) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "for my followers only", "visibility": "private"}),
        )
        .await;
    settle(&all).await;
    let on_b = in_home(&b, &bob, &private["uri"])
        .await
        .expect("followers-only post in bob's home");
    assert_eq!(on_b["visibility"], "private");
    assert!(in_home(&c, &carol, &private["uri"]).await.is_none());
    assert!(
        !stored(&c, &private["uri"]).await,
        "C got a followers-only post"
    );

    // A direct message to carol reaches her alone, although bob follows alice.
    let (_, direct) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({
                "status": format!("@carol@{} just between us", c.domain),
                "visibility": "direct",
            }),
        )
        .await;
    settle(&all).await;
    let (_, notes) = c.api_get("/api/v1/notifications", &carol).await;
    let dm = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["status"]["uri"] == direct["uri"])
        .unwrap_or_else(|| panic!("carol was not told: {notes}"));
    assert_eq!(dm["status"]["visibility"], "direct");
    assert!(in_home(&b, &bob, &direct["uri"]).await.is_none());
    assert!(!stored(&b, &direct["uri"]).await, "B got a direct message");
}
