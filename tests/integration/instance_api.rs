//! The endpoints a Mastodon client calls right after login: the instance
//! documents, the small lists it loads at start-up, preferences, and the
//! read markers, over real HTTP on both databases.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use starling_node::store::statuses::{DbStatus, NewStatus};

use crate::db_test;
use crate::support::{Db, TestNode};

/// A public request without any token.
async fn anonymous(node: &TestNode, path: &str) -> (StatusCode, Value) {
    node.api(Method::GET, path, None, None).await
}

/// Stores a public local status by `account_id` (the statuses API has its own
/// tests; here only the count matters).
async fn post_status(node: &TestNode, account_id: i64) {
    let ids = node.app.ids();
    let now = starling_node::store::now_ms();
    node.app
        .store()
        .insert_status(&NewStatus {
            status: DbStatus {
                id: ids.next(),
                account_id,
                uri: None,
                url: None,
                local: true,
                in_reply_to_id: None,
                in_reply_to_account_id: None,
                reblog_of_id: None,
                text: "hello".into(),
                content: "<p>hello</p>".into(),
                spoiler_text: String::new(),
                sensitive: false,
                visibility: "public".into(),
                language: Some("en".into()),
                created_at: now,
                edited_at: None,
                application_id: None,
                ..DbStatus::default()
            },
            mentions: Vec::new(),
            tags: Vec::new(),
            tag_ids: Vec::new(),
            idempotency_key: None,
            job_id: ids.next(),
        })
        .await
        .expect("insert status");
}

db_test!(instance_v1_describes_the_server_as_clients_read_it_at_login);
async fn instance_v1_describes_the_server_as_clients_read_it_at_login(db: Db) {
    let node = TestNode::spawn(db).await;

    let (status, before) = anonymous(&node, "/api/v1/instance").await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["stats"]["user_count"], 0);
    assert_eq!(before["stats"]["status_count"], 0);

    let alice = node.create_user("alice").await;
    node.create_user("bob").await;
    post_status(&node, alice.account.id).await;

    let (status, v1) = anonymous(&node, "/api/v1/instance").await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["uri"], node.domain);
    assert_eq!(v1["title"], node.domain);
    // Clients parse the leading Mastodon version to enable features.
    let version = v1["version"].as_str().expect("version is a string");
    assert!(version.starts_with("4.3.0 "), "{version}");
    assert!(version.contains("(compatible; Starling "), "{version}");
    assert_eq!(v1["urls"]["streaming_api"], format!("ws://{}", node.domain));
    assert_eq!(v1["stats"]["user_count"], 2);
    assert_eq!(v1["stats"]["status_count"], 1);
    assert_eq!(v1["stats"]["domain_count"], 0);
    assert_eq!(v1["registrations"], false);
    assert_eq!(v1["approval_required"], false);
    assert_eq!(v1["invites_enabled"], false);
    assert_eq!(v1["languages"], json!(["en"]));
    assert_eq!(v1["contact_account"], Value::Null);
    assert_eq!(v1["rules"], json!([]));
    assert!(v1["description"].is_string());
    assert!(v1["short_description"].is_string());
    assert!(v1["email"].is_string());
    assert!(
        v1["thumbnail"]
            .as_str()
            .is_some_and(|t| t.starts_with(&node.base))
    );

    let config = &v1["configuration"];
    assert_eq!(config["statuses"]["max_characters"], 500);
    assert_eq!(config["statuses"]["max_media_attachments"], 4);
    assert_eq!(config["statuses"]["characters_reserved_per_url"], 23);
    assert_eq!(config["accounts"]["max_featured_tags"], 10);
    let media = &config["media_attachments"];
    assert!(
        media["supported_mime_types"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("image/png")))
    );
    for key in [
        "image_size_limit",
        "image_matrix_limit",
        "video_size_limit",
        "video_frame_rate_limit",
        "video_matrix_limit",
    ] {
        assert!(media[key].as_u64().is_some_and(|n| n > 0), "{key}: {media}");
    }
    assert_eq!(config["polls"]["max_options"], 4);
    assert_eq!(config["polls"]["max_characters_per_option"], 50);
    assert_eq!(config["polls"]["min_expiration"], 300);
    assert_eq!(config["polls"]["max_expiration"], 2_629_746);

    // Some clients build the URL with a trailing slash.
    let (status, slash) = anonymous(&node, "/api/v1/instance/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slash, v1);
}

