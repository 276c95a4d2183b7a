//! The streaming API as apps use it: a WebSocket client (tokio-tungstenite)
//! and an SSE client (reqwest's byte stream) on real nodes. Events from local
//! and federated activity, privacy of streams, subscriptions, tokens, and on
//! PostgreSQL an event crossing from one process to another.

mod across;
mod boosts;
pub(crate) mod clients;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use self::clients::{PATIENCE, Sse, Ws};
use crate::db_test;
use crate::support::{Db, TestNode};

/// A local follow: `follower` follows the account with id `target`.
pub(crate) async fn follow(node: &TestNode, follower: &str, target: i64) {
    let (status, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{target}/follow"),
            follower,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
}

pub(crate) async fn post(node: &TestNode, token: &str, body: Value) -> Value {
    let (status, status_json) = node.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, StatusCode::OK, "{status_json}");
    status_json
}

db_test!(a_local_post_reaches_followers_user_stream_and_its_deletion_follows);
async fn a_local_post_reaches_followers_user_stream_and_its_deletion_follows(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    follow(&node, &bob_token, alice.account.id).await;

    let mut ws = Ws::connect(&node, &format!("access_token={bob_token}&stream=user")).await;
    let mut sse = Sse::open(&node, "user", Some(&bob_token)).await.unwrap();

    let posted = post(&node, &alice_token, json!({"status": "hello streams"})).await;
    node.drain().await;

    let frame = ws.next().await;
    assert_eq!(frame["stream"], json!(["user"]));
    assert_eq!(frame["event"], "update");
    assert_eq!(frame["payload"]["id"], posted["id"]);
    assert_eq!(frame["payload"]["account"]["acct"], "alice");
    assert!(
        frame["payload"]["content"]
            .as_str()
            .unwrap()
            .contains("hello streams")
    );
    let (event, data) = sse.next().await;
    assert_eq!(event, "update");
    let entity: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(entity["id"], posted["id"]);

    let id = posted["id"].as_str().unwrap();
    let (status, _) = node
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice_token),
            Some(json!({"status": "hello edited streams"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let frame = ws.next().await;
    assert_eq!(frame["event"], "status.update");
    assert!(
        frame["payload"]["content"]
            .as_str()
            .unwrap()
            .contains("hello edited streams"),
        "{frame}"
    );
    assert_eq!(sse.next().await.0, "status.update");

    let (status, _) = node
        .api(
            Method::DELETE,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let frame = ws.next().await;
    assert_eq!(frame["event"], "delete");
    assert_eq!(frame["payload"], id, "the payload is the bare id");
    assert_eq!(sse.next().await, ("delete".to_owned(), id.to_owned()));
}

db_test!(a_followers_only_post_never_reaches_public_streams);
async fn a_followers_only_post_never_reaches_public_streams(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    follow(&node, &bob_token, alice.account.id).await;
    let mut public = Ws::connect(&node, &format!("access_token={bob_token}&stream=public")).await;
    let mut anonymous = Sse::open(&node, "public", None).await.unwrap();
    // The query form of SSE, as some clients use it.
    let mut by_query = Sse::open(&node, "?stream=public", None).await.unwrap();
    let mut home = Sse::open(&node, "user", Some(&bob_token)).await.unwrap();

    let private = post(
        &node,
        &alice_token,
        json!({"status": "for followers #news", "visibility": "private"}),
    )
    .await;
    node.drain().await;
    let open = post(&node, &alice_token, json!({"status": "for everyone"})).await;
    node.drain().await;

    // The follower's home stream has both, in order; public streams only the
    // public one (events are handled in order, so it would have come first).
    let (_, first) = home.next().await;
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap()["id"],
        private["id"]
    );
    let frame = public.next().await;
    assert_eq!(frame["payload"]["id"], open["id"], "{frame}");
    for sse in [&mut anonymous, &mut by_query] {
        let (event, data) = sse.next().await;
        assert_eq!(event, "update");
        assert_eq!(
            serde_json::from_str::<Value>(&data).unwrap()["id"],
            open["id"]
        );
    }
}

db_test!(subscriptions_change_on_one_socket);
async fn subscriptions_change_on_one_socket(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    let mut ws = Ws::connect(&node, &format!("access_token={bob_token}")).await;
    ws.send(json!({"type": "subscribe", "stream": "public:local"}))
        .await;
    ws.send(json!({"type": "subscribe", "stream": "hashtag", "tag": "cats"}))
        .await;
    ws.sync().await;

    let first = post(&node, &alice_token, json!({"status": "look #cats"})).await;
    node.drain().await;
    let a = ws.next().await;
    let b = ws.next().await;
    let mut streams = vec![a["stream"].clone(), b["stream"].clone()];
    streams.sort_by_key(|s| s.to_string());
    assert_eq!(
        streams,
        vec![json!(["hashtag", "cats"]), json!(["public:local"])]
    );
    assert_eq!(a["payload"]["id"], first["id"]);
    assert_eq!(b["payload"]["id"], first["id"]);

    ws.send(json!({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}))
        .await;
    ws.sync().await;
    let second = post(&node, &alice_token, json!({"status": "more #cats"})).await;
    node.drain().await;
    let third = post(&node, &alice_token, json!({"status": "no tag"})).await;
    node.drain().await;
    let next = ws.next().await;
    assert_eq!(next["stream"], json!(["public:local"]));
    assert_eq!(next["payload"]["id"], second["id"]);
    let next = ws.next().await;
    assert_eq!(
        next["payload"]["id"], third["id"],
        "no hashtag frame after unsubscribing: {next}"
    );

    // A stream the token may not open is refused on the socket, which stays.
    ws.send(json!({"type": "subscribe", "stream": "nonsense"}))
        .await;
    let refusal = ws.next().await;
    assert_eq!(refusal["status"], 400, "{refusal}");

    // A client's Close is answered with a Close (a clean 1000, not 1006).
    ws.0.close(None).await.expect("send close");
    let reply = timeout(clients::PATIENCE, ws.0.next())
        .await
        .expect("a reply");
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "the server answered the close handshake: {reply:?}"
    );
}

db_test!(bad_tokens_and_missing_scopes_are_refused);
async fn bad_tokens_and_missing_scopes_are_refused(db: Db) {
    let node = TestNode::spawn(db).await;
    let (bob, _) = node.user_with_token("bob").await;
    assert_eq!(
        Sse::open(&node, "user", Some("not-a-token")).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        Sse::open(&node, "user", None).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "the user stream needs a token"
    );
    let url = format!(
        "{}/api/v1/streaming?access_token=not-a-token&stream=user",
        node.base.replacen("http", "ws", 1)
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    let write_only = node.token(&bob, "write").await;
    assert_eq!(
        Sse::open(&node, "user", Some(&write_only)).await.err(),
        Some(StatusCode::FORBIDDEN)
    );
    let response = node.get("/api/v1/streaming/health", "*/*").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "OK");
}

db_test!(the_token_may_come_as_the_websocket_subprotocol);
async fn the_token_may_come_as_the_websocket_subprotocol(db: Db) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    follow(&node, &bob_token, alice.account.id).await;
    let mut request = format!(
        "{}/api/v1/streaming?stream=user",
        node.base.replacen("http", "ws", 1)
    )
    .into_client_request()
    .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", bob_token.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("handshake");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        bob_token.as_str(),
        "masto.js needs the protocol echoed"
    );
    let mut ws = Ws(socket);
    let posted = post(&node, &alice_token, json!({"status": "via protocol"})).await;
    node.drain().await;
    assert_eq!(ws.next().await["payload"]["id"], posted["id"]);
}

