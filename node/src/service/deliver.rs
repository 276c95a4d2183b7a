//! Outgoing deliveries: the `deliver` job signs an activity with its author's
//! key (draft-cavage, `rsa-sha256` over `(request-target) host date digest
//! content-type`, as Mastodon requires) and POSTs it through the safe fetcher,
//! to each of its inboxes. A job carries one activity to the inboxes of one
//! host (at most [`INBOXES_PER_JOB`]): a post to 5,000 followers on 500
//! servers is 500 jobs, so the queue's own work (claim, author, key, breaker
//! row, completion) is paid per host, and only signing and sending per inbox.
//!
//! Each inbox: 2xx done; 4xx other than 408/429 dropped and logged (the
//! receiver will never take it); anything else owes a retry. A job whose
//! inboxes all ended is done; one that still owes some is rewritten to those
//! inboxes only and retried with backoff, or no earlier than the answers'
//! `Retry-After` (capped at a day). Inboxes a job did not reach (the breaker
//! tripped, or the lease is half over) go back to the queue untried, without
//! counting an attempt.
//!
//! The dead-host breaker (FEDERATION.md "Delivery"): connection errors,
//! timeouts, 408 and 5xx count as failures of the host
//! ([`crate::store::hosts`]); enough of them over long enough mark it
//! unavailable, and its deliveries wait in the queue, unclaimed, until a
//! probe delivery (one inbox) gets through or the host sends us a signed
//! request (the inbox's commit forgets its failures, `store::inbox_batch`). A 429 counts neither way: the host is up, just
//! busy. Per-host concurrency is the queue's business ([`crate::queue::slots`]):
//! a job sends to its inboxes side by side on as many of its host's slots as
//! are free, up to `delivery_per_host`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starling_federation::signatures::{http_date, sha256_digest_header, sign_request};

use crate::app::App;
use crate::error::Internal;
use crate::queue::Outcome;
use crate::store::hosts::Breaker;
use crate::store::now_ms;

/// `Retry-After` is honoured up to this long (ms); a longer one is read as this.
pub const MAX_RETRY_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// The most inboxes one `deliver` job carries (all on one host). Bounds the
/// time a job runs (its requests go at most `delivery_per_host` at a time)
/// and the payload rewritten after a partial failure.
pub const INBOXES_PER_JOB: usize = 50;

/// The `deliver` job's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// The local account whose key signs.
    pub account_id: i64,
    /// Where to POST: inboxes on one host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inboxes: Vec<String>,
    /// The one inbox of a job queued before jobs carried a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<String>,
    /// The activity, serialised.
    pub activity: String,
}

impl Delivery {
    /// Every inbox the job is for.
    fn targets(&mut self) -> Vec<String> {
        let mut all = std::mem::take(&mut self.inboxes);
        all.extend(self.inbox.take());
        all
    }
}

/// A `deliver` payload for `inboxes`.
fn payload(account_id: i64, inboxes: &[String], activity: &str) -> Result<String, Internal> {
    #[derive(Serialize)]
    struct Out<'a> {
        account_id: i64,
        inboxes: &'a [String],
        activity: &'a str,
    }
    serde_json::to_string(&Out {
        account_id,
        inboxes,
        activity,
    })
    .map_err(|e| Internal::Serialize(e.to_string()))
}

/// Enqueues one delivery of `activity` by `account_id` to `inbox`.
pub async fn enqueue(
    app: &App,
    account_id: i64,
    inbox: &str,
    activity: &Value,
) -> Result<(), Internal> {
    enqueue_all(app, account_id, &[inbox.to_owned()], activity).await
}

