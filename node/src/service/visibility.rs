//! Who may see a status. One rule set, applied in batches everywhere a status
//! is shown: single fetches, threads, account pages, timelines.
//!
//! - the author always sees their own statuses;
//! - nobody sees statuses of an author who blocks them (or whom they block);
//! - `public` and `unlisted`: everyone else;
//! - `private` (followers-only): followers and mentioned accounts;
//! - `direct`: mentioned accounts only.
//!
//! A boost is visible when both the boost and its original are.

use std::collections::{HashMap, HashSet};

use crate::app::App;
use crate::error::Internal;
use crate::store::statuses::DbStatus;

/// The subset of `rows` that `viewer` may see, in order.
pub async fn visible(
    app: &App,
    viewer: Option<i64>,
    rows: Vec<DbStatus>,
) -> Result<Vec<DbStatus>, Internal> {
    if rows.is_empty() {
        return Ok(rows);
    }
    let store = app.store();
    let originals = boosted(app, &rows).await?;
    let original_by_id: HashMap<i64, &DbStatus> = originals.iter().map(|s| (s.id, s)).collect();
    let mut all: Vec<&DbStatus> = rows.iter().collect();
    all.extend(originals.iter());
    let restricted: Vec<i64> = all
        .iter()
        .filter(|s| s.visibility == "private" || s.visibility == "direct")
        .map(|s| s.id)
        .collect();
    let mentions = store.mentions_of(&restricted).await?;
    let authors: Vec<i64> = all
        .iter()
        .map(|s| s.account_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let (following, hidden) = match viewer {
        Some(v) => {
            let sets = store.relation_sets(v, &authors).await?;
            let hidden: HashSet<i64> = sets.blocked_by.union(&sets.blocking).copied().collect();
            (sets.following, hidden)
        }
        None => (HashSet::new(), HashSet::new()),
    };
    let sees = |s: &DbStatus| -> bool {
        if viewer == Some(s.account_id) {
            return true;
        }
        if hidden.contains(&s.account_id) {
            return false;
        }
        let mentioned =
            || viewer.is_some_and(|v| mentions.get(&s.id).is_some_and(|m| m.contains(&v)));
        match s.visibility.as_str() {
            "public" | "unlisted" => true,
            "private" => following.contains(&s.account_id) || mentioned(),
            _ => mentioned(),
        }
    };
    Ok(rows
        .into_iter()
        .filter(|s| {
            sees(s)
                && match s.reblog_of_id {
                    Some(id) => original_by_id.get(&id).is_some_and(|o| sees(o)),
                    None => true,
                }
        })
        .collect())
}

/// One status if `viewer` may see it.
pub async fn visible_one(
    app: &App,
    viewer: Option<i64>,
    id: i64,
) -> Result<Option<DbStatus>, Internal> {
    let Some(status) = app.store().status(id).await? else {
        return Ok(None);
    };
    Ok(visible(app, viewer, vec![status]).await?.pop())
}

/// Drops statuses whose author (or boosted author) is in `hidden` (the
/// viewer's [`ViewerContext`](crate::store::social::ViewerContext)): for
/// timelines.
pub async fn without_hidden_authors(
    app: &App,
    hidden: &HashSet<i64>,
    rows: Vec<DbStatus>,
) -> Result<Vec<DbStatus>, Internal> {
    if hidden.is_empty() {
        return Ok(rows);
    }
    let originals = boosted(app, &rows).await?;
    let original_author: HashMap<i64, i64> =
        originals.iter().map(|s| (s.id, s.account_id)).collect();
    Ok(rows
        .into_iter()
        .filter(|s| {
            !hidden.contains(&s.account_id)
                && s.reblog_of_id
                    .and_then(|id| original_author.get(&id))
                    .is_none_or(|a| !hidden.contains(a))
        })
        .collect())
}

/// The originals of the boosts among `rows`.
async fn boosted(app: &App, rows: &[DbStatus]) -> Result<Vec<DbStatus>, Internal> {
    let ids: Vec<i64> = rows.iter().filter_map(|s| s.reblog_of_id).collect();
    Ok(app.store().statuses(&ids).await?)
}
