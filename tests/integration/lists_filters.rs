//! Lists (`/api/v1/lists`, the list timeline) and filters (`/api/v2/filters`)
//! through real HTTP on both databases. Statuses and follows are written
//! through the store, as a client would have made them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use starling_node::store::accounts::DbUser;
use starling_node::store::now_ms;
use starling_node::store::social::Relation;
use starling_node::store::statuses::{DbStatus, NewStatus};

use crate::db_test;
use crate::support::{Db, TestNode};

async fn follow(node: &TestNode, follower: &DbUser, followed: &DbUser) {
    node.app
        .store()
        .relate(
            Relation::Follow,
            node.app.ids().next(),
            follower.account.id,
            followed.account.id,
        )
        .await
        .expect("follow");
}

/// Stores a local status; `reply_to` is (status id, its author's account id).
async fn post(
    node: &TestNode,
    author: &DbUser,
    text: &str,
    visibility: &str,
    reply_to: Option<(i64, i64)>,
) -> String {
    let id = node.app.ids().next();
    node.app
        .store()
        .insert_status(&NewStatus {
            status: DbStatus {
                id,
                account_id: author.account.id,
                uri: None,
                url: None,
                local: true,
                in_reply_to_id: reply_to.map(|r| r.0),
                in_reply_to_account_id: reply_to.map(|r| r.1),
                reblog_of_id: None,
                text: text.into(),
                content: format!("<p>{text}</p>"),
                spoiler_text: String::new(),
                sensitive: false,
                visibility: visibility.into(),
                language: Some("en".into()),
                created_at: now_ms(),
                edited_at: None,
                application_id: None,
                ..DbStatus::default()
            },
            mentions: Vec::new(),
            tags: Vec::new(),
            tag_ids: Vec::new(),
            idempotency_key: None,
            job_id: node.app.ids().next(),
        })
        .await
        .expect("insert status")
        .to_string()
}

async fn put(node: &TestNode, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    node.api(Method::PUT, path, Some(token), Some(body)).await
}

async fn delete(
    node: &TestNode,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    node.api(Method::DELETE, path, Some(token), body).await
}

/// A form-encoded POST, as many clients send.
async fn post_form(node: &TestNode, path: &str, token: &str, form: &str) -> (StatusCode, Value) {
    let response = node
        .http
        .post(format!("{}{path}", node.base))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

/// The `Link` header and JSON of a GET.
async fn get_with_link(node: &TestNode, path: &str, token: &str) -> (Option<String>, Value) {
    let response = node
        .http
        .get(format!("{}{path}", node.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().expect("ASCII link").to_owned());
    (link, response.json().await.expect("JSON body"))
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x["id"].as_str().expect("string id"))
        .collect()
}

fn contents(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x["content"].as_str().expect("content"))
        .collect()
}

async fn new_list(node: &TestNode, token: &str, body: Value) -> String {
    let (status, list) = node.api_post("/api/v1/lists", token, body).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["id"].as_str().expect("list id").to_owned()
}