/// Enqueues deliveries of `activity` by `account_id` to each of `inboxes`
/// (duplicates go once), in one transaction: one job per host and
/// [`INBOXES_PER_JOB`] inboxes, queued in rounds over the hosts so that the
/// jobs one claim takes go to different hosts.
pub async fn enqueue_all(
    app: &App,
    account_id: i64,
    inboxes: &[String],
    activity: &Value,
) -> Result<(), Internal> {
    let mut by_host: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for inbox in inboxes {
        match crate::urls::authority_of(inbox) {
            Some(host) => {
                by_host.entry(host).or_default().insert(inbox);
            }
            // Nothing could ever be delivered there; do not fail the caller's job.
            None => tracing::warn!(%inbox, "not delivering to an inbox without a host"),
        }
    }
    let activity = activity.to_string();
    let by_host: Vec<(String, Vec<String>)> = by_host
        .into_iter()
        .map(|(host, set)| (host, set.into_iter().map(str::to_owned).collect()))
        .collect();
    let mut jobs = Vec::new();
    for round in 0.. {
        let before = jobs.len();
        for (host, list) in &by_host {
            if let Some(chunk) = list.chunks(INBOXES_PER_JOB).nth(round) {
                let payload = payload(account_id, chunk, &activity)?;
                jobs.push((app.ids().next(), payload, host.clone()));
            }
        }
        if jobs.len() == before {
            break;
        }
    }
    if jobs.is_empty() {
        return Ok(());
    }
    app.store().enqueue_deliveries(&jobs, now_ms()).await?;
    app.jobs_enqueued();
    Ok(())
}

/// The host (`host[:port]`) a `deliver` payload goes to.
pub fn host_of(payload: &str) -> Option<String> {
    let mut job: Delivery = serde_json::from_str(payload).ok()?;
    crate::urls::authority_of(job.targets().first()?)
}

fn breaker(app: &App) -> Breaker {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let c = &app.config().delivery;
    Breaker {
        failures: c.breaker_failures,
        window_ms: ms(c.breaker_window),
        probe_interval_ms: ms(c.probe_interval),
    }
}

/// How the delivery to one inbox ended.
#[derive(Debug)]
enum Sent {
    /// Taken (2xx), or refused for good (4xx other than 408/429): done.
    Ended,
    /// Owes a retry, no earlier than `not_before` when the receiver said.
    Retry {
        error: String,
        not_before: Option<i64>,
    },
}

fn retry(now: i64, error: String, retry_after: Option<u64>) -> Sent {
    let not_before = retry_after.map(|secs| {
        let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        now + ms.min(MAX_RETRY_AFTER_MS)
    });
    Sent::Retry { error, not_before }
}

/// The parsed form of `pem`, the private key of `account_id` as just read
/// from the database: from the cache when it holds the same PEM.
fn signing_key(
    app: &App,
    account_id: i64,
    pem: &str,
) -> Result<std::sync::Arc<aws_lc_rs::rsa::KeyPair>, Internal> {
    let cache = &app.caches().signing_keys;
    if let Some(hit) = cache.get(&account_id).filter(|c| &*c.pem == pem) {
        return Ok(hit.pair);
    }
    let pair = starling_federation::keys::parse_private_pem(pem)
        .map_err(|e| Internal::Crypto(e.to_string()))?;
    let pair = std::sync::Arc::new(pair);
    cache.insert(
        account_id,
        crate::service::cache::CachedSigningKey {
            pem: pem.into(),
            pair: pair.clone(),
        },
    );
    Ok(pair)
}

/// The key that signs an author's deliveries.
struct Signer {
    key_id: String,
    pair: std::sync::Arc<aws_lc_rs::rsa::KeyPair>,
}

/// Reads the author's key id and parsed key.
async fn read_signer(app: &App, account_id: i64) -> Result<Signer, Internal> {
    let account = app
        .store()
        .account(account_id)
        .await?
        .ok_or_else(|| Internal::Job(format!("no account {account_id}")))?;
    let keys = app
        .store()
        .account_keys(account_id)
        .await?
        .and_then(|k| k.private_key_pem)
        .ok_or_else(|| Internal::Job(format!("account {account_id} has no private key")))?;
    Ok(Signer {
        key_id: app.urls().actor_key(&account.username),
        pair: signing_key(app, account_id, &keys)?,
    })
}

