//! Group commit of verified inbound activities.
//!
//! Every accepted activity costs a transaction (the activity, its `inbox`
//! job), and a commit costs a WAL flush on either engine; on SQLite all of
//! them also queue for the one write connection. So concurrent inbox requests
//! hand their activity to one writer task per process, which takes whatever
//! has queued up while the previous commit ran and stores it in one
//! transaction. Each request is answered only after the transaction holding
//! its activity committed: a 202 still means durably stored.
//!
//! Nothing waits to fill a batch: a lone request is committed at once, and a
//! batch is as large as the load makes it (at most [`MAX_BATCH`]). On
//! PostgreSQL a batch is one statement on a connection the writer keeps while
//! work is waiting, so it costs one round trip (`commit_statement`); on
//! SQLite it is a transaction on the one write connection.
//!
//! Dedupe by activity id holds as before: the unique index decides, and only
//! rows the `INSERT … ON CONFLICT DO NOTHING` really inserted go into the
//! batch's one `inbox` job; two copies in one batch count once. Should a
//! batch fail as a whole, each of its activities is retried in a transaction
//! of its own, so one bad entry cannot fail the others.
//!
//! An activity verified with a key from memory (not read from the store for
//! this request, `http::signed::verify_remembered`) carries that key; the
//! transaction reads the stored keys of the batch first and leaves out every
//! activity whose key is no longer the stored one (replaced, moved to
//! another actor, or gone), answering [`Recorded::stale_key`] so the request
//! is verified again against the store. A remembered key is thus trusted only
//! where the store, read in the very transaction that commits, agrees.
//!
//! The same transaction deletes the senders' `hosts` rows (a host that signs
//! a request to us is up: its parked deliveries resume), instead of a read of
//! `hosts` per request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, AssertSqlSafe, Row};
use tokio::sync::{mpsc, oneshot};

use super::remote::KnownKey;
use super::{Backend, Store, StoreError, now_ms};

/// The most activities committed in one transaction.
pub const MAX_BATCH: usize = 128;

/// Requests waiting for the writer beyond this wait to hand theirs over.
const QUEUE: usize = 1024;

/// A verified activity to record.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    /// The `inbox_activities` row id to use.
    pub row_id: i64,
    /// The `jobs` row id to use if the activity is new.
    pub job_id: i64,
    /// The activity's `id` (the dedupe key).
    pub activity_id: String,
    /// The actor that signed it.
    pub actor_uri: String,
    /// The activity as received.
    pub body: String,
    /// The sender's host (with port): its delivery failures are forgotten.
    pub host: Option<String>,
    /// The key that verified the activity, when it was taken from memory:
    /// recorded only if it is still the stored key.
    pub key_check: Option<KeyCheck>,
}

/// A key remembered by id, to compare with the stored one.
#[derive(Debug, Clone)]
pub struct KeyCheck {
    /// The key id the signature named.
    pub key_id: String,
    /// The key (owner and PEM) the signature verified with.
    pub key: Arc<KnownKey>,
}

/// What recording one activity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// False when the activity id was already recorded (a replay).
    pub fresh: bool,
    /// True when the sender's host had a failure record, now forgotten.
    pub host_recovered: bool,
    /// Not recorded: the key in [`InboxEntry::key_check`] is no longer the
    /// stored one.
    pub stale_key: bool,
}

