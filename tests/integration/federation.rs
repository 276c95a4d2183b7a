//! Two Starling nodes federating over real HTTP on loopback, driven through
//! the client API as their users would.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db_test;
use crate::peers::settle;
use crate::support::{Db, TestNode};

db_test!(following_a_remote_account_brings_its_posts_home);
async fn following_a_remote_account_brings_its_posts_home(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;

    // Alice finds bob by his handle (WebFinger, then his actor document).
    let (status, remote_bob) = a
        .api(
            Method::GET,
            &format!("/api/v1/accounts/lookup?acct=bob@{}", b.domain),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{remote_bob}");
    assert_eq!(remote_bob["acct"], format!("bob@{}", b.domain));
    let remote_id = remote_bob["id"].as_str().unwrap().to_owned();

    let (_, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{remote_id}/follow"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(rel["requested"], true, "pending until bob's server accepts");
    settle(&[&a, &b]).await;
    let (_, rels) = a
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={remote_id}"),
            &alice,
        )
        .await;
    assert_eq!(rels[0]["following"], true, "{rels}");
    let (_, bob_me) = b.api_get("/api/v1/accounts/verify_credentials", &bob).await;
    assert_eq!(bob_me["followers_count"], 1);

    let (_, post) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "hello fediverse <b>#news</b>"}),
        )
        .await;
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", &alice).await;
    let first = &home[0];
    assert_eq!(
        first["account"]["acct"],
        format!("bob@{}", b.domain),
        "{home}"
    );
    assert!(
        first["content"]
            .as_str()
            .unwrap()
            .contains("hello fediverse")
    );
    assert!(
        !first["content"].as_str().unwrap().contains("<b>"),
        "remote markup never survives: {}",
        first["content"]
    );
    assert_eq!(first["uri"], post["uri"], "the same object on both servers");

    // Alice likes and boosts it: bob's server counts and tells him.
    let remote_post = first["id"].as_str().unwrap().to_owned();
    a.api_post(
        &format!("/api/v1/statuses/{remote_post}/favourite"),
        &alice,
        json!({}),
    )
    .await;
    let (code, boost) = a
        .api_post(
            &format!("/api/v1/statuses/{remote_post}/reblog"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{boost}");
    settle(&[&a, &b]).await;
    let (_, on_b) = b
        .api_get(
            &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
            &bob,
        )
        .await;
    assert_eq!(on_b["favourites_count"], 1, "{on_b}");
    assert_eq!(on_b["reblogs_count"], 1, "{on_b}");
    let (_, notes) = b.api_get("/api/v1/notifications", &bob).await;
    let kinds: Vec<(String, String)> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap().to_owned(),
                n["account"]["acct"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let alice_acct = format!("alice@{}", a.domain);
    for kind in ["follow", "favourite", "reblog"] {
        assert!(
            kinds.contains(&(kind.to_owned(), alice_acct.clone())),
            "{kind}: {kinds:?}"
        );
    }
    // Undoing them is heard too.
    a.api_post(
        &format!("/api/v1/statuses/{remote_post}/unfavourite"),
        &alice,
        json!({}),
    )
    .await;
    a.api_post(
        &format!("/api/v1/statuses/{remote_post}/unreblog"),
        &alice,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, on_b) = b
        .api_get(
            &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
            &bob,
        )
        .await;
    assert_eq!(on_b["favourites_count"], 0, "{on_b}");
    assert_eq!(on_b["reblogs_count"], 0, "{on_b}");

    // A followers-only post reaches alice too; a direct one to someone else does not.
    b.api_post(
        "/api/v1/statuses",
        &bob,
        json!({"status": "followers only", "visibility": "private"}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home[0]["visibility"], "private", "{home}");
    assert!(
        home[0]["content"]
            .as_str()
            .unwrap()
            .contains("followers only")
    );

    // Bob edits, then deletes, his first post: alice's server follows.
    let on_b_id = post["id"].as_str().unwrap();
    let (code, _) = b
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{on_b_id}"),
            Some(&bob),
            Some(json!({"status": "hello, edited"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b]).await;
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{remote_post}"), &alice)
        .await;
    assert!(
        seen["content"].as_str().unwrap().contains("hello, edited"),
        "{seen}"
    );
    assert!(seen["edited_at"].is_string());
    b.api(
        Method::DELETE,
        &format!("/api/v1/statuses/{on_b_id}"),
        Some(&bob),
        None,
    )
    .await;
    settle(&[&a, &b]).await;
    let (code, _) = a
        .api_get(&format!("/api/v1/statuses/{remote_post}"), &alice)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "deleted remotely");

    // Unfollowing stops further posts.
    a.api_post(
        &format!("/api/v1/accounts/{remote_id}/unfollow"),
        &alice,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, bob_me) = b.api_get("/api/v1/accounts/verify_credentials", &bob).await;
    assert_eq!(bob_me["followers_count"], 0);
    b.api_post(
        "/api/v1/statuses",
        &bob,
        json!({"status": "after the unfollow"}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", &alice).await;
    assert!(home.as_array().unwrap().iter().all(|s| {
        !s["content"]
            .as_str()
            .unwrap()
            .contains("after the unfollow")
    }));
}
