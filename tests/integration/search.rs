//! `/api/v2/search` and remote lookup: local accounts, hashtags and statuses
//! by URL; with `resolve=true`, remote accounts (WebFinger, then the actor)
//! and remote statuses by URL; and `/context` fetching the ancestors of a
//! remote reply that arrived without them.

mod remote;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::peers::resolve_status;
use crate::support::{Db, TestNode};
use remote::Remote;

/// `GET /api/v2/search?{query}` with an optional token.
async fn search(node: &TestNode, token: Option<&str>, query: &str) -> (StatusCode, Value) {
    node.api(Method::GET, &format!("/api/v2/search?{query}"), token, None)
        .await
}

/// `q` percent-encoded, for handles and URLs.
fn q(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The `acct`s of a search's accounts, in order.
fn accts(results: &Value) -> Vec<String> {
    results["accounts"]
        .as_array()
        .unwrap_or_else(|| panic!("no accounts: {results}"))
        .iter()
        .map(|a| a["acct"].as_str().unwrap().to_owned())
        .collect()
}

/// The names of a search's hashtags, in order.
fn tag_names(results: &Value) -> Vec<String> {
    results["hashtags"]
        .as_array()
        .unwrap_or_else(|| panic!("no hashtags: {results}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The contents of a list of statuses.
fn contents(statuses: &Value) -> Vec<String> {
    statuses
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {statuses}"))
        .iter()
        .map(|s| s["content"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(local_search_finds_accounts_hashtags_and_statuses_by_url);
async fn local_search_finds_accounts_hashtags_and_statuses_by_url(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, alfred) = node.user_with_token("alfred").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    node.api(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&bob),
        Some(json!({"display_name": "Alpha Bob"})),
    )
    .await;

    // Username or display-name prefix, any case; the exact name first.
    let (code, found) = search(&node, None, "q=AL").await;
    assert_eq!(code, StatusCode::OK, "{found}");
    let mut names = accts(&found);
    names.sort();
    assert_eq!(names, ["alfred", "alice", "bob"], "{found}");
    let (_, found) = search(&node, Some(&bob), "q=alice").await;
    assert_eq!(accts(&found), ["alice"]);
    let (_, found) = search(&node, Some(&bob), &format!("q={}", q("@alfred"))).await;
    assert_eq!(accts(&found)[0], "alfred");
    let (_, found) = search(
        &node,
        Some(&bob),
        &format!("q={}", q(&format!("al@{}", node.domain))),
    )
    .await;
    assert_eq!(
        accts(&found).len(),
        3,
        "our own domain means local: {found}"
    );

    // Paging within one kind.
    let (_, first) = search(&node, Some(&bob), "q=al&type=accounts&limit=1").await;
    let (_, second) = search(&node, Some(&bob), "q=al&type=accounts&limit=1&offset=1").await;
    assert_eq!(accts(&first).len(), 1);
    assert_eq!(accts(&second).len(), 1);
    assert_ne!(accts(&first), accts(&second));
    let (code, _) = search(&node, None, "q=al&type=accounts&offset=1").await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "paging needs a signed-in user"
    );

    // Only followed accounts; and nobody who blocks you.
    let alfred_id = accts_id(&node, &bob, "alfred").await;
    let (_, found) = search(&node, Some(&bob), "q=al&following=true").await;
    assert!(accts(&found).is_empty(), "{found}");
    node.api_post(
        &format!("/api/v1/accounts/{alfred_id}/follow"),
        &bob,
        json!({}),
    )
    .await;
    let (_, found) = search(&node, Some(&bob), "q=al&following=true").await;
    assert_eq!(accts(&found), ["alfred"]);
    let bob_id = accts_id(&node, &alfred, "bob").await;
    node.api_post(
        &format!("/api/v1/accounts/{bob_id}/block"),
        &alfred,
        json!({}),
    )
    .await;
    let (_, found) = search(&node, Some(&bob), "q=alf").await;
    assert!(accts(&found).is_empty(), "alfred blocks bob: {found}");

    // Hashtags by prefix, the exact one first; an unused valid name is offered.
    let (_, post) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "hello #Rustacean #rust and #ruby"}),
        )
        .await;
    let (_, found) = search(&node, Some(&bob), "q=%23rust&type=hashtags").await;
    assert_eq!(tag_names(&found), ["rust", "Rustacean"], "{found}");
    let tag = &found["hashtags"][0];
    assert_eq!(tag["url"], format!("{}/tags/rust", node.base));
    assert_eq!(tag["history"], json!([]));
    let (_, found) = search(&node, Some(&bob), "q=ru&type=hashtags").await;
    assert_eq!(
        tag_names(&found),
        ["ru", "ruby", "rust", "Rustacean"],
        "{found}"
    );
    let (_, found) = search(&node, None, "q=gardening").await;
    assert_eq!(tag_names(&found), ["gardening"]);
    assert!(accts(&found).is_empty());

    // Statuses: by URL (visibility applies); no full-text search.
    let uri = post["uri"].as_str().unwrap();
    let (_, found) = search(&node, Some(&bob), &format!("q={}", q(uri))).await;
    assert_eq!(found["statuses"][0]["id"], post["id"], "{found}");
    assert!(accts(&found).is_empty() && tag_names(&found).is_empty());
    let (_, found) = search(
        &node,
        Some(&bob),
        &format!("q={}&account_id={alfred_id}", q(uri)),
    )
    .await;
    assert_eq!(found["statuses"], json!([]), "not by that account");
    let (_, secret) = node
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "for followers", "visibility": "private"}),
        )
        .await;
    let (_, found) = search(
        &node,
        Some(&bob),
        &format!("q={}", q(secret["uri"].as_str().unwrap())),
    )
    .await;
    assert_eq!(found["statuses"], json!([]), "bob does not follow alice");
    let (_, found) = search(&node, Some(&alice), "q=hello&type=statuses").await;
    assert_eq!(found["statuses"], json!([]), "no full-text search");
    // A profile URL finds the account.
    let (_, found) = search(
        &node,
        Some(&bob),
        &format!("q={}", q(&format!("{}/@alice", node.base))),
    )
    .await;
    assert_eq!(accts(&found), ["alice"]);

    // Parameters as Mastodon checks them.
    let (code, body) = search(&node, Some(&bob), "q=").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = search(&node, Some(&bob), "q=al&limit=-1").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (_, found) = search(&node, Some(&bob), "q=al&type=pictures").await;
    assert_eq!(
        found,
        json!({"accounts": [], "statuses": [], "hashtags": []})
    );
    let writer = node.token(&bob_user, "write").await;
    let (code, _) = search(&node, Some(&writer), "q=al").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "needs read:search");
}

