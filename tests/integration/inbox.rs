//! The inbox as a hostile network sees it: only correctly signed activities
//! from their own actors are recorded, once; everything else gets 401 and
//! leaves no trace. Two real nodes on loopback: alice on `a` signs, `b`
//! receives and fetches alice's key from `a` over HTTP.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};
use starling_federation::keys::parse_private_pem;
use starling_federation::signatures::{
    HttpRequest, content_digest_header, http_date, sha256_digest_header, sign_request,
    sign_request_rfc9421,
};
use starling_node::store::accounts::DbUser;

use crate::db_test;
use crate::support::{Db, TestNode};

/// How to build one request.
struct Send<'a> {
    from: &'a TestNode,
    user: &'a DbUser,
    /// Where the request really goes.
    to: &'a TestNode,
    path: &'a str,
    /// The body that is signed.
    body: String,
    /// The body actually sent (defaults to `body`).
    sent_body: Option<String>,
    /// Signed and sent instead of `body`, for bodies that are not text.
    bytes: Option<Vec<u8>>,
    /// Host named in the signature (defaults to `to`'s).
    signed_host: Option<String>,
    date: SystemTime,
    signed: bool,
    /// Signs with this private key (PEM) instead of the user's current one.
    key_pem: Option<String>,
    /// Sent as from behind a proxy for this client address.
    forwarded_for: Option<&'static str>,
    /// Names this key id instead of the user's.
    key_id: Option<String>,
}

impl<'a> Send<'a> {
    fn new(from: &'a TestNode, user: &'a DbUser, to: &'a TestNode, body: String) -> Self {
        Send {
            from,
            user,
            to,
            path: "/inbox",
            body,
            sent_body: None,
            bytes: None,
            signed_host: None,
            date: SystemTime::now(),
            signed: true,
            key_pem: None,
            forwarded_for: None,
            key_id: None,
        }
    }

    async fn go(self) -> StatusCode {
        let keys = self
            .from
            .app
            .store()
            .account_keys(self.user.account.id)
            .await
            .unwrap()
            .unwrap();
        let pem = self.key_pem.clone().or(keys.private_key_pem).unwrap();
        let pair = parse_private_pem(&pem).unwrap();
        let host = self
            .signed_host
            .clone()
            .unwrap_or_else(|| self.to.domain.clone());
        let headers = vec![
            ("host".to_owned(), host),
            ("date".to_owned(), http_date(self.date)),
            (
                "digest".to_owned(),
                sha256_digest_header(self.bytes.as_deref().unwrap_or(self.body.as_bytes())),
            ),
            (
                "content-type".to_owned(),
                "application/activity+json".to_owned(),
            ),
        ];
        let key_id = self.key_id.clone().unwrap_or_else(|| {
            format!(
                "{}/users/{}#main-key",
                self.from.base, self.user.account.username
            )
        });
        let mut request = self
            .to
            .http
            .post(format!("{}{}", self.to.base, self.path))
            .header("date", &headers[1].1)
            .header("digest", &headers[2].1)
            .header("content-type", &headers[3].1)
            .body(match (self.sent_body, self.bytes) {
                (Some(sent), _) => sent.into_bytes(),
                (None, Some(bytes)) => bytes,
                (None, None) => self.body.clone().into_bytes(),
            });
        if self.signed {
            let signature = sign_request("POST", self.path, &headers, &key_id, &pair).unwrap();
            request = request.header("signature", signature);
        }
        if let Some(client) = self.forwarded_for {
            request = request.header("x-forwarded-for", client);
        }
        request.send().await.unwrap().status()
    }

    /// Sent through a proxy on the receiver's machine for `client`.
    fn forwarded_for(mut self, client: &'static str) -> Self {
        self.forwarded_for = Some(client);
        self
    }
}

fn create_note(from: &TestNode, user: &str, n: u32) -> String {
    let actor = format!("{}/users/{user}", from.base);
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/statuses/{n}/activity"),
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": format!("{actor}/statuses/{n}"), "type": "Note", "attributedTo": actor, "content": "<p>hi</p>"}
    })
    .to_string()
}

async fn stored(node: &TestNode) -> i64 {
    node.app.store().count_inbox_activities().await.unwrap()
}

