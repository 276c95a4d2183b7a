//! `starling serve --role web|worker` on one PostgreSQL database: the web
//! process takes a post and only enqueues its fan-out; the separate worker
//! process is what puts it in followers' home timelines, and its streaming
//! event reaches a client of the web process.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use starling_node::store::Store;

use crate::process::{Server, WorkDir, starling};
use crate::streaming::clients::Ws;
use crate::support::{Db, TestDb, TestNode};

/// `method path` on a server started from the binary, with a bearer token.
async fn call(
    port: u16,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Whether `post` is in the home timeline `token` reads through `port`.
async fn home_has(port: u16, token: &str, post: &Value) -> bool {
    let (status, home) = call(
        port,
        reqwest::Method::GET,
        "/api/v1/timelines/home",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{home}");
    home.as_array()
        .expect("a list")
        .iter()
        .any(|s| s["id"] == post["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_process_enqueues_and_a_worker_process_fans_out() {
    // Users and the follow, made by an ordinary node that then stops.
    let node = TestNode::spawn(Db::Postgres).await;
    let (alice, alice_token) = node.user_with_token("alice").await;
    let (_, bob_token) = node.user_with_token("bob").await;
    let (status, rel) = node
        .api_post(
            &format!("/api/v1/accounts/{}/follow", alice.account.id),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    assert_eq!(rel["following"], true, "{rel}");
    let domain = node.domain.clone();
    let db: std::sync::Arc<TestDb> = node.stop().await;

    let dir = WorkDir::new();
    let process = || {
        let mut cmd = starling(&dir.0, Some(&db));
        cmd.env("STARLING_DOMAIN", &domain);
        cmd
    };
    let web = Server::start_with(process(), &["--role", "web"]);
    // Bob watches his home stream on the web process; the event will be
    // raised by the worker process and cross over LISTEN/NOTIFY.
    let mut stream = Ws::connect_to(
        &format!("http://127.0.0.1:{}", web.port),
        &format!("access_token={bob_token}&stream=user"),
    )
    .await;
    stream.sync().await;
    let (status, post) = call(
        web.port,
        reqwest::Method::POST,
        "/api/v1/statuses",
        &alice_token,
        Some(json!({"status": "sent through the web process"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{post}");

    // The web process runs no jobs: the fan-out waits in the queue. A worker
    // in the same process would have been woken at once, and one elsewhere
    // polls every second, so 1.5 s is ample time to see it run if it did.
    let store = Store::connect(&db.url).await.expect("connect");
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < quiet_until {
        assert!(
            store.due_jobs().await.unwrap() > 0,
            "the fan-out job ran without a worker"
        );
        assert!(
            !home_has(web.port, &bob_token, &post).await,
            "fanned out without a worker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let worker = Server::start_worker(process());
    assert_eq!(worker.port, 0, "a worker serves no HTTP");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !home_has(web.port, &bob_token, &post).await {
        assert!(
            Instant::now() < deadline,
            "the worker did not fan the post out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The feed row lands before the job is marked done: wait for that too.
    while store.due_jobs().await.unwrap() != 0 {
        assert!(Instant::now() < deadline, "the queue did not empty");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    let frame = stream.next().await;
    assert_eq!(frame["event"], "update", "{frame}");
    assert_eq!(frame["payload"]["id"], post["id"], "{frame}");

    // Both stop cleanly on SIGTERM.
    assert!(worker.terminate().success());
    assert!(web.terminate().success());
}