/// The id of the local account `name`, as `viewer` sees it.
async fn accts_id(node: &TestNode, viewer: &str, name: &str) -> String {
    let (_, account) = node
        .api_get(&format!("/api/v1/accounts/lookup?acct={name}"), viewer)
        .await;
    account["id"].as_str().unwrap().to_owned()
}

db_test!(resolve_finds_remote_accounts_by_handle_and_by_actor_url);
async fn resolve_finds_remote_accounts_by_handle_and_by_actor_url(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    b.create_user("bob").await;
    b.create_user("dave").await;
    let handle = format!("@bob@{}", b.domain);

    // Unknown here, and only a signed-in user may make us fetch it.
    let (_, found) = search(&a, Some(&alice), &format!("q={}", q(&handle))).await;
    assert!(accts(&found).is_empty(), "{found}");
    let (code, body) = search(&a, None, &format!("q={}&resolve=true", q(&handle))).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");

    let (code, found) = search(&a, Some(&alice), &format!("q={}&resolve=true", q(&handle))).await;
    assert_eq!(code, StatusCode::OK, "{found}");
    assert_eq!(accts(&found), [format!("bob@{}", b.domain)]);
    // Stored: found from now on without resolving, by name prefix too.
    let (_, found) = search(&a, Some(&alice), "q=bo").await;
    assert_eq!(accts(&found), [format!("bob@{}", b.domain)]);
    let (_, found) = search(
        &a,
        Some(&alice),
        &format!("q={}", q(&format!("bob@{}", a.domain))),
    )
    .await;
    assert!(accts(&found).is_empty(), "no local bob: {found}");

    // By actor URL (not known before), and only as an account.
    let dave = format!("{}/users/dave", b.base);
    let (_, found) = search(
        &a,
        Some(&alice),
        &format!("q={}&resolve=true&type=statuses", q(&dave)),
    )
    .await;
    assert_eq!(found["statuses"], json!([]));
    let (_, found) = search(&a, Some(&alice), &format!("q={}&resolve=true", q(&dave))).await;
    assert_eq!(accts(&found), [format!("dave@{}", b.domain)], "{found}");
    assert!(found["statuses"].as_array().unwrap().is_empty());

    // Someone who does not exist there: nothing, not an error.
    let (code, found) = search(
        &a,
        Some(&alice),
        &format!("q={}&resolve=true", q(&format!("nobody@{}", b.domain))),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert!(accts(&found).is_empty());
}

db_test!(a_status_url_resolves_and_context_fetches_its_missing_ancestors);
async fn a_status_url_resolves_and_context_fetches_its_missing_ancestors(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, bob) = node.user_with_token("bob").await;
    let remote = Remote::start().await;
    remote.note(1, None, "<p>first</p>");
    remote.note(2, Some(1), "<p>second</p>");
    let a3 = remote.note(3, Some(2), "<p>third<script>alert(1)</script></p>");
    // Its web URL answers with the note, whose id is elsewhere on that server.
    let mut page = remote.doc("/notes/3");
    page["id"] = json!(a3);
    remote.put("/@ann/3", page);

    let (code, found) = search(
        &node,
        Some(&bob),
        &format!("q={}&resolve=true", q(&remote.url("/@ann/3"))),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{found}");
    let status = &found["statuses"][0];
    assert_eq!(status["uri"], a3, "{found}");
    assert_eq!(
        status["content"], "<p>third</p>",
        "sanitised as any remote note"
    );
    assert_eq!(
        status["account"]["acct"],
        format!("ann@{}", &remote.base[7..])
    );
    assert_eq!(
        remote.hits("/notes/2"),
        0,
        "search fetches the one status only"
    );

    // The thread: its parents are fetched once and stay.
    let id = status["id"].as_str().unwrap().to_owned();
    let (code, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    assert_eq!(code, StatusCode::OK, "{context}");
    assert_eq!(
        contents(&context["ancestors"]),
        ["<p>first</p>", "<p>second</p>"]
    );
    let (_, again) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    assert_eq!(again["ancestors"], context["ancestors"]);
    assert_eq!((remote.hits("/notes/1"), remote.hits("/notes/2")), (1, 1));
    // Linked both ways: the first post's thread holds the other two.
    let first = context["ancestors"][0]["id"].as_str().unwrap();
    let (_, down) = node
        .api_get(&format!("/api/v1/statuses/{first}/context"), &bob)
        .await;
    assert_eq!(
        contents(&down["descendants"]),
        ["<p>second</p>", "<p>third</p>"]
    );
    assert_eq!(context["ancestors"][1]["replies_count"], 1);
    assert_eq!(context["ancestors"][1]["in_reply_to_id"], first);

    // Already stored: by id or by URL, no new fetch.
    let (_, found) = search(&node, Some(&bob), &format!("q={}&resolve=true", q(&a3))).await;
    assert_eq!(found["statuses"][0]["id"], id);
    assert_eq!(remote.hits("/notes/3"), 1);
}

db_test!(servers_that_answer_only_signed_fetches_are_read_all_the_same);
async fn servers_that_answer_only_signed_fetches_are_read_all_the_same(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, bob) = node.user_with_token("bob").await;
    let remote = Remote::start().await;
    // Secure mode, as a Mastodon server with AUTHORIZED_FETCH: it answers
    // only fetches signed by our instance actor.
    remote.require_signatures_by(
        &format!("{}/actor#main-key", node.base),
        &node.app.instance_key().public_key_pem,
    );
    remote.note(1, None, "<p>first</p>");
    let reply = remote.note(2, Some(1), "<p>second</p>");

    let id = resolve_status(&node, &bob, &reply).await;
    let (code, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    assert_eq!(code, StatusCode::OK, "{context}");
    assert_eq!(contents(&context["ancestors"]), ["<p>first</p>"]);
    let (code, found) = search(
        &node,
        Some(&bob),
        &format!(
            "q={}&resolve=true",
            q(&format!("ann@{}", &remote.base[7..]))
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(accts(&found), [format!("ann@{}", &remote.base[7..])]);
    assert_eq!(
        remote.refused(),
        0,
        "every fetch (note, author, parent) was signed"
    );
}

db_test!(ancestor_fetching_is_bounded_per_request_and_survives_loops);
async fn ancestor_fetching_is_bounded_per_request_and_survives_loops(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, bob) = node.user_with_token("bob").await;
    let remote = Remote::start().await;
    remote.note(1, None, "<p>n1</p>");
    for n in 2..=15 {
        remote.note(n, Some(n - 1), &format!("<p>n{n}</p>"));
    }
    let id = resolve_status(&node, &bob, &remote.url("/notes/15")).await;

    let (_, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    let expected: Vec<String> = (5..=14).map(|n| format!("<p>n{n}</p>")).collect();
    assert_eq!(
        contents(&context["ancestors"]),
        expected,
        "ten parents per request"
    );
    assert_eq!(remote.hits("/notes/4"), 0);
    let (_, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    assert_eq!(
        context["ancestors"].as_array().unwrap().len(),
        14,
        "the next request goes on"
    );
    assert_eq!(remote.hits("/notes/1"), 1);

    // Two notes replying to each other: the thread ends, each fetched once.
    remote.note(20, Some(21), "<p>ping</p>");
    remote.note(21, Some(20), "<p>pong</p>");
    let id = resolve_status(&node, &bob, &remote.url("/notes/20")).await;
    for _ in 0..2 {
        let (code, context) = node
            .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
            .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(
            contents(&context["ancestors"]),
            ["<p>pong</p>"],
            "{context}"
        );
    }
    assert_eq!((remote.hits("/notes/20"), remote.hits("/notes/21")), (1, 1));
}

db_test!(a_slow_server_cannot_hold_a_thread_up);
async fn a_slow_server_cannot_hold_a_thread_up(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, bob) = node.user_with_token("bob").await;
    let remote = Remote::start().await;
    remote.note(1, None, "<p>n1</p>");
    remote.note(2, Some(1), "<p>n2</p>");
    remote.note(3, Some(2), "<p>n3</p>");
    let id = resolve_status(&node, &bob, &remote.url("/notes/3")).await;
    // Slower than the time a thread may spend fetching (5 s), though within
    // the fetcher's own deadline (10 s).
    remote.delay("/notes/2", Duration::from_secs(9));

    let started = Instant::now();
    let (code, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    let took = started.elapsed();
    assert_eq!(code, StatusCode::OK, "{context}");
    assert_eq!(context["ancestors"], json!([]));
    assert!(took < Duration::from_secs(8), "the thread took {took:?}");
    assert_eq!(remote.hits("/notes/2"), 1, "asked once, then given up");
}

db_test!(notes_from_the_wrong_origin_are_not_stored);
async fn notes_from_the_wrong_origin_are_not_stored(db: Db) {
    let node = TestNode::spawn(db).await;
    let other = TestNode::spawn(db).await;
    let (_, bob) = node.user_with_token("bob").await;
    other.create_user("carl").await;
    let remote = Remote::start().await;

    // A note claiming an author on another server.
    let mut forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.url("/notes/forged"),
        "type": "Note",
        "attributedTo": format!("{}/users/carl", other.base),
        "content": "<p>carl never wrote this</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    remote.put("/notes/forged", forged.clone());
    // A document whose id names another server.
    forged["id"] = json!(format!("{}/users/carl/statuses/1", other.base));
    forged["attributedTo"] = json!(remote.url("/users/ann"));
    remote.put("/notes/elsewhere", forged);
    // Not ActivityStreams at all.
    remote.put_raw("/page", "text/html", "<html></html>".into());
    // A reply whose parent is forged: the parent is not taken.
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.url("/notes/reply"),
        "type": "Note",
        "attributedTo": remote.url("/users/ann"),
        "inReplyTo": remote.url("/notes/forged"),
        "content": "<p>a reply</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    remote.put("/notes/reply", reply);

    for path in ["/notes/forged", "/notes/elsewhere", "/page"] {
        let (code, found) = search(
            &node,
            Some(&bob),
            &format!("q={}&resolve=true", q(&remote.url(path))),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{found}");
        assert_eq!(found["statuses"], json!([]), "{path}: {found}");
        assert_eq!(found["accounts"], json!([]), "{path}: {found}");
    }
    let (_, found) = search(
        &node,
        Some(&bob),
        &format!("q={}", q(&format!("carl@{}", other.domain))),
    )
    .await;
    assert!(accts(&found).is_empty(), "carl was never fetched: {found}");

    let id = resolve_status(&node, &bob, &remote.url("/notes/reply")).await;
    let (code, context) = node
        .api_get(&format!("/api/v1/statuses/{id}/context"), &bob)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(context["ancestors"], json!([]), "{context}");
}
