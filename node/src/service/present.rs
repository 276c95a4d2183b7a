//! Turning stored rows into Mastodon entities for one viewer, in batches: one
//! query per kind of fact for a whole page, never one per status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use starling_protocol::datetime::{date, iso8601_millis};
use starling_protocol::mastodon::{
    Account, AccountSource, Field, Notification, NotificationType, Relationship, Status,
    StatusApplication, StatusMention, StatusTag, Visibility,
};

use crate::app::App;
use crate::error::Internal;
use crate::service::cache::{CachedAccount, PlainStatus};
use crate::store::accounts::DbAccount;
use crate::store::feeds::DbNotification;
use crate::store::statuses::{DbStatus, ViewerFlags};

/// Parses a stored visibility name.
pub fn visibility(name: &str) -> Visibility {
    match name {
        "public" => Visibility::Public,
        "unlisted" => Visibility::Unlisted,
        "direct" => Visibility::Direct,
        _ => Visibility::Private,
    }
}

/// The stored name of a visibility.
pub fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Unlisted => "unlisted",
        Visibility::Private => "private",
        Visibility::Direct => "direct",
    }
}

/// `user` for local accounts, `user@domain` for remote ones.
pub fn acct(a: &DbAccount) -> String {
    match &a.domain {
        Some(d) => format!("{}@{d}", a.username),
        None => a.username.clone(),
    }
}

/// The profile page URL of an account: for a remote one, the `url` its
/// actor document gave, else its id (as Mastodon falls back); a guess from
/// the handle only for a row that has neither.
pub fn profile_url(app: &App, a: &DbAccount) -> String {
    match &a.domain {
        Some(d) => a
            .url
            .clone()
            .or_else(|| a.uri.clone())
            .unwrap_or_else(|| format!("https://{d}/@{}", a.username)),
        None => app.urls().profile(&a.username),
    }
}

/// The ActivityPub id of an account: stored for remote ones, derived for ours.
pub fn account_uri(app: &App, a: &DbAccount) -> String {
    match &a.domain {
        Some(_) => a.uri.clone().unwrap_or_default(),
        None => app.urls().actor(&a.username),
    }
}

/// Renders a local bio (plain text) as HTML; remote bios are already HTML.
fn note_html(app: &App, a: &DbAccount) -> String {
    if a.domain.is_some() {
        return a.note.clone();
    }
    render_plain(app, &a.note)
}

/// Plain text to HTML with links and hashtags (mentions left as text).
pub fn render_plain(app: &App, text: &str) -> String {
    starling_protocol::text::render(text, |_| None, |tag| tag_url(app, tag))
}

/// The URL of a hashtag page.
pub fn tag_url(app: &App, tag: &str) -> String {
    app.urls().path(&format!("/tags/{}", tag.to_lowercase()))
}

fn fields_of(a: &DbAccount) -> Vec<Field> {
    serde_json::from_str::<Vec<Field>>(&a.fields).unwrap_or_default()
}

/// Builds entities for one viewer.
pub struct Presenter<'a> {
    app: &'a App,
    viewer: Option<i64>,
    /// Viewer flags already read (with the statuses they answer for).
    known_flags: Option<(HashMap<i64, ViewerFlags>, HashSet<i64>)>,
}

impl<'a> Presenter<'a> {
    /// A presenter for `viewer` (None: anonymous).
    pub fn new(app: &'a App, viewer: Option<i64>) -> Self {
        Presenter {
            app,
            viewer,
            known_flags: None,
        }
    }

    /// Takes the viewer's flags on `covered` statuses as already read
    /// (absent from `flags`: none set); only other statuses are looked up.
    pub fn with_flags(mut self, flags: HashMap<i64, ViewerFlags>, covered: HashSet<i64>) -> Self {
        self.known_flags = Some((flags, covered));
        self
    }

    /// Account entities by id, read fresh (and stored in the cache).
    pub async fn accounts(&self, ids: &[i64]) -> Result<HashMap<i64, Account>, Internal> {
        let rows = self.app.store().accounts(ids).await?;
        Ok(rows
            .iter()
            .map(|a| (a.id, (*self.cache_account(a)).clone()))
            .collect())
    }

    /// Account entities for `(id, version)` pairs: a cached entity is taken
    /// when its version equals the one given (`None`: any version will do, for
    /// facts that never change, like a mention's username); the rest are read
    /// in one query.
    async fn accounts_at(
        &self,
        wanted: &HashMap<i64, Option<i64>>,
    ) -> Result<HashMap<i64, Arc<Account>>, Internal> {
        let cache = &self.app.caches().accounts;
        let mut out = HashMap::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for (&id, &version) in wanted {
            match cache.get(&id) {
                Some(hit) if version.is_none_or(|v| v == hit.version) => {
                    out.insert(id, hit.entity);
                }
                _ => missing.push(id),
            }
        }
        if !missing.is_empty() {
            for row in self.app.store().accounts(&missing).await? {
                out.insert(row.id, self.cache_account(&row));
            }
        }
        Ok(out)
    }

