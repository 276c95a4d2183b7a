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
