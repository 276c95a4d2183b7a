//! Outgoing delivery against fake remote inboxes on loopback: `Retry-After`
//! is honoured, a host gets at most `delivery_per_host` deliveries at once, a
//! dead host neither slows the others nor keeps getting traffic, and it gets
//! its parked deliveries once it shows signs of life (a signed request, or a
//! probe that succeeds).
//!
//! Deliveries are enqueued through `service::deliver::enqueue`, the one entry
//! point every outgoing activity takes; the node's own worker sends them.

mod fake;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use serde_json::json;
use starling_federation::signatures::http_date;
use starling_node::store::accounts::DbUser;

use crate::db_test;
use crate::support::{Db, TestDb, TestNode, unique};
use fake::{Answer, FakeHost};

/// Queues `n` distinct activities from `user` to `to`'s inbox; returns their ids.
async fn deliver(node: &TestNode, user: &DbUser, to: &FakeHost, n: usize) -> Vec<String> {
    let actor = format!("{}/users/{}", node.base, user.account.username);
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = format!("{actor}/activities/{}", unique("d"));
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "Announce",
            "actor": actor,
            "object": format!("{actor}/statuses/1"),
        });
        starling_node::service::deliver::enqueue(
            &node.app,
            user.account.id,
            &to.inbox(),
            &activity,
        )
        .await
        .expect("enqueue");
        ids.push(id);
    }
    ids
}

/// Waits until `check` holds, failing the test after `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the breaker has marked `host` unavailable.
async fn unavailable(node: &TestNode, host: &str) -> bool {
    let known = node.app.store().host(host).await.expect("host");
    known.is_some_and(|h| h.unavailable_until.is_some())
}

db_test!(retry_after_is_honoured_instead_of_the_backoff);
async fn retry_after_is_honoured_instead_of_the_backoff(db: Db) {
    let node = TestNode::spawn(db).await;
    let alice = node.create_user("alice").await;
    let remote = FakeHost::start(Answer::status(202)).await;
    let t0 = Instant::now();
    // Busy: come back in 2 s. Then down for maintenance until an HTTP-date.
    let until = SystemTime::now() + Duration::from_secs(5);
    remote.script([
        Answer::retry_after(429, "2"),
        Answer::retry_after(503, http_date(until)),
    ]);
    let ids = deliver(&node, &alice, &remote, 1).await;

    // The usual first backoff is over 15 s: only Retry-After gets it in sooner.
    eventually(
        "delivered after two Retry-After waits",
        Duration::from_secs(12),
        async || remote.accepted() == ids,
    )
    .await;
    let hits = remote.hits();
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(
        hits[1].at - hits[0].at >= Duration::from_secs(2),
        "retried {:?} after a 429 asking for 2 s",
        hits[1].at - hits[0].at
    );
    // The date has one-second resolution, so it is at least 4 s after t0.
    assert!(
        hits[2].at - t0 >= Duration::from_secs(4),
        "retried {:?} after the start, before the HTTP-date",
        hits[2].at - t0
    );
    node.drain().await;
    assert_eq!(node.app.store().due_jobs().await.unwrap(), 0);
}

db_test!(a_slow_host_gets_at_most_its_cap_and_does_not_hold_up_others);
async fn a_slow_host_gets_at_most_its_cap_and_does_not_hold_up_others(db: Db) {
    let node = TestNode::spawn_with(TestDb::new(db).await, |c| c.delivery.per_host = 3).await;
    let alice = node.create_user("alice").await;
    let slow = FakeHost::start(Answer::status(202)).await;
    slow.delay(Duration::from_millis(250));
    let quick = FakeHost::start(Answer::status(202)).await;

    let to_slow = deliver(&node, &alice, &slow, 12).await;
    let to_quick = deliver(&node, &alice, &quick, 1).await;
    eventually(
        "the other host is served meanwhile",
        Duration::from_secs(5),
        async || quick.accepted() == to_quick,
    )
    .await;
    assert!(
        slow.accepted().len() < 12,
        "the quick host waited for the slow one's backlog"
    );
    eventually(
        "the slow host gets everything",
        Duration::from_secs(15),
        async || slow.accepted().len() == 12,
    )
    .await;
    let got: HashSet<String> = slow.accepted().into_iter().collect();
    assert_eq!(got, to_slow.into_iter().collect::<HashSet<_>>());
    assert_eq!(
        slow.max_in_flight(),
        3,
        "deliveries to one host run side by side, but never more than the cap"
    );
}