    /// Renders a row and keeps it in the process cache.
    fn cache_account(&self, row: &DbAccount) -> Arc<Account> {
        let entity = Arc::new(self.account_entity(row));
        self.app.caches().accounts.insert(
            row.id,
            CachedAccount {
                version: row.version,
                entity: entity.clone(),
            },
        );
        entity
    }

    /// The applications statuses were posted with (names never change, so
    /// they are cached without a version).
    async fn applications(
        &self,
        ids: impl Iterator<Item = i64>,
    ) -> Result<HashMap<i64, StatusApplication>, Internal> {
        let cache = &self.app.caches().apps;
        let mut out = HashMap::new();
        for id in ids {
            if out.contains_key(&id) {
                continue;
            }
            let app = match cache.get(&id) {
                Some(hit) => hit,
                None => {
                    let app = self
                        .app
                        .store()
                        .app_by_id(id)
                        .await?
                        .map(|a| StatusApplication {
                            name: a.name,
                            website: a.website,
                        });
                    cache.insert(id, app.clone());
                    app
                }
            };
            if let Some(app) = app {
                out.insert(id, app);
            }
        }
        Ok(out)
    }

    /// One account entity, or None if it does not exist.
    pub async fn account(&self, id: i64) -> Result<Option<Account>, Internal> {
        Ok(self.accounts(&[id]).await?.remove(&id))
    }

    /// A list of accounts in the given order (missing ones skipped).
    pub async fn account_list(&self, ids: &[i64]) -> Result<Vec<Account>, Internal> {
        let mut map = self.accounts(ids).await?;
        Ok(ids.iter().filter_map(|id| map.remove(id)).collect())
    }

    fn account_entity(&self, a: &DbAccount) -> Account {
        let avatar = a
            .avatar_url
            .clone()
            .unwrap_or_else(|| self.app.urls().path("/avatars/original/missing.png"));
        let header = a
            .header_url
            .clone()
            .unwrap_or_else(|| self.app.urls().path("/headers/original/missing.png"));
        let uri = account_uri(self.app, a);
        Account {
            id: a.id.to_string(),
            username: a.username.clone(),
            acct: acct(a),
            url: profile_url(self.app, a),
            uri,
            display_name: a.display_name.clone(),
            note: note_html(self.app, a),
            avatar: avatar.clone(),
            avatar_static: avatar,
            header: header.clone(),
            header_static: header,
            locked: a.locked,
            fields: fields_of(a),
            bot: a.bot,
            discoverable: Some(a.discoverable),
            indexable: a.discoverable,
            // Mastodon rounds account creation to the day.
            created_at: format!("{}T00:00:00.000Z", date(a.created_at)),
            last_status_at: a.last_status_at.map(date),
            statuses_count: a.statuses_count.max(0) as u64,
            followers_count: a.followers_count,
            following_count: a.following_count,
            ..Account::default()
        }
    }

    /// The signed-in user's own account, with `source`.
    pub async fn credential_account(&self, id: i64) -> Result<Option<Account>, Internal> {
        // One row read serves both the entity and its `source`.
        let Some(row) = self.app.store().account(id).await? else {
            return Ok(None);
        };
        let mut account = self.account_entity(&row);
        let requests = self
            .app
            .store()
            .count_incoming(crate::store::social::Relation::FollowRequest, id)
            .await?
            .max(0) as u64;
        account.source = Some(AccountSource {
            note: row.note.clone(),
            fields: fields_of(&row),
            privacy: Visibility::Public,
            sensitive: false,
            language: None,
            follow_requests_count: requests,
            discoverable: Some(row.discoverable),
            indexable: Some(row.discoverable),
            hide_collections: Some(false),
            ..AccountSource::default()
        });
        Ok(Some(account))
    }