db_test!(signed_activities_are_recorded_once);
async fn signed_activities_are_recorded_once(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    b.create_user("bob").await;

    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 1))
            .go()
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(stored(&b).await, 1);
    // A replay is accepted and has no second effect.
    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 1))
            .go()
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(stored(&b).await, 1);
    // Personal inboxes too; unknown users' inboxes do not exist.
    let mut to_bob = Send::new(&a, &alice, &b, create_note(&a, "alice", 2));
    to_bob.path = "/users/bob/inbox";
    assert_eq!(to_bob.go().await, StatusCode::ACCEPTED);
    let mut to_nobody = Send::new(&a, &alice, &b, create_note(&a, "alice", 3));
    to_nobody.path = "/users/nobody/inbox";
    assert_eq!(to_nobody.go().await, StatusCode::NOT_FOUND);
    assert_eq!(stored(&b).await, 2);
    // The sender is now a known remote account on b.
    let (status, found) = b
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/accounts/lookup?acct=alice@{}", a.domain),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["acct"], format!("alice@{}", a.domain));

    // RFC 9421 signatures (Fedify's first choice) verify too.
    let body = create_note(&a, "alice", 4);
    let keys = a
        .app
        .store()
        .account_keys(alice.account.id)
        .await
        .unwrap()
        .unwrap();
    let pair = parse_private_pem(keys.private_key_pem.as_deref().unwrap()).unwrap();
    let headers = vec![
        ("host".to_owned(), b.domain.clone()),
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
    let sig = sign_request_rfc9421(
        &request,
        &format!("{}/users/alice#main-key", a.base),
        &pair,
        SystemTime::now(),
    )
    .unwrap();
    let response = b
        .http
        .post(format!("{}/inbox", b.base))
        .header("date", &headers[1].1)
        .header("content-digest", &headers[2].1)
        .header("content-type", &headers[3].1)
        .header("signature-input", sig.signature_input)
        .header("signature", sig.signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(stored(&b).await, 3);
}

db_test!(forged_or_tampered_activities_leave_no_trace);
async fn forged_or_tampered_activities_leave_no_trace(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let mallory = a.create_user("mallory").await;

    let mut unsigned = Send::new(&a, &alice, &b, create_note(&a, "alice", 1));
    unsigned.signed = false;
    assert_eq!(unsigned.go().await, StatusCode::UNAUTHORIZED);

    let mut tampered = Send::new(&a, &alice, &b, create_note(&a, "alice", 1));
    tampered.sent_body = Some(tampered.body.replace("<p>hi</p>", "<p>hI</p>"));
    assert_eq!(
        tampered.go().await,
        StatusCode::UNAUTHORIZED,
        "one body byte changed"
    );

    let mut replayed = Send::new(&a, &alice, &b, create_note(&a, "alice", 1));
    replayed.signed_host = Some("elsewhere.example".into());
    assert_eq!(
        replayed.go().await,
        StatusCode::UNAUTHORIZED,
        "signed for another host"
    );

    for age in [Duration::from_secs(2 * 3600), Duration::from_secs(0)] {
        let mut stale = Send::new(&a, &alice, &b, create_note(&a, "alice", 1));
        stale.date = if age.is_zero() {
            SystemTime::now() + Duration::from_secs(3 * 3600)
        } else {
            SystemTime::now() - age
        };
        assert_eq!(
            stale.go().await,
            StatusCode::UNAUTHORIZED,
            "date out of window"
        );
    }

    // Mallory signs an activity that claims alice as its actor.
    assert_eq!(
        Send::new(&a, &mallory, &b, create_note(&a, "alice", 1))
            .go()
            .await,
        StatusCode::UNAUTHORIZED
    );

    // Alice's activity whose id lives on another server.
    let mut body: Value = serde_json::from_str(&create_note(&a, "alice", 1)).unwrap();
    body["id"] = json!("https://victim.example/activities/1");
    assert_eq!(
        Send::new(&a, &alice, &b, body.to_string()).go().await,
        StatusCode::UNAUTHORIZED
    );

    // A key nobody can fetch.
    let response = b
        .http
        .post(format!("{}/inbox", b.base))
        .header("date", http_date(SystemTime::now()))
        .header("digest", sha256_digest_header(b"{}"))
        .header("signature", "keyId=\"http://10.0.0.1/actor#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"AAAA\"")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(stored(&b).await, 0, "nothing was recorded");

    // Bodies over 1 MiB are refused before they are read whole.
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = b
        .http
        .post(format!("{}/inbox", b.base))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

db_test!(an_address_that_keeps_sending_forgeries_is_turned_away);
/// The inbox's limit per source, behind a proxy on the node's machine (the
/// client address read from `X-Forwarded-For`): after 300 counted refusals
/// from one address in the window, that address gets 429 (with
/// `Retry-After`), even for a good activity, before anything is verified.
/// Refusals of activities whose actor is gone (404) do not count; other
/// addresses behind the same proxy are not affected; nothing from the
/// turned-away address is stored.
async fn an_address_that_keeps_sending_forgeries_is_turned_away(db: Db) {
    use starling_node::http::rate_limit::INBOX_REFUSALS_PER_IP;
    const FORGER: &str = "198.51.100.7";
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let note = |n: u32| Send::new(&a, &alice, &b, create_note(&a, "alice", n));

    // Signed by an account its server no longer has: refused, not counted.
    for n in 0..INBOX_REFUSALS_PER_IP + 10 {
        let mut gone = note(n).forwarded_for(FORGER);
        gone.key_id = Some(format!("{}/users/removed#main-key", a.base));
        assert_eq!(gone.go().await, StatusCode::UNAUTHORIZED, "gone {n}");
    }
    // Unsigned: refused and counted.
    for n in 0..INBOX_REFUSALS_PER_IP {
        let mut unsigned = note(n).forwarded_for(FORGER);
        unsigned.signed = false;
        assert_eq!(unsigned.go().await, StatusCode::UNAUTHORIZED, "forgery {n}");
    }
    let turned_away = b
        .http
        .post(format!("{}/inbox", b.base))
        .header("x-forwarded-for", FORGER)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(turned_away.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = turned_away.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        note(1000).forwarded_for(FORGER).go().await,
        StatusCode::TOO_MANY_REQUESTS,
        "even a good activity, before it is verified"
    );
    assert_eq!(stored(&b).await, 0);

    assert_eq!(
        note(1000).forwarded_for("198.51.100.8").go().await,
        StatusCode::ACCEPTED,
        "another client behind the proxy is served"
    );
    assert_eq!(
        note(1001).go().await,
        StatusCode::ACCEPTED,
        "and so is the proxy's own address"
    );
    assert_eq!(stored(&b).await, 2);
}

db_test!(a_body_that_is_not_utf8_or_holds_nul_is_refused_and_leaves_no_trace);
async fn a_body_that_is_not_utf8_or_holds_nul_is_refused_and_leaves_no_trace(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let body = create_note(&a, "alice", 1);

    // Correctly signed, digest and all, but one byte of the content is not
    // UTF-8: refused as malformed rather than stored with the byte replaced.
    let mut latin1 = Send::new(&a, &alice, &b, body.clone());
    latin1.bytes = Some(body.replace("<p>hi</p>", "<p>h\u{1}i</p>").into_bytes());
    if let Some(bytes) = latin1.bytes.as_mut() {
        let at = bytes.iter().position(|&c| c == 1).unwrap();
        bytes[at] = 0xe9; // "é" in Latin-1
    }
    assert_eq!(latin1.go().await, StatusCode::BAD_REQUEST);
    assert_eq!(stored(&b).await, 0, "nothing was recorded");

    // A NUL, raw in the body or escaped in the id, is refused the same way
    // on both databases (PostgreSQL's text cannot hold one).
    let raw_nul = body.replace("<p>hi</p>", "<p>h\u{0}i</p>");
    let escaped_nul = body.replace("/statuses/1/activity", "/statuses/1/activity\\u0000");
    for odd in [raw_nul, escaped_nul] {
        assert_eq!(
            Send::new(&a, &alice, &b, odd).go().await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(stored(&b).await, 0, "nothing was recorded");

    // The activity id was not taken: the same activity as UTF-8 goes in.
    assert_eq!(
        Send::new(&a, &alice, &b, body).go().await,
        StatusCode::ACCEPTED
    );
    assert_eq!(stored(&b).await, 1);
}

db_test!(a_remote_follow_is_applied_and_accepted);
async fn a_remote_follow_is_applied_and_accepted(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (bob, bob_token) = b.user_with_token("bob").await;
    let alice_uri = format!("{}/users/alice", a.base);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice_uri}#follows/1"),
        "type": "Follow",
        "actor": alice_uri,
        "object": format!("{}/users/bob", b.base),
    });
    let mut send = Send::new(&a, &alice, &b, follow.to_string());
    send.path = "/users/bob/inbox";
    assert_eq!(send.go().await, StatusCode::ACCEPTED);
    b.drain().await;
    if a.app
        .store()
        .inbox_activity_types()
        .await
        .unwrap()
        .is_empty()
    {
        // On a loaded machine the Accept's first delivery can fail and be
        // queued for a retry (at-least-once); make that retry due now
        // instead of in 15 s. A dropped delivery would still fail below.
        eprintln!("the Accept was not delivered on the first try; retrying it now");
        b.db.execute("UPDATE jobs SET run_at = 0").await;
        b.drain().await;
    }

    // Bob has a remote follower, and was told.
    let (_, me) = b
        .api_get("/api/v1/accounts/verify_credentials", &bob_token)
        .await;
    assert_eq!(me["followers_count"], 1);
    let (_, notes) = b.api_get("/api/v1/notifications", &bob_token).await;
    assert_eq!(notes[0]["type"], "follow");
    assert_eq!(notes[0]["account"]["acct"], format!("alice@{}", a.domain));
    // Alice's server received bob's signed Accept (it verified bob's key from b).
    assert_eq!(
        a.app.store().inbox_activity_types().await.unwrap(),
        vec!["Accept".to_owned()]
    );

    // Undo(Follow) by alice ends it; an Undo by someone else would not.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice_uri}#follows/1/undo"),
        "type": "Undo",
        "actor": alice_uri,
        "object": follow,
    });
    assert_eq!(
        Send::new(&a, &alice, &b, undo.to_string()).go().await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    let (_, me) = b
        .api_get("/api/v1/accounts/verify_credentials", &bob_token)
        .await;
    assert_eq!(me["followers_count"], 0);
    let _ = bob;
}

