//! The durable job queue's workers: claim a batch with a lease, run each job,
//! delete it on success or reschedule it with backoff on failure. Jobs are
//! at-least-once; handlers are idempotent.
//!
//! Kinds: `fanout` (a new status to local home feeds), `inbox` (apply a
//! verified incoming activity), `deliver` (sign and POST one activity to
//! the inboxes of one host).
//!
//! `fanout` and `inbox` jobs run one after another in the worker. `deliver`
//! jobs run concurrently, each in its own task holding a [`slots::Slot`]
//! (and more for its other inboxes while its host has them free): at most
//! `delivery_per_host` per host, [`slots::TOTAL_IN_FLIGHT`] in all.
//! A delivery whose host is at its cap is handed back unclaimed, and the
//! claim skips that host until a slot frees, so a slow host never delays
//! deliveries to others.

pub mod slots;

use std::time::Duration;

use serde::Deserialize;

use crate::app::App;
use crate::error::{Internal, chain};
use crate::store::inbox_batch::inbox_payload;
use crate::store::jobs::DbJob;
use crate::store::now_ms;

/// Jobs claimed per round.
const BATCH: i64 = 32;
/// How often a worker trims home feeds to their cap.
const TRIM_EVERY: Duration = Duration::from_secs(10 * 60);
/// Give up after this many attempts (about three days with the backoff below).
pub const MAX_ATTEMPTS: i64 = 16;
/// Deliveries parked for an unavailable host are dropped after this long
/// (about as long as their retries would have lasted).
const PARKED_MAX_MS: i64 = 3 * 24 * 60 * 60 * 1000;
/// How long a stopping worker waits for deliveries in flight (the fetcher's
/// deadline is 10 s).
const STOP_WAIT: Duration = Duration::from_secs(15);

/// How a job ended, when it did not fail outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished (or refused for good): remove it.
    Done,
    /// Failed in a way worth retrying; not before `not_before` (ms) when the
    /// other side said when (`Retry-After`), else with the usual backoff.
    Retry {
        /// What went wrong.
        error: String,
        /// The earliest time to try again, if the receiver named one.
        not_before: Option<i64>,
        /// Wait the usual backoff too (not before `not_before` either): some
        /// of a delivery's inboxes failed without naming a time.
        backoff: bool,
        /// The job's new payload, when it is to be retried for less than it
        /// was (a delivery whose other inboxes are done).
        payload: Option<String>,
    },
    /// Not attempted (its host became unavailable after the claim), or not
    /// all of it (then `payload` is what is left): hand it back without
    /// counting an attempt.
    Parked {
        /// The job's new payload, when part of it is done.
        payload: Option<String>,
    },
}

/// An `inbox` job: the `inbox_activities` rows of one group commit, in the
/// order their ids were given (`inbox_activity` alone for one, as jobs made
/// before batches were); written by [`inbox_payload`].
#[derive(Debug, Deserialize)]
struct InboxJob {
    #[serde(default)]
    inbox_activity: Option<i64>,
    #[serde(default)]
    inbox_activities: Vec<i64>,
}

impl InboxJob {
    fn ids(self) -> Vec<i64> {
        self.inbox_activity
            .into_iter()
            .chain(self.inbox_activities)
            .collect()
    }
}

/// Applies the activities of an `inbox` job in turn. Those that fail are
/// retried together with the usual backoff (the job's payload shrinks to
/// them); those not reached by `deadline` (half the lease) go back to the
/// queue as a job of their own, so this one ends within its lease.
async fn apply_inbox(
    app: &App,
    ids: Vec<i64>,
    deadline: tokio::time::Instant,
) -> Result<Outcome, Internal> {
    let mut failed = Vec::new();
    let mut error = String::new();
    for (n, &id) in ids.iter().enumerate() {
        if n > 0 && tokio::time::Instant::now() >= deadline {
            let rest = &ids[n..];
            if failed.is_empty() {
                return Ok(Outcome::Parked {
                    payload: Some(inbox_payload(rest)),
                });
            }
            app.store()
                .enqueue(app.ids().next(), "inbox", &inbox_payload(rest), now_ms())
                .await?;
            break;
        }
        if let Err(e) = crate::service::inbound::run(app, id).await {
            tracing::warn!(inbox_activity = id, error = %chain(&e), "applying an activity failed; it will be retried");
            error = chain(&e);
            failed.push(id);
        }
    }
    if failed.is_empty() {
        return Ok(Outcome::Done);
    }
    Ok(Outcome::Retry {
        error,
        not_before: None,
        backoff: true,
        payload: Some(inbox_payload(&failed)),
    })
}