    /// Status entities in the given order; boosts carry their original.
    pub async fn statuses(&self, rows: &[DbStatus]) -> Result<Vec<Status>, Internal> {
        Ok(self
            .rendered(rows)
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    /// Whether `s` is shown to this viewer exactly as to every signed-in
    /// viewer with no flags on it: not a boost (its original's flags would
    /// count too), and the viewer's flags on it were read and none is set.
    fn plain(&self, s: &DbStatus) -> bool {
        self.viewer.is_some()
            && s.reblog_of_id.is_none()
            && self.known_flags.as_ref().is_some_and(|(flags, covered)| {
                covered.contains(&s.id)
                    && flags
                        .get(&s.id)
                        .is_none_or(|f| *f == ViewerFlags::default())
            })
    }

    /// [`Presenter::statuses`] as a JSON array, the same bytes as serialising
    /// it, but statuses this viewer sees plainly ([`Presenter::plain`]) are
    /// taken from the per-process cache while their row and author versions
    /// are unchanged, and stored there when rendered. A page of statuses
    /// nobody flagged then costs no lookups and no serialisation. Filters are
    /// not applied: callers with filters to apply use `statuses`.
    pub async fn statuses_json(&self, rows: &[DbStatus]) -> Result<Vec<u8>, Internal> {
        let cache = &self.app.caches().plain_statuses;
        let plain: Vec<bool> = rows.iter().map(|s| self.plain(s)).collect();
        let cached: Vec<Option<Arc<[u8]>>> = rows
            .iter()
            .zip(&plain)
            .map(|(s, &plain)| {
                plain
                    .then(|| cache.get(&s.id))
                    .flatten()
                    .filter(|c| c.version == s.version && c.author_version == s.author_version)
                    .map(|c| c.json)
            })
            .collect();
        let missing: Vec<DbStatus> = rows
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(s, _)| s.clone())
            .collect();
        let mut rendered: HashMap<i64, Status> = if missing.is_empty() {
            HashMap::new()
        } else {
            self.rendered(&missing).await?.into_iter().collect()
        };
        let mut out = Vec::with_capacity(2 + rows.len() * 1536);
        out.push(b'[');
        for ((s, cached), plain) in rows.iter().zip(cached).zip(plain) {
            let json = match cached {
                Some(json) => json,
                None => {
                    let Some(status) = rendered.remove(&s.id) else {
                        continue;
                    };
                    let json: Arc<[u8]> = serde_json::to_vec(&status)
                        .map_err(|e| Internal::Serialize(e.to_string()))?
                        .into();
                    if plain {
                        cache.insert(
                            s.id,
                            PlainStatus {
                                version: s.version,
                                author_version: s.author_version,
                                json: json.clone(),
                            },
                        );
                    }
                    json
                }
            };
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&json);
        }
        out.push(b']');
        Ok(out)
    }

