//! Our objects and collections as other servers read them: Notes and their
//! activities dereferenceable at their ids (followers-only and direct ones
//! only by a signed fetch from someone allowed to see them), outbox,
//! followers and following paged like Mastodon's, and remote posts keeping
//! the time their author wrote them.

use std::time::SystemTime;

use reqwest::StatusCode;
use serde_json::{Value, json};
use starling_federation::signatures::{http_date, sign_request};
use starling_node::store::accounts::DbUser;
use starling_node::store::remote::RemoteActor;
use starling_node::store::social::Relation;

use crate::db_test;
use crate::peers::{key_of, lookup_id, post_signed, settle};
use crate::support::{AS_JSON, Db, TestNode};

const LD_JSON: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// `GET url` on `to`, signed by `user` of `from` (authorized fetch) for the
/// host `signed_host` (normally `to`'s).
async fn signed_get(
    from: &TestNode,
    user: &DbUser,
    to: &TestNode,
    url: &str,
    signed_host: &str,
) -> (StatusCode, Value) {
    let (pair, key_id) = key_of(from, user).await;
    let path = url.strip_prefix(&to.base).expect("a URL on `to`");
    let date = http_date(SystemTime::now());
    let headers = vec![
        ("host".to_owned(), signed_host.to_owned()),
        ("date".to_owned(), date.clone()),
    ];
    let signature = sign_request("GET", path, &headers, &key_id, &pair).unwrap();
    let response = to
        .http
        .get(url)
        .header("accept", AS_JSON)
        .header("date", date)
        .header("signature", signature)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET url` (a full URL) as ActivityStreams JSON, unsigned.
async fn get_as(node: &TestNode, url: &str, accept: &str) -> (StatusCode, Value) {
    let path = url.strip_prefix(&node.base).expect("a URL on the node");
    node.get_json(path, accept).await
}

db_test!(notes_are_served_at_their_ids_with_everything_a_server_needs);
async fn notes_are_served_at_their_ids_with_everything_a_server_needs(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (code, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "hello @bob #birds", "spoiler_text": "birds ahead", "sensitive": true}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{post}");
    let uri = post["uri"].as_str().unwrap().to_owned();
    let (_, reply) = node
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "@alice indeed", "in_reply_to_id": post["id"]}),
        )
        .await;
    let (_, hidden_reply) = node
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "@alice psst", "in_reply_to_id": post["id"], "visibility": "direct"}),
        )
        .await;

    for accept in [AS_JSON, LD_JSON] {
        let (code, note) = get_as(&node, &uri, accept).await;
        assert_eq!(code, StatusCode::OK, "{accept}: {note}");
        assert_eq!(note["id"], uri);
        assert_eq!(note["type"], "Note");
        assert_eq!(note["attributedTo"], format!("{}/users/alice", node.base));
        assert!(
            note["content"].as_str().unwrap().contains("hello"),
            "{note}"
        );
        assert_eq!(note["summary"], "birds ahead");
        assert_eq!(note["sensitive"], true);
        assert_eq!(
            note["to"],
            json!(["https://www.w3.org/ns/activitystreams#Public"])
        );
        assert!(note["published"].as_str().unwrap().ends_with('Z'), "{note}");
        assert_eq!(
            note["url"],
            format!("{}/@alice/{}", node.base, post["id"].as_str().unwrap())
        );
        let tags = note["tag"].as_array().unwrap();
        assert!(
            tags.iter()
                .any(|t| t["type"] == "Mention" && t["href"] == format!("{}/users/bob", node.base)),
            "{note}"
        );
        assert!(
            tags.iter()
                .any(|t| t["type"] == "Hashtag" && t["name"] == "#birds"),
            "{note}"
        );
        // The public reply is listed; the direct one is not.
        let replies = &note["replies"];
        assert_eq!(replies["id"], format!("{uri}/replies"));
        assert_eq!(
            replies["first"]["items"],
            json!([reply["uri"]]),
            "{replies}"
        );
        assert!(
            !replies
                .to_string()
                .contains(hidden_reply["id"].as_str().unwrap())
        );
    }
    let (_, reply_note) = get_as(&node, reply["uri"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(reply_note["inReplyTo"], uri);

    // The Create is at its own id and carries the same Note.
    let (code, create) = get_as(&node, &format!("{uri}/activity"), AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "{create}");
    assert_eq!(create["type"], "Create");
    assert_eq!(create["id"], format!("{uri}/activity"));
    let (_, mut note) = get_as(&node, &uri, AS_JSON).await;
    note.as_object_mut().unwrap().remove("@context");
    assert_eq!(create["object"], note);

    // The replies collection pages on its own too.
    let (code, replies) = get_as(&node, &format!("{uri}/replies"), AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "{replies}");
    assert_eq!(replies["type"], "Collection");
    let (_, page) = get_as(&node, &format!("{uri}/replies?page=true"), AS_JSON).await;
    assert_eq!(page["items"], json!([reply["uri"]]), "{page}");

    // Unsigned, the direct reply does not exist; a browser goes to the profile.
    let (code, _) = get_as(&node, hidden_reply["uri"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let page = node
        .get(uri.strip_prefix(&node.base).unwrap(), "text/html")
        .await;
    assert!(page.url().path().ends_with("/@alice"), "{}", page.url());
    let (code, _) = node.get_json("/users/alice/statuses/123", AS_JSON).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = node
        .get_json(
            &format!("/users/bob/statuses/{}", post["id"].as_str().unwrap()),
            AS_JSON,
        )
        .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "a status is only at its author's URL"
    );
}

db_test!(restricted_notes_need_a_signed_fetch_by_someone_allowed);
async fn restricted_notes_need_a_signed_fetch_by_someone_allowed(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (alice_user, alice) = a.user_with_token("alice").await;
    let carol_user = a.create_user("carol").await;
    let dave_user = a.create_user("dave").await;
    let (_, bob) = b.user_with_token("bob").await;

    // Alice follows bob; bob's server knows dave (for a mention).
    let remote_bob = lookup_id(&a, None, &format!("bob@{}", b.domain)).await;
    a.api_post(
        &format!("/api/v1/accounts/{remote_bob}/follow"),
        &alice,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let dave_on_b = lookup_id(&b, None, &format!("dave@{}", a.domain)).await;

    let (_, private) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "followers only", "visibility": "private"}),
        )
        .await;
    // Mentions are written `@dave@host`, which cannot name a host with a
    // port (the tests' `localhost:{port}`): the mention is stored directly.
    let (_, direct) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "just you, dave", "visibility": "direct"}),
        )
        .await;
    b.db.execute(&format!(
        "INSERT INTO mentions (status_id, account_id) VALUES ({}, {dave_on_b})",
        direct["id"].as_str().unwrap()
    ))
    .await;
    let private_uri = private["uri"].as_str().unwrap().to_owned();
    let direct_uri = direct["uri"].as_str().unwrap().to_owned();

    // Anonymous: nothing, at the Note, its activity or its replies.
    for url in [
        private_uri.clone(),
        format!("{private_uri}/activity"),
        format!("{private_uri}/replies"),
        direct_uri.clone(),
    ] {
        let (code, _) = get_as(&b, &url, AS_JSON).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{url}");
    }
    // The follower sees the followers-only post, not the direct one.
    let (code, note) = signed_get(&a, &alice_user, &b, &private_uri, &b.domain).await;
    assert_eq!(code, StatusCode::OK, "{note}");
    assert_eq!(note["content"], private["content"]);
    let (code, create) = signed_get(
        &a,
        &alice_user,
        &b,
        &format!("{private_uri}/activity"),
        &b.domain,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(create["object"]["id"], private_uri);
    let (code, _) = signed_get(&a, &alice_user, &b, &direct_uri, &b.domain).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // The mentioned sees the direct post, not the followers-only one.
    let (code, note) = signed_get(&a, &dave_user, &b, &direct_uri, &b.domain).await;
    assert_eq!(code, StatusCode::OK, "{note}");
    assert_eq!(note["to"], json!([format!("{}/users/dave", a.base)]));
    let (code, _) = signed_get(&a, &dave_user, &b, &private_uri, &b.domain).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // A valid signature by someone else, or the follower's signature made
    // for another host, gets nothing.
    let (code, _) = signed_get(&a, &carol_user, &b, &private_uri, &b.domain).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = signed_get(&a, &alice_user, &b, &private_uri, &a.domain).await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // Someone bob blocks does not get even his public posts by signing.
    let (_, public) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "for all"}))
        .await;
    let public_uri = public["uri"].as_str().unwrap();
    let (code, _) = signed_get(&a, &carol_user, &b, public_uri, &b.domain).await;
    assert_eq!(code, StatusCode::OK);
    let carol_on_b = lookup_id(&b, None, &format!("carol@{}", a.domain)).await;
    b.api_post(
        &format!("/api/v1/accounts/{carol_on_b}/block"),
        &bob,
        json!({}),
    )
    .await;
    let (code, _) = signed_get(&a, &carol_user, &b, public_uri, &b.domain).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = get_as(&b, public_uri, AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "unsigned, it is public");
}

db_test!(boosts_are_announced_at_ids_that_resolve);
async fn boosts_are_announced_at_ids_that_resolve(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let remote_bob = lookup_id(&a, None, &format!("bob@{}", b.domain)).await;
    a.api_post(
        &format!("/api/v1/accounts/{remote_bob}/follow"),
        &alice,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, post) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "boost me"}))
        .await;
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", &alice).await;
    assert_eq!(home[0]["uri"], post["uri"], "{home}");
    let remote_post = home[0]["id"].as_str().unwrap().to_owned();
    let (code, boost) = a
        .api_post(
            &format!("/api/v1/statuses/{remote_post}/reblog"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{boost}");
    settle(&[&a, &b]).await;
    let announce_id = boost["uri"].as_str().unwrap().to_owned();
    let (code, announce) = get_as(&a, &announce_id, AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "{announce}");
    assert_eq!(announce["type"], "Announce");
    assert_eq!(announce["id"], announce_id);
    assert_eq!(announce["actor"], format!("{}/users/alice", a.base));
    assert_eq!(announce["object"], post["uri"]);
    let original_id = post["id"].as_str().unwrap().to_owned();
    let (_, on_b) = b
        .api_get(&format!("/api/v1/statuses/{original_id}"), &bob)
        .await;
    assert_eq!(on_b["reblogs_count"], 1, "{on_b}");

    // Undo names the same Announce, so bob's server takes the boost back.
    a.api_post(
        &format!("/api/v1/statuses/{remote_post}/unreblog"),
        &alice,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, on_b) = b
        .api_get(&format!("/api/v1/statuses/{original_id}"), &bob)
        .await;
    assert_eq!(on_b["reblogs_count"], 0, "{on_b}");
    let (code, _) = get_as(&a, &announce_id, AS_JSON).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

/// `n` remote accounts following `target` (stored as if their servers had
/// sent Follows), oldest first.
async fn remote_followers(node: &TestNode, target: i64, n: usize) -> Vec<String> {
    let mut uris = Vec::new();
    for i in 0..n {
        let uri = format!("https://remote{i}.example/users/f{i}");
        let id = node
            .app
            .store()
            .upsert_remote_actor(
                node.app.ids().next(),
                &RemoteActor {
                    uri: uri.clone(),
                    username: format!("f{i}"),
                    domain: format!("remote{i}.example"),
                    display_name: String::new(),
                    note: String::new(),
                    avatar_url: None,
                    header_url: None,
                    fields: "[]".into(),
                    inbox_url: format!("{uri}/inbox"),
                    shared_inbox_url: None,
                    url: None,
                    actor_type: "Person".into(),
                    locked: false,
                    key_id: format!("{uri}#main-key"),
                    public_key_pem: "unused".into(),
                },
            )
            .await
            .unwrap();
        node.app
            .store()
            .relate(Relation::Follow, node.app.ids().next(), id, target)
            .await
            .unwrap();
        uris.push(uri);
    }
    uris
}

db_test!(followers_and_following_are_paged_newest_first);
async fn followers_and_following_are_paged_newest_first(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, _) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let mut followers = remote_followers(&node, alice_user.account.id, 41).await;
    node.api_post(
        &format!("/api/v1/accounts/{}/follow", alice_user.account.id),
        &bob,
        json!({}),
    )
    .await;
    followers.push(format!("{}/users/bob", node.base));
    followers.reverse();

    let (code, collection) = node.get_json("/users/alice/followers", AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "{collection}");
    assert_eq!(collection["type"], "OrderedCollection");
    assert_eq!(collection["totalItems"], 42);
    let (_, first) = get_as(&node, collection["first"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(first["type"], "OrderedCollectionPage");
    assert_eq!(
        first["partOf"],
        format!("{}/users/alice/followers", node.base)
    );
    assert_eq!(
        first["orderedItems"],
        json!(followers[..40]),
        "newest first"
    );
    let (_, second) = get_as(&node, first["next"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(second["orderedItems"], json!(followers[40..]));
    assert!(second.get("next").is_none(), "{second}");
    // Back from the second page to the newer ones.
    let (_, back) = get_as(&node, second["prev"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(back["orderedItems"], json!(followers[..40]));

    let (_, following) = node.get_json("/users/bob/following", AS_JSON).await;
    assert_eq!(following["totalItems"], 1);
    let (_, page) = node
        .get_json("/users/bob/following?page=true", AS_JSON)
        .await;
    assert_eq!(
        page["orderedItems"],
        json!([format!("{}/users/alice", node.base)])
    );
    let (_, none) = node
        .get_json("/users/alice/following?page=true", AS_JSON)
        .await;
    assert_eq!(none["orderedItems"], json!([]));
    let (code, _) = node
        .get_json("/users/alice/followers?max_id=x", AS_JSON)
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

db_test!(outbox_pages_creates_and_announces_of_public_posts);
async fn outbox_pages_creates_and_announces_of_public_posts(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let mut expected = Vec::new();
    for i in 0..20 {
        let visibility = if i % 2 == 0 { "public" } else { "unlisted" };
        let (_, post) = node
            .api_post(
                "/api/v1/statuses",
                &alice,
                json!({"status": format!("post {i}"), "visibility": visibility}),
            )
            .await;
        expected.push(format!("{}/activity", post["uri"].as_str().unwrap()));
    }
    node.api_post(
        "/api/v1/statuses",
        &alice,
        json!({"status": "friends", "visibility": "private"}),
    )
    .await;
    node.api_post(
        "/api/v1/statuses",
        &alice,
        json!({"status": "@bob hush", "visibility": "direct"}),
    )
    .await;
    let (_, bobs) = node
        .api_post("/api/v1/statuses", &bob, json!({"status": "worth a boost"}))
        .await;
    let (_, boost) = node
        .api_post(
            &format!("/api/v1/statuses/{}/reblog", bobs["id"].as_str().unwrap()),
            &alice,
            json!({}),
        )
        .await;
    expected.push(boost["uri"].as_str().unwrap().to_owned());
    expected.reverse();

    let (code, outbox) = node.get_json("/users/alice/outbox", AS_JSON).await;
    assert_eq!(code, StatusCode::OK, "{outbox}");
    assert_eq!(outbox["totalItems"], 21, "{outbox}");
    let (_, first) = get_as(&node, outbox["first"].as_str().unwrap(), AS_JSON).await;
    let items = first["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Announce");
    assert_eq!(items[0]["object"], bobs["uri"]);
    assert_eq!(items[1]["type"], "Create");
    assert_eq!(
        items[1]["object"]["content"], "<p>post 19</p>",
        "{}",
        items[1]
    );
    let (_, second) = get_as(&node, first["next"].as_str().unwrap(), AS_JSON).await;
    let mut ids: Vec<Value> = items.iter().map(|i| i["id"].clone()).collect();
    ids.extend(
        second["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone()),
    );
    assert_eq!(
        ids,
        json!(expected).as_array().unwrap().clone(),
        "only public and unlisted posts, and boosts"
    );
    assert!(!first.to_string().contains("hush") && !second.to_string().contains("friends"));
    // Every item is dereferenceable at its id.
    for id in [&expected[0], &expected[1]] {
        let (code, item) = get_as(&node, id, AS_JSON).await;
        assert_eq!(code, StatusCode::OK, "{id}");
        assert_eq!(&item["id"], id);
    }
    // The oldest page is there too.
    let (_, last) = get_as(&node, outbox["last"].as_str().unwrap(), AS_JSON).await;
    assert_eq!(last["orderedItems"].as_array().unwrap().len(), 20);
    assert_eq!(last["orderedItems"][19]["id"], expected[20]);
}

db_test!(remote_posts_keep_the_time_their_author_gave_them);
async fn remote_posts_keep_the_time_their_author_gave_them(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let actor = format!("{}/users/alice", a.base);
    let create = |n: u32, published: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/statuses/{n}/activity"),
            "type": "Create",
            "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{actor}/statuses/{n}"), "type": "Note", "attributedTo": actor,
                "content": format!("<p>note {n}</p>"), "published": published,
                "to": ["https://www.w3.org/ns/activitystreams#Public"]
            }
        })
    };
    assert_eq!(
        post_signed(&a, &alice, &b, &create(1, "2020-01-02T03:04:05Z")).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post_signed(&a, &alice, &b, &create(2, "2999-01-01T00:00:00Z")).await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    let remote_alice = lookup_id(&b, None, &format!("alice@{}", a.domain)).await;
    let (_, statuses) = b
        .api_get(&format!("/api/v1/accounts/{remote_alice}/statuses"), &bob)
        .await;
    assert_eq!(statuses.as_array().unwrap().len(), 2, "{statuses}");
    let by_content = |text: &str| {
        statuses
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["content"].as_str().unwrap().contains(text))
            .unwrap()["created_at"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(by_content("note 1"), "2020-01-02T03:04:05.000Z");
    // A date in the future is not believed: it becomes the arrival time.
    let future = by_content("note 2");
    assert!(future.as_str() < "2100", "{future}");
    assert!(future.as_str() > "2020-01-03", "{future}");
}