#[derive(Debug, Deserialize)]
struct FanoutJob {
    status_id: i64,
}

/// Runs one job in the worker's own task; a job with parts stops starting
/// new ones at `deadline`.
async fn run(app: &App, job: &DbJob, deadline: tokio::time::Instant) -> Result<Outcome, Internal> {
    match job.kind.as_str() {
        "fanout" => {
            let args: FanoutJob = serde_json::from_str(&job.payload)
                .map_err(|e| Internal::Job(format!("bad fanout payload: {e}")))?;
            crate::service::statuses::fan_out(app, args.status_id).await?;
            Ok(Outcome::Done)
        }
        "inbox" => {
            let args: InboxJob = serde_json::from_str(&job.payload)
                .map_err(|e| Internal::Job(format!("bad inbox payload: {e}")))?;
            apply_inbox(app, args.ids(), deadline).await
        }
        "deliver" => {
            crate::service::deliver::run(app, &job.payload, deadline, &Default::default()).await
        }
        other => {
            tracing::warn!(kind = other, id = job.id, "dropping a job of unknown kind");
            Ok(Outcome::Done)
        }
    }
}

/// Claims and runs one batch: other jobs in turn, deliveries started in
/// tasks of their own. Returns how many jobs were claimed.
pub async fn step(app: &App) -> Result<usize, Internal> {
    let busy = app.delivery_slots().busy_hosts();
    // How long before another worker may take a job we claim (`job_lease_seconds`).
    let lease_ms = i64::try_from(app.config().job_lease.as_millis()).unwrap_or(i64::MAX);
    let jobs = app.store().claim_jobs(BATCH, lease_ms, &busy).await?;
    // A delivery starts no new request after half its lease, so it ends
    // (and is recorded) before another worker may take it.
    let deadline = tokio::time::Instant::now() + app.config().job_lease / 2;
    let claimed = jobs.len();
    // The deliveries' authors' keys and hosts' records, once for all.
    let batch = std::sync::Arc::new(crate::service::deliver::Batch::read(app, &jobs).await);
    for job in jobs {
        if job.kind == "deliver" {
            start_delivery(app, job, deadline, &batch).await?;
        } else {
            let result = run(app, &job, deadline).await;
            settle(app, &job, result).await?;
        }
    }
    Ok(claimed)
}

/// Starts a delivery in its own task if its host has a free slot, or hands
/// the job back.
async fn start_delivery(
    app: &App,
    job: DbJob,
    deadline: tokio::time::Instant,
    batch: &std::sync::Arc<crate::service::deliver::Batch>,
) -> Result<(), Internal> {
    let host = job
        .host
        .clone()
        .or_else(|| crate::service::deliver::host_of(&job.payload));
    let Some(host) = host else {
        // Unreadable: let the delivery itself fail and be retried or dropped.
        let result = run(app, &job, deadline).await;
        return settle(app, &job, result).await;
    };
    let Some(slot) = app.delivery_slots().take(&host).await else {
        app.store().release_job(job.id, Some(&host), None).await?;
        return Ok(());
    };
    let app = app.clone();
    let batch = batch.clone();
    tokio::spawn(async move {
        let result = crate::service::deliver::run(&app, &job.payload, deadline, &batch).await;
        if let Err(e) = settle(&app, &job, result).await {
            // The lease expires and the job comes back.
            tracing::error!(id = job.id, error = %chain(&e), "recording a delivery's end failed");
        }
        drop(slot);
        // The claim skipped this host while it was busy; look again.
        app.job_signal().notify_one();
    });
    Ok(())
}