struct Pending {
    entry: InboxEntry,
    reply: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// This store's writer task, started on first use. The task holds only the
/// write pool, so dropping the last `Store` closes its queue and ends it.
#[derive(Default)]
pub(super) struct InboxWriter {
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl Store {
    /// Records a verified activity and enqueues its processing, durably,
    /// together with whatever other activities are waiting to be recorded.
    pub async fn record_inbox_entry(&self, entry: InboxEntry) -> Result<Recorded, StoreError> {
        let queue = self.inbox_writer.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.write.clone(), self.backend, rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = queue.send(Pending { entry, reply }).await {
            // The writer's runtime is gone (a store moved between runtimes,
            // as tests do): record it here.
            return commit_batch(&self.write, self.backend, &mut None, &[pending.entry])
                .await
                .map(|mut r| r.remove(0));
        }
        // No answer means the writer died before or during the commit: the
        // activity may or may not be stored, so the sender must retry.
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }
}

async fn write_batches(pool: AnyPool, backend: Backend, mut rx: mpsc::Receiver<Pending>) {
    let mut held = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (entries, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|p| (p.entry, p.reply)).unzip();
        match commit_batch(&pool, backend, &mut held, &entries).await {
            Ok(done) => {
                for (reply, done) in replies.into_iter().zip(done) {
                    let _ = reply.send(Ok(done));
                }
            }
            Err(e) if entries.len() > 1 => {
                tracing::warn!(error = %e, n = entries.len(), "an inbox batch failed; committing its activities one by one");
                for (reply, entry) in replies.into_iter().zip(entries) {
                    let one =
                        commit_batch(&pool, backend, &mut held, std::slice::from_ref(&entry)).await;
                    let _ = reply.send(one.map(|mut r| r.remove(0)));
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if rx.is_empty() {
            // Idle: the connection goes back to the pool (which cannot close
            // while it is held).
            held = None;
        }
    }
}

/// One transaction: the activities not yet recorded, one job for them, and
/// the senders' hosts' failure records deleted. Returns one [`Recorded`]
/// per entry, in order.
///
/// On PostgreSQL the writer keeps its connection (`held`) from one batch to
/// the next while more are waiting: one taken from the pool is pinged
/// first, a round trip as long as the batch's own statement. When the held
/// connection is lost (the server restarted, say), the batch is tried once
/// more on a fresh one, which the pool checks; a statement that fails on a
/// sound connection keeps it. Trying again is safe: had
/// the first attempt committed after all, the second records nothing new
/// and answers each entry as a replay, which is still a 202. SQLite's one
/// write connection is shared by every writer and so is never held.
async fn commit_batch(
    pool: &AnyPool,
    backend: Backend,
    held: &mut Option<PoolConnection<Any>>,
    entries: &[InboxEntry],
) -> Result<Vec<Recorded>, StoreError> {
    match backend {
        Backend::Postgres => {
            if let Some(mut conn) = held.take() {
                match commit_statement(&mut conn, entries).await {
                    Err(e) if connection_lost(&e) => {
                        tracing::info!(error = %e, "the inbox writer's connection failed; trying a fresh one");
                    }
                    // The statement failed, not the connection (and no
                    // transaction is left open): keep it.
                    done => {
                        *held = Some(conn);
                        return done;
                    }
                }
            }
            let mut conn = pool.acquire().await?;
            let done = commit_statement(&mut conn, entries).await;
            if !done.as_ref().is_err_and(connection_lost) {
                *held = Some(conn);
            }
            done
        }
        Backend::Sqlite => commit_transaction(pool, entries).await,
    }
}

/// Whether an error means the connection itself is gone (the server ended
/// it, the socket broke), rather than the statement failing on a sound one.
fn connection_lost(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            // Class 08: connection exception; 57P01-57P03: the server is
            // shutting down or ended this session.
            db.code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03"))
        }
        StoreError::Database(_) => true,
        _ => false,
    }
}

/// [`commit_batch`] on PostgreSQL: one statement, so one round trip that
/// also commits (a statement outside a transaction block is its own
/// transaction). With six round trips (begin, keys, rows, job, hosts,
/// commit) and the pool's ping, the batch's latency, not any process's
/// work, was the inbox's limit: requests waited on it with the cores a
/// third idle (docs/PERFORMANCE.md).
///
/// The statement's parts, as the transaction of [`commit_transaction`]:
/// `k` the batch's remembered keys and `good` those still stored as they
/// were (read in the snapshot that commits); `ok` the entries whose key is
/// good or was read from the store; `ins` their rows (a duplicate id, from
/// an earlier commit or this one, is skipped by `ON CONFLICT DO NOTHING`);
/// `job` one `inbox` job listing what `ins` inserted (the shape of
/// [`inbox_payload`]); `gone` the senders' hosts' failure records. The
/// result tags each line: 0 an inserted row id, 1 a stale key's number, 2 a
/// recovered host.
async fn commit_statement(
    conn: &mut AnyConnection,
    entries: &[InboxEntry],
) -> Result<Vec<Recorded>, StoreError> {
    let Some(first) = entries.first() else {
        return Ok(Vec::new());
    };
    // Rows in activity-id order (the first copy of an id wins), and hosts
    // locked in name order before they are deleted, so two processes'
    // statements take their locks in the same order and cannot deadlock.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].activity_id.cmp(&entries[b].activity_id));
    let mut keys: Vec<&KeyCheck> = Vec::new();
    let key_no: Vec<Option<i64>> = entries
        .iter()
        .map(|e| {
            let k = e.key_check.as_ref()?;
            let n = match keys
                .iter()
                .position(|seen| seen.key_id == k.key_id && Arc::ptr_eq(&seen.key, &k.key))
            {
                Some(n) => n,
                None => {
                    keys.push(k);
                    keys.len() - 1
                }
            };
            Some(n as i64)
        })
        .collect();

    let mut sql = String::from("WITH ");
    let mut last = 2; // $1 is the time, $2 the job id
    if !keys.is_empty() {
        sql.push_str("k (n, key_id, owner, pem) AS (VALUES ");
        push_rows(&mut sql, keys.len(), 3, true, "", &mut last);
        sql.push_str(
            "), good AS (SELECT k.n FROM k JOIN account_keys s ON s.key_id = k.key_id \
             JOIN accounts a ON a.id = s.account_id \
             WHERE a.uri = k.owner AND s.public_key_pem = k.pem), ",
        );
    }
    sql.push_str("v (id, activity_id, actor_uri, body, key_no, host) AS (VALUES ");
    push_rows(&mut sql, order.len(), 6, false, "", &mut last);
    sql.push_str(if keys.is_empty() {
        "), ok AS (SELECT * FROM v), "
    } else {
        "), ok AS (SELECT * FROM v WHERE key_no IS NULL OR key_no IN (SELECT n FROM good)), "
    });
    sql.push_str(
        "ins AS (INSERT INTO inbox_activities (id, activity_id, actor_uri, body, received_at) \
         SELECT id, activity_id, actor_uri, body, $1 FROM ok ON CONFLICT DO NOTHING RETURNING id), \
         job AS (INSERT INTO jobs (id, kind, payload, run_at, created_at) \
         SELECT $2, 'inbox', '{\"inbox_activities\":[' || string_agg(id::TEXT, ',' ORDER BY id) || ']}', $1, $1 \
         FROM ins HAVING count(*) > 0), \
         gone AS (DELETE FROM hosts WHERE domain IN (SELECT domain FROM hosts \
         WHERE domain IN (SELECT host FROM ok) ORDER BY domain FOR UPDATE) RETURNING domain) \
         SELECT 0::BIGINT, id, NULL::TEXT FROM ins \
         UNION ALL SELECT 2, NULL, domain FROM gone",
    );
    if !keys.is_empty() {
        sql.push_str(" UNION ALL SELECT 1, n, NULL FROM k WHERE n NOT IN (SELECT n FROM good)");
    }

    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(now_ms())
        .bind(first.job_id);
    for k in &keys {
        query = query
            .bind(k.key_id.as_str())
            .bind(k.key.owner_uri.as_str())
            .bind(k.key.public_key_pem.as_str());
    }
    for &i in &order {
        let e = &entries[i];
        query = bind_row(query, e).bind(key_no[i]).bind(e.host.as_deref());
    }
    let mut inserted = HashSet::new();
    let mut stale = HashSet::new();
    let mut recovered = HashSet::new();
    for row in query.fetch_all(conn).await? {
        match row.try_get::<i64, _>(0)? {
            0 => inserted.insert(row.try_get::<i64, _>(1)?),
            1 => stale.insert(row.try_get::<i64, _>(1)?),
            _ => recovered.insert(row.try_get::<String, _>(2)?),
        };
    }
    Ok(entries
        .iter()
        .zip(key_no)
        .map(|(e, n)| {
            let stale_key = n.is_some_and(|n| stale.contains(&n));
            Recorded {
                fresh: inserted.contains(&e.row_id),
                host_recovered: !stale_key
                    && e.host.as_ref().is_some_and(|h| recovered.contains(h)),
                stale_key,
            }
        })
        .collect())
}

/// Appends `count` rows of `width` placeholders, `($3, $4), ($5, $6)`,
/// numbered on from `last`; with `numbered`, each row starts with its index,
/// and each ends with `tail`.
fn push_rows(
    sql: &mut String,
    count: usize,
    width: usize,
    numbered: bool,
    tail: &str,
    last: &mut usize,
) {
    use std::fmt::Write;
    for n in 0..count {
        sql.push_str(if n == 0 { "(" } else { ", (" });
        if numbered {
            let _ = write!(sql, "{n}::BIGINT, ");
        }
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            *last += 1;
            let _ = write!(sql, "${last}");
        }
        sql.push_str(tail);
        sql.push(')');
    }
}

/// Binds the columns an entry's row has on both engines: id, activity id,
/// actor, body.
fn bind_row<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    e: &'q InboxEntry,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    query
        .bind(e.row_id)
        .bind(e.activity_id.as_str())
        .bind(e.actor_uri.as_str())
        .bind(e.body.as_str())
}

