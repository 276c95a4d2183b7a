//! More of issue 4 across two Starling nodes on loopback, each checked as a
//! user would see it: a reply reaches the replied-to author's server without
//! a mention, remote accounts link to their real actor and profile, a locked
//! account's approval (and refusal) crosses servers, an edit arrives with its
//! history, an unfollow stops deliveries, and one activity delivered three
//! times at once takes effect once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use starling_node::store::accounts::DbUser;

use crate::db_test;
use crate::peers::{lookup, post_signed, relationship, resolve_status, settle};
use crate::support::{Db, TestNode};

/// A status's id as a string.
fn id(status: &Value) -> String {
    status["id"].as_str().unwrap_or_default().to_owned()
}

db_test!(a_reply_reaches_the_parent_author_without_a_mention);
async fn a_reply_reaches_the_parent_author_without_a_mention(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, post) = a
        .api_post("/api/v1/statuses", &alice, json!({"status": "thoughts?"}))
        .await;

    // Bob follows no one and alice does not follow him: he finds her post by
    // its URL and answers without naming her.
    let on_b = resolve_status(&b, &bob, post["uri"].as_str().unwrap()).await;
    let (code, reply) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "a quiet answer", "in_reply_to_id": on_b}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert!(
        !reply["content"].as_str().unwrap().contains("alice"),
        "{reply}"
    );
    settle(&[&a, &b]).await;

    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{}", id(&post)), &alice)
        .await;
    assert_eq!(seen["replies_count"], 1, "{seen}");
    let (_, context) = a
        .api_get(&format!("/api/v1/statuses/{}/context", id(&post)), &alice)
        .await;
    let descendants = context["descendants"].as_array().unwrap();
    assert_eq!(descendants.len(), 1, "{context}");
    assert_eq!(descendants[0]["uri"], reply["uri"]);
    assert_eq!(
        descendants[0]["account"]["acct"],
        format!("bob@{}", b.domain)
    );

    // An edit and a delete of the reply follow the same way.
    let (code, _) = b
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{}", id(&reply)),
            Some(&bob),
            Some(json!({"status": "a quiet answer, revised"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b]).await;
    let (_, context) = a
        .api_get(&format!("/api/v1/statuses/{}/context", id(&post)), &alice)
        .await;
    assert!(
        context["descendants"][0]["content"]
            .as_str()
            .unwrap()
            .contains("revised"),
        "{context}"
    );
    b.api(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", id(&reply)),
        Some(&bob),
        None,
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{}", id(&post)), &alice)
        .await;
    assert_eq!(seen["replies_count"], 0, "{seen}");
}

db_test!(edits_and_deletes_reach_servers_whose_users_liked_or_boosted);
async fn edits_and_deletes_reach_servers_whose_users_liked_or_boosted(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let c = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, carol) = c.user_with_token("carol").await;
    let (_, post) = a
        .api_post("/api/v1/statuses", &alice, json!({"status": "first take"}))
        .await;
    let uri = post["uri"].as_str().unwrap();

    // Neither follows alice: bob likes her post, carol boosts it.
    let on_b = resolve_status(&b, &bob, uri).await;
    let on_c = resolve_status(&c, &carol, uri).await;
    let (code, _) = b
        .api_post(
            &format!("/api/v1/statuses/{on_b}/favourite"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = c
        .api_post(
            &format!("/api/v1/statuses/{on_c}/reblog"),
            &carol,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b, &c]).await;

    let (code, _) = a
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{}", id(&post)),
            Some(&alice),
            Some(json!({"status": "second take"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b, &c]).await;
    for (node, token, local) in [(&b, &bob, &on_b), (&c, &carol, &on_c)] {
        let (_, seen) = node
            .api_get(&format!("/api/v1/statuses/{local}"), token)
            .await;
        assert!(
            seen["content"]
                .as_str()
                .unwrap_or_default()
                .contains("second take"),
            "{seen}"
        );
    }

    a.api(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", id(&post)),
        Some(&alice),
        None,
    )
    .await;
    settle(&[&a, &b, &c]).await;
    for (node, token, local) in [(&b, &bob, &on_b), (&c, &carol, &on_c)] {
        let (code, _) = node
            .api_get(&format!("/api/v1/statuses/{local}"), token)
            .await;
        assert_eq!(code, StatusCode::NOT_FOUND, "deleted on {}", node.domain);
    }
}

db_test!(remote_accounts_show_their_real_uri_and_url);
async fn remote_accounts_show_their_real_uri_and_url(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;

    let remote = lookup(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    assert_eq!(remote["uri"], format!("{}/users/alice", a.base), "{remote}");
    assert_eq!(remote["url"], format!("{}/@alice", a.base), "{remote}");
    // Her own server shows the same.
    let local = lookup(&a, Some(&alice), "alice").await;
    assert_eq!(local["uri"], remote["uri"]);
    assert_eq!(local["url"], remote["url"]);

    // A mention of her links to her real profile page.
    let (_, post) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": format!("hello @alice@{}", a.domain)}),
        )
        .await;
    assert_eq!(post["mentions"][0]["url"], remote["url"], "{post}");
    assert!(
        post["content"]
            .as_str()
            .unwrap()
            .contains(&format!("href=\"{}/@alice\"", a.base)),
        "{post}"
    );
}

db_test!(a_locked_account_answers_remote_requests_and_unfollows_stop_posts);
async fn a_locked_account_answers_remote_requests_and_unfollows_stop_posts(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, carol) = b.user_with_token("carol").await;
    let (code, _) = a
        .api(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    // Bob and carol ask to follow her; both wait.
    let alice_on_b = id(&lookup(&b, Some(&bob), &format!("alice@{}", a.domain)).await);
    for token in [&bob, &carol] {
        b.api_post(
            &format!("/api/v1/accounts/{alice_on_b}/follow"),
            token,
            json!({}),
        )
        .await;
    }
    settle(&[&a, &b]).await;
    for token in [&bob, &carol] {
        let rel = relationship(&b, token, &alice_on_b).await;
        assert_eq!(rel["requested"], true, "{rel}");
        assert_eq!(rel["following"], false, "{rel}");
    }
    let (_, requests) = a.api_get("/api/v1/follow_requests", &alice).await;
    let requesters: Vec<(String, String)> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["acct"].as_str().unwrap().to_owned(), id(r)))
        .collect();
    assert_eq!(requesters.len(), 2, "{requests}");
    let id_of = |name: &str| {
        requesters
            .iter()
            .find(|(acct, _)| *acct == format!("{name}@{}", b.domain))
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("{name} asked: {requesters:?}"))
    };

    // She approves bob and turns carol down; b hears both.
    let (code, _) = a
        .api_post(
            &format!("/api/v1/follow_requests/{}/authorize", id_of("bob")),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = a
        .api_post(
            &format!("/api/v1/follow_requests/{}/reject", id_of("carol")),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b]).await;
    let rel = relationship(&b, &bob, &alice_on_b).await;
    assert_eq!(rel["following"], true, "{rel}");
    assert_eq!(rel["requested"], false, "{rel}");
    let rel = relationship(&b, &carol, &alice_on_b).await;
    assert_eq!(rel["following"], false, "{rel}");
    assert_eq!(rel["requested"], false, "turned down: {rel}");
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["followers_count"], 1);

    // Her followers-only post reaches bob; its edit arrives with its history.
    let (_, post) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "for friends", "visibility": "private"}),
        )
        .await;
    settle(&[&a, &b]).await;
    let (_, home) = b.api_get("/api/v1/timelines/home", &bob).await;
    assert_eq!(home[0]["uri"], post["uri"], "{home}");
    let on_b = id(&home[0]);
    let (_, home) = b.api_get("/api/v1/timelines/home", &carol).await;
    assert_eq!(home, json!([]), "not carol's to see");
    let (code, _) = a
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{}", id(&post)),
            Some(&alice),
            Some(json!({"status": "for friends, edited"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b]).await;
    let (code, history) = b
        .api_get(&format!("/api/v1/statuses/{on_b}/history"), &bob)
        .await;
    assert_eq!(code, StatusCode::OK, "{history}");
    let versions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 2, "{history}");
    assert!(versions[0].contains("for friends") && !versions[0].contains("edited"));
    assert!(versions[1].contains("for friends, edited"));
    let (_, seen) = b.api_get(&format!("/api/v1/statuses/{on_b}"), &bob).await;
    assert!(
        seen["content"].as_str().unwrap().contains("edited"),
        "{seen}"
    );

    // Bob unfollows: her next post never reaches his server.
    b.api_post(
        &format!("/api/v1/accounts/{alice_on_b}/unfollow"),
        &bob,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["followers_count"], 0);
    let (_, later) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "after bob left", "visibility": "private"}),
        )
        .await;
    settle(&[&a, &b]).await;
    let uri = later["uri"].as_str().unwrap();
    assert!(
        b.app.store().status_by_uri(uri).await.unwrap().is_none(),
        "delivered after the unfollow"
    );
}

