//! Whole accounts across servers, two Starling nodes on loopback: remote HTML
//! through the sanitiser, blocks, profile updates and account deletion, each
//! seen as the users on both sides would see it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::peers::{lookup_id, relationship, send_signed, settle};
use crate::support::{AS_JSON, Db, TestNode};

/// `token`'s user follows account `id`, and both queues run.
async fn follow(a: &TestNode, b: &TestNode, on: &TestNode, token: &str, id: &str) {
    let (status, rel) = on
        .api_post(&format!("/api/v1/accounts/{id}/follow"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    settle(&[a, b]).await;
}

/// Contents of `token`'s home timeline on `node`.
async fn home(node: &TestNode, token: &str) -> Vec<String> {
    let (_, home) = node.api_get("/api/v1/timelines/home", token).await;
    home.as_array()
        .unwrap()
        .iter()
        .map(|s| s["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

db_test!(remote_html_keeps_links_and_loses_everything_dangerous);
async fn remote_html_keeps_links_and_loses_everything_dangerous(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let remote_alice = lookup_id(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    follow(&a, &b, &b, &bob, &remote_alice).await;

    let actor = format!("{}/users/alice", a.base);
    let hostile = r#"<p onclick="steal()">Read <a href="https://x.example/page" onmouseover="x()">this</a>!</p><script>alert("pwned")</script><img src="https://x.example/t.png" onerror="boom()"><a href="javascript:alert(1)">click me</a><iframe src="https://x.example/"></iframe>"#;
    send_signed(
        &a,
        &alice,
        &b,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/statuses/1/activity"),
            "type": "Create",
            "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{actor}/statuses/1"),
                "type": "Note",
                "attributedTo": actor,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "content": hostile,
            },
        }),
    )
    .await;
    let content = home(&b, &bob).await.remove(0);
    assert!(
        content.contains(r#"<a href="https://x.example/page" target="_blank" rel="nofollow noopener noreferrer">this</a>"#),
        "the link survives, opened safely: {content}"
    );
    assert!(content.starts_with("<p>Read "), "{content}");
    assert!(content.contains("click me"), "text is kept: {content}");
    for bad in [
        "onclick",
        "onmouseover",
        "script",
        "pwned",
        "<img",
        "onerror",
        "javascript",
        "iframe",
    ] {
        assert!(!content.contains(bad), "{bad} survived: {content}");
    }

    // A bio sent in an Update(Person) goes through the same allowlist.
    let mut person: Value = a.get_json("/users/alice", AS_JSON).await.1;
    person["summary"] = json!(
        r#"<p>I <b>build</b> <a href="https://alice.example">things</a><script>x()</script><img src=x onerror=y()></p>"#
    );
    send_signed(
        &a,
        &alice,
        &b,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#updates/1"),
            "type": "Update",
            "actor": actor,
            "object": person,
        }),
    )
    .await;
    let (_, shown) = b
        .api_get(&format!("/api/v1/accounts/{remote_alice}"), &bob)
        .await;
    let note = shown["note"].as_str().unwrap();
    assert!(note.contains("<b>build</b>"), "{note}");
    assert!(
        note.contains(r#"<a href="https://alice.example" target="_blank" rel="nofollow noopener noreferrer">things</a>"#),
        "{note}"
    );
    for bad in ["script", "x()", "<img", "onerror"] {
        assert!(!note.contains(bad), "{bad} survived: {note}");
    }
}

db_test!(profile_updates_reach_followers_and_only_the_actor_changes_itself);
async fn profile_updates_reach_followers_and_only_the_actor_changes_itself(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (alice, alice_token) = a.user_with_token("alice").await;
    a.create_user("carol").await;
    let (_, bob) = b.user_with_token("bob").await;
    let remote_alice = lookup_id(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    let remote_carol = lookup_id(&b, Some(&bob), &format!("carol@{}", a.domain)).await;
    follow(&a, &b, &b, &bob, &remote_alice).await;

    let (status, me) = a
        .api(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice_token),
            Some(json!({
                "display_name": "Alice Liddell",
                "note": "Down the hole: https://wonder.example/land & back",
                "locked": true,
                "fields_attributes": [{"name": "Home", "value": "https://alice.example"}],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    settle(&[&a, &b]).await;
    let (_, seen) = b
        .api_get(&format!("/api/v1/accounts/{remote_alice}"), &bob)
        .await;
    assert_eq!(seen["display_name"], "Alice Liddell", "{seen}");
    assert_eq!(seen["locked"], true, "{seen}");
    let note = seen["note"].as_str().unwrap();
    assert!(note.contains("Down the hole"), "{note}");
    assert!(
        note.contains(r#"href="https://wonder.example/land""#),
        "links in a bio stay links: {note}"
    );
    assert!(note.contains("&amp; back"), "{note}");
    assert_eq!(seen["fields"][0]["name"], "Home", "{seen}");
    assert!(
        seen["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains(r#"href="https://alice.example""#),
        "{seen}"
    );

    // Alice's server cannot rename carol in alice's name: an Update signed by
    // alice whose object is carol is not applied.
    let actor = format!("{}/users/alice", a.base);
    let mut carol_doc: Value = a.get_json("/users/carol", AS_JSON).await.1;
    carol_doc["name"] = json!("Mallory");
    send_signed(
        &a,
        &alice,
        &b,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#updates/forged"),
            "type": "Update",
            "actor": actor,
            "object": carol_doc,
        }),
    )
    .await;
    let (_, carol_seen) = b
        .api_get(&format!("/api/v1/accounts/{remote_carol}"), &bob)
        .await;
    assert_ne!(carol_seen["display_name"], "Mallory", "{carol_seen}");

    // Nor may alice's own document move her to another server's id.
    let mut moved: Value = a.get_json("/users/alice", AS_JSON).await.1;
    moved["name"] = json!("Not Alice");
    moved["id"] = json!("https://elsewhere.example/users/alice");
    send_signed(
        &a,
        &alice,
        &b,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#updates/moved"),
            "type": "Update",
            "actor": actor,
            "object": moved,
        }),
    )
    .await;
    let (_, seen) = b
        .api_get(&format!("/api/v1/accounts/{remote_alice}"), &bob)
        .await;
    assert_eq!(seen["display_name"], "Alice Liddell", "{seen}");
}

db_test!(blocks_travel_and_only_the_blocker_lifts_them);
async fn blocks_travel_and_only_the_blocker_lifts_them(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice_token) = a.user_with_token("alice").await;
    let dave = a.create_user("dave").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, carol) = b.user_with_token("carol").await;
    let remote_alice_for_bob = lookup_id(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    let remote_bob = lookup_id(&a, Some(&alice_token), &format!("bob@{}", b.domain)).await;
    follow(&a, &b, &b, &bob, &remote_alice_for_bob).await;
    follow(&a, &b, &b, &carol, &remote_alice_for_bob).await;
    follow(&a, &b, &a, &alice_token, &remote_bob).await;
    let rel = relationship(&b, &bob, &remote_alice_for_bob).await;
    assert_eq!(
        (rel["following"].clone(), rel["followed_by"].clone()),
        (json!(true), json!(true)),
        "{rel}"
    );

    // Alice blocks bob: her server tells his, and the follows end both ways
    // on both servers.
    let (status, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{remote_bob}/block"),
            &alice_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    settle(&[&a, &b]).await;
    let rel = relationship(&b, &bob, &remote_alice_for_bob).await;
    assert_eq!(rel["blocked_by"], true, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");
    assert_eq!(rel["followed_by"], false, "{rel}");
    let (_, bob_me) = b.api_get("/api/v1/accounts/verify_credentials", &bob).await;
    assert_eq!(bob_me["following_count"], 0, "{bob_me}");
    assert_eq!(bob_me["followers_count"], 0, "{bob_me}");

    // Her next post reaches carol's home on b, never bob's, not even by its id.
    let (_, post) = a
        .api_post(
            "/api/v1/statuses",
            &alice_token,
            json!({"status": "not for bob"}),
        )
        .await;
    settle(&[&a, &b]).await;
    let (_, carol_home) = b.api_get("/api/v1/timelines/home", &carol).await;
    let on_b = carol_home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == post["uri"])
        .unwrap_or_else(|| panic!("carol gets it: {carol_home}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        home(&b, &bob)
            .await
            .iter()
            .all(|c| !c.contains("not for bob"))
    );
    let (status, _) = b.api_get(&format!("/api/v1/statuses/{on_b}"), &bob).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Dave cannot lift alice's block, even by naming her as its actor.
    let alice_uri = format!("{}/users/alice", a.base);
    let dave_uri = format!("{}/users/dave", a.base);
    send_signed(
        &a,
        &dave,
        &b,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{dave_uri}#undo-block"),
            "type": "Undo",
            "actor": dave_uri,
            "object": {
                "id": format!("{alice_uri}#blocks/1"),
                "type": "Block",
                "actor": alice_uri,
                "object": format!("{}/users/bob", b.base),
            },
        }),
    )
    .await;
    let (status, _) = b.api_get(&format!("/api/v1/statuses/{on_b}"), &bob).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "still blocked");

    // Alice unblocks: Undo(Block) travels and bob may see her posts again.
    let (status, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{remote_bob}/unblock"),
            &alice_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    assert_eq!(rel["blocking"], false);
    settle(&[&a, &b]).await;
    let rel = relationship(&b, &bob, &remote_alice_for_bob).await;
    assert_eq!(rel["blocked_by"], false, "{rel}");
    let (status, seen) = b.api_get(&format!("/api/v1/statuses/{on_b}"), &bob).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
}

db_test!(a_deleted_user_disappears_from_the_other_server);
async fn a_deleted_user_disappears_from_the_other_server(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice_token) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let remote_alice = lookup_id(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    let remote_bob = lookup_id(&a, Some(&alice_token), &format!("bob@{}", b.domain)).await;
    follow(&a, &b, &b, &bob, &remote_alice).await;
    follow(&a, &b, &a, &alice_token, &remote_bob).await;

    // Alice posts; bob posts, and alice replies to, likes and boosts it.
    a.api_post(
        "/api/v1/statuses",
        &alice_token,
        json!({"status": "soon gone"}),
    )
    .await;
    let (_, bobs) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "bob's own"}))
        .await;
    settle(&[&a, &b]).await;
    let (_, alice_home) = a.api_get("/api/v1/timelines/home", &alice_token).await;
    let bobs_on_a = alice_home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == bobs["uri"])
        .unwrap_or_else(|| panic!("{alice_home}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["favourite", "reblog"] {
        a.api_post(
            &format!("/api/v1/statuses/{bobs_on_a}/{action}"),
            &alice_token,
            json!({}),
        )
        .await;
    }
    a.api_post(
        "/api/v1/statuses",
        &alice_token,
        json!({"status": "nice", "in_reply_to_id": bobs_on_a}),
    )
    .await;
    settle(&[&a, &b]).await;
    let bobs_id = bobs["id"].as_str().unwrap();
    let (_, counted) = b
        .api_get(&format!("/api/v1/statuses/{bobs_id}"), &bob)
        .await;
    assert_eq!(
        (
            counted["favourites_count"].clone(),
            counted["reblogs_count"].clone(),
            counted["replies_count"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{counted}"
    );
    let soon_gone = {
        let (_, statuses) = b
            .api_get(&format!("/api/v1/accounts/{remote_alice}/statuses"), &bob)
            .await;
        statuses
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["content"].as_str().unwrap().contains("soon gone"))
            .unwrap_or_else(|| panic!("{statuses}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // The admin deletes alice with the CLI, against a's database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_starling"))
        .args(["admin", "delete-user", "alice"])
        .envs(std::env::vars().filter(|(k, _)| !k.starts_with("STARLING_")))
        .env("STARLING_DATABASE_URL", a.db.url_string())
        .env("STARLING_DOMAIN", &a.domain)
        .env("STARLING_DEV", "true")
        .output()
        .expect("run starling");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("deleted user alice; 1 remote inbox"),
        "{stdout}"
    );
    settle(&[&a, &b]).await;

    // On a: her actor is gone (410), WebFinger forgets her, her token is dead.
    assert_eq!(
        a.get("/users/alice", AS_JSON).await.status(),
        StatusCode::GONE
    );
    let webfinger = format!("/.well-known/webfinger?resource=acct:alice@{}", a.domain);
    assert_eq!(
        a.get(&webfinger, "application/jrd+json").await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = a
        .api_get("/api/v1/accounts/verify_credentials", &alice_token)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // On b: her posts and their traces are gone; bob follows nobody.
    let (status, _) = b
        .api_get(&format!("/api/v1/statuses/{soon_gone}"), &bob)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        home(&b, &bob)
            .await
            .iter()
            .all(|c| !c.contains("soon gone"))
    );
    let (_, counted) = b
        .api_get(&format!("/api/v1/statuses/{bobs_id}"), &bob)
        .await;
    assert_eq!(
        (
            counted["favourites_count"].clone(),
            counted["reblogs_count"].clone(),
            counted["replies_count"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "{counted}"
    );
    let (_, bob_me) = b.api_get("/api/v1/accounts/verify_credentials", &bob).await;
    assert_eq!(bob_me["following_count"], 0, "{bob_me}");
    assert_eq!(bob_me["followers_count"], 0, "{bob_me}");
    let (_, notes) = b.api_get("/api/v1/notifications", &bob).await;
    assert_eq!(notes.as_array().unwrap().len(), 0, "{notes}");
    let (status, _) = b
        .api_get(&format!("/api/v1/accounts/{remote_alice}"), &bob)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = b
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=alice@{}", a.domain),
            &bob,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "and she is not fetched back");
}
