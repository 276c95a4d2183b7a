//! The ActivityPub collections of local accounts and statuses: outbox,
//! followers and following (`OrderedCollection`s paged newest first with
//! `?page=true`, `&max_id=`, `&min_id=`, as Mastodon pages them), and a
//! Note's `replies` (a `Collection` paged oldest first); plus which local
//! status a request may dereference.

use std::collections::HashMap;

use serde_json::{Value, json};
use starling_protocol::activitystreams::{OrderedCollection, OrderedCollectionPage};

use crate::app::App;
use crate::error::Internal;
use crate::store::accounts::DbAccount;
use crate::store::sql::Page;
use crate::store::statuses::DbStatus;

/// Items per page of an outbox and of `replies`.
pub const PAGE_SIZE: i64 = 20;
/// Accounts per page of followers and following.
pub const MEMBERS_PAGE_SIZE: i64 = 40;

/// Which collection of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Create` of public and unlisted posts, and `Announce` of boosts.
    Outbox,
    /// Actor URIs of the accounts following it.
    Followers,
    /// Actor URIs of the accounts it follows.
    Following,
}

impl Kind {
    fn part(self) -> &'static str {
        match self {
            Kind::Outbox => "outbox",
            Kind::Followers => "followers",
            Kind::Following => "following",
        }
    }
}

/// Where a page starts: older than `max_id`, or newer than `min_id` (the
/// newest page when neither is given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Items with ids below this.
    pub max_id: Option<i64>,
    /// Items with ids above this.
    pub min_id: Option<i64>,
}

/// The collection itself: its size and links to its first and last pages.
pub async fn collection(
    app: &App,
    account: &DbAccount,
    kind: Kind,
) -> Result<OrderedCollection, Internal> {
    let id = app.urls().actor_part(&account.username, kind.part());
    let total = match kind {
        Kind::Outbox => app.store().count_outbox(account.id).await?,
        Kind::Followers => account.followers_count,
        Kind::Following => account.following_count,
    };
    Ok(OrderedCollection::paged(
        id.clone(),
        total,
        format!("{id}?page=true"),
        format!("{id}?min_id=0&page=true"),
    ))
}

/// One page of a collection, newest first.
pub async fn page(
    app: &App,
    account: &DbAccount,
    kind: Kind,
    cursor: Cursor,
) -> Result<OrderedCollectionPage, Internal> {
    let id = app.urls().actor_part(&account.username, kind.part());
    let limit = if kind == Kind::Outbox {
        PAGE_SIZE
    } else {
        MEMBERS_PAGE_SIZE
    };
    let page = Page {
        max_id: cursor.max_id,
        since_id: None,
        min_id: cursor.min_id,
        limit,
    };
    // The ids the rows were paged by, newest first, before any filtering.
    let (cursors, items) = match kind {
        Kind::Outbox => {
            let rows = app
                .store()
                .account_statuses(
                    account.id,
                    &["public", "unlisted"],
                    false,
                    false,
                    false,
                    page,
                )
                .await?;
            let cursors: Vec<i64> = rows.iter().map(|s| s.id).collect();
            (cursors, outbox_items(app, rows).await?)
        }
        Kind::Followers | Kind::Following => {
            let members = app
                .store()
                .follow_members(account.id, kind == Kind::Followers, page)
                .await?;
            let cursors = members.iter().map(|m| m.follow_id).collect();
            let items = members
                .into_iter()
                .map(|m| json!(m.uri.unwrap_or_else(|| app.urls().actor(&m.username))))
                .collect();
            (cursors, items)
        }
    };
    let this = match (cursor.max_id, cursor.min_id) {
        (Some(max), _) => format!("{id}?max_id={max}&page=true"),
        (None, Some(min)) => format!("{id}?min_id={min}&page=true"),
        (None, None) => format!("{id}?page=true"),
    };
    let next = match cursors.last() {
        Some(last) if cursors.len() as i64 == limit => {
            Some(format!("{id}?max_id={last}&page=true"))
        }
        _ => None,
    };
    let prev = cursors
        .first()
        .map(|first| format!("{id}?min_id={first}&page=true"));
    Ok(OrderedCollectionPage::new(this, id, items, next, prev))
}