db_test!(a_delete_before_its_create_stays_deleted);
async fn a_delete_before_its_create_stays_deleted(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let mallory = a.create_user("mallory").await;
    let note_uri = format!("{}/users/alice/statuses/7", a.base);
    let delete = |by: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/users/{by}#deletes/7", a.base),
            "type": "Delete",
            "actor": format!("{}/users/{by}", a.base),
            "object": {"id": note_uri, "type": "Tombstone"},
        })
        .to_string()
    };
    assert_eq!(
        Send::new(&a, &alice, &b, delete("alice")).go().await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 7))
            .go()
            .await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    assert!(
        b.app
            .store()
            .status_by_uri(&note_uri)
            .await
            .unwrap()
            .is_none(),
        "the late Create is ignored"
    );

    // Someone else cannot delete alice's post.
    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 8))
            .go()
            .await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    let uri8 = format!("{}/users/alice/statuses/8", a.base);
    assert!(b.app.store().status_by_uri(&uri8).await.unwrap().is_some());
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/users/mallory#deletes/8", a.base),
        "type": "Delete",
        "actor": format!("{}/users/mallory", a.base),
        "object": uri8,
    });
    assert_eq!(
        Send::new(&a, &mallory, &b, forged.to_string()).go().await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    assert!(
        b.app.store().status_by_uri(&uri8).await.unwrap().is_some(),
        "not mallory's to delete"
    );
}