db_test!(instance_v2_describes_the_server_as_clients_read_it_at_login);
async fn instance_v2_describes_the_server_as_clients_read_it_at_login(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;

    let (status, v2) = anonymous(&node, "/api/v2/instance").await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["domain"], node.domain);
    assert_eq!(v2["title"], node.domain);
    let version = v2["version"].as_str().expect("version is a string");
    assert!(
        version.starts_with("4.3.0 (compatible; Starling "),
        "{version}"
    );
    assert!(v2["source_url"].is_string());
    assert!(v2["description"].is_string());
    // A user just created counts as active this month.
    assert_eq!(v2["usage"]["users"]["active_month"], 1);
    assert_eq!(
        v2["thumbnail"]["url"],
        format!("{}/avatars/original/missing.png", node.base)
    );
    assert_eq!(v2["languages"], json!(["en"]));

    let config = &v2["configuration"];
    assert_eq!(config["urls"]["streaming"], format!("ws://{}", node.domain));
    assert_eq!(config["accounts"]["max_featured_tags"], 10);
    assert_eq!(config["accounts"]["max_pinned_statuses"], 5);
    assert_eq!(config["statuses"]["max_characters"], 500);
    assert_eq!(config["statuses"]["max_media_attachments"], 4);
    assert_eq!(config["statuses"]["characters_reserved_per_url"], 23);
    assert_eq!(config["media_attachments"]["description_limit"], 1500);
    assert!(config["media_attachments"]["image_size_limit"].is_u64());
    assert_eq!(config["polls"]["max_options"], 4);
    assert_eq!(config["translation"]["enabled"], false);
    assert_eq!(config["vapid"]["public_key"], "");

    assert_eq!(v2["registrations"]["enabled"], false);
    assert_eq!(v2["registrations"]["approval_required"], false);
    assert_eq!(v2["registrations"]["message"], Value::Null);
    assert_eq!(v2["contact"]["email"], "");
    assert_eq!(v2["contact"]["account"], Value::Null);
    assert_eq!(v2["rules"], json!([]));
    assert_eq!(v2["api_versions"], json!({"mastodon": 2}));

    let (status, slash) = anonymous(&node, "/api/v2/instance/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slash, v2);
}

db_test!(start_up_lists_are_public_and_empty);
async fn start_up_lists_are_public_and_empty(db: Db) {
    let node = TestNode::spawn(db).await;
    for path in [
        "/api/v1/custom_emojis",
        "/api/v1/trends",
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
        "/api/v1/instance/peers",
        "/api/v1/instance/activity",
        "/api/v1/instance/rules",
    ] {
        let (status, body) = anonymous(&node, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body, json!([]), "{path}");
    }
}

