//! The durable job queue's workers: claim a batch with a lease, run each job,
//! delete it on success or reschedule it with backoff on failure. Jobs are
//! at-least-once; handlers are idempotent.
//!
//! Kinds: `fanout` (a new status to local home feeds), `inbox` (apply a
//! verified incoming activity), `deliver` (sign and POST one activity).

use std::time::Duration;

use serde::Deserialize;

use crate::app::App;
use crate::error::{Internal, chain};
use crate::store::jobs::DbJob;
use crate::store::now_ms;

/// How long a claimed job stays leased before another worker may take it.
const LEASE_MS: i64 = 5 * 60 * 1000;
/// Jobs claimed per round.
const BATCH: i64 = 32;
/// How often a worker trims home feeds to their cap.
const TRIM_EVERY: Duration = Duration::from_secs(10 * 60);
/// Give up after this many attempts (about three days with the backoff below).
pub const MAX_ATTEMPTS: i64 = 16;

#[derive(Debug, Deserialize)]
struct InboxJob {
    inbox_activity: i64,
}

#[derive(Debug, Deserialize)]
struct FanoutJob {
    status_id: i64,
}

/// Runs one job.
async fn run(app: &App, job: &DbJob) -> Result<(), Internal> {
    match job.kind.as_str() {
        "fanout" => {
            let args: FanoutJob = serde_json::from_str(&job.payload)
                .map_err(|e| Internal::Job(format!("bad fanout payload: {e}")))?;
            crate::service::statuses::fan_out(app, args.status_id).await
        }
        "inbox" => {
            let args: InboxJob = serde_json::from_str(&job.payload)
                .map_err(|e| Internal::Job(format!("bad inbox payload: {e}")))?;
            crate::service::inbound::run(app, args.inbox_activity).await
        }
        "deliver" => crate::service::deliver::run(app, &job.payload).await,
        other => {
            tracing::warn!(kind = other, id = job.id, "dropping a job of unknown kind");
            Ok(())
        }
    }
}

/// Claims and runs one batch. Returns how many jobs were claimed.
pub async fn step(app: &App) -> Result<usize, Internal> {
    let jobs = app.store().claim_jobs(BATCH, LEASE_MS).await?;
    for job in &jobs {
        match run(app, job).await {
            Ok(()) => app.store().complete_job(job.id).await?,
            Err(e) if job.attempts >= MAX_ATTEMPTS => {
                tracing::error!(id = job.id, kind = %job.kind, error = %chain(&e), "job failed for good");
                app.store().complete_job(job.id).await?;
            }
            Err(e) => {
                let delay = backoff_ms(job.attempts);
                tracing::warn!(id = job.id, kind = %job.kind, error = %chain(&e), delay_ms = delay, "job failed; will retry");
                app.store()
                    .retry_job(job.id, now_ms() + delay, &chain(&e))
                    .await?;
            }
        }
    }
    Ok(jobs.len())
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

/// The worker loop: runs until `shutdown` fires. Wakes when a job is enqueued
/// in this process, and polls every second for jobs from other processes or
/// retries coming due.
pub async fn work(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
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
        }
        let busy = match step(&app).await {
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
            () = app.job_signal().notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