/// Outbox rows as activities: `Create` for posts, `Announce` for boosts,
/// leaving out what an anonymous reader may not see (boosts of non-public
/// or deleted posts).
async fn outbox_items(app: &App, rows: Vec<DbStatus>) -> Result<Vec<Value>, Internal> {
    let rows = super::visibility::visible(app, None, rows).await?;
    let originals: HashMap<i64, DbStatus> = app
        .store()
        .statuses(
            &rows
                .iter()
                .filter_map(|s| s.reblog_of_id)
                .collect::<Vec<_>>(),
        )
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut items = Vec::with_capacity(rows.len());
    for status in &rows {
        let item = match status.reblog_of_id {
            Some(original) => match originals.get(&original) {
                Some(original) => super::activities::announce(app, status, original).await?,
                None => continue,
            },
            None => super::activities::create_note(app, status).await?,
        };
        items.push(item);
    }
    Ok(items)
}

/// A Note's `replies`: a `Collection` at `{note_id}/replies` with its first
/// page embedded (as Mastodon embeds it).
pub async fn replies_collection(
    app: &App,
    status: &DbStatus,
    note_id: &str,
) -> Result<Value, Internal> {
    let id = format!("{note_id}/replies");
    let first = replies_page(app, status, &id, None).await?;
    Ok(json!({ "id": id, "type": "Collection", "first": first }))
}

/// One page of the public and unlisted replies to `status`, oldest first,
/// after `min_id`.
pub async fn replies_page(
    app: &App,
    status: &DbStatus,
    collection_id: &str,
    min_id: Option<i64>,
) -> Result<Value, Internal> {
    let page = Page {
        max_id: None,
        since_id: None,
        min_id: Some(min_id.unwrap_or(0)),
        limit: PAGE_SIZE,
    };
    let mut rows = app.store().public_replies(status.id, page).await?;
    rows.sort_by_key(|s| s.id);
    let next = match rows.last() {
        Some(last) if rows.len() as i64 == PAGE_SIZE => {
            Some(format!("{collection_id}?min_id={}&page=true", last.id))
        }
        _ => None,
    };
    let this = match min_id {
        Some(min) => format!("{collection_id}?min_id={min}&page=true"),
        None => format!("{collection_id}?page=true"),
    };
    Ok(json!({
        "id": this,
        "type": "CollectionPage",
        "partOf": collection_id,
        "items": status_uris(app, &rows).await?,
        "next": next,
    }))
}

/// The ActivityPub ids of statuses (stored for remote ones, derived for
/// ours), with one account query for the lot.
async fn status_uris(app: &App, rows: &[DbStatus]) -> Result<Vec<String>, Internal> {
    let authors: Vec<i64> = rows
        .iter()
        .filter(|s| s.uri.is_none())
        .map(|s| s.account_id)
        .collect();
    let names: HashMap<i64, String> = app
        .store()
        .accounts(&authors)
        .await?
        .into_iter()
        .map(|a| (a.id, a.username))
        .collect();
    Ok(rows
        .iter()
        .filter_map(|s| match &s.uri {
            Some(uri) => Some(uri.clone()),
            None => names
                .get(&s.account_id)
                .map(|name| app.urls().path(&format!("/users/{name}/statuses/{}", s.id))),
        })
        .collect())
}

/// The local status `id` written (or boosted) by `author`, if `viewer` (the
/// account that signed the request, None for an anonymous one) may see it.
pub async fn dereference(
    app: &App,
    author: &DbAccount,
    id: i64,
    viewer: Option<i64>,
) -> Result<Option<DbStatus>, Internal> {
    let Some(status) = app
        .store()
        .status(id)
        .await?
        .filter(|s| s.local && s.account_id == author.id)
    else {
        return Ok(None);
    };
    Ok(super::visibility::visible(app, viewer, vec![status])
        .await?
        .pop())
}
