//! The streaming API's event bus (Mastodon's `/api/v1/streaming`).
//!
//! Services [`publish`] small event descriptors ([`Event`]: a kind and ids)
//! where things happen, for local and federated activity alike. Each process
//! has one bounded `tokio::sync::broadcast` channel that its open streams
//! read ([`Bus::subscribe`]). On SQLite (one process) `publish` sends on it
//! directly; on PostgreSQL it sends `NOTIFY` instead, and one `LISTEN`
//! connection per serving process ([`Bus::listen`]) feeds the channel, so an
//! event raised by a worker process reaches a client of a web process, and
//! every process (the publisher too) hears each event exactly once.
//!
//! Descriptors, not entities, travel: NOTIFY payloads are capped at 8000
//! bytes, and an entity depends on who looks. [`route`] renders each event
//! per connection from the database, through the same visibility, block,
//! mute and filter rules as the REST timelines, except that a status on
//! `user` streams is rendered once for all viewers who see the same entity
//! ([`Heard::shared_home`]); [`session`] runs one connection (bounded
//! queue, slow consumers dropped, shutdown).

pub mod route;
pub mod session;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::app::App;

/// Events buffered per process; a connection that falls further behind is
/// disconnected (it can catch up over REST with `since_id`).
const CAPACITY: usize = 4096;

/// Something a stream may need to tell its client. Small on purpose: it is
/// the NOTIFY payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Event {
    /// A status was fanned out (home feeds filled): `update` on the streams it
    /// belongs to (home, public, hashtag, list).
    Status {
        /// The status id.
        id: i64,
    },
    /// A status was edited: `status.update`.
    Edited {
        /// The status id.
        id: i64,
    },
    /// A status (or boost) was deleted: `delete`. Author and visibility
    /// travel along because the row no longer reads.
    Deleted {
        /// The status id.
        id: i64,
        /// Its author.
        author: i64,
        /// Its visibility (`public`, `unlisted`, `private`, `direct`).
        visibility: String,
    },
    /// A notification was stored for `account`.
    Notification {
        /// The recipient.
        account: i64,
        /// The notification id.
        id: i64,
    },
    /// `account` changed their filters: `filters_changed`.
    FiltersChanged {
        /// The owner of the filters.
        account: i64,
    },
    /// A direct message changed `account`'s conversation: `conversation` on
    /// their `direct` stream. Raised by the conversations service.
    Conversation {
        /// The participant whose conversation changed.
        account: i64,
        /// The conversation id.
        conversation: i64,
        /// The newest status in it.
        status: i64,
    },
}

/// An event as this process's streams hear it, with what they may share
/// about it.
#[derive(Debug)]
pub struct Heard {
    /// The event.
    pub event: Event,
    /// For a status event: the accounts streaming here whose home feed it
    /// may be in (author, mentioned, local followers). Worked out once per
    /// process by the first stream that asks, so that connections of
    /// everyone else skip the event without a query.
    home: tokio::sync::OnceCell<HashSet<i64>>,
    /// For a status event: the viewers among `home` who see it on `user`
    /// exactly as anyone else of them does, and that entity's JSON, rendered
    /// once for all of them ([`Heard::shared_home`]).
    shared_home: tokio::sync::OnceCell<SharedHome>,
}

/// See [`Heard::shared_home`].
#[derive(Debug, Default)]
struct SharedHome {
    /// Viewers with the status in their home feed and nothing of their own
    /// bearing on it (`Store::plain_home_viewers`).
    plain: HashSet<i64>,
    /// The entity's JSON as each of them sees it.
    payload: Option<Arc<str>>,
}

impl Heard {
    fn new(event: Event) -> Heard {
        Heard {
            event,
            home: tokio::sync::OnceCell::new(),
            shared_home: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether status `id` may be in `viewer`'s home feed (a cheap superset
    /// of the real check, which still follows). `viewer` must have been
    /// registered ([`Bus::register`]) before this event was raised.
    pub async fn may_reach_home(
        &self,
        app: &App,
        id: i64,
        viewer: i64,
    ) -> Result<bool, crate::error::Internal> {
        let home = self
            .home
            .get_or_try_init(|| async {
                let mut set = HashSet::new();
                let Some(status) = app.store().status(id).await? else {
                    return Ok::<_, crate::error::Internal>(set);
                };
                set.insert(status.account_id);
                if let Some(m) = app.store().mentions_of(&[id]).await?.remove(&id) {
                    set.extend(m);
                }
                let connected = app.streams().connected();
                let followers = app
                    .store()
                    .account(status.account_id)
                    .await?
                    .map_or(0, |a| a.followers_count);
                set.extend(
                    app.store()
                        .local_followers_among(status.account_id, followers, &connected)
                        .await?,
                );
                Ok(set)
            })
            .await?;
        Ok(home.contains(&viewer))
    }

    /// Status `id` as it shows in `viewer`'s home timeline, as JSON, when
    /// `viewer` is one of the many who all see the same entity there (the
    /// status in their feed, no block or mute between them and its authors,
    /// no filters, no favourite, boost, bookmark or pin of it): rendered once
    /// per process for all of them instead of once per connection. `None`
    /// means "work it out for this viewer alone"; it is never a refusal.
    /// Call after [`Heard::may_reach_home`] said yes.
    pub async fn shared_home(
        &self,
        app: &App,
        id: i64,
        viewer: i64,
    ) -> Result<Option<Arc<str>>, crate::error::Internal> {
        let shared = self
            .shared_home
            .get_or_try_init(|| async {
                let Some(home) = self.home.get() else {
                    return Ok::<_, crate::error::Internal>(SharedHome::default());
                };
                let store = app.store();
                let Some(status) = store.status(id).await? else {
                    return Ok(SharedHome::default());
                };
                let mut authors = vec![status.account_id];
                let mut ids = vec![id];
                if let Some(original) = status.reblog_of_id {
                    let Some(original) = store.status(original).await? else {
                        return Ok(SharedHome::default());
                    };
                    authors.push(original.account_id);
                    ids.push(original.id);
                }
                let candidates: Vec<i64> = home.iter().copied().collect();
                let followers = store
                    .account(status.account_id)
                    .await?
                    .map_or(0, |a| a.followers_count);
                let plain: HashSet<i64> = store
                    .plain_home_viewers(id, &authors, &ids, followers, &candidates)
                    .await?
                    .into_iter()
                    .collect();
                let Some(&someone) = plain.iter().next() else {
                    return Ok(SharedHome::default());
                };
                // None of them has a flag on these statuses: tell the
                // presenter so, instead of it asking for one of them.
                let entity = crate::service::present::Presenter::new(app, Some(someone))
                    .with_flags(HashMap::new(), ids.iter().copied().collect())
                    .status(&status)
                    .await?;
                let payload = match entity {
                    Some(entity) => {
                        Some(Arc::from(serde_json::to_string(&entity).map_err(|e| {
                            crate::error::Internal::Serialize(e.to_string())
                        })?))
                    }
                    None => None,
                };
                Ok(SharedHome { plain, payload })
            })
            .await?;
        Ok(shared
            .payload
            .clone()
            .filter(|_| shared.plain.contains(&viewer)))
    }
}

/// One process's event channel and its shutdown switch.
pub struct Bus {
    /// Events for this process's open streams.
    local: broadcast::Sender<Arc<Heard>>,
    /// Signed-in accounts with a stream open here, and how many streams.
    viewers: Mutex<HashMap<i64, usize>>,
    /// Flipped to `true` when the server shuts down: every stream closes.
    closing: watch::Sender<bool>,
    /// `true` while the PostgreSQL listener is subscribed.
    listening: watch::Sender<bool>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            local: broadcast::channel(CAPACITY).0,
            viewers: Mutex::default(),
            closing: watch::channel(false).0,
            listening: watch::channel(false).0,
        }
    }
}