db_test!(a_dead_host_is_skipped_until_it_signs_a_request);
async fn a_dead_host_is_skipped_until_it_signs_a_request(db: Db) {
    let node = TestNode::spawn_with(TestDb::new(db).await, |c| {
        c.delivery.per_host = 2;
        c.delivery.breaker_failures = 6;
        c.delivery.breaker_window = Duration::ZERO;
        c.delivery.probe_interval = Duration::from_secs(3600);
    })
    .await;
    let alice = node.create_user("alice").await;
    // Dead: every request hangs a while, then fails.
    let dead = FakeHost::start(Answer::status(500)).await;
    dead.delay(Duration::from_millis(500));
    let live = FakeHost::start(Answer::status(202)).await;

    let queued = deliver(&node, &alice, &dead, 30).await;
    let to_live = deliver(&node, &alice, &live, 1).await;
    // Taken in turn, the dead host's deliveries would hold it up for 3 s
    // before the breaker trips, and 15 s without a breaker.
    eventually(
        "the live host is served promptly",
        Duration::from_secs(2),
        async || live.accepted() == to_live,
    )
    .await;

    eventually("the breaker trips", Duration::from_secs(10), async || {
        unavailable(&node, &dead.host).await
    })
    .await;
    node.drain().await;
    let tried = dead.count();
    assert!(
        tried < 6 + 2,
        "after 6 failures only those in flight (2 at most) still went: {tried}"
    );

    // While it is unavailable nothing is sent there; other hosts are served.
    let later = deliver(&node, &alice, &dead, 5).await;
    let to_live = deliver(&node, &alice, &live, 1).await;
    eventually(
        "the live host is still served",
        Duration::from_secs(5),
        async || live.accepted().contains(&to_live[0]),
    )
    .await;
    node.drain().await;
    assert_eq!(dead.count(), tried, "no delivery to an unavailable host");

    // It comes back and says so with a signed request: everything that
    // waited goes out (those that failed keep their own retry schedule).
    let failed: HashSet<String> = dead.hits().into_iter().map(|h| h.id).collect();
    let waiting: HashSet<String> = queued
        .into_iter()
        .filter(|id| !failed.contains(id))
        .chain(later)
        .collect();
    dead.delay(Duration::ZERO);
    dead.answer(Answer::status(202));
    assert_eq!(dead.send_signed(&node, "View").await, StatusCode::ACCEPTED);
    eventually(
        "parked deliveries resume",
        Duration::from_secs(10),
        async || {
            let got: HashSet<String> = dead.accepted().into_iter().collect();
            waiting.is_subset(&got)
        },
    )
    .await;
    assert!(!unavailable(&node, &dead.host).await);
    assert_eq!(dead.count(), tried + waiting.len(), "each went once");
}