/// What the deliveries of one claim share, read once for all of them right
/// after the claim: their authors' keys, and their hosts' failure records.
/// A job whose author or host is not here reads its own.
#[derive(Default)]
pub struct Batch {
    signers: std::collections::HashMap<i64, std::sync::Arc<Signer>>,
    /// Every host of the batch, with its failure record if it has one.
    hosts: std::collections::HashMap<String, Option<crate::store::hosts::DbHost>>,
}

impl Batch {
    /// Reads what `jobs` (claimed together) need; on a failure, nothing, so
    /// that each job reads its own.
    pub async fn read(app: &App, jobs: &[crate::store::jobs::DbJob]) -> Batch {
        match Batch::try_read(app, jobs).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %crate::error::chain(&e), "reading a batch of deliveries' authors and hosts failed");
                Batch::default()
            }
        }
    }

    async fn try_read(app: &App, jobs: &[crate::store::jobs::DbJob]) -> Result<Batch, Internal> {
        #[derive(Deserialize)]
        struct Author {
            account_id: i64,
        }
        let mut authors = BTreeSet::new();
        let mut hosts = BTreeSet::new();
        for job in jobs.iter().filter(|j| j.kind == "deliver") {
            if let Ok(author) = serde_json::from_str::<Author>(&job.payload) {
                authors.insert(author.account_id);
            }
            hosts.extend(job.host.clone());
        }
        let mut batch = Batch::default();
        if hosts.is_empty() {
            return Ok(batch);
        }
        let hosts: Vec<String> = hosts.into_iter().collect();
        let mut known = app.store().hosts_in(&hosts).await?;
        for host in hosts {
            let row = known.remove(&host);
            batch.hosts.insert(host, row);
        }
        for id in authors {
            // A job whose author cannot sign fails on its own.
            if let Ok(s) = read_signer(app, id).await {
                batch.signers.insert(id, std::sync::Arc::new(s));
            }
        }
        Ok(batch)
    }
}

/// What every request of one job shares.
struct Sender<'a> {
    app: &'a App,
    host: &'a str,
    signer: &'a Signer,
    body: &'a [u8],
    digest: String,
    /// The host may have a failure record to clear on success.
    failing: AtomicBool,
    /// The breaker tripped during this job: send nothing more.
    tripped: AtomicBool,
}

impl Sender<'_> {
    /// Signs and POSTs the activity to `inbox`, and records what it says
    /// about the host.
    async fn one(&self, inbox: &str) -> Result<Sent, Internal> {
        let app = self.app;
        let url = match url::Url::parse(inbox) {
            Ok(url) if crate::urls::authority(&url).as_deref() == Some(self.host) => url,
            // Not queued by `enqueue_all`; nothing could ever be delivered.
            _ => {
                tracing::warn!(%inbox, host = self.host, "dropping a delivery to a bad inbox");
                return Ok(Sent::Ended);
            }
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut headers = vec![
            ("host".to_owned(), self.host.to_owned()),
            ("date".to_owned(), http_date(SystemTime::now())),
            ("digest".to_owned(), self.digest.clone()),
            (
                "content-type".to_owned(),
                "application/activity+json".to_owned(),
            ),
        ];
        let signer = self.signer;
        let signature = sign_request("POST", &path, &headers, &signer.key_id, &signer.pair)
            .map_err(|e| Internal::Crypto(e.to_string()))?;
        headers.push(("signature".to_owned(), signature));
        let posted = match app
            .fetcher()
            .post(inbox, &headers, self.body.to_vec())
            .await
        {
            Ok(posted) => posted,
            Err(e) => return self.failed(format!("delivery to {inbox}: {e}"), None).await,
        };
        match posted.status {
            200..=299 => {
                self.recovered().await?;
                Ok(Sent::Ended)
            }
            // Up, but asking us to slow down: not a failure of the host.
            429 => Ok(retry(
                now_ms(),
                format!("{inbox} answered 429; will retry"),
                posted.retry_after,
            )),
            408 => {
                let error = format!("{inbox} answered 408; will retry");
                self.failed(error, posted.retry_after).await
            }
            status @ 400..=499 => {
                self.recovered().await?;
                tracing::warn!(%inbox, status, "delivery refused; dropped");
                Ok(Sent::Ended)
            }
            status => {
                let error = format!("{inbox} answered {status}; will retry");
                self.failed(error, posted.retry_after).await
            }
        }
    }

    /// The host answered: forget its failures, if it had any.
    async fn recovered(&self) -> Result<(), Internal> {
        if self.failing.swap(false, Ordering::SeqCst) {
            self.app.delivery_slots().set_tripped(self.host, false);
            if self.app.store().host_recovered(self.host).await? {
                tracing::info!(host = self.host, "host is back; resuming deliveries");
                self.app.jobs_enqueued();
            }
        }
        Ok(())
    }

    /// Counts a failed delivery to the host and builds the retry.
    async fn failed(&self, error: String, retry_after: Option<u64>) -> Result<Sent, Internal> {
        let now = now_ms();
        self.failing.store(true, Ordering::SeqCst);
        if self
            .app
            .store()
            .record_host_failure(self.host, now, breaker(self.app))
            .await?
        {
            tracing::warn!(
                host = self.host,
                "host keeps failing; marked unavailable, its deliveries wait for a probe"
            );
            self.tripped.store(true, Ordering::SeqCst);
            self.app.delivery_slots().set_tripped(self.host, true);
        }
        Ok(retry(now, error, retry_after))
    }
}