db_test!(list_crud_and_privacy);
async fn list_crud_and_privacy(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let (_bob, bob_token) = node.user_with_token("bob").await;

    let (status, list) = node
        .api_post("/api/v1/lists", &token, json!({"title": "Friends"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["title"], "Friends");
    assert_eq!(list["replies_policy"], "list");
    assert_eq!(list["exclusive"], false);
    let id = list["id"].as_str().expect("id").to_owned();

    for bad in [
        json!({"title": "   "}),
        json!({}),
        json!({"title": "x", "replies_policy": "everyone"}),
    ] {
        let (status, body) = node.api_post("/api/v1/lists", &token, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"].is_string());
    }

    let (status, form_list) = post_form(
        &node,
        "/api/v1/lists",
        &token,
        "title=From+a+form&exclusive=1",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{form_list}");
    assert_eq!(form_list["exclusive"], true);

    let (status, lists) = node.api_get("/api/v1/lists", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&lists),
        vec![id.as_str(), form_list["id"].as_str().unwrap()]
    );

    let path = format!("/api/v1/lists/{id}");
    let (status, updated) = put(
        &node,
        &path,
        &token,
        json!({"title": "Close friends", "replies_policy": "followed", "exclusive": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, shown) = node.api_get(&path, &token).await;
    assert_eq!(shown["title"], "Close friends");
    assert_eq!(shown["replies_policy"], "followed");
    assert_eq!(shown["exclusive"], true);
    let (status, _) = put(&node, &path, &token, json!({"title": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Someone else's list does not exist for them.
    let (status, body) = node.api_get(&path, &bob_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "Record not found");
    let (status, _) = put(&node, &path, &bob_token, json!({"title": "mine"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = delete(&node, &path, &bob_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = node
        .api_get(&format!("/api/v1/timelines/list/{id}"), &bob_token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = node.api_get(&format!("{path}/accounts"), &bob_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, bobs) = node.api_get("/api/v1/lists", &bob_token).await;
    assert_eq!(bobs, json!([]));
    let (status, _) = node.api_get("/api/v1/lists/not-an-id", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Scopes: a read-only token reads but cannot write; no token is a 401.
    let read_only = node.token(&alice, "read").await;
    let (status, _) = node.api_get("/api/v1/lists", &read_only).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = node
        .api_post("/api/v1/lists", &read_only, json!({"title": "nope"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = delete(&node, &path, &read_only, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = node.api(Method::GET, "/api/v1/lists", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = delete(&node, &path, &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    let (status, _) = node.api_get(&path, &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, lists) = node.api_get("/api/v1/lists", &token).await;
    assert_eq!(lists.as_array().map(Vec::len), Some(1));
}

db_test!(list_members_require_a_follow);
async fn list_members_require_a_follow(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let bob = node.create_user("bob").await;
    let carol = node.create_user("carol").await;
    let dave = node.create_user("dave").await;
    let id = new_list(&node, &token, json!({"title": "Friends"})).await;
    let accounts = format!("/api/v1/lists/{id}/accounts");
    let bob_id = bob.account.id.to_string();

    let (status, body) = node
        .api_post(&accounts, &token, json!({"account_ids": [bob_id]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, members) = node.api_get(&accounts, &token).await;
    assert_eq!(members, json!([]));

    follow(&node, &alice, &bob).await;
    let (status, body) = node
        .api_post(&accounts, &token, json!({"account_ids": [bob_id]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
    let (_, members) = node.api_get(&accounts, &token).await;
    assert_eq!(ids(&members), vec![bob_id.as_str()]);
    assert_eq!(members[0]["acct"], "bob");

    // All or nothing: carol is not followed, so neither is added.
    follow(&node, &alice, &dave).await;
    let (status, _) = node
        .api_post(
            &accounts,
            &token,
            json!({"account_ids": [dave.account.id.to_string(), carol.account.id.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, members) = node.api_get(&accounts, &token).await;
    assert_eq!(ids(&members), vec![bob_id.as_str()]);

    let (status, _) = node
        .api_post(&accounts, &token, json!({"account_ids": ["424242"]}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Form encoding with Rails-style arrays.
    follow(&node, &alice, &carol).await;
    let form = format!(
        "account_ids[]={}&account_ids[]={}",
        carol.account.id, dave.account.id
    );
    let (status, body) = post_form(&node, &accounts, &token, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Paging with a Link header.
    let (link, first) = get_with_link(&node, &format!("{accounts}?limit=2"), &token).await;
    assert_eq!(first.as_array().map(Vec::len), Some(2));
    let link = link.expect("a Link header");
    assert!(
        link.contains("rel=\"next\"") && link.contains("max_id="),
        "{link}"
    );
    let last = first[1]["id"].as_str().expect("id");
    let (_, rest) = node
        .api_get(&format!("{accounts}?limit=2&max_id={last}"), &token)
        .await;
    assert_eq!(rest.as_array().map(Vec::len), Some(1));
    let mut seen: Vec<String> = ids(&first)
        .into_iter()
        .chain(ids(&rest))
        .map(String::from)
        .collect();
    seen.sort();
    let mut expected: Vec<String> = [&bob, &carol, &dave]
        .iter()
        .map(|u| u.account.id.to_string())
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
    let (_, everyone) = node.api_get(&format!("{accounts}?limit=0"), &token).await;
    assert_eq!(everyone.as_array().map(Vec::len), Some(3));

    let (status, body) = delete(
        &node,
        &accounts,
        &token,
        Some(json!({"account_ids": [bob_id, carol.account.id.to_string()]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, members) = node.api_get(&accounts, &token).await;
    assert_eq!(ids(&members), vec![dave.account.id.to_string().as_str()]);
}

db_test!(list_timeline_shows_members_posts);
async fn list_timeline_shows_members_posts(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let bob = node.create_user("bob").await;
    let carol = node.create_user("carol").await;
    follow(&node, &alice, &bob).await;
    follow(&node, &alice, &carol).await;
    let id = new_list(&node, &token, json!({"title": "Bob only"})).await;
    let (status, _) = node
        .api_post(
            &format!("/api/v1/lists/{id}/accounts"),
            &token,
            json!({"account_ids": [bob.account.id.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let timeline = format!("/api/v1/timelines/list/{id}");

    let (_, empty) = node.api_get(&timeline, &token).await;
    assert_eq!(empty, json!([]));

    let first = post(&node, &bob, "bob in public", "public", None).await;
    let carols = post(&node, &carol, "carol in public", "public", None).await;
    let second = post(&node, &bob, "bob for followers", "private", None).await;
    post(&node, &bob, "bob in private", "direct", None).await;
    let gone = post(&node, &bob, "bob regrets this", "unlisted", None).await;
    node.app
        .store()
        .delete_status(gone.parse().expect("id"))
        .await
        .expect("delete");

    let (status, statuses) = node.api_get(&timeline, &token).await;
    assert_eq!(status, StatusCode::OK, "{statuses}");
    assert_eq!(ids(&statuses), vec![second.as_str(), first.as_str()]);
    assert_eq!(statuses[0]["account"]["acct"], "bob");
    assert_eq!(statuses[0]["visibility"], "private");

    // Paging.
    let (link, page) = get_with_link(&node, &format!("{timeline}?limit=1"), &token).await;
    assert_eq!(ids(&page), vec![second.as_str()]);
    assert!(
        link.expect("a Link header")
            .contains(&format!("max_id={second}"))
    );
    let (_, older) = node
        .api_get(&format!("{timeline}?max_id={second}"), &token)
        .await;
    assert_eq!(ids(&older), vec![first.as_str()]);
    let (_, newer) = node
        .api_get(&format!("{timeline}?min_id={first}"), &token)
        .await;
    assert_eq!(ids(&newer), vec![second.as_str()]);

    // Replies to people outside the list follow the replies policy.
    let reply = post(
        &node,
        &bob,
        "bob answers carol",
        "public",
        Some((carols.parse().expect("id"), carol.account.id)),
    )
    .await;
    let shows_reply = |v: &Value| contents(v).contains(&"<p>bob answers carol</p>");
    let (_, statuses) = node.api_get(&timeline, &token).await;
    assert!(!shows_reply(&statuses), "policy list: {statuses}");
    put(
        &node,
        &format!("/api/v1/lists/{id}"),
        &token,
        json!({"replies_policy": "followed"}),
    )
    .await;
    let (_, statuses) = node.api_get(&timeline, &token).await;
    assert!(shows_reply(&statuses), "policy followed: {statuses}");
    assert_eq!(statuses[0]["id"], reply.as_str());
    put(
        &node,
        &format!("/api/v1/lists/{id}"),
        &token,
        json!({"replies_policy": "none"}),
    )
    .await;
    let (_, statuses) = node.api_get(&timeline, &token).await;
    assert!(!shows_reply(&statuses), "policy none: {statuses}");

    // Removing bob empties the timeline.
    delete(
        &node,
        &format!("/api/v1/lists/{id}/accounts"),
        &token,
        Some(json!({"account_ids": [bob.account.id.to_string()]})),
    )
    .await;
    let (_, statuses) = node.api_get(&timeline, &token).await;
    assert_eq!(statuses, json!([]));
}

db_test!(filter_crud_with_keywords);
async fn filter_crud_with_keywords(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let (_bob, bob_token) = node.user_with_token("bob").await;

    let (status, filter) = node
        .api_post(
            "/api/v2/filters",
            &token,
            json!({
                "title": "Spoilers",
                "context": ["home", "public"],
                "filter_action": "warn",
                "keywords_attributes": [
                    {"keyword": "spoiler", "whole_word": true},
                    {"keyword": "ending", "whole_word": "false"},
                ],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}");
    assert_eq!(filter["title"], "Spoilers");
    assert_eq!(filter["context"], json!(["home", "public"]));
    assert_eq!(filter["filter_action"], "warn");
    assert_eq!(filter["expires_at"], Value::Null);
    assert_eq!(filter["statuses"], json!([]));
    let keywords = filter["keywords"].as_array().expect("keywords");
    assert_eq!(keywords.len(), 2);
    assert_eq!(keywords[0]["keyword"], "spoiler");
    assert_eq!(keywords[0]["whole_word"], true);
    assert_eq!(keywords[1]["whole_word"], false);
    let id = filter["id"].as_str().expect("id").to_owned();
    let spoiler_kw = keywords[0]["id"].as_str().expect("id").to_owned();

    for bad in [
        json!({"title": "x", "context": []}),
        json!({"title": "x"}),
        json!({"title": "x", "context": ["home", "elsewhere"]}),
        json!({"title": " ", "context": ["home"]}),
        json!({"title": "x", "context": ["home"], "filter_action": "explode"}),
        json!({"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": ""}]}),
    ] {
        let (status, body) = node.api_post("/api/v2/filters", &token, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    // Form encoding, with an expiry.
    let (status, form_filter) = post_form(
        &node,
        "/api/v2/filters",
        &token,
        "title=Form&context[]=thread&filter_action=hide&expires_in=3600\
         &keywords_attributes[0][keyword]=foo&keywords_attributes[0][whole_word]=false\
         &keywords_attributes[1][keyword]=bar",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{form_filter}");
    assert_eq!(form_filter["filter_action"], "hide");
    assert!(form_filter["expires_at"].is_string(), "{form_filter}");
    let words: Vec<(&str, bool)> = form_filter["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .map(|k| {
            (
                k["keyword"].as_str().expect("keyword"),
                k["whole_word"] == true,
            )
        })
        .collect();
    assert_eq!(words, vec![("foo", false), ("bar", true)]);

    let (_, all) = node.api_get("/api/v2/filters", &token).await;
    assert_eq!(
        ids(&all),
        vec![id.as_str(), form_filter["id"].as_str().unwrap()]
    );
    let path = format!("/api/v2/filters/{id}");
    let (status, shown) = node.api_get(&path, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, filter);

    // Update: rename, drop a keyword, add one, clear nothing else.
    let (status, updated) = put(
        &node,
        &path,
        &token,
        json!({
            "title": "Renamed",
            "filter_action": "hide",
            "keywords_attributes": [
                {"id": spoiler_kw, "_destroy": true},
                {"keyword": "finale"},
            ],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["title"], "Renamed");
    assert_eq!(updated["filter_action"], "hide");
    assert_eq!(updated["context"], json!(["home", "public"]));
    let words: Vec<&str> = updated["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .map(|k| k["keyword"].as_str().expect("keyword"))
        .collect();
    assert_eq!(words, vec!["ending", "finale"]);
    let (status, _) = put(&node, &path, &token, json!({"context": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Keyword endpoints.
    let (status, kws) = node.api_get(&format!("{path}/keywords"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kws.as_array().map(Vec::len), Some(2));
    let (status, kw) = node
        .api_post(
            &format!("{path}/keywords"),
            &token,
            json!({"keyword": "epilogue", "whole_word": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kw}");
    assert_eq!(kw["whole_word"], false);
    let kw_path = format!("/api/v2/filter_keywords/{}", kw["id"].as_str().expect("id"));
    let (status, fetched) = node.api_get(&kw_path, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, kw);
    let (status, changed) = put(&node, &kw_path, &token, json!({"keyword": "prologue"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["keyword"], "prologue");
    assert_eq!(changed["whole_word"], false);

    // Not bob's.
    let (status, _) = node.api_get(&path, &bob_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = node.api_get(&kw_path, &bob_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = delete(&node, &path, &bob_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, bobs) = node.api_get("/api/v2/filters", &bob_token).await;
    assert_eq!(bobs, json!([]));

    // Scopes.
    let read_only = node.token(&alice, "read:filters").await;
    let (status, _) = node.api_get("/api/v2/filters", &read_only).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = node
        .api_post(
            "/api/v2/filters",
            &read_only,
            json!({"title": "x", "context": ["home"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = node.api(Method::GET, "/api/v2/filters", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = delete(&node, &kw_path, &token, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, _) = node.api_get(&kw_path, &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = delete(&node, &path, &token, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, _) = node.api_get(&path, &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

db_test!(filters_hide_and_warn_in_the_list_timeline);
async fn filters_hide_and_warn_in_the_list_timeline(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let bob = node.create_user("bob").await;
    follow(&node, &alice, &bob).await;
    let id = new_list(&node, &token, json!({"title": "Bob"})).await;
    node.api_post(
        &format!("/api/v1/lists/{id}/accounts"),
        &token,
        json!({"account_ids": [bob.account.id.to_string()]}),
    )
    .await;
    let timeline = format!("/api/v1/timelines/list/{id}");

    let ending = post(&node, &bob, "The <em>Ending</em> was great", "public", None).await;
    let spoiler = post(&node, &bob, "big spoiler inside", "public", None).await;
    let unrelated = post(&node, &bob, "an unrelated post", "public", None).await;
    let trusting = post(&node, &bob, "trusting the process", "public", None).await;
    let rusty = post(&node, &bob, "rust never sleeps", "public", None).await;

    let create = |body: Value| {
        let node = &node;
        let token = &token;
        async move {
            let (status, f) = node.api_post("/api/v2/filters", token, body).await;
            assert_eq!(status, StatusCode::OK, "{f}");
            f["id"].as_str().expect("id").to_owned()
        }
    };
    create(
        json!({"title": "Endings", "context": ["home"], "filter_action": "warn",
        "keywords_attributes": [{"keyword": "ending"}]}),
    )
    .await;
    create(
        json!({"title": "Spoilers", "context": ["home"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "spoiler"}]}),
    )
    .await;
    // Only for public timelines: lists are `home`.
    create(
        json!({"title": "Elsewhere", "context": ["public"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "unrelated"}]}),
    )
    .await;
    // Whole word: "trust" does not match "trusting".
    create(
        json!({"title": "Trust", "context": ["home"], "filter_action": "hide",
        "keywords_attributes": [{"keyword": "trust", "whole_word": true}]}),
    )
    .await;
    let rust = create(
        json!({"title": "Rust", "context": ["home"], "filter_action": "hide",
        "expires_in": 3600, "keywords_attributes": [{"keyword": "rust"}]}),
    )
    .await;

    let (status, statuses) = node.api_get(&timeline, &token).await;
    assert_eq!(status, StatusCode::OK, "{statuses}");
    assert_eq!(
        ids(&statuses),
        vec![trusting.as_str(), unrelated.as_str(), ending.as_str()]
    );
    assert!(!ids(&statuses).contains(&spoiler.as_str()));
    let warned = &statuses[2];
    let filtered = warned["filtered"].as_array().expect("filtered");
    assert_eq!(filtered.len(), 1, "{warned}");
    assert_eq!(filtered[0]["filter"]["title"], "Endings");
    assert_eq!(filtered[0]["filter"]["filter_action"], "warn");
    assert_eq!(filtered[0]["keyword_matches"], json!(["ending"]));
    assert!(filtered[0]["filter"].get("keywords").is_none());
    for plain in &statuses.as_array().expect("array")[..2] {
        let f = &plain["filtered"];
        assert!(f.is_null() || *f == json!([]), "{plain}");
    }

    // An expired filter no longer applies.
    node.db
        .execute(&format!(
            "UPDATE filters SET expires_at = 1 WHERE id = {rust}"
        ))
        .await;
    let (_, statuses) = node.api_get(&timeline, &token).await;
    assert_eq!(ids(&statuses)[0], rusty.as_str());
    // It is still listed, so it can be renewed.
    let (_, all) = node.api_get("/api/v2/filters", &token).await;
    assert_eq!(all.as_array().map(Vec::len), Some(5));
}