    /// Status entities with their row ids, in the given order (rows whose
    /// author or original is gone are left out).
    async fn rendered(&self, rows: &[DbStatus]) -> Result<Vec<(i64, Status)>, Internal> {
        let store = self.app.store();
        // The originals of boosts.
        let reblog_ids: Vec<i64> = rows.iter().filter_map(|s| s.reblog_of_id).collect();
        let originals = store.statuses(&reblog_ids).await?;
        let mut all: Vec<&DbStatus> = rows.iter().collect();
        all.extend(originals.iter());

        let versions: Vec<(i64, i64)> = all.iter().map(|s| (s.id, s.version)).collect();
        let facts = store.status_facts(&versions).await?;
        let (mentions, tags) = (&facts.mentions, &facts.tags);
        // The viewer's flags: those already read, and the rest looked up.
        let mut viewer_flags = HashMap::new();
        if let Some(viewer) = self.viewer {
            let covered = match &self.known_flags {
                Some((known, covered)) => {
                    viewer_flags.clone_from(known);
                    Some(covered)
                }
                None => None,
            };
            let rest: Vec<i64> = all
                .iter()
                .map(|s| s.id)
                .filter(|id| !covered.is_some_and(|c| c.contains(id)))
                .collect();
            if !rest.is_empty() {
                viewer_flags.extend(store.viewer_flags(viewer, &rest).await?);
            }
        }
        let flags = self.viewer.map(|_| &viewer_flags);
        // Authors must be current (counts, profile); for mentions only the
        // immutable username and domain are shown, so any cached copy will do.
        let mut wanted: HashMap<i64, Option<i64>> = HashMap::new();
        for id in mentions.values().flatten() {
            wanted.insert(*id, None);
        }
        for s in &all {
            wanted.insert(s.account_id, Some(s.author_version));
        }
        let accounts = self.accounts_at(&wanted).await?;
        let apps = self
            .applications(all.iter().filter_map(|s| s.application_id))
            .await?;

        let build = |s: &DbStatus| -> Option<Status> {
            let account = Account::clone(accounts.get(&s.account_id)?);
            let f = flags
                .as_ref()
                .map(|m| m.get(&s.id).copied().unwrap_or_default());
            let uri = s.uri.clone().unwrap_or_else(|| {
                self.app
                    .urls()
                    .path(&format!("/users/{}/statuses/{}", account.username, s.id))
            });
            // A remote post without a `url` links to its id, as Mastodon does.
            let url = s
                .url
                .clone()
                .or_else(|| s.uri.clone())
                .or_else(|| Some(format!("{}/{}", account.url, s.id)));
            Some(Status {
                id: s.id.to_string(),
                uri,
                created_at: iso8601_millis(s.created_at),
                content: s.content.clone(),
                visibility: visibility(&s.visibility),
                sensitive: s.sensitive,
                spoiler_text: s.spoiler_text.clone(),
                application: s.application_id.and_then(|id| apps.get(&id).cloned()),
                mentions: mentions
                    .get(&s.id)
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|id| accounts.get(id))
                            .map(|a| StatusMention {
                                id: a.id.clone(),
                                username: a.username.clone(),
                                url: a.url.clone(),
                                acct: a.acct.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                tags: tags
                    .get(&s.id)
                    .map(|names| {
                        names
                            .iter()
                            .map(|n| StatusTag {
                                name: n.to_lowercase(),
                                url: tag_url(self.app, n),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                reblogs_count: s.reblogs_count.max(0) as u64,
                favourites_count: s.favourites_count.max(0) as u64,
                replies_count: s.replies_count.max(0) as u64,
                url,
                in_reply_to_id: s.in_reply_to_id.map(|id| id.to_string()),
                in_reply_to_account_id: s.in_reply_to_account_id.map(|id| id.to_string()),
                language: s.language.clone(),
                edited_at: s.edited_at.map(iso8601_millis),
                favourited: f.map(|f| f.favourited),
                reblogged: f.map(|f| f.reblogged),
                muted: f.map(|_| false),
                bookmarked: f.map(|f| f.bookmarked),
                pinned: f.map(|f| f.pinned),
                account,
                ..Status::default()
            })
        };
        let by_id: HashMap<i64, &DbStatus> = originals.iter().map(|s| (s.id, s)).collect();
        Ok(rows
            .iter()
            .filter_map(|s| {
                let mut status = build(s)?;
                if let Some(original) = s.reblog_of_id {
                    let inner = build(by_id.get(&original)?)?;
                    status.content = String::new();
                    status.uri = format!("{}/activity", status.uri);
                    status.url = None;
                    status.reblog = Some(Box::new(inner));
                }
                Some((s.id, status))
            })
            .collect())
    }

    /// One status entity.
    pub async fn status(&self, row: &DbStatus) -> Result<Option<Status>, Internal> {
        Ok(self.statuses(std::slice::from_ref(row)).await?.pop())
    }

    /// Notification entities in order.
    pub async fn notifications(
        &self,
        rows: &[DbNotification],
    ) -> Result<Vec<Notification>, Internal> {
        let status_ids: Vec<i64> = rows.iter().filter_map(|n| n.status_id).collect();
        let statuses = self.app.store().statuses(&status_ids).await?;
        let entities = self.statuses(&statuses).await?;
        let by_id: HashMap<String, Status> =
            entities.into_iter().map(|s| (s.id.clone(), s)).collect();
        let account_ids: Vec<i64> = rows.iter().map(|n| n.from_account_id).collect();
        let accounts = self.accounts(&account_ids).await?;
        Ok(rows
            .iter()
            .filter_map(|n| {
                let status = match n.status_id {
                    // A notification whose status is gone is dropped.
                    Some(id) => Some(by_id.get(&id.to_string())?.clone()),
                    None => None,
                };
                let kind: NotificationType =
                    serde_json::from_value(serde_json::Value::String(n.kind.clone())).ok()?;
                Some(Notification {
                    id: n.id.to_string(),
                    kind,
                    group_key: format!("ungrouped-{}", n.id),
                    created_at: iso8601_millis(n.created_at),
                    account: accounts.get(&n.from_account_id)?.clone(),
                    status,
                    ..Notification::default()
                })
            })
            .collect())
    }

    /// Relationship entities from `viewer` to each target.
    pub async fn relationships(
        &self,
        viewer: i64,
        targets: &[i64],
    ) -> Result<Vec<Relationship>, Internal> {
        let sets = self.app.store().relation_sets(viewer, targets).await?;
        Ok(targets
            .iter()
            .map(|id| Relationship {
                id: id.to_string(),
                following: sets.following.contains(id),
                showing_reblogs: sets.following.contains(id) && !sets.hiding_reblogs.contains(id),
                notifying: sets.notifying.contains(id),
                followed_by: sets.followed_by.contains(id),
                blocking: sets.blocking.contains(id),
                blocked_by: sets.blocked_by.contains(id),
                muting: sets.muting.contains(id),
                muting_notifications: sets.muting.contains(id),
                requested: sets.requested.contains(id),
                requested_by: sets.requested_by.contains(id),
                note: String::new(),
                ..Relationship::default()
            })
            .collect())
    }
}