/// Runs one `deliver` job. The caller holds one delivery slot for the job's
/// host; the job takes more while free, up to `delivery_per_host`, and
/// starts no request after `deadline` (the first excepted), so that it ends
/// well within its lease. `batch` holds what was read for the jobs claimed
/// with it.
pub async fn run(
    app: &App,
    payload: &str,
    deadline: tokio::time::Instant,
    batch: &Batch,
) -> Result<Outcome, Internal> {
    let mut job: Delivery = serde_json::from_str(payload)
        .map_err(|e| Internal::Job(format!("bad deliver payload: {e}")))?;
    let inboxes = job.targets();
    let Some(first) = inboxes.first() else {
        return Ok(Outcome::Done);
    };
    let host = crate::urls::authority_of(first)
        .ok_or_else(|| Internal::Job(format!("inbox without host: {first}")))?;
    let signer = match batch.signers.get(&job.account_id) {
        Some(s) => s.clone(),
        None => std::sync::Arc::new(read_signer(app, job.account_id).await?),
    };
    // The claim skips unavailable hosts, but the breaker may have tripped
    // since: a host with no record when the batch was read is taken as
    // healthy, as a delivery already in flight would be, unless a delivery
    // of this process tripped it since. Once the wait is over, only one
    // delivery goes, as a probe.
    let known = match batch.hosts.get(&host) {
        Some(known) if !app.delivery_slots().was_tripped(&host) => *known,
        // Tripped here since the claim was read: its view is out of date.
        _ => app.store().host(&host).await?,
    };
    let mut probe = false;
    if let Some(until) = known.and_then(|h| h.unavailable_until) {
        let now = now_ms();
        if until > now
            || !app
                .store()
                .take_probe(&host, now, breaker(app).probe_interval_ms)
                .await?
        {
            return Ok(Outcome::Parked { payload: None });
        }
        tracing::info!(%host, "probing an unavailable host");
        probe = true;
    }
    let body = job.activity.as_bytes();
    let send = Sender {
        app,
        host: &host,
        signer: &signer,
        digest: sha256_digest_header(body),
        body,
        failing: AtomicBool::new(known.is_some()),
        tripped: AtomicBool::new(false),
    };
    // A probe goes alone; otherwise as many requests side by side as the
    // host has free slots (the caller holds one).
    let slots = app.delivery_slots();
    let mut extra = Vec::new();
    while !probe && extra.len() + 1 < inboxes.len().min(slots.cap()) {
        match slots.try_take(&host) {
            Some(slot) => extra.push(slot),
            None => break,
        }
    }
    let next = AtomicUsize::new(0);
    let (send, next, targets) = (&send, &next, &inboxes);
    let lane = || async move {
        let mut ended = Vec::new();
        loop {
            if send.tripped.load(Ordering::SeqCst) {
                break;
            }
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= targets.len() || (i > 0 && tokio::time::Instant::now() >= deadline) {
                break;
            }
            let sent = send.one(&targets[i]).await?;
            if probe && matches!(sent, Sent::Retry { .. }) {
                // The probe failed: the rest keep waiting.
                send.tripped.store(true, Ordering::SeqCst);
            }
            ended.push((i, sent));
        }
        Ok::<_, Internal>(ended)
    };
    let lanes = futures_util::future::join_all((0..=extra.len()).map(|_| lane())).await;
    drop(extra);
    let mut results: Vec<Option<Sent>> = inboxes.iter().map(|_| None).collect();
    for lane in lanes {
        for (i, sent) in lane? {
            results[i] = Some(sent);
        }
    }
    settle_inboxes(app, job.account_id, &host, &inboxes, results, &job.activity).await
}