db_test!(concurrent_copies_are_one_effect_and_do_not_hold_up_the_rest);
async fn concurrent_copies_are_one_effect_and_do_not_hold_up_the_rest(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 1))
            .go()
            .await,
        StatusCode::ACCEPTED
    );

    // Sent at once, so they share commits: three copies of one new activity,
    // a replay of the first, and eight other new ones.
    let mut sends = Vec::new();
    for n in [2, 2, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10] {
        sends.push(Send::new(&a, &alice, &b, create_note(&a, "alice", n)).go());
    }
    let answers = futures_util::future::join_all(sends).await;
    assert!(
        answers.iter().all(|s| *s == StatusCode::ACCEPTED),
        "every copy is accepted: {answers:?}"
    );
    assert_eq!(stored(&b).await, 10, "each activity once");

    b.drain().await;
    for n in 1..=10 {
        let uri = format!("{}/users/alice/statuses/{n}", a.base);
        assert!(
            b.app.store().status_by_uri(&uri).await.unwrap().is_some(),
            "note {n} arrived"
        );
    }
}

db_test!(a_burst_survives_the_database_cutting_its_connections);
/// Many senders at once while the receiving node's database connections are
/// cut under it, six times (PostgreSQL: the server ends them, as on a
/// restart; SQLite has none to cut, so there it is the burst alone). The
/// node goes on accepting at once: a cut costs at most the one request whose
/// fresh connection it also caught (a 500, which a sender retries), and
/// every activity ends up stored once and applied.
async fn a_burst_survives_the_database_cutting_its_connections(db: Db) {
    use futures_util::StreamExt;
    use sqlx::Connection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const BURST: u32 = 400;
    const CUTS: usize = 6;
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let first = Send::new(&a, &alice, &b, create_note(&a, "alice", 0));
    assert_eq!(first.go().await, StatusCode::ACCEPTED);
    // Opened beforehand, so a cut is one quick statement.
    let mut admin = match db {
        Db::Postgres => Some(
            sqlx::AnyConnection::connect(&b.db.url_string())
                .await
                .expect("connect"),
        ),
        Db::Sqlite => None,
    };

    // Sixteen at a time, so the node's writer stays busy (and keeps its
    // connection) through the burst, and the cuts land in the middle of it.
    let answered = AtomicUsize::new(0);
    let sends = futures_util::stream::iter((1..=BURST).map(|n| {
        let answered = &answered;
        let send = Send::new(&a, &alice, &b, create_note(&a, "alice", n));
        async move {
            let status = send.go().await;
            answered.fetch_add(1, Ordering::Relaxed);
            (n, status)
        }
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>();
    let cut = async {
        let mut at = Vec::new();
        for k in 1..=CUTS {
            while answered.load(Ordering::Relaxed) < BURST as usize * k / (CUTS + 1) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if let Some(admin) = admin.as_mut() {
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .execute(admin)
                .await
                .expect("cut");
            }
            at.push(answered.load(Ordering::Relaxed));
        }
        at
    };
    let (answers, cut_at) = tokio::join!(sends, cut);
    // A cut can take a moment under load while the burst runs on, so only
    // most of them need to land inside it.
    assert!(
        cut_at.iter().filter(|&&n| n < BURST as usize).count() >= CUTS / 2,
        "the cuts came while activities were still to be sent: {cut_at:?}"
    );
    let refused: Vec<_> = answers
        .iter()
        .filter(|(_, s)| *s != StatusCode::ACCEPTED)
        .collect();
    assert!(
        refused.len() <= CUTS && refused.iter().all(|(_, s)| s.is_server_error()),
        "at most one retryable refusal per cut: {refused:?}"
    );
    for (n, _) in refused {
        let again = Send::new(&a, &alice, &b, create_note(&a, "alice", *n));
        assert_eq!(again.go().await, StatusCode::ACCEPTED, "{n} sent again");
    }
    assert_eq!(stored(&b).await, i64::from(BURST) + 1, "each activity once");
    // Jobs the cuts failed wait out their backoff, and jobs whose worker
    // lost its connection their lease: let that time pass, again if a job
    // the node's own worker was still settling went back to waiting.
    let missing = async || {
        for n in 0..=BURST {
            let uri = format!("{}/users/alice/statuses/{n}", a.base);
            if b.app.store().status_by_uri(&uri).await.unwrap().is_none() {
                return Some(n);
            }
        }
        None
    };
    for _ in 0..10 {
        b.db.execute("UPDATE jobs SET run_at = 0, locked_until = 0")
            .await;
        b.drain().await;
        if missing().await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(missing().await, None, "a note that never arrived");
}

db_test!(an_activity_the_database_refuses_fails_alone_and_the_node_still_stops);
/// Activities the database refuses to store (a trigger stands in for any
/// such failure), sent among good ones so that they share commits: each bad
/// one is answered 5xx (the sender retries), every good one 202 and stored,
/// and afterwards the node shuts down cleanly (its inbox writer gave its
/// connection back to the pool).
async fn an_activity_the_database_refuses_fails_alone_and_the_node_still_stops(db: Db) {
    use futures_util::StreamExt;
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let refuse = match db {
        Db::Sqlite => {
            "CREATE TRIGGER refuse BEFORE INSERT ON inbox_activities \
                       WHEN NEW.body LIKE '%<p>refused</p>%' \
                       BEGIN SELECT RAISE(ABORT, 'refused'); END;"
        }
        Db::Postgres => {
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
                         IF NEW.body LIKE '%<p>refused</p>%' THEN RAISE EXCEPTION 'refused'; END IF; \
                         RETURN NEW; END $$ LANGUAGE plpgsql; \
                         CREATE TRIGGER refuse BEFORE INSERT ON inbox_activities \
                         FOR EACH ROW EXECUTE FUNCTION refuse();"
        }
    };
    b.db.execute(refuse).await;
    let bad = |n: u32| n.is_multiple_of(6);
    let answers: Vec<(u32, StatusCode)> = futures_util::stream::iter((1..=48).map(|n| {
        let mut body = create_note(&a, "alice", n);
        if bad(n) {
            body = body.replace("<p>hi</p>", "<p>refused</p>");
        }
        let send = Send::new(&a, &alice, &b, body);
        async move { (n, send.go().await) }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    for (n, status) in &answers {
        if bad(*n) {
            assert!(status.is_server_error(), "{n}: {status}");
        } else {
            assert_eq!(*status, StatusCode::ACCEPTED, "{n}");
        }
    }
    assert_eq!(stored(&b).await, 40, "every good activity, once");
    tokio::time::timeout(Duration::from_secs(20), b.stop())
        .await
        .expect("the node stops");
}

db_test!(a_rotated_key_is_picked_up_and_a_replaced_one_refused);
async fn a_rotated_key_is_picked_up_and_a_replaced_one_refused(db: Db) {
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let old = a
        .app
        .store()
        .account_keys(alice.account.id)
        .await
        .unwrap()
        .unwrap()
        .private_key_pem
        .unwrap();
    let rotate = async || {
        let key = starling_federation::keys::generate_rsa_2048().unwrap();
        a.db.execute(&format!(
            "UPDATE account_keys SET public_key_pem = '{}', private_key_pem = '{}' WHERE account_id = {}",
            key.public_pem, key.private_pem, alice.account.id
        ))
        .await;
        key
    };
    let signed_with = |pem: &str, n: u32| {
        let mut send = Send::new(&a, &alice, &b, create_note(&a, "alice", n));
        send.key_pem = Some(pem.to_owned());
        send
    };
    assert_eq!(signed_with(&old, 1).go().await, StatusCode::ACCEPTED);

    // Alice's server replaces her key, and b learns it (as another of b's
    // processes would from her `Update`): what b verified the old key with
    // earlier must not let the old key in now.
    let second = rotate().await;
    b.db.execute(&format!(
        "UPDATE account_keys SET public_key_pem = '{}' WHERE key_id = '{}/users/alice#main-key'",
        second.public_pem, a.base
    ))
    .await;
    assert_eq!(
        signed_with(&old, 2).go().await,
        StatusCode::UNAUTHORIZED,
        "the replaced key"
    );
    assert_eq!(
        signed_with(&second.private_pem, 3).go().await,
        StatusCode::ACCEPTED
    );

    // Rotated again, and b has not heard: the first signature with the new
    // key makes b fetch it (once the last fetch is a minute old).
    let third = rotate().await;
    b.db.execute("UPDATE account_keys SET fetched_at = 0").await;
    assert_eq!(
        signed_with(&third.private_pem, 4).go().await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        signed_with(&second.private_pem, 5).go().await,
        StatusCode::UNAUTHORIZED,
        "the key before"
    );
    assert_eq!(stored(&b).await, 3, "notes 1, 3 and 4");
}

/// The `inbox` jobs of `node`: (payload, attempts).
async fn inbox_jobs(node: &TestNode) -> Vec<(Value, i64)> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&node.db.url_string())
        .await
        .unwrap();
    let rows = sqlx::query("SELECT payload, attempts FROM jobs WHERE kind = 'inbox' ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    rows.iter()
        .map(|r| {
            let payload: String = r.get(0);
            (serde_json::from_str(&payload).unwrap(), r.get(1))
        })
        .collect()
}

db_test!(an_activity_that_fails_is_retried_without_the_rest_of_its_commit);
async fn an_activity_that_fails_is_retried_without_the_rest_of_its_commit(db: Db) {
    // One inbox job carries every activity of a group commit; one that
    // cannot be applied (its table refuses writes for a while) must neither
    // hold up the others nor be lost.
    let a = TestNode::spawn(db).await;
    let b = TestNode::spawn(db).await;
    let alice = a.create_user("alice").await;
    let (_, bob) = b.user_with_token("bob").await;
    let (_, post) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "like me"}))
        .await;
    // b learns alice (and her key) from a first signed note.
    assert_eq!(
        Send::new(&a, &alice, &b, create_note(&a, "alice", 0))
            .go()
            .await,
        StatusCode::ACCEPTED
    );
    b.drain().await;
    let actor = format!("{}/users/alice", a.base);
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#likes/1"),
        "type": "Like",
        "actor": actor,
        "object": post["uri"],
    })
    .to_string();
    let bodies = [
        create_note(&a, "alice", 1),
        like,
        create_note(&a, "alice", 3),
    ];
    let refuse = match db {
        Db::Sqlite => "CREATE TRIGGER refuse BEFORE INSERT ON favourites \
                       BEGIN SELECT RAISE(ABORT, 'favourites are down'); END;"
            .to_owned(),
        Db::Postgres => "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
                         RAISE EXCEPTION 'favourites are down'; END $$ LANGUAGE plpgsql; \
                         CREATE TRIGGER refuse BEFORE INSERT ON favourites \
                         FOR EACH ROW EXECUTE FUNCTION refuse();"
            .to_owned(),
    };
    b.db.execute(&refuse).await;
    // The three as the inbox's writer records one commit of them.
    let mut values = Vec::new();
    let ids: Vec<i64> = (0..3).map(|_| b.app.ids().next()).collect();
    for (n, body) in bodies.iter().enumerate() {
        let activity: Value = serde_json::from_str(body).unwrap();
        values.push(format!(
            "({}, '{}', '{actor}', '{}', 0)",
            ids[n],
            activity["id"].as_str().unwrap(),
            body.replace('\'', "''")
        ));
    }
    b.db.execute(&format!(
        "INSERT INTO inbox_activities (id, activity_id, actor_uri, body, received_at) VALUES {}; \
         INSERT INTO jobs (id, kind, payload, run_at, created_at) \
         VALUES ({}, 'inbox', '{}', 0, 0);",
        values.join(", "),
        b.app.ids().next(),
        json!({ "inbox_activities": ids })
    ))
    .await;
    b.drain().await;

    for n in [1, 3] {
        let uri = format!("{actor}/statuses/{n}");
        assert!(
            b.app.store().status_by_uri(&uri).await.unwrap().is_some(),
            "note {n} was applied"
        );
    }
    assert_eq!(
        inbox_jobs(&b).await,
        vec![(json!({ "inbox_activities": [ids[1]] }), 1)],
        "only the like waits for a retry"
    );

    let drop_refuse = match db {
        Db::Sqlite => "DROP TRIGGER refuse;",
        Db::Postgres => "DROP TRIGGER refuse ON favourites; DROP FUNCTION refuse();",
    };
    b.db.execute(&format!("{drop_refuse} UPDATE jobs SET run_at = 0;"))
        .await;
    b.drain().await;
    assert!(inbox_jobs(&b).await.is_empty());
    let id = post["id"].as_str().unwrap();
    let (_, status) = b.api_get(&format!("/api/v1/statuses/{id}"), &bob).await;
    assert_eq!(status["favourites_count"], 1, "the like arrived in the end");
}