/// The same activity POSTed three times at once: all accepted.
async fn thrice_at_once(from: &TestNode, user: &DbUser, to: &TestNode, activity: &Value) {
    let (x, y, z) = tokio::join!(
        post_signed(from, user, to, activity),
        post_signed(from, user, to, activity),
        post_signed(from, user, to, activity),
    );
    assert_eq!([x, y, z], [StatusCode::ACCEPTED; 3], "{activity}");
}

db_test!(the_same_activity_three_times_at_once_has_one_effect);
async fn the_same_activity_three_times_at_once_has_one_effect(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, post) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "like me once"}))
        .await;
    let actor = format!("{}/users/alice", a.base);

    // A Create mentioning bob, three times at once: alice's first contact
    // with b, so the three requests also race to store her.
    let note = format!("{actor}/statuses/1");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note}/activity"),
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note, "type": "Note", "attributedTo": actor,
            "content": "<p>hi @bob</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "tag": [{"type": "Mention", "href": format!("{}/users/bob", b.base)}],
        },
    });
    thrice_at_once(&a, &alice, &b, &create).await;
    // A Like of bob's post, three times at once.
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#likes/1"),
        "type": "Like",
        "actor": actor,
        "object": post["uri"],
    });
    thrice_at_once(&a, &alice, &b, &like).await;
    b.drain().await;

    let (_, notes) = b.api_get("/api/v1/notifications", &bob).await;
    let kinds: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "mention").count(),
        1,
        "{notes}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "favourite").count(),
        1,
        "{notes}"
    );
    let (_, seen) = b
        .api_get(&format!("/api/v1/statuses/{}", id(&post)), &bob)
        .await;
    assert_eq!(seen["favourites_count"], 1, "{seen}");
    let remote_alice = lookup(&b, Some(&bob), &format!("alice@{}", a.domain)).await;
    assert_eq!(remote_alice["statuses_count"], 1, "{remote_alice}");
    let (_, statuses) = b
        .api_get(
            &format!("/api/v1/accounts/{}/statuses", id(&remote_alice)),
            &bob,
        )
        .await;
    assert_eq!(statuses.as_array().unwrap().len(), 1, "{statuses}");
}