/// An `inbox` job's payload: the rows to apply, in order (read by
/// `queue::run`). `commit_statement` writes the same shape in SQL.
pub(crate) fn inbox_payload(ids: &[i64]) -> String {
    serde_json::json!({ "inbox_activities": ids }).to_string()
}

/// [`commit_batch`] on SQLite: a transaction of four statements on the one
/// write connection, in this process (a statement costs no round trip).
async fn commit_transaction(
    pool: &AnyPool,
    entries: &[InboxEntry],
) -> Result<Vec<Recorded>, StoreError> {
    // Rows are inserted in activity-id order and hosts deleted in name
    // order, as in `commit_statement` (SQLite has one writer, but the order
    // costs nothing).
    let mut tx = pool.begin().await?;
    let stale = stale_keys(&mut tx, entries).await?;
    let mut order: Vec<usize> = (0..entries.len()).filter(|i| !stale[*i]).collect();
    order.sort_by(|&a, &b| entries[a].activity_id.cmp(&entries[b].activity_id));
    order.dedup_by(|a, b| entries[*a].activity_id == entries[*b].activity_id);
    let now = now_ms();
    if order.is_empty() {
        tx.commit().await?;
        return Ok(stale
            .iter()
            .map(|&stale_key| Recorded {
                fresh: false,
                host_recovered: false,
                stale_key,
            })
            .collect());
    }

    let mut sql = String::from(
        "INSERT INTO inbox_activities (id, activity_id, actor_uri, body, received_at) VALUES ",
    );
    push_rows(&mut sql, order.len(), 4, false, ", $1", &mut 1);
    sql.push_str(" ON CONFLICT DO NOTHING RETURNING id");
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now);
    for &i in &order {
        query = bind_row(query, &entries[i]);
    }
    let inserted: HashSet<i64> = query
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;

    // One `inbox` job for the whole commit, carrying the new rows in the
    // order their ids were given (as each was verified; `queue::run`
    // applies them in turn): a job row per activity was a quarter of
    // PostgreSQL's work per accepted activity.
    let mut fresh: Vec<&InboxEntry> = entries
        .iter()
        .filter(|e| inserted.contains(&e.row_id))
        .collect();
    fresh.sort_by_key(|e| e.row_id);
    if let Some(first) = fresh.first() {
        let ids: Vec<i64> = fresh.iter().map(|e| e.row_id).collect();
        super::jobs::enqueue_in(&mut tx, first.job_id, "inbox", &inbox_payload(&ids), now).await?;
    }

    let mut hosts: Vec<&str> = order
        .iter()
        .filter_map(|&i| entries[i].host.as_deref())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut recovered = HashSet::new();
    if !hosts.is_empty() {
        let list = (1..=hosts.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("DELETE FROM hosts WHERE domain IN ({list}) RETURNING domain");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for h in &hosts {
            query = query.bind(*h);
        }
        for row in query.fetch_all(&mut *tx).await? {
            recovered.insert(row.try_get::<String, _>(0)?);
        }
    }
    tx.commit().await?;

    Ok(entries
        .iter()
        .zip(stale)
        .map(|(e, stale_key)| Recorded {
            fresh: inserted.contains(&e.row_id),
            host_recovered: !stale_key && e.host.as_ref().is_some_and(|h| recovered.contains(h)),
            stale_key,
        })
        .collect())
}

/// For each entry, whether it carries a remembered key that is not (or no
/// longer) the stored key of that id with the same owner.
async fn stale_keys(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    entries: &[InboxEntry],
) -> Result<Vec<bool>, StoreError> {
    let mut ids: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.key_check.as_ref().map(|k| k.key_id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(vec![false; entries.len()]);
    }
    ids.sort_unstable();
    ids.dedup();
    let list = (1..=ids.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT k.key_id, a.uri, k.public_key_pem FROM account_keys k \
         JOIN accounts a ON a.id = k.account_id WHERE k.key_id IN ({list})"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(*id);
    }
    let mut stored: HashMap<String, (Option<String>, String)> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        stored.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
    }
    Ok(entries
        .iter()
        .map(|e| {
            e.key_check.as_ref().is_some_and(|k| {
                stored.get(&k.key_id).is_none_or(|(owner, pem)| {
                    owner.as_deref() != Some(k.key.owner_uri.as_str())
                        || *pem != k.key.public_key_pem
                })
            })
        })
        .collect())
}
