//! Discovery as other servers do it: WebFinger, host-meta, NodeInfo, the actor
//! document and its collections, over real HTTP.

use reqwest::StatusCode;
use serde_json::Value;

use crate::db_test;
use crate::support::{AS_JSON, Db, TestNode};

db_test!(webfinger_finds_a_local_user_by_acct_and_by_url);
async fn webfinger_finds_a_local_user_by_acct_and_by_url(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let actor = format!("{}/users/alice", node.base);
    let profile = format!("{}/@alice", node.base);

    for resource in [
        format!("acct:alice@{}", node.domain),
        format!("acct:ALICE@{}", node.domain.to_uppercase()),
        format!("alice@{}", node.domain),
        actor.clone(),
        profile.clone(),
    ] {
        let response = node
            .get(
                &format!("/.well-known/webfinger?resource={}", encode(&resource)),
                "*/*",
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{resource}");
        assert_eq!(header(&response, "access-control-allow-origin"), "*");
        assert!(header(&response, "content-type").starts_with("application/jrd+json"));
        let jrd: Value = response.json().await.unwrap();
        assert_eq!(
            jrd["subject"],
            format!("acct:alice@{}", node.domain),
            "{resource}"
        );
        assert_eq!(jrd["aliases"], serde_json::json!([profile, actor]));
        let links = jrd["links"].as_array().unwrap();
        let self_link = links
            .iter()
            .find(|l| l["rel"] == "self")
            .expect("self link");
        assert_eq!(self_link["type"], "application/activity+json");
        assert_eq!(self_link["href"], actor);
        let page = links
            .iter()
            .find(|l| l["rel"] == "http://webfinger.net/rel/profile-page")
            .expect("profile-page link");
        assert_eq!(page["href"], profile);
    }
}

db_test!(webfinger_rejects_unknown_and_malformed_resources);
async fn webfinger_rejects_unknown_and_malformed_resources(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    let cases = [
        (format!("acct:bob@{}", node.domain), StatusCode::NOT_FOUND),
        (
            "acct:alice@elsewhere.example".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            "https://elsewhere.example/users/alice".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (format!("{}/notes/1", node.base), StatusCode::NOT_FOUND),
        ("acct:alice".to_owned(), StatusCode::BAD_REQUEST),
        ("not a resource".to_owned(), StatusCode::BAD_REQUEST),
        ("acct:al<i>ce@x".to_owned(), StatusCode::BAD_REQUEST),
        (String::new(), StatusCode::BAD_REQUEST),
    ];
    for (resource, status) in cases {
        let (got, body) = node
            .get_json(
                &format!("/.well-known/webfinger?resource={}", encode(&resource)),
                "*/*",
            )
            .await;
        assert_eq!(got, status, "{resource:?}");
        assert!(body["error"].is_string(), "{resource:?}: {body}");
    }
    let (got, _) = node.get_json("/.well-known/webfinger", "*/*").await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
}

db_test!(actor_document_carries_key_and_endpoints);
async fn actor_document_carries_key_and_endpoints(db: Db) {
    let node = TestNode::spawn(db).await;
    let alice = node.create_user("alice").await;
    let id = format!("{}/users/alice", node.base);

    for accept in [
        AS_JSON,
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
    ] {
        let response = node.get("/users/alice", accept).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "content-type").starts_with("application/activity+json"));
        let actor: Value = response.json().await.unwrap();
        assert_eq!(actor["id"], id);
        assert_eq!(actor["type"], "Person");
        assert_eq!(actor["preferredUsername"], "alice");
        assert_eq!(actor["url"], format!("{}/@alice", node.base));
        for (field, suffix) in [
            ("inbox", "/inbox"),
            ("outbox", "/outbox"),
            ("followers", "/followers"),
            ("following", "/following"),
            ("featured", "/collections/featured"),
        ] {
            assert_eq!(actor[field], format!("{id}{suffix}"), "{field}");
        }
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            format!("{}/inbox", node.base)
        );
        assert_eq!(actor["manuallyApprovesFollowers"], false);
        assert_eq!(actor["discoverable"], true);
        assert!(actor["published"].as_str().unwrap().ends_with('Z'));
        assert!(actor["name"].is_string() && actor["summary"].is_string());
        assert_eq!(actor["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(actor["publicKey"]["owner"], id);
        let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
        let keys = node
            .app
            .store()
            .account_keys(alice.account.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pem, keys.public_key_pem);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        // The published key is the public half of the stored private key.
        let private = keys.private_key_pem.as_deref().unwrap();
        assert_eq!(
            starling_federation::keys::public_pem_of(private).unwrap(),
            pem
        );
        // Only contexts every implementation has preloaded, plus inline terms.
        let context = actor["@context"].as_array().unwrap();
        assert_eq!(context[0], "https://www.w3.org/ns/activitystreams");
        assert_eq!(context[1], "https://w3id.org/security/v1");
        assert!(context[2].is_object());
        assert_eq!(context.len(), 3);
    }
}

db_test!(browsers_get_html_profiles_and_unknown_users_404);
async fn browsers_get_html_profiles_and_unknown_users_404(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    for path in ["/users/alice", "/@alice"] {
        let response = node
            .get(path, "text/html,application/xhtml+xml,*/*;q=0.8")
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(header(&response, "content-type").starts_with("text/html"));
        assert!(header(&response, "content-security-policy").contains("default-src 'none'"));
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("@alice@{}", node.domain)), "{html}");
    }
    // The profile URL also answers ActivityPub clients, as Mastodon's does.
    let (status, actor) = node.get_json("/@alice", AS_JSON).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["id"], format!("{}/users/alice", node.base));

    for path in [
        "/users/nobody",
        "/@nobody",
        "/users/nobody/outbox",
        "/no/such/route",
    ] {
        let (status, body) = node.get_json(path, AS_JSON).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body["error"].is_string());
    }
}

