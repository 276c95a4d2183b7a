//! Entity caches never serve stale data: a change made through one process
//! shows on the next read through another process on the same database.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db_test;
use crate::support::{Db, TestNode};

db_test!(changes_through_one_process_show_at_once_on_another);
async fn changes_through_one_process_show_at_once_on_another(db: Db) {
    let a = TestNode::spawn(db).await;
    let domain = a.domain.clone();
    // A second process on the same database and domain.
    let b = TestNode::spawn_with(a.db.clone(), |c| c.domain = domain).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (status, _) = a
        .api_post("/api/v1/statuses", &alice, json!({"status": "first"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    a.drain().await;

    // b renders (and caches) alice's account.
    let (_, home) = b.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home[0]["account"]["display_name"], "");
    assert_eq!(home[0]["account"]["statuses_count"], 1);

    // Changes through a: a new display name, then a second post.
    let (status, _) = a
        .api(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
            Some(json!({"display_name": "Alice Liddell"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, home) = b.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home[0]["account"]["display_name"], "Alice Liddell");

    a.api_post("/api/v1/statuses", &alice, json!({"status": "second"}))
        .await;
    a.drain().await;
    let (_, home) = b.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home.as_array().map(Vec::len), Some(2));
    for status in home.as_array().unwrap() {
        assert_eq!(status["account"]["statuses_count"], 2, "{status}");
        assert_eq!(status["account"]["display_name"], "Alice Liddell");
    }

    // Status rows too: a favourite and an edit made through a show on b.
    let first = home[1]["id"].as_str().unwrap().to_owned();
    let (status, _) = a
        .api_post(
            &format!("/api/v1/statuses/{first}/favourite"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = a
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{first}"),
            Some(&alice),
            Some(json!({"status": "first, edited"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, home) = b.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home[1]["id"], first.as_str());
    assert_eq!(home[1]["favourites_count"], 1, "{}", home[1]);
    assert_eq!(home[1]["favourited"], true);
    assert_eq!(home[1]["content"], "<p>first, edited</p>");
    assert!(home[1]["edited_at"].is_string());

    // And a deletion through a removes it on b.
    let (status, _) = a
        .api(
            Method::DELETE,
            &format!("/api/v1/statuses/{first}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, home) = b.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home.as_array().map(Vec::len), Some(1));
    let (status, _) = b
        .api_get(&format!("/api/v1/statuses/{first}"), &alice)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// `viewer`'s home page, after checking each status on it reads as
/// `GET /api/v1/statuses/:id` shows it to the same viewer (rendered afresh).
async fn home_matches_single_reads(node: &TestNode, viewer: &str) -> Vec<serde_json::Value> {
    let (status, home) = node.api_get("/api/v1/timelines/home", viewer).await;
    assert_eq!(status, StatusCode::OK);
    let home = home.as_array().expect("a list").clone();
    for item in &home {
        let id = item["id"].as_str().expect("id");
        let (_, alone) = node
            .api_get(&format!("/api/v1/statuses/{id}"), viewer)
            .await;
        assert_eq!(*item, alone, "home and the status read alone differ");
    }
    home
}

db_test!(home_pages_read_as_each_status_alone_for_every_viewer);
async fn home_pages_read_as_each_status_alone_for_every_viewer(db: Db) {
    // Home pages reuse a status's rendering across viewers who have not
    // touched it; one viewer's favourite, boost or bookmark must never show
    // for another, and every change must show at once.
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    let (_, dave) = node.user_with_token("dave").await;
    for token in [&bob, &carol] {
        let (_, found) = node
            .api_get("/api/v1/accounts/lookup?acct=alice", token)
            .await;
        let alice_id = found["id"].as_str().unwrap().to_owned();
        let (status, _) = node
            .api_post(
                &format!("/api/v1/accounts/{alice_id}/follow"),
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "hello @dave, see #Birds", "spoiler_text": "cw"}),
        )
        .await;
    let id = post["id"].as_str().unwrap().to_owned();
    node.drain().await;
    home_matches_single_reads(&node, &bob).await;
    assert_eq!(home_matches_single_reads(&node, &carol).await.len(), 1);

    // bob flags it: his page shows his flags, carol's still none.
    for action in ["favourite", "bookmark", "reblog"] {
        let (status, _) = node
            .api_post(&format!("/api/v1/statuses/{id}/{action}"), &bob, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{action}");
    }
    node.drain().await;
    let (_, home) = node.api_get("/api/v1/timelines/home", &carol).await;
    let original = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("carol sees the post")
        .clone();
    assert_eq!(original["favourited"], false);
    assert_eq!(original["bookmarked"], false);
    assert_eq!(original["reblogged"], false);
    assert_eq!(original["favourites_count"], 1, "counts are current");
    assert_eq!(original["reblogs_count"], 1);
    home_matches_single_reads(&node, &bob).await;
    assert_eq!(home_matches_single_reads(&node, &carol).await.len(), 1);

    // The author's profile and the post change: both pages follow.
    node.api(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&alice),
        Some(json!({"display_name": "Alice"})),
    )
    .await;
    node.api(
        Method::PUT,
        &format!("/api/v1/statuses/{id}"),
        Some(&alice),
        Some(json!({"status": "hello again"})),
    )
    .await;
    let (_, home) = node.api_get("/api/v1/timelines/home", &carol).await;
    assert_eq!(home[0]["account"]["display_name"], "Alice");
    assert_eq!(home[0]["content"], "<p>hello again</p>");
    assert_eq!(home_matches_single_reads(&node, &carol).await.len(), 1);
    home_matches_single_reads(&node, &bob).await;

    // bob takes his flags back; his page is plain again.
    for action in ["unfavourite", "unbookmark"] {
        node.api_post(&format!("/api/v1/statuses/{id}/{action}"), &bob, json!({}))
            .await;
    }
    let home = home_matches_single_reads(&node, &bob).await;
    let original = home
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("bob sees the post");
    assert_eq!(original["favourited"], false);
    assert_eq!(original["bookmarked"], false);
    // dave follows nobody: his home stays empty.
    assert!(home_matches_single_reads(&node, &dave).await.is_empty());
}