/// The job's outcome from each inbox's: done when every inbox ended;
/// otherwise retried for the failed inboxes only, with the untried ones
/// queued again apart (or, when none failed, handed back without them).
async fn settle_inboxes(
    app: &App,
    account_id: i64,
    host: &str,
    inboxes: &[String],
    results: Vec<Option<Sent>>,
    activity: &str,
) -> Result<Outcome, Internal> {
    let mut failed = Vec::new();
    let mut untried = Vec::new();
    let mut errors = Vec::new();
    let mut not_before: Option<i64> = None;
    let mut backoff = false;
    for (inbox, result) in inboxes.iter().zip(results) {
        match result {
            Some(Sent::Ended) => {}
            Some(Sent::Retry {
                error,
                not_before: at,
            }) => {
                failed.push(inbox.clone());
                errors.push(error);
                match at {
                    Some(at) => not_before = Some(not_before.map_or(at, |t| t.max(at))),
                    None => backoff = true,
                }
            }
            None => untried.push(inbox.clone()),
        }
    }
    let rewrite = |list: &[String]| -> Result<Option<String>, Internal> {
        if list.len() == inboxes.len() {
            Ok(None)
        } else {
            payload(account_id, list, activity).map(Some)
        }
    };
    if failed.is_empty() {
        if untried.is_empty() {
            return Ok(Outcome::Done);
        }
        return Ok(Outcome::Parked {
            payload: rewrite(&untried)?,
        });
    }
    if !untried.is_empty() {
        // They keep their place (due now, no attempt counted); the failed
        // ones take the backoff.
        let rest = payload(account_id, &untried, activity)?;
        app.store()
            .enqueue_deliveries(&[(app.ids().next(), rest, host.to_owned())], now_ms())
            .await?;
        app.jobs_enqueued();
    }
    let mut error = errors.swap_remove(0);
    if !errors.is_empty() {
        error.push_str(&format!(" (and {} more)", errors.len()));
    }
    Ok(Outcome::Retry {
        error,
        not_before,
        backoff,
        payload: rewrite(&failed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Delivery, host_of, payload};

    #[test]
    fn a_job_queued_before_jobs_carried_lists_still_reads() {
        // What the queue held before this version: one inbox per job.
        let old = r#"{"account_id":7,"inbox":"https://b.example/users/x/inbox","activity":"{}"}"#;
        let mut job: Delivery = serde_json::from_str(old).unwrap();
        assert_eq!(job.targets(), vec!["https://b.example/users/x/inbox"]);
        assert_eq!(host_of(old).as_deref(), Some("b.example"));

        let inboxes = vec![
            "https://a.example:8443/users/x/inbox".to_owned(),
            "https://a.example:8443/users/y/inbox".to_owned(),
        ];
        let new = payload(7, &inboxes, "{}").unwrap();
        let mut job: Delivery = serde_json::from_str(&new).unwrap();
        assert_eq!(job.targets(), inboxes);
        assert_eq!(host_of(&new).as_deref(), Some("a.example:8443"));
    }
}
