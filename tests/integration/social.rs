//! The social graph through the client API: follows (and approvals for locked
//! accounts), home timelines, unfollows, blocks, mutes, profiles, pagination.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{Db, TestNode};

fn ids(page: &Value) -> Vec<String> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(following_fills_the_home_timeline_and_unfollowing_empties_it);
async fn following_fills_the_home_timeline_and_unfollowing_empties_it(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    let alice_id = alice_user.account.id.to_string();

    let (code, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/follow"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(rel["following"], true);
    assert_eq!(rel["id"], alice_id);
    let (_, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "hello followers"}),
        )
        .await;
    node.drain().await;

    let (_, home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert_eq!(ids(&home), vec![post["id"].as_str().unwrap().to_owned()]);
    let (_, mine) = node.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(ids(&mine).len(), 1, "authors see their own posts at home");

    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    assert_eq!(notes[0]["type"], "follow");
    assert_eq!(notes[0]["account"]["id"], bob_user.account.id.to_string());
    let (_, followers) = node
        .api_get(&format!("/api/v1/accounts/{alice_id}/followers"), &bob)
        .await;
    assert_eq!(followers[0]["username"], "bob");
    let (_, account) = node
        .api_get(&format!("/api/v1/accounts/{alice_id}"), &bob)
        .await;
    assert_eq!(account["followers_count"], 1);
    assert_eq!(account["statuses_count"], 1);
    let (_, rels) = node
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            &bob,
        )
        .await;
    assert_eq!(rels[0]["following"], true);
    let (_, rels) = node
        .api_get(
            &format!(
                "/api/v1/accounts/relationships?id[]={}",
                bob_user.account.id
            ),
            &alice,
        )
        .await;
    assert_eq!(rels[0]["followed_by"], true);

    let (_, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/unfollow"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], false);
    let (_, home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert!(
        ids(&home).is_empty(),
        "unfollowing removes their posts from home"
    );
    node.api_post(
        "/api/v1/statuses",
        &alice,
        json!({"status": "after unfollow"}),
    )
    .await;
    node.drain().await;
    let (_, home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert!(ids(&home).is_empty(), "and no new ones arrive");
}

db_test!(locked_accounts_approve_followers);
async fn locked_accounts_approve_followers(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    let (carol_user, carol) = node.user_with_token("carol").await;
    let (code, me) = node
        .api(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(me["locked"], true);
    let alice_id = alice_user.account.id.to_string();

    let (_, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/follow"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], true);
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &carol,
        json!({}),
    )
    .await;
    let (_, requests) = node.api_get("/api/v1/follow_requests", &alice).await;
    assert_eq!(requests.as_array().unwrap().len(), 2);
    let (_, notes) = node
        .api_get("/api/v1/notifications?types[]=follow_request", &alice)
        .await;
    assert_eq!(notes.as_array().unwrap().len(), 2);
    let (_, me) = node
        .api_get("/api/v1/accounts/verify_credentials", &alice)
        .await;
    assert_eq!(me["source"]["follow_requests_count"], 2);

    let (code, rel) = node
        .api_post(
            &format!("/api/v1/follow_requests/{}/authorize", bob_user.account.id),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(rel["followed_by"], true);
    let (_, rel) = node
        .api_post(
            &format!("/api/v1/follow_requests/{}/reject", carol_user.account.id),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(rel["requested_by"], false);
    assert_eq!(rel["followed_by"], false);
    let (code, _) = node
        .api_post(
            &format!(
                "/api/v1/follow_requests/{}/authorize",
                carol_user.account.id
            ),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "a rejected request cannot be authorized"
    );

    let (_, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "locked post", "visibility": "private"}),
        )
        .await;
    node.drain().await;
    let (_, bob_home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert_eq!(
        ids(&bob_home),
        vec![post["id"].as_str().unwrap().to_owned()]
    );
    let (_, carol_home) = node.api_get("/api/v1/timelines/home", &carol).await;
    assert!(ids(&carol_home).is_empty());
}

db_test!(blocks_and_mutes_hide_people);
async fn blocks_and_mutes_hide_people(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    let alice_id = alice_user.account.id.to_string();
    let bob_id = bob_user.account.id.to_string();
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &bob,
        json!({}),
    )
    .await;
    let (_, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "before the block"}),
        )
        .await;
    node.drain().await;

    // Muting hides alice from bob's home but keeps the follow.
    let (_, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/mute"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(rel["muting"], true);
    assert_eq!(rel["following"], true);
    let (_, home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert!(ids(&home).is_empty());
    let (_, mutes) = node.api_get("/api/v1/mutes", &bob).await;
    assert_eq!(mutes[0]["id"], alice_id);
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/unmute"),
        &bob,
        json!({}),
    )
    .await;
    let (_, home) = node.api_get("/api/v1/timelines/home", &bob).await;
    assert_eq!(ids(&home).len(), 1);

    // Blocking ends the follow and hides posts both ways.
    let (_, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{bob_id}/block"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(rel["blocking"], true);
    assert_eq!(rel["followed_by"], false);
    let (code, _) = node
        .api_get(
            &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
            &bob,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = node
        .api_post(
            &format!("/api/v1/accounts/{alice_id}/follow"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (_, rels) = node
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            &bob,
        )
        .await;
    assert_eq!(rels[0]["blocked_by"], true);
    // A blocked account's mention does not notify.
    node.api_post("/api/v1/statuses", &bob, json!({"status": "@alice hey"}))
        .await;
    node.drain().await;
    let (_, notes) = node
        .api_get("/api/v1/notifications?types[]=mention", &alice)
        .await;
    assert!(notes.as_array().unwrap().is_empty());
    let (_, blocks) = node.api_get("/api/v1/blocks", &alice).await;
    assert_eq!(blocks[0]["id"], bob_id);
}

db_test!(profiles_update_and_lookup);
async fn profiles_update_and_lookup(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let response = node
        .http
        .patch(format!("{}/api/v1/accounts/update_credentials", node.base))
        .bearer_auth(&alice)
        .form(&[
            ("display_name", "Alice <A>"),
            ("note", "I like #rust and https://example.com"),
            ("bot", "true"),
            ("fields_attributes[0][name]", "Site"),
            ("fields_attributes[0][value]", "https://alice.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["display_name"], "Alice <A>");
    assert_eq!(me["bot"], true);
    assert_eq!(me["source"]["note"], "I like #rust and https://example.com");
    assert!(
        me["note"]
            .as_str()
            .unwrap()
            .contains("href=\"https://example.com\"")
    );
    assert_eq!(me["fields"][0]["name"], "Site");
    assert_eq!(me["source"]["privacy"], "public");
    assert!(
        me["created_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000Z")
    );

    let (code, found) = node
        .api(
            Method::GET,
            &format!("/api/v1/accounts/lookup?acct=alice@{}", node.domain),
            None,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(found["display_name"], "Alice <A>");
    assert_eq!(found["acct"], "alice");
    assert!(
        found.get("source").is_none(),
        "source is only for the owner"
    );
    let (code, _) = node
        .api(
            Method::GET,
            "/api/v1/accounts/lookup?acct=nobody",
            None,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // The actor document reflects the profile.
    let (_, actor) = node.get_json("/users/alice", crate::support::AS_JSON).await;
    assert_eq!(actor["name"], "Alice <A>");
    assert_eq!(actor["type"], "Service");
    let (code, _) = node
        .api(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
            Some(json!({"display_name": "x".repeat(31)})),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
}

db_test!(timelines_page_like_mastodon);
async fn timelines_page_like_mastodon(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let mut posted = Vec::new();
    for i in 0..7 {
        let (_, p) = node
            .api_post(
                "/api/v1/statuses",
                &alice,
                json!({"status": format!("post {i} #paging")}),
            )
            .await;
        posted.push(p["id"].as_str().unwrap().to_owned());
    }
    node.drain().await;
    let newest_first: Vec<String> = posted.iter().rev().cloned().collect();

    let response = node
        .http
        .get(format!("{}/api/v1/timelines/home?limit=3", node.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let page: Value = response.json().await.unwrap();
    assert_eq!(ids(&page), newest_first[..3]);
    assert!(
        link.contains(&format!(
            "max_id={}&limit=3>; rel=\"next\"",
            newest_first[2]
        )),
        "{link}"
    );
    assert!(
        link.contains(&format!(
            "min_id={}&limit=3>; rel=\"prev\"",
            newest_first[0]
        )),
        "{link}"
    );

    let (_, next) = node
        .api_get(
            &format!("/api/v1/timelines/home?limit=3&max_id={}", newest_first[2]),
            &alice,
        )
        .await;
    assert_eq!(ids(&next), newest_first[3..6]);
    // min_id: the page just above, still newest first.
    let (_, above) = node
        .api_get(
            &format!("/api/v1/timelines/home?limit=2&min_id={}", posted[2]),
            &alice,
        )
        .await;
    assert_eq!(ids(&above), vec![posted[4].clone(), posted[3].clone()]);
    let (_, since) = node
        .api_get(
            &format!("/api/v1/timelines/home?limit=2&since_id={}", posted[2]),
            &alice,
        )
        .await;
    assert_eq!(ids(&since), newest_first[..2]);
    let (_, capped) = node
        .api_get("/api/v1/timelines/home?limit=1000", &alice)
        .await;
    assert_eq!(ids(&capped).len(), 7);

    let (_, tagged) = node
        .api(
            Method::GET,
            "/api/v1/timelines/tag/Paging?limit=2",
            None,
            None,
        )
        .await;
    assert_eq!(ids(&tagged), newest_first[..2]);
    let (_, local) = node
        .api(
            Method::GET,
            "/api/v1/timelines/public?local=true&limit=40",
            None,
            None,
        )
        .await;
    assert_eq!(ids(&local), newest_first);
    let (_, remote) = node
        .api(
            Method::GET,
            "/api/v1/timelines/public?remote=true",
            None,
            None,
        )
        .await;
    assert!(ids(&remote).is_empty());
    let (code, _) = node
        .api(Method::GET, "/api/v1/timelines/home", None, None)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

db_test!(notifications_dismiss_and_clear);
async fn notifications_dismiss_and_clear(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    let alice_id = alice_user.account.id.to_string();
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &bob,
        json!({}),
    )
    .await;
    node.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        &carol,
        json!({}),
    )
    .await;
    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    assert_eq!(notes.as_array().unwrap().len(), 2);
    let first = notes[0]["id"].as_str().unwrap().to_owned();
    let (code, one) = node
        .api_get(&format!("/api/v1/notifications/{first}"), &alice)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(one["id"], first);
    let (code, _) = node
        .api_get(&format!("/api/v1/notifications/{first}"), &bob)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "not someone else's");
    node.api_post(
        &format!("/api/v1/notifications/{first}/dismiss"),
        &alice,
        json!({}),
    )
    .await;
    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    assert_eq!(notes.as_array().unwrap().len(), 1);
    node.api_post("/api/v1/notifications/clear", &alice, json!({}))
        .await;
    let (_, notes) = node.api_get("/api/v1/notifications", &alice).await;
    assert!(notes.as_array().unwrap().is_empty());
}

db_test!(registration_follows_the_admin_setting);
async fn registration_follows_the_admin_setting(db: Db) {
    let node = TestNode::spawn(db).await;
    let (user, _) = node.user_with_token("alice").await;
    let app_token = node.token(&user, "read write").await;
    let body = json!({"username": "newbie", "email": "newbie@example.com", "password": "a good password", "agreement": true});
    let (code, _) = node
        .api_post("/api/v1/accounts", &app_token, body.clone())
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "registrations are closed by default"
    );
}

db_test!(rate_limits_apply_per_token);
async fn rate_limits_apply_per_token(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let other = node.token(&alice_user, "read").await;
    let get = |token: String| {
        let request = node
            .http
            .get(format!("{}/api/v1/accounts/verify_credentials", node.base))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let first = get(alice.clone()).await;
    assert_eq!(first.headers()["x-ratelimit-limit"], "300");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "299");
    assert!(
        first.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .ends_with('Z')
    );
    for _ in 1..300 {
        assert_eq!(get(alice.clone()).await.status(), StatusCode::OK);
    }
    let over = get(alice.clone()).await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.headers()["x-ratelimit-remaining"], "0");
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error"], "Too many requests");
    // Another token of the same user has its own budget.
    assert_eq!(get(other).await.status(), StatusCode::OK);
}

db_test!(home_feeds_keep_their_newest_entries);
async fn home_feeds_keep_their_newest_entries(db: Db) {
    use starling_node::store::feeds::HOME_FEED_CAP;
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (bob, _) = node.user_with_token("bob").await;
    // Seed more than the cap directly: posting 1000 times through HTTP is slow.
    let (a, b) = (alice.account.id, bob.account.id);
    let values: Vec<String> = (1..=HOME_FEED_CAP + 5)
        .map(|i| {
            format!(
                "({i}, {b}, 'public', 'x', 0, {})",
                if db == Db::Sqlite { "1" } else { "TRUE" }
            )
        })
        .collect();
    node.db
        .execute(&format!("INSERT INTO statuses (id, account_id, visibility, content, created_at, local) VALUES {}", values.join(",")))
        .await;
    node.db
        .execute(&format!(
            "INSERT INTO home_feed (account_id, status_id) SELECT {a}, id FROM statuses"
        ))
        .await;
    assert_eq!(node.app.store().trim_home_feeds().await.unwrap(), 5);
    let (_, page) = node
        .api_get("/api/v1/timelines/home?limit=1", &alice_token)
        .await;
    assert_eq!(
        page[0]["id"],
        (HOME_FEED_CAP + 5).to_string(),
        "the newest stay"
    );
    let (_, oldest) = node
        .api_get("/api/v1/timelines/home?limit=1&min_id=0", &alice_token)
        .await;
    assert_eq!(oldest[0]["id"], "6", "the oldest five went");
    assert_eq!(node.app.store().trim_home_feeds().await.unwrap(), 0);

    // A deleted status leaves home at once, and its feed rows go at the next
    // trim (deleting them with the status would scan every feed).
    let newest = (HOME_FEED_CAP + 5).to_string();
    node.db
        .execute(&format!(
            "UPDATE statuses SET deleted_at = 1 WHERE id = {newest}"
        ))
        .await;
    let (_, page) = node
        .api_get("/api/v1/timelines/home?limit=1", &alice_token)
        .await;
    assert_eq!(page[0]["id"], (HOME_FEED_CAP + 4).to_string());
    assert_eq!(node.app.store().trim_home_feeds().await.unwrap(), 1);
    assert_eq!(node.app.store().trim_home_feeds().await.unwrap(), 0);
}

db_test!(big_accounts_are_merged_into_home_at_read_time);
async fn big_accounts_are_merged_into_home_at_read_time(db: Db) {
    // Threshold 1: an author with two followers is "big".
    let node = TestNode::spawn_with(crate::support::TestDb::new(db).await, |c| {
        c.fanout_threshold = 1
    })
    .await;
    let (star, star_token) = node.user_with_token("star").await;
    let (small, small_token) = node.user_with_token("small").await;
    let (_, fan) = node.user_with_token("fan").await;
    let (_, other_fan) = node.user_with_token("otherfan").await;
    for who in [&fan, &other_fan] {
        node.api_post(
            &format!("/api/v1/accounts/{}/follow", star.account.id),
            who,
            json!({}),
        )
        .await;
    }
    node.api_post(
        &format!("/api/v1/accounts/{}/follow", small.account.id),
        &fan,
        json!({}),
    )
    .await;

    let (_, first) = node
        .api_post(
            "/api/v1/statuses",
            &star_token,
            json!({"status": "from the star"}),
        )
        .await;
    let (_, second) = node
        .api_post(
            "/api/v1/statuses",
            &small_token,
            json!({"status": "from the small one"}),
        )
        .await;
    let (_, private) = node
        .api_post(
            "/api/v1/statuses",
            &star_token,
            json!({"status": "fans only", "visibility": "private"}),
        )
        .await;
    let (_, direct) = node
        .api_post(
            "/api/v1/statuses",
            &star_token,
            json!({"status": "@small psst", "visibility": "direct"}),
        )
        .await;
    node.drain().await;
    let feed_rows = |id: &Value| {
        let id = id.as_str().unwrap().to_owned();
        let store = node.app.store().clone();
        async move {
            let page = starling_node::store::sql::Page {
                limit: 100,
                ..Default::default()
            };
            let fan_id = store
                .local_account_by_username("fan")
                .await
                .unwrap()
                .unwrap()
                .id;
            store
                .home_timeline(fan_id, page)
                .await
                .unwrap()
                .iter()
                .any(|s| s.id.to_string() == id)
        }
    };
    assert!(
        !feed_rows(&first["id"]).await,
        "the big account was not fanned out"
    );
    assert!(feed_rows(&second["id"]).await, "the small one was");

    let (_, home) = node.api_get("/api/v1/timelines/home", &fan).await;
    assert_eq!(
        ids(&home),
        vec![
            private["id"].as_str().unwrap().to_owned(),
            second["id"].as_str().unwrap().to_owned(),
            first["id"].as_str().unwrap().to_owned()
        ],
        "merged at read time, newest first, no direct message"
    );
    assert!(!ids(&home).contains(&direct["id"].as_str().unwrap().to_owned()));
    let (_, page) = node
        .api_get(
            &format!(
                "/api/v1/timelines/home?limit=1&max_id={}",
                private["id"].as_str().unwrap()
            ),
            &fan,
        )
        .await;
    assert_eq!(ids(&page), vec![second["id"].as_str().unwrap().to_owned()]);
    let (_, other) = node.api_get("/api/v1/timelines/home", &other_fan).await;
    assert_eq!(
        ids(&other).len(),
        2,
        "the other fan sees the star's public and private posts"
    );
}