impl Bus {
    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Heard>> {
        self.local.subscribe()
    }

    /// Records that `account` streams here until the guard drops. Register
    /// before [`Bus::subscribe`], so every event the stream hears knows it.
    pub fn register(&self, app: &App, account: Option<i64>) -> Registration {
        if let Some(a) = account {
            *self
                .viewers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(a)
                .or_default() += 1;
        }
        Registration {
            app: app.clone(),
            account,
        }
    }

    /// Accounts with a stream open in this process.
    pub fn connected(&self) -> Vec<i64> {
        let viewers = self.viewers.lock().unwrap_or_else(|p| p.into_inner());
        viewers.keys().copied().collect()
    }

    /// Turns `true` when the server shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Closes every open stream (graceful shutdown must not wait on them).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Waits (at most `limit`) until the PostgreSQL listener is subscribed;
    /// `false` if it is not by then.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let mut rx = self.listening.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|l| *l))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Delivers an event to this process's streams.
    fn deliver(&self, event: Event) {
        // No receiver is no error: nobody is streaming.
        let _ = self.local.send(Arc::new(Heard::new(event)));
    }

    /// Feeds NOTIFYs from PostgreSQL at `url` into this process's channel
    /// until [`Bus::close`]. Reconnects after a lost connection; what was
    /// sent meanwhile is lost to streams (clients catch up over REST).
    pub async fn listen(app: App, url: String) {
        let mut closing = app.streams().closing();
        loop {
            tokio::select! {
                () = Self::listen_once(&app, &url) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
        }
    }

    async fn listen_once(app: &App, url: &str) {
        let mut listener = match sqlx::postgres::PgListener::connect(url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "stream listener cannot connect");
                return;
            }
        };
        if let Err(e) = listener.listen(crate::store::stream::STREAM_CHANNEL).await {
            tracing::warn!(error = %e, "stream listener cannot LISTEN");
            return;
        }
        app.streams().listening.send_replace(true);
        loop {
            match listener.recv().await {
                Ok(n) => match serde_json::from_str::<Event>(n.payload()) {
                    Ok(event) => app.streams().deliver(event),
                    Err(e) => tracing::warn!(error = %e, "unreadable stream event"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "stream listener lost its connection");
                    app.streams().listening.send_replace(false);
                    return;
                }
            }
        }
    }
}

/// Raises `event` for every stream of every process on this database.
/// Never fails the caller: a stream that misses an event is repaired by the
/// client's next REST call, a job that fails here would redo real work.
pub async fn publish(app: &App, event: Event) {
    let payload = match serde_json::to_string(&event) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a stream event");
            return;
        }
    };
    match app.store().notify_stream(&payload).await {
        Ok(true) => {}
        Ok(false) => app.streams().deliver(event),
        Err(e) => tracing::warn!(error = %e, "cannot NOTIFY a stream event"),
    }
}

/// Raises [`Event::Deleted`] for a status just deleted.
pub async fn deleted(app: &App, status: &crate::store::statuses::DbStatus) {
    publish(
        app,
        Event::Deleted {
            id: status.id,
            author: status.account_id,
            visibility: status.visibility.clone(),
        },
    )
    .await;
}

/// A signed-in stream's entry in [`Bus::register`]'s table; removes it on drop.
pub struct Registration {
    /// The node (the bus lives in it).
    app: App,
    /// The account, if signed in.
    account: Option<i64>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(a) = self.account else { return };
        let mut viewers = self
            .app
            .streams()
            .viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = viewers.get_mut(&a) {
            *n -= 1;
            if *n == 0 {
                viewers.remove(&a);
            }
        }
    }
}
