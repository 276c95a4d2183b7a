//! Direct messages and `/api/v1/conversations`: a direct status reaches only
//! the accounts it mentions, on this node and across two, and each
//! participant sees it as a conversation with its own unread state.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::peers::settle;
use crate::support::{Db, TestNode};

async fn post(node: &TestNode, token: &str, body: Value) -> Value {
    let (code, status) = node.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(code, StatusCode::OK, "{status}");
    status
}

async fn conversations(node: &TestNode, token: &str) -> Vec<Value> {
    let (code, list) = node.api_get("/api/v1/conversations", token).await;
    assert_eq!(code, StatusCode::OK, "{list}");
    list.as_array().expect("a list").clone()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// What a non-participant could come across anywhere: home, local public,
/// federated public, hashtag and notifications.
async fn assert_sees_nothing(node: &TestNode, token: &str, status_id: &str, tag: &str) {
    for path in [
        "/api/v1/timelines/home".to_owned(),
        "/api/v1/timelines/public".to_owned(),
        "/api/v1/timelines/public?local=true".to_owned(),
        format!("/api/v1/timelines/tag/{tag}"),
    ] {
        let (code, list) = node.api_get(&path, token).await;
        assert_eq!(code, StatusCode::OK, "{path}: {list}");
        assert!(
            !ids(&list).contains(&status_id.to_owned()),
            "{path}: {list}"
        );
    }
    let (_, notes) = node.api_get("/api/v1/notifications", token).await;
    assert_eq!(notes, json!([]), "no notification at all");
    assert_eq!(conversations(node, token).await, Vec::<Value>::new());
    let (code, _) = node
        .api_get(&format!("/api/v1/statuses/{status_id}"), token)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

db_test!(a_direct_message_reaches_only_the_mentioned_on_one_node);
async fn a_direct_message_reaches_only_the_mentioned_on_one_node(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (bob_user, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    // Carol follows alice, so she gets alice's other posts.
    let (code, _) = node
        .api_post(
            &format!("/api/v1/accounts/{}/follow", alice_user.account.id),
            &carol,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let dm = post(
        &node,
        &alice,
        json!({"status": "@bob meet at #noon", "visibility": "direct"}),
    )
    .await;
    let dm_id = dm["id"].as_str().unwrap();
    let open = post(&node, &alice, json!({"status": "lunch soon #noon"})).await;
    node.drain().await;

    let list = conversations(&node, &bob).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["unread"], true);
    assert_eq!(list[0]["last_status"]["id"], dm["id"]);
    assert_eq!(list[0]["last_status"]["visibility"], "direct");
    let others: Vec<&Value> = list[0]["accounts"].as_array().unwrap().iter().collect();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["acct"], "alice");
    let (_, notes) = node.api_get("/api/v1/notifications", &bob).await;
    assert_eq!(notes[0]["type"], "mention", "{notes}");

    // The author has it too, read, with bob as the other participant.
    let mine = conversations(&node, &alice).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["unread"], false);
    assert_eq!(
        mine[0]["accounts"][0]["id"],
        bob_user.account.id.to_string()
    );
    assert_ne!(
        mine[0]["id"], list[0]["id"],
        "each participant has their own row"
    );

    // Carol gets the public post but not a trace of the direct one.
    let (_, home) = node.api_get("/api/v1/timelines/home", &carol).await;
    assert_eq!(ids(&home), vec![open["id"].as_str().unwrap().to_owned()]);
    assert_sees_nothing(&node, &carol, dm_id, "noon").await;
    // Nor does anyone signed out.
    let (_, public) = node
        .api(Method::GET, "/api/v1/timelines/public", None, None)
        .await;
    assert!(!ids(&public).contains(&dm_id.to_owned()), "{public}");
    let (_, tagged) = node
        .api(Method::GET, "/api/v1/timelines/tag/noon", None, None)
        .await;
    assert!(!ids(&tagged).contains(&dm_id.to_owned()), "{tagged}");
}

db_test!(replies_join_the_conversation_and_read_and_remove_are_per_user);
async fn replies_join_the_conversation_and_read_and_remove_are_per_user(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let dm = post(
        &node,
        &alice,
        json!({"status": "@bob are you there?", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    let reply = post(
        &node,
        &bob,
        json!({"status": "@alice yes", "visibility": "direct", "in_reply_to_id": dm["id"]}),
    )
    .await;
    node.drain().await;

    let mine = conversations(&node, &alice).await;
    assert_eq!(mine.len(), 1, "the reply joins the thread: {mine:?}");
    assert_eq!(mine[0]["last_status"]["id"], reply["id"]);
    assert_eq!(mine[0]["unread"], true, "bob's answer is new to alice");
    let bobs = conversations(&node, &bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["unread"], false, "bob wrote the newest message");

    // Alice reads it; bob's state does not move.
    let alice_conv = mine[0]["id"].as_str().unwrap().to_owned();
    let (code, read) = node
        .api_post(
            &format!("/api/v1/conversations/{alice_conv}/read"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{read}");
    assert_eq!(read["unread"], false);
    assert_eq!(read["id"], alice_conv);
    assert_eq!(conversations(&node, &alice).await[0]["unread"], false);

    // Nobody else can read or remove alice's row.
    let bob_conv = bobs[0]["id"].as_str().unwrap().to_owned();
    let (code, _) = node
        .api_post(
            &format!("/api/v1/conversations/{alice_conv}/read"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = node
        .api(
            Method::DELETE,
            &format!("/api/v1/conversations/{alice_conv}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // Bob removes the conversation: gone for him, still there for alice.
    let (code, body) = node
        .api(
            Method::DELETE,
            &format!("/api/v1/conversations/{bob_conv}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(conversations(&node, &bob).await, Vec::<Value>::new());
    assert_eq!(conversations(&node, &alice).await.len(), 1);

    // A new message in the thread brings it back to bob, unread.
    let again = post(
        &node,
        &alice,
        json!({"status": "@bob one more thing", "visibility": "direct", "in_reply_to_id": reply["id"]}),
    )
    .await;
    node.drain().await;
    let bobs = conversations(&node, &bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["unread"], true);
    assert_eq!(bobs[0]["last_status"]["id"], again["id"]);
    assert_eq!(
        conversations(&node, &alice).await.len(),
        1,
        "still one thread"
    );
}

db_test!(deleting_the_newest_message_shows_the_one_before);
async fn deleting_the_newest_message_shows_the_one_before(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let dm = post(
        &node,
        &alice,
        json!({"status": "@bob first", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    let reply = post(
        &node,
        &bob,
        json!({"status": "@alice second", "visibility": "direct", "in_reply_to_id": dm["id"]}),
    )
    .await;
    node.drain().await;
    let (code, _) = node
        .api(
            Method::DELETE,
            &format!("/api/v1/statuses/{}", reply["id"].as_str().unwrap()),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    for token in [&alice, &bob] {
        let list = conversations(&node, token).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["last_status"]["id"], dm["id"], "{list:?}");
    }
    // With the last message gone, so is the conversation.
    node.api(
        Method::DELETE,
        &format!("/api/v1/statuses/{}", dm["id"].as_str().unwrap()),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(conversations(&node, &alice).await, Vec::<Value>::new());
    assert_eq!(conversations(&node, &bob).await, Vec::<Value>::new());
}

db_test!(a_deleted_account_takes_its_messages_out_of_conversations);
async fn a_deleted_account_takes_its_messages_out_of_conversations(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (_, carol) = node.user_with_token("carol").await;
    let dm = post(
        &node,
        &alice,
        json!({"status": "@bob @carol plans?", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    let reply = post(
        &node,
        &bob,
        json!({"status": "@alice @carol saturday", "visibility": "direct", "in_reply_to_id": dm["id"]}),
    )
    .await;
    let only_alice = post(
        &node,
        &alice,
        json!({"status": "@carol just between us", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    assert_eq!(conversations(&node, &carol).await.len(), 2);

    starling_node::service::people::delete_local_user(&node.app, "alice")
        .await
        .expect("alice deleted");
    // The thread bob answered stays, showing his answer; the one that only
    // held alice's message is gone.
    let list = conversations(&node, &carol).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["last_status"]["id"], reply["id"]);
    assert_ne!(list[0]["last_status"]["id"], only_alice["id"]);
    let bobs = conversations(&node, &bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["last_status"]["id"], reply["id"]);
}

db_test!(muting_the_sender_keeps_their_messages_out_of_conversations);
async fn muting_the_sender_keeps_their_messages_out_of_conversations(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice_user, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let (code, _) = node
        .api_post(
            &format!("/api/v1/accounts/{}/mute", alice_user.account.id),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    post(
        &node,
        &alice,
        json!({"status": "@bob are you ignoring me?", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    assert_eq!(conversations(&node, &bob).await, Vec::<Value>::new());
    assert_eq!(
        conversations(&node, &alice).await.len(),
        1,
        "the sender keeps hers"
    );
}

db_test!(conversations_page_by_newest_activity);
async fn conversations_page_by_newest_activity(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let (_, bob) = node.user_with_token("bob").await;
    let mut first_posts = Vec::new();
    for n in 0..3 {
        let dm = post(
            &node,
            &alice,
            json!({"status": format!("@bob thread {n}"), "visibility": "direct"}),
        )
        .await;
        first_posts.push(dm);
    }
    node.drain().await;
    // A reply in the oldest thread moves it to the top.
    let bump = post(
        &node,
        &bob,
        json!({"status": "@alice back to thread 0", "visibility": "direct",
               "in_reply_to_id": first_posts[0]["id"]}),
    )
    .await;
    node.drain().await;

    let response = node
        .http
        .get(format!("{}/api/v1/conversations?limit=2", node.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let link = response
        .headers()
        .get("link")
        .expect("a Link header")
        .to_str()
        .unwrap()
        .to_owned();
    let page: Value = response.json().await.unwrap();
    let last: Vec<&Value> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["last_status"]["id"])
        .collect();
    assert_eq!(last, vec![&bump["id"], &first_posts[2]["id"]]);
    assert!(
        link.contains(&format!(
            "max_id={}",
            first_posts[2]["id"].as_str().unwrap()
        )),
        "{link}"
    );
    let next = link
        .split(['<', '>'])
        .find(|part| part.contains("max_id="))
        .unwrap()
        .to_owned();
    let next_path = next.trim_start_matches(&node.base);
    let (_, rest) = node.api_get(next_path, &alice).await;
    let rest = rest.as_array().unwrap();
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0]["last_status"]["id"], first_posts[1]["id"]);
    // Asking for what is newer than the second thread gives only the bumped one.
    let (_, newer) = node
        .api_get(
            &format!(
                "/api/v1/conversations?min_id={}",
                first_posts[2]["id"].as_str().unwrap()
            ),
            &alice,
        )
        .await;
    assert_eq!(newer.as_array().unwrap().len(), 1, "{newer}");
    assert_eq!(newer[0]["last_status"]["id"], bump["id"]);
}

db_test!(conversation_scopes_are_mastodons);
async fn conversation_scopes_are_mastodons(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice) = node.user_with_token("alice").await;
    let bob_user = node.create_user("bob").await;
    let read_only = node.token(&bob_user, "read:statuses").await;
    let other = node.token(&bob_user, "read:accounts write:statuses").await;
    post(
        &node,
        &alice,
        json!({"status": "@bob hi", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    let list = conversations(&node, &read_only).await;
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap();
    let (code, _) = node.api_get("/api/v1/conversations", &other).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "listing needs read:statuses");
    let (code, _) = node
        .api_post(
            &format!("/api/v1/conversations/{id}/read"),
            &read_only,
            json!({}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "marking needs write:conversations"
    );
    let (code, _) = node
        .api(Method::GET, "/api/v1/conversations", None, None)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(conversations(&node, &read_only).await[0]["unread"], true);
}

db_test!(a_direct_message_across_nodes_reaches_only_the_mentioned);
async fn a_direct_message_across_nodes_reaches_only_the_mentioned(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let (_, alice) = a.user_with_token("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, carol) = b.user_with_token("carol").await;

    // Carol follows alice across the nodes, so alice's posts reach B.
    let (_, remote_alice) = b
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=alice@{}", a.domain),
            &carol,
        )
        .await;
    let remote_alice_id = remote_alice["id"].as_str().expect("alice found").to_owned();
    b.api_post(
        &format!("/api/v1/accounts/{remote_alice_id}/follow"),
        &carol,
        json!({}),
    )
    .await;
    // Alice's node learns of bob.
    let (code, _) = a
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=bob@{}", b.domain),
            &alice,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    settle(&[&a, &b]).await;

    let dm = post(
        &a,
        &alice,
        json!({"status": format!("@bob@{} the code is #secret", b.domain), "visibility": "direct"}),
    )
    .await;
    let open = post(&a, &alice, json!({"status": "hello everyone"})).await;
    settle(&[&a, &b]).await;

    // Bob's node shows it to bob as an unread conversation with alice.
    let list = conversations(&b, &bob).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["unread"], true);
    assert_eq!(
        list[0]["accounts"][0]["acct"],
        format!("alice@{}", a.domain)
    );
    let on_b = &list[0]["last_status"];
    assert_eq!(on_b["uri"], dm["uri"]);
    assert_eq!(on_b["visibility"], "direct");
    let on_b_id = on_b["id"].as_str().unwrap().to_owned();
    let (_, notes) = b.api_get("/api/v1/notifications", &bob).await;
    assert_eq!(notes[0]["type"], "mention", "{notes}");

    // Carol, who follows alice, got the public post and nothing of the DM.
    let (_, home) = b.api_get("/api/v1/timelines/home", &carol).await;
    assert_eq!(home[0]["uri"], open["uri"], "{home}");
    assert_eq!(home.as_array().unwrap().len(), 1, "{home}");
    assert_sees_nothing(&b, &carol, &on_b_id, "secret").await;

    // Bob answers in the thread: alice sees it in the same conversation.
    post(
        &b,
        &bob,
        json!({"status": format!("@alice@{} got it", a.domain), "visibility": "direct",
               "in_reply_to_id": on_b_id}),
    )
    .await;
    settle(&[&a, &b]).await;
    let mine = conversations(&a, &alice).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["unread"], true);
    assert!(
        mine[0]["last_status"]["content"]
            .as_str()
            .unwrap()
            .contains("got it"),
        "{mine:?}"
    );
    assert_eq!(mine[0]["last_status"]["in_reply_to_id"], dm["id"]);
    assert_eq!(mine[0]["accounts"][0]["acct"], format!("bob@{}", b.domain));
    // Carol's node never had anything to show her.
    assert_eq!(conversations(&b, &carol).await, Vec::<Value>::new());
    let (_, notes) = b.api_get("/api/v1/notifications", &carol).await;
    assert_eq!(notes, json!([]));
}