db_test!(preferences_announcements_and_followed_tags_need_a_token);
async fn preferences_announcements_and_followed_tags_need_a_token(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;

    for path in [
        "/api/v1/preferences",
        "/api/v1/announcements",
        "/api/v1/followed_tags",
    ] {
        let (status, body) = anonymous(&node, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
        let (status, _) = node.api_get(path, "not-a-token").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }

    let (status, prefs) = node.api_get("/api/v1/preferences", &token).await;
    assert_eq!(status, StatusCode::OK, "{prefs}");
    assert_eq!(prefs["posting:default:visibility"], "public");
    assert_eq!(prefs["posting:default:sensitive"], false);
    assert_eq!(prefs["posting:default:language"], Value::Null);
    assert_eq!(prefs["reading:expand:media"], "default");
    assert_eq!(prefs["reading:expand:spoilers"], false);

    let (status, body) = node.api_get("/api/v1/announcements", &token).await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));

    let (status, body) = node
        .api_get("/api/v1/followed_tags?limit=20&max_id=5", &token)
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    let (status, _) = node
        .api_get("/api/v1/followed_tags?max_id=abc", &token)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Scopes are checked: a token that may only write cannot read these.
    let write_only = node.token(&alice, "write").await;
    for path in ["/api/v1/preferences", "/api/v1/followed_tags"] {
        let (status, _) = node.api_get(path, &write_only).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

/// `POST /api/v1/markers` with a form body, as some clients send it.
async fn post_markers_form(node: &TestNode, token: &str, form: &str) -> (StatusCode, Value) {
    let response = node
        .http
        .post(format!("{}/api/v1/markers", node.base))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

fn assert_timestamp(value: &Value) {
    let text = value.as_str().expect("updated_at is a string");
    // 2026-11-28T16:57:48.123Z
    assert_eq!(text.len(), 24, "{text}");
    assert_eq!(&text[10..11], "T", "{text}");
    assert_eq!(&text[19..20], ".", "{text}");
    assert!(text.ends_with('Z'), "{text}");
}

const BOTH: &str = "/api/v1/markers?timeline[]=home&timeline[]=notifications";

db_test!(markers_round_trip_per_user);
async fn markers_round_trip_per_user(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, token) = node.user_with_token("alice").await;
    let (_bob, bob_token) = node.user_with_token("bob").await;

    let (status, body) = anonymous(&node, BOTH).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Nothing saved yet: no keys at all.
    let (status, body) = node.api_get(BOTH, &token).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));

    // JSON body; a new marker starts at version 0.
    let (status, saved) = node
        .api_post(
            "/api/v1/markers",
            &token,
            json!({"home": {"last_read_id": "100"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["home"]["last_read_id"], "100");
    assert_eq!(saved["home"]["version"], 0);
    assert_timestamp(&saved["home"]["updated_at"]);
    assert!(saved.get("notifications").is_none(), "{saved}");

    let (status, body) = node.api_get(BOTH, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, saved, "only the saved timeline appears");

    // Form body for both timelines; moving home bumps its version.
    let (status, saved) = post_markers_form(
        &node,
        &token,
        "home[last_read_id]=200&notifications[last_read_id]=7",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["home"]["last_read_id"], "200");
    assert_eq!(saved["home"]["version"], 1);
    assert_eq!(saved["notifications"]["last_read_id"], "7");
    assert_eq!(saved["notifications"]["version"], 0);
    assert_timestamp(&saved["notifications"]["updated_at"]);

    let (_, body) = node.api_get(BOTH, &token).await;
    assert_eq!(body, saved);
    let (_, body) = node
        .api_get("/api/v1/markers?timeline[]=notifications", &token)
        .await;
    assert_eq!(body, json!({"notifications": saved["notifications"]}));

    let (_, again) = node
        .api_post(
            "/api/v1/markers",
            &token,
            json!({"home": {"last_read_id": 300}}),
        )
        .await;
    assert_eq!(again["home"]["last_read_id"], "300");
    assert_eq!(again["home"]["version"], 2);
    // Saving the same position again is no change, as on Mastodon.
    let (_, same) = node
        .api_post(
            "/api/v1/markers",
            &token,
            json!({"home": {"last_read_id": "300"}}),
        )
        .await;
    assert_eq!(same["home"], again["home"]);

    // Unknown timelines are ignored; a non-numeric id is refused and changes
    // nothing.
    let (status, body) = node
        .api_post(
            "/api/v1/markers",
            &token,
            json!({"public": {"last_read_id": "1"}}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = node
        .api_post(
            "/api/v1/markers",
            &token,
            json!({"home": {"last_read_id": "latest"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, body) = node.api_get(BOTH, &token).await;
    assert_eq!(body["home"]["last_read_id"], "300");
    assert_eq!(body["home"]["version"], 2);

    // A read-only token may read markers but not move them.
    let read_only = node.token(&alice, "read").await;
    let (status, _) = node
        .api_post(
            "/api/v1/markers",
            &read_only,
            json!({"home": {"last_read_id": "400"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = node.api_get(BOTH, &read_only).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["home"]["last_read_id"], "300");

    // Markers are per user.
    let (status, body) = node.api_get(BOTH, &bob_token).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (_, body) = node
        .api_post(
            "/api/v1/markers",
            &bob_token,
            json!({"home": {"last_read_id": "5"}}),
        )
        .await;
    assert_eq!(body["home"]["version"], 0);
    let (_, body) = node.api_get(BOTH, &token).await;
    assert_eq!(body["home"]["last_read_id"], "300");
}
