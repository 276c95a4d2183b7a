//! Posting and reading statuses through the client API: rendering, threads,
//! interactions, edits, deletes, idempotency, and the visibility rules.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{Db, TestNode};

async fn post(node: &TestNode, token: &str, body: Value) -> Value {
    let (status, created) = node.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("string id").to_owned()
}

db_test!(a_post_renders_as_mastodon_renders_it);
async fn a_post_renders_as_mastodon_renders_it(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    node.create_user("bob").await;
    let status = post(&node, &alice, json!({"status": "Hi @bob, see https://example.com/page #Rust <b>bold</b>", "language": "en"})).await;

    let content = status["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p>") && content.ends_with("</p>"),
        "{content}"
    );
    assert!(
        content.contains(&format!(
            "href=\"{}/@bob\" class=\"u-url mention\"",
            node.base
        )),
        "{content}"
    );
    assert!(
        content.contains("class=\"mention hashtag\" rel=\"tag\">#<span>Rust</span>"),
        "{content}"
    );
    assert!(
        content.contains("href=\"https://example.com/page\""),
        "{content}"
    );
    assert!(
        content.contains("&lt;b&gt;bold&lt;/b&gt;") && !content.contains("<b>"),
        "{content}"
    );
    assert_eq!(status["mentions"][0]["acct"], "bob");
    assert_eq!(status["tags"][0]["name"], "rust");
    assert_eq!(status["visibility"], "public");
    assert_eq!(status["language"], "en");
    assert_eq!(status["account"]["username"], "alice");
    assert_eq!(status["application"]["name"], "test client");
    // Entity shape clients rely on.
    assert!(status["id"].is_string());
    let created = status["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    for key in ["in_reply_to_id", "reblog", "card", "poll", "edited_at"] {
        assert!(status[key].is_null(), "{key} must be null");
    }
    assert_eq!(status["favourited"], false);
    assert!(
        status["account"]["avatar"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    let avatar = node
        .http
        .get(status["account"]["avatar"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(avatar.status(), StatusCode::OK);
    assert_eq!(avatar.headers()["content-type"], "image/png");

    // Anyone can read a public post, without a token.
    let (code, fetched) = node
        .api(
            Method::GET,
            &format!("/api/v1/statuses/{}", id(&status)),
            None,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(fetched["content"], status["content"]);
    assert!(
        fetched.get("favourited").is_none(),
        "no viewer flags for anonymous readers"
    );

    // Blank and overlong posts are refused.
    for body in [json!({"status": "   "}), json!({"status": "x".repeat(501)})] {
        let (code, error) = node.api_post("/api/v1/statuses", &alice, body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("Validation failed")
        );
    }
}

db_test!(form_bodies_and_idempotency_keys);
async fn form_bodies_and_idempotency_keys(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let send = || {
        node.http
            .post(format!("{}/api/v1/statuses", node.base))
            .bearer_auth(&alice)
            .header("Idempotency-Key", "abc-123")
            .form(&[
                ("status", "once only"),
                ("visibility", "unlisted"),
                ("sensitive", "true"),
                ("spoiler_text", "cw"),
            ])
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], second["id"], "same key, same status");
    assert_eq!(first["visibility"], "unlisted");
    assert_eq!(first["sensitive"], true);
    assert_eq!(first["spoiler_text"], "cw");
    let (_, me) = node
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["statuses_count"], 1);
}

db_test!(replies_form_threads_and_notify);
async fn replies_form_threads_and_notify(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let root = post(&node, &alice, json!({"status": "root"})).await;
    let reply = post(
        &node,
        &bob,
        json!({"status": "@alice a reply", "in_reply_to_id": id(&root)}),
    )
    .await;
    assert_eq!(reply["in_reply_to_id"], root["id"]);
    assert_eq!(reply["in_reply_to_account_id"], root["account"]["id"]);
    let nested = post(
        &node,
        &alice,
        json!({"status": "@bob nested", "in_reply_to_id": id(&reply)}),
    )
    .await;
    node.drain().await;

    let (_, context) = node
        .api_get(&format!("/api/v1/statuses/{}/context", id(&reply)), &alice)
        .await;
    assert_eq!(context["ancestors"].as_array().unwrap().len(), 1);
    assert_eq!(context["ancestors"][0]["id"], root["id"]);
    assert_eq!(context["descendants"][0]["id"], nested["id"]);
    let (_, context) = node
        .api_get(&format!("/api/v1/statuses/{}/context", id(&root)), &bob)
        .await;
    assert_eq!(context["descendants"].as_array().unwrap().len(), 2);
    let (_, root_now) = node
        .api_get(&format!("/api/v1/statuses/{}", id(&root)), &bob)
        .await;
    assert_eq!(root_now["replies_count"], 1);

    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    let mention = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "mention")
        .expect("mention notification");
    assert_eq!(mention["account"]["username"], "bob");
    assert_eq!(mention["status"]["id"], reply["id"]);

    // Replying to something that does not exist is a 404.
    let (code, _) = node
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "x", "in_reply_to_id": "12345"}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

db_test!(favourites_and_boosts_count_and_notify);
async fn favourites_and_boosts_count_and_notify(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let status = post(&node, &alice, json!({"status": "like me"})).await;
    let sid = id(&status);

    let (code, faved) = node
        .api_post(
            &format!("/api/v1/statuses/{sid}/favourite"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(faved["favourited"], true);
    assert_eq!(faved["favourites_count"], 1);
    // Twice is still once.
    let (_, faved) = node
        .api_post(
            &format!("/api/v1/statuses/{sid}/favourite"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(faved["favourites_count"], 1);

    let (code, boost) = node
        .api_post(&format!("/api/v1/statuses/{sid}/reblog"), &bob, json!({}))
        .await;
    assert_eq!(code, StatusCode::OK, "{boost}");
    assert_eq!(boost["reblog"]["id"], status["id"]);
    assert_eq!(boost["reblog"]["reblogged"], true);
    assert_eq!(boost["reblog"]["reblogs_count"], 1);
    assert_eq!(boost["account"]["username"], "bob");

    let (_, by) = node
        .api_get(&format!("/api/v1/statuses/{sid}/favourited_by"), &alice)
        .await;
    assert_eq!(by[0]["username"], "bob");
    let (_, by) = node
        .api_get(&format!("/api/v1/statuses/{sid}/reblogged_by"), &alice)
        .await;
    assert_eq!(by[0]["username"], "bob");

    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    let types: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"favourite") && types.contains(&"reblog"),
        "{types:?}"
    );
    let (_, only) = node
        .api_get("/api/v1/notifications?types[]=reblog", &alice)
        .await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["status"]["id"], status["id"]);
    let (_, excluded) = node
        .api_get("/api/v1/notifications?exclude_types[]=reblog", &alice)
        .await;
    assert!(
        excluded
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] != "reblog")
    );

    let (_, unfaved) = node
        .api_post(
            &format!("/api/v1/statuses/{sid}/unfavourite"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(unfaved["favourited"], false);
    assert_eq!(unfaved["favourites_count"], 0);
    let (_, unboosted) = node
        .api_post(&format!("/api/v1/statuses/{sid}/unreblog"), &bob, json!({}))
        .await;
    assert_eq!(unboosted["reblogged"], false);
    assert_eq!(unboosted["reblogs_count"], 0);
    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    assert!(
        notes.as_array().unwrap().is_empty(),
        "undone actions take their notifications: {notes}"
    );

    // Bookmarks and pins.
    node.api_post(&format!("/api/v1/statuses/{sid}/bookmark"), &bob, json!({}))
        .await;
    let (_, marks) = node.api_get("/api/v1/bookmarks", &bob).await;
    assert_eq!(marks[0]["id"], status["id"]);
    assert_eq!(marks[0]["bookmarked"], true);
    let (code, _) = node
        .api_post(&format!("/api/v1/statuses/{sid}/pin"), &bob, json!({}))
        .await;
    assert_eq!(
        code,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only your own posts can be pinned"
    );
    let (code, pinned) = node
        .api_post(&format!("/api/v1/statuses/{sid}/pin"), &alice, json!({}))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(pinned["pinned"], true);
    let alice_id = status["account"]["id"].as_str().unwrap();
    let (_, pins) = node
        .api_get(
            &format!("/api/v1/accounts/{alice_id}/statuses?pinned=true"),
            &bob,
        )
        .await;
    assert_eq!(pins.as_array().unwrap().len(), 1);
}

db_test!(edits_keep_history_and_only_authors_edit_or_delete);
async fn edits_keep_history_and_only_authors_edit_or_delete(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let status = post(&node, &alice, json!({"status": "first version"})).await;
    let path = format!("/api/v1/statuses/{}", id(&status));

    let (code, edited) = node
        .api(
            Method::PUT,
            &path,
            Some(&alice),
            Some(json!({"status": "second version"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        edited["content"]
            .as_str()
            .unwrap()
            .contains("second version")
    );
    assert!(edited["edited_at"].is_string());
    let (_, history) = node.api_get(&format!("{path}/history"), &bob).await;
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions[0]["content"]
            .as_str()
            .unwrap()
            .contains("first version")
    );
    assert!(
        versions[1]["content"]
            .as_str()
            .unwrap()
            .contains("second version")
    );
    let (_, source) = node.api_get(&format!("{path}/source"), &alice).await;
    assert_eq!(source["text"], "second version");

    let (code, _) = node
        .api(
            Method::PUT,
            &path,
            Some(&bob),
            Some(json!({"status": "hijack"})),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = node.api(Method::DELETE, &path, Some(&bob), None).await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    let (code, deleted) = node.api(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        deleted["text"], "second version",
        "delete answers the source for redrafting"
    );
    let (code, _) = node.api_get(&path, &alice).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = node.api(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

db_test!(followers_only_and_direct_posts_stay_with_their_audience);
async fn followers_only_and_direct_posts_stay_with_their_audience(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (_, follower) = node.user_with_token("follower").await;
    let (_, stranger) = node.user_with_token("stranger").await;
    let (_, carol) = node.user_with_token("carol").await;
    let alice_id = alice_user.account.id.to_string();
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &follower,
        json!({}),
    )
    .await;

    let private = post(
        &node,
        &alice,
        json!({"status": "for followers", "visibility": "private"}),
    )
    .await;
    let direct = post(
        &node,
        &alice,
        json!({"status": "@carol just you", "visibility": "direct"}),
    )
    .await;
    node.drain().await;

    for (token, sees_private, sees_direct) in [
        (&follower, true, false),
        (&stranger, false, false),
        (&carol, false, true),
    ] {
        for (status, visible) in [(&private, sees_private), (&direct, sees_direct)] {
            let (code, _) = node
                .api_get(&format!("/api/v1/statuses/{}", id(status)), token)
                .await;
            let expected = if visible {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(code, expected, "{} for {}", status["content"], token);
            let (_, context) = node
                .api_get(&format!("/api/v1/statuses/{}/context", id(status)), token)
                .await;
            assert_eq!(context["ancestors"].is_array(), visible);
        }
        let (_, page) = node
            .api_get(&format!("/api/v1/accounts/{alice_id}/statuses"), token)
            .await;
        let ids: Vec<&Value> = page.as_array().unwrap().iter().map(|s| &s["id"]).collect();
        assert_eq!(ids.contains(&&private["id"]), sees_private);
        // Direct messages live in home and conversations, not on profiles.
        assert!(!ids.contains(&&direct["id"]));
        let (_, home) = node.api_get("/api/v1/timelines/home", token).await;
        let ids: Vec<&Value> = home.as_array().unwrap().iter().map(|s| &s["id"]).collect();
        assert_eq!(ids.contains(&&private["id"]), sees_private, "home");
        assert_eq!(ids.contains(&&direct["id"]), sees_direct, "home");
    }
    // Neither is ever on the public timeline, not even for the author.
    for token in [&alice, &follower, &carol] {
        let (_, public) = node.api_get("/api/v1/timelines/public", token).await;
        assert!(public.as_array().unwrap().is_empty(), "{public}");
    }
    // Nobody may boost them.
    let (code, _) = node
        .api_post(
            &format!("/api/v1/statuses/{}/reblog", id(&private)),
            &follower,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = node
        .api_post(
            &format!("/api/v1/statuses/{}/favourite", id(&direct)),
            &stranger,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

db_test!(followers_can_ask_to_hear_of_new_posts_and_boosters_of_edits);
async fn followers_can_ask_to_hear_of_new_posts_and_boosters_of_edits(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    let alice_id = alice_user.account.id;
    let (_, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/follow"),
            &bob,
            json!({"notify": true}),
        )
        .await;
    assert_eq!(rel["notifying"], true);
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &carol,
        json!({}),
    )
    .await;
    let status = post(&node, &alice, json!({"status": "news!"})).await;
    node.drain().await;
    let (_, bob_notes) = node
        .api_get("/api/v1/notifications?types[]=status", &bob)
        .await;
    assert_eq!(bob_notes.as_array().unwrap().len(), 1);
    assert_eq!(bob_notes[0]["status"]["id"], status["id"]);
    let (_, carol_notes) = node
        .api_get("/api/v1/notifications?types[]=status", &carol)
        .await;
    assert!(
        carol_notes.as_array().unwrap().is_empty(),
        "only followers who asked"
    );

    node.api_post(
        &format!("/api/v1/statuses/{}/reblog", id(&status)),
        &carol,
        json!({}),
    )
    .await;
    let (code, _) = node
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{}", id(&status)),
            Some(&alice),
            Some(json!({"status": "news, corrected"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, updates) = node
        .api_get("/api/v1/notifications?types[]=update", &carol)
        .await;
    assert_eq!(
        updates.as_array().unwrap().len(),
        1,
        "boosters hear of edits"
    );
    assert!(
        updates[0]["status"]["content"]
            .as_str()
            .unwrap()
            .contains("corrected")
    );
}