db_test!(a_client_that_does_not_read_is_cut_off);
async fn a_client_that_does_not_read_is_cut_off(db: Db) {
    use starling_node::stream::route::{Stream, Viewer};
    use starling_node::stream::session::{Ended, pump};
    use starling_node::stream::{Event, publish};
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let scopes = starling_node::service::oauth::Scopes::parse("read").unwrap();
    let viewer = Viewer {
        account: Some(alice.account.id),
        scopes: Some(scopes),
    };
    // A transport that never takes a frame, with room for one.
    let (out, _unread) = tokio::sync::mpsc::channel(1);
    let registration = node.app.streams().register(&node.app, viewer.account);
    let events = node.app.streams().subscribe();
    let subs = std::sync::Arc::new(std::sync::Mutex::new(vec![Stream::User]));
    let running = tokio::spawn(pump(
        node.app.clone(),
        viewer,
        subs,
        registration,
        events,
        out,
    ));
    for _ in 0..3 {
        publish(
            &node.app,
            Event::FiltersChanged {
                account: alice.account.id,
            },
        )
        .await;
    }
    let ended = timeout(PATIENCE, running)
        .await
        .expect("pump ends")
        .unwrap();
    assert_eq!(
        ended,
        Ended::Slow,
        "memory stays bounded: the client is dropped"
    );

    // Filter edits do reach a client that reads.
    let mut sse = Sse::open(&node, "user", Some(&alice_token)).await.unwrap();
    let (status, _) = node
        .api_post(
            "/api/v2/filters",
            &alice_token,
            json!({"title": "spoilers", "context": ["home"], "keywords_attributes": [{"keyword": "ending"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sse.next().await.0, "filters_changed");
}

db_test!(shutting_down_closes_open_streams);
async fn shutting_down_closes_open_streams(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, token) = node.user_with_token("alice").await;
    let mut ws = Ws::connect(&node, &format!("access_token={token}&stream=user")).await;
    let mut sse = Sse::open(&node, "user", Some(&token)).await.unwrap();
    // Graceful shutdown waits for open requests: streams must not hold it.
    timeout(PATIENCE, node.stop())
        .await
        .expect("the server stops with streams open");
    match timeout(PATIENCE, ws.0.next()).await.expect("close in time") {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let ended = timeout(PATIENCE, async {
        loop {
            match sse.body.next().await {
                Some(Ok(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream ends");
}

db_test!(followers_of_big_accounts_get_their_posts_live);
async fn followers_of_big_accounts_get_their_posts_live(db: Db) {
    // Threshold 0: every account is "big", nothing is fanned out on write.
    let node = TestNode::spawn_with(crate::support::TestDb::new(db).await, |c| {
        c.fanout_threshold = 0
    })
    .await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    let (_, carol_token) = node.user_with_token("carol").await;
    follow(&node, &bob_token, alice.account.id).await;
    let mut bob = Ws::connect(&node, &format!("access_token={bob_token}&stream=user")).await;
    let mut carol = Ws::connect(&node, &format!("access_token={carol_token}&stream=user")).await;

    let posted = post(
        &node,
        &alice_token,
        json!({"status": "merged at read time"}),
    )
    .await;
    node.drain().await;
    assert_eq!(bob.next().await["payload"]["id"], posted["id"]);
    // Carol follows nobody: alice's post is not on her home stream, so her
    // own post is the first thing she sees.
    let own = post(&node, &carol_token, json!({"status": "mine"})).await;
    node.drain().await;
    assert_eq!(carol.next().await["payload"]["id"], own["id"]);
}

db_test!(list_streams_carry_members_posts_to_the_owner_only);
async fn list_streams_carry_members_posts_to_the_owner_only(db: Db) {
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    let (_, carol_token) = node.user_with_token("carol").await;
    follow(&node, &bob_token, alice.account.id).await;
    let (status, list) = node
        .api_post("/api/v1/lists", &bob_token, json!({"title": "Friends"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list_id = list["id"].as_str().unwrap().to_owned();
    let (status, _) = node
        .api_post(
            &format!("/api/v1/lists/{list_id}/accounts"),
            &bob_token,
            json!({"account_ids": [alice.account.id.to_string()]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Someone else's list cannot be streamed.
    assert_eq!(
        Sse::open(&node, &format!("list?list={list_id}"), Some(&carol_token))
            .await
            .err(),
        Some(StatusCode::NOT_FOUND)
    );
    let mut ws = Ws::connect(&node, &format!("access_token={bob_token}")).await;
    ws.send(json!({"type": "subscribe", "stream": "list", "list": list_id}))
        .await;
    ws.sync().await;
    let posted = post(&node, &alice_token, json!({"status": "for my listeners"})).await;
    node.drain().await;
    let frame = ws.next().await;
    assert_eq!(frame["stream"], json!(["list", list_id]));
    assert_eq!(frame["payload"]["id"], posted["id"]);
}

db_test!(a_direct_message_reaches_only_its_recipients_direct_streams);
async fn a_direct_message_reaches_only_its_recipients_direct_streams(db: Db) {
    let node = TestNode::spawn(db).await;
    let (_, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    let (_, carol_token) = node.user_with_token("carol").await;
    let (_, dave_token) = node.user_with_token("dave").await;
    let mut bob = Ws::connect(&node, &format!("access_token={bob_token}&stream=direct")).await;
    let mut carol = Sse::open(&node, "direct", Some(&carol_token))
        .await
        .unwrap();

    let secret = post(
        &node,
        &alice_token,
        json!({"status": "@bob just for you", "visibility": "direct"}),
    )
    .await;
    node.drain().await;
    // A marker for carol: events come in order, so a leaked message to bob
    // would reach her before this one.
    let hello = post(
        &node,
        &dave_token,
        json!({"status": "@carol hello", "visibility": "direct"}),
    )
    .await;
    node.drain().await;

    let frame = bob.next().await;
    assert_eq!(frame["event"], "conversation", "{frame}");
    assert_eq!(frame["payload"]["last_status"]["id"], secret["id"]);
    assert_eq!(frame["payload"]["unread"], true);
    assert_eq!(frame["payload"]["accounts"][0]["username"], "alice");
    let (event, data) = carol.next().await;
    assert_eq!(event, "conversation");
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["last_status"]["id"], hello["id"], "{data}");
}

db_test!(followers_of_one_post_each_see_it_as_their_home_timeline_does);
async fn followers_of_one_post_each_see_it_as_their_home_timeline_does(db: Db) {
    // Many followers of one author get one post: those with nothing of
    // their own bearing on it see the same entity, and every one who mutes
    // or blocks, filters, or has favourited or boosted it sees what their
    // home timeline shows them, and nothing more.
    let node = TestNode::spawn(db).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (other, other_token) = node.user_with_token("other").await;
    let names = [
        "plain1", "plain2", "muter", "blocker", "hider", "warner", "faver", "booster",
    ];
    let mut tokens = std::collections::HashMap::new();
    for name in names {
        let (_, token) = node.user_with_token(name).await;
        follow(&node, &token, alice.account.id).await;
        follow(&node, &token, other.account.id).await;
        tokens.insert(name, token);
    }
    let act = |name: &str, path: String, body: Value| {
        let token = tokens[name].clone();
        let node = &node;
        async move {
            let (status, json) = node.api_post(&path, &token, body).await;
            assert_eq!(status, StatusCode::OK, "{path}: {json}");
        }
    };
    let alice_id = alice.account.id;
    act(
        "muter",
        format!("/api/v1/accounts/{alice_id}/mute"),
        json!({}),
    )
    .await;
    act(
        "blocker",
        format!("/api/v1/accounts/{alice_id}/block"),
        json!({}),
    )
    .await;
    for (name, action) in [("hider", "hide"), ("warner", "warn")] {
        act(
            name,
            "/api/v2/filters".into(),
            json!({"title": "no cheese", "context": ["home"], "filter_action": action,
                   "keywords_attributes": [{"keyword": "cheese"}]}),
        )
        .await;
    }
    let mut sockets = std::collections::HashMap::new();
    for name in names {
        let query = format!("access_token={}&stream=user", tokens[name]);
        sockets.insert(name, Ws::connect(&node, &query).await);
    }

    let posted = post(&node, &alice_token, json!({"status": "I like cheese"})).await;
    node.drain().await;
    // `other` posts next: for whoever must not see alice's post, this one is
    // the next frame.
    let marker = post(&node, &other_token, json!({"status": "marker"})).await;
    node.drain().await;
    for name in ["plain1", "plain2", "faver", "booster"] {
        let frame = sockets.get_mut(name).unwrap().next().await;
        assert_eq!(frame["event"], "update", "{name}");
        assert_eq!(frame["payload"]["id"], posted["id"], "{name}");
        assert_eq!(frame["payload"]["favourited"], false, "{name}");
        assert_eq!(frame["payload"]["reblogged"], false, "{name}");
        assert_eq!(frame["payload"]["account"]["acct"], "alice", "{name}");
    }
    let warned = sockets.get_mut("warner").unwrap().next().await;
    assert_eq!(warned["payload"]["id"], posted["id"]);
    assert_eq!(
        warned["payload"]["filtered"][0]["filter"]["title"], "no cheese",
        "a warn filter marks the post: {warned}"
    );
    for name in ["muter", "blocker", "hider"] {
        let frame = sockets.get_mut(name).unwrap().next().await;
        assert_eq!(
            frame["payload"]["id"], marker["id"],
            "{name} never sees alice's post: {frame}"
        );
    }
    for name in ["plain1", "plain2", "faver", "booster", "warner"] {
        let frame = sockets.get_mut(name).unwrap().next().await;
        assert_eq!(frame["payload"]["id"], marker["id"], "{name}");
    }

    // Flags differ per viewer: an edit shows each their own.
    let id = posted["id"].as_str().unwrap();
    act(
        "faver",
        format!("/api/v1/statuses/{id}/favourite"),
        json!({}),
    )
    .await;
    act(
        "booster",
        format!("/api/v1/statuses/{id}/reblog"),
        json!({}),
    )
    .await;
    node.drain().await;
    // The booster's own boost reaches their home stream first.
    let boost = sockets.get_mut("booster").unwrap().next().await;
    assert_eq!(boost["payload"]["reblog"]["id"], posted["id"], "{boost}");
    let (status, _) = node
        .api(
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&alice_token),
            Some(json!({"status": "I like cheese a lot"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (name, favourited, reblogged) in [
        ("plain1", false, false),
        ("plain2", false, false),
        ("faver", true, false),
        ("booster", false, true),
    ] {
        let frame = sockets.get_mut(name).unwrap().next().await;
        assert_eq!(frame["event"], "status.update", "{name}: {frame}");
        assert_eq!(frame["payload"]["favourited"], favourited, "{name}");
        assert_eq!(frame["payload"]["reblogged"], reblogged, "{name}");
        assert!(
            frame["payload"]["content"]
                .as_str()
                .unwrap()
                .contains("a lot")
        );
    }
}