db_test!(a_probe_lets_one_delivery_through_to_a_dead_host);
async fn a_probe_lets_one_delivery_through_to_a_dead_host(db: Db) {
    let node = TestNode::spawn_with(TestDb::new(db).await, |c| {
        c.delivery.per_host = 2;
        c.delivery.breaker_failures = 2;
        c.delivery.breaker_window = Duration::ZERO;
        c.delivery.probe_interval = Duration::from_secs(1);
    })
    .await;
    let alice = node.create_user("alice").await;
    let dead = FakeHost::start(Answer::status(500)).await;
    let queued = deliver(&node, &alice, &dead, 8).await;
    eventually("the breaker trips", Duration::from_secs(10), async || {
        unavailable(&node, &dead.host).await
    })
    .await;
    let tripped = std::time::Instant::now();
    node.drain().await;
    let tried = dead.count();
    // Two failures trip it; one more may have been in flight. After that,
    // only probes, one per interval (1 s here; a loaded machine may take
    // that long to drain).
    let probes = tripped.elapsed().as_secs() as usize + 1;
    assert!(
        tried <= 2 + 1 + probes,
        "{tried} tries, {probes} probe(s) allowed"
    );

    // The first probe still fails; the second gets through, and the rest
    // follow at once.
    dead.script([Answer::status(500)]);
    dead.answer(Answer::status(202));
    let expected = queued.len() - tried - 1;
    eventually(
        "a probe succeeds and the rest follow",
        Duration::from_secs(15),
        async || dead.accepted().len() == expected,
    )
    .await;
    let hits = dead.hits();
    assert_eq!(
        hits.len(),
        queued.len(),
        "each parked delivery went once, as one probe at a time: {hits:?}"
    );
    let (failed_probe, good_probe) = (&hits[tried], &hits[tried + 1]);
    assert_eq!((failed_probe.status, good_probe.status), (500, 202));
    assert!(
        good_probe.at - failed_probe.at >= Duration::from_secs(1),
        "probes are a probe interval apart: {:?}",
        good_probe.at - failed_probe.at
    );
    assert!(!unavailable(&node, &dead.host).await);
}

db_test!(a_post_to_many_inboxes_on_one_host_retries_only_the_failed_ones);
async fn a_post_to_many_inboxes_on_one_host_retries_only_the_failed_ones(db: Db) {
    let node = TestNode::spawn_with(TestDb::new(db).await, |c| c.delivery.per_host = 3).await;
    let alice = node.create_user("alice").await;
    let remote = FakeHost::start(Answer::status(202)).await;
    remote.delay(Duration::from_millis(100));
    // The first two answers: busy (come back in 1 s), and gone for good.
    remote.script([Answer::retry_after(429, "1"), Answer::status(410)]);
    let inboxes: Vec<String> = (0..12)
        .map(|i| remote.personal_inbox(&format!("f{i}")))
        .collect();
    let other = FakeHost::start(Answer::status(202)).await;
    let mut all = inboxes.clone();
    all.push(other.inbox());
    all.push(inboxes[0].clone());
    let actor = format!("{}/users/alice", node.base);
    let id = format!("{actor}/activities/{}", unique("d"));
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Announce",
        "actor": actor,
        "object": format!("{actor}/statuses/1"),
    });
    starling_node::service::deliver::enqueue_all(&node.app, alice.account.id, &all, &activity)
        .await
        .expect("enqueue");

    eventually(
        "every inbox but the gone one has it, the busy one after its wait",
        Duration::from_secs(10),
        async || remote.accepted().len() == 11,
    )
    .await;
    node.drain().await;
    let hits = remote.hits();
    assert!(hits.iter().all(|h| h.id == id), "{hits:?}");
    let busy = hits.iter().find(|h| h.status == 429).expect("a 429");
    let gone = hits.iter().find(|h| h.status == 410).expect("a 410");
    let paths = |status: u16| -> Vec<String> {
        let mut p: Vec<String> = hits
            .iter()
            .filter(|h| h.status == status)
            .map(|h| h.path.clone())
            .collect();
        p.sort();
        p
    };
    let mut expected: Vec<String> = (0..12)
        .map(|i| format!("/users/f{i}/inbox"))
        .filter(|p| *p != gone.path)
        .collect();
    expected.sort();
    assert_eq!(paths(202), expected, "each inbox once, the gone one never");
    assert_eq!(
        hits.len(),
        13,
        "only the busy inbox was tried again, and the gone one was not: {hits:?}"
    );
    let again = hits
        .iter()
        .rfind(|h| h.path == busy.path)
        .expect("the busy inbox again");
    assert!(
        again.at - busy.at >= Duration::from_secs(1),
        "retried {:?} after a 429 asking for 1 s",
        again.at - busy.at
    );
    assert_eq!(
        remote.max_in_flight(),
        3,
        "one host's inboxes go side by side, never more than the cap"
    );
    assert_eq!(
        other.accepted(),
        vec![id.clone()],
        "the other host's inbox once"
    );
    assert_eq!(node.app.store().due_jobs().await.unwrap(), 0);
}