db_test!(actor_collections_are_ordered_collections);
async fn actor_collections_are_ordered_collections(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    for part in ["outbox", "followers", "following", "collections/featured"] {
        let path = format!("/users/alice/{part}");
        let response = node.get(&path, AS_JSON).await;
        assert_eq!(response.status(), StatusCode::OK, "{part}");
        assert!(header(&response, "content-type").starts_with("application/activity+json"));
        let collection: Value = response.json().await.unwrap();
        assert_eq!(collection["type"], "OrderedCollection", "{part}");
        assert_eq!(collection["id"], format!("{}{path}", node.base));
        assert_eq!(collection["totalItems"], 0, "{part}");
    }
}

db_test!(nodeinfo_describes_the_node_and_counts_users);
async fn nodeinfo_describes_the_node_and_counts_users(db: Db) {
    let node = TestNode::spawn(db).await;
    node.create_user("alice").await;
    node.create_user("bob").await;

    let response = node.get("/.well-known/nodeinfo", "application/json").await;
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    let discovery: Value = response.json().await.unwrap();
    let links = discovery["links"].as_array().unwrap();
    for version in ["2.0", "2.1"] {
        let rel = format!("http://nodeinfo.diaspora.software/ns/schema/{version}");
        let link = links
            .iter()
            .find(|l| l["rel"] == rel)
            .expect("link per version");
        let href = link["href"].as_str().unwrap();
        let path = href.strip_prefix(&node.base).expect("link on our domain");
        let response = node.get(path, "application/json").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            header(&response, "content-type").contains(&rel),
            "profile names the schema"
        );
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["version"], version);
        assert_eq!(info["software"]["name"], "starling");
        assert_eq!(info["software"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(info["protocols"], serde_json::json!(["activitypub"]));
        assert_eq!(info["usage"]["users"]["total"], 2);
        assert_eq!(info["usage"]["users"]["activeMonth"], 2);
        assert_eq!(info["usage"]["localPosts"], 0);
        assert_eq!(info["openRegistrations"], false);
    }
}

db_test!(host_meta_and_instance_actor_are_served);
async fn host_meta_and_instance_actor_are_served(db: Db) {
    let node = TestNode::spawn(db).await;
    let response = node.get("/.well-known/host-meta", "*/*").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("application/xrd+xml"));
    let xml = response.text().await.unwrap();
    assert!(
        xml.contains(&format!(
            "template=\"{}/.well-known/webfinger?resource={{uri}}\"",
            node.base
        )),
        "{xml}"
    );

    let (status, actor) = node.get_json("/actor", AS_JSON).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["id"], format!("{}/actor", node.base));
    assert_eq!(actor["type"], "Application");
    assert_eq!(actor["publicKey"]["owner"], actor["id"]);
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    assert_eq!(pem, node.app.instance_key().public_key_pem);
    assert_eq!(
        starling_federation::keys::public_pem_of(&node.app.instance_key().private_key_pem).unwrap(),
        pem
    );
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
