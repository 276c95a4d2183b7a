//! What the Fedify interop suite (`tests/fedify/`) found, pinned down here so
//! it stays fixed without Node: the shapes of compacted JSON-LD that Fedify
//! sends, and mentions of accounts on dev-mode nodes (`user@localhost:PORT`).

use std::time::SystemTime;

use reqwest::StatusCode;
use serde_json::{Value, json};
use starling_federation::signatures::{
    HttpRequest, content_digest_header, http_date, sign_request_rfc9421,
};
use starling_node::store::accounts::DbUser;

use crate::db_test;
use crate::peers::key_of;
use crate::support::{Db, TestNode};

/// POSTs `activity` from `user` on `from` to `to`'s shared inbox, signed as
/// Fedify signs (RFC 9421, `Content-Digest`).
async fn deliver_as_fedify(
    from: &TestNode,
    user: &DbUser,
    to: &TestNode,
    activity: &Value,
) -> StatusCode {
    let (pair, key_id) = key_of(from, user).await;
    let body = activity.to_string();
    let headers = vec![
        ("host".to_owned(), to.domain.clone()),
        ("date".to_owned(), http_date(SystemTime::now())),
        (
            "content-digest".to_owned(),
            content_digest_header(body.as_bytes()),
        ),
        (
            "content-type".to_owned(),
            "application/activity+json".to_owned(),
        ),
    ];
    let request = HttpRequest {
        method: "POST",
        scheme: "http",
        path_and_query: "/inbox",
        headers: &headers,
    };
    let sig = sign_request_rfc9421(&request, &key_id, &pair, SystemTime::now()).unwrap();
    to.http
        .post(format!("{}/inbox", to.base))
        .header("date", &headers[1].1)
        .header("content-digest", &headers[2].1)
        .header("content-type", &headers[3].1)
        .header("signature-input", sig.signature_input)
        .header("signature", sig.signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

db_test!(a_compacted_create_with_one_mention_notifies);
async fn a_compacted_create_with_one_mention_notifies(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob_token) = b.user_with_token("bob").await;
    let actor = format!("{}/users/alice", a.base);
    let bob = format!("{}/users/bob", b.base);
    // As Fedify writes it: compacted JSON-LD turns one-element arrays into
    // bare values (`tag`, `to`, `cc`) and the public collection into `as:Public`.
    let note = json!({
        "id": format!("{actor}/notes/1"),
        "type": "Note",
        "attributedTo": actor,
        "content": "<p><a href=\"x\">@bob</a> hello from a compacting server</p>",
        "to": "as:Public",
        "cc": bob,
        "tag": { "type": "Mention", "href": bob, "name": format!("@bob@{}", b.domain) },
    });
    let create = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
        "id": format!("{actor}/notes/1#create"),
        "type": "Create",
        "actor": actor,
        "to": "as:Public",
        "cc": bob,
        "object": note,
    });
    assert_eq!(
        deliver_as_fedify(&a, &alice, &b, &create).await,
        StatusCode::ACCEPTED
    );
    b.drain().await;

    let (_, notes) = b
        .api_get("/api/v1/notifications?types[]=mention", &bob_token)
        .await;
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    assert_eq!(notes[0]["account"]["acct"], format!("alice@{}", a.domain));
    assert_eq!(notes[0]["status"]["visibility"], "public");
    assert!(
        notes[0]["status"]["content"]
            .as_str()
            .unwrap()
            .contains("hello from a compacting server")
    );
}

db_test!(a_mention_of_an_account_on_a_dev_node_reaches_it);
async fn a_mention_of_an_account_on_a_dev_node_reaches_it(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice_token) = a.user_with_token("alice").await;
    let (_, bob_token) = b.user_with_token("bob").await;
    // Dev-mode domains carry a port, so the mention does too.
    let acct = format!("bob@{}", b.domain);
    let (status, found) = a
        .api_get(
            &format!("/api/v1/accounts/lookup?acct={acct}"),
            &alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let (status, posted) = a
        .api_post(
            "/api/v1/statuses",
            &alice_token,
            json!({ "status": format!("hi @{acct}"), "visibility": "public" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    assert_eq!(posted["mentions"][0]["acct"], acct);
    assert_eq!(posted["mentions"][0]["id"], found["id"]);
    a.drain().await;
    b.drain().await;

    let (_, notes) = b
        .api_get("/api/v1/notifications?types[]=mention", &bob_token)
        .await;
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    assert_eq!(notes[0]["account"]["acct"], format!("alice@{}", a.domain));
}

db_test!(notes_attributed_to_several_actors_can_be_edited_by_the_first);
async fn notes_attributed_to_several_actors_can_be_edited_by_the_first(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob_token) = b.user_with_token("bob").await;
    let actor = format!("{}/users/alice", a.base);
    let bob = format!("{}/users/bob", b.base);
    // As PeerTube writes videos: the author first, then the channel.
    let note = |content: &str| {
        json!({
            "id": format!("{actor}/notes/7"),
            "type": "Note",
            "attributedTo": [actor, {"type": "Group", "id": format!("{}/c/channel", a.base)}],
            "content": content,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [bob],
            "tag": [{ "type": "Mention", "href": bob, "name": format!("@bob@{}", b.domain) }],
        })
    };
    for (kind, content) in [
        ("Create", "<p>first cut</p>"),
        ("Update", "<p>final cut</p>"),
    ] {
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/notes/7#{kind}"),
            "type": kind,
            "actor": actor,
            "object": note(content),
        });
        assert_eq!(
            deliver_as_fedify(&a, &alice, &b, &activity).await,
            StatusCode::ACCEPTED
        );
        b.drain().await;
    }
    let (_, notes) = b
        .api_get("/api/v1/notifications?types[]=mention", &bob_token)
        .await;
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    assert_eq!(notes[0]["status"]["content"], "<p>final cut</p>", "{notes}");
    assert!(!notes[0]["status"]["edited_at"].is_null(), "{notes}");
}