/// Records how a claimed job ended.
async fn settle(app: &App, job: &DbJob, result: Result<Outcome, Internal>) -> Result<(), Internal> {
    let (error, not_before, backoff, payload) = match result {
        // Deliveries end side by side: their deletions go in groups.
        Ok(Outcome::Done) if job.kind == "deliver" => {
            return Ok(app.delivery_slots().finish(app.store(), job.id).await?);
        }
        Ok(Outcome::Done) => return Ok(app.store().complete_job(job.id).await?),
        Ok(Outcome::Parked { payload }) => {
            return Ok(app
                .store()
                .release_job(job.id, None, payload.as_deref())
                .await?);
        }
        Ok(Outcome::Retry {
            error,
            not_before,
            backoff,
            payload,
        }) => (error, not_before, backoff, payload),
        Err(e) => (chain(&e), None, true, None),
    };
    if job.attempts >= MAX_ATTEMPTS {
        tracing::error!(id = job.id, kind = %job.kind, %error, "job failed for good");
        app.store().complete_job(job.id).await?;
        return Ok(());
    }
    let run_at = match not_before {
        Some(at) if !backoff => at,
        at => at
            .unwrap_or(i64::MIN)
            .max(now_ms() + backoff_ms(job.attempts)),
    };
    tracing::warn!(id = job.id, kind = %job.kind, %error, delay_ms = run_at - now_ms(), "job failed; will retry");
    app.store()
        .retry_job(job.id, run_at, &error, payload.as_deref())
        .await?;
    Ok(())
}

/// Exponential backoff with jitter: ~(attempt^4 + 15) seconds, like Mastodon's
/// Sidekiq retries, plus up to 30 s of noise.
pub fn backoff_ms(attempt: i64) -> i64 {
    let mut noise = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut noise);
    let jitter = i64::from(u16::from_le_bytes(noise)) % 30_000;
    (attempt.pow(4) + 15) * 1000 + jitter
}

/// Runs due jobs until none is left, including those another worker of this
/// node holds (tests use this instead of sleeping). Gives up after 60 s.
pub async fn drain(app: &App) -> Result<(), Internal> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ran = step(app).await?;
        if ran == 0 {
            if app.store().due_jobs().await? == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Internal::Job("the queue did not drain within 60 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The worker loop: runs until `shutdown` fires, then waits (briefly) for
/// the deliveries in flight. Wakes when a job is enqueued in this process or
/// a delivery slot frees, and polls every second for jobs from other
/// processes or retries coming due.
pub async fn work(app: App, shutdown: tokio::sync::watch::Receiver<bool>) {
    work_until(&app, shutdown).await;
    app.delivery_slots().idle(STOP_WAIT).await;
}

async fn work_until(app: &App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut next_trim = tokio::time::Instant::now() + TRIM_EVERY;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if tokio::time::Instant::now() >= next_trim {
            next_trim += TRIM_EVERY;
            match app.store().trim_home_feeds().await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "trimmed home feeds"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %chain(&e), "trimming home feeds failed"),
            }
            match app
                .store()
                .expire_parked_deliveries(now_ms() - PARKED_MAX_MS)
                .await
            {
                Ok(n) if n > 0 => {
                    tracing::warn!(jobs = n, "dropped deliveries to hosts unavailable for days");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %chain(&e), "expiring parked deliveries failed"),
            }
        }
        // Registered before the claim: a job enqueued while `step` runs
        // (after its claim saw nothing) wakes us at once. `jobs_enqueued`
        // stores no permit, so one made after `step` would miss it and the
        // job would wait for the poll, up to a second.
        let woken = app.job_signal().notified();
        let busy = match step(app).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %chain(&e), "queue step failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
