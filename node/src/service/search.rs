//! `/api/v2/search`: accounts by handle or name prefix, hashtags by name
//! prefix, accounts and statuses by URL; with `resolve`, remote accounts and
//! statuses are fetched (WebFinger, actor and note documents) and stored.
//!
//! Full-text search of statuses is deliberately absent: Mastodon offers it
//! only with Elasticsearch, and answers an empty `statuses` list without it.

use crate::app::App;
use crate::error::Internal;
use crate::service::lookup::{self, Found};
use crate::store::search::AccountQuery;
use crate::store::statuses::DbStatus;

/// Which kind of result a search asks for (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `accounts`.
    Accounts,
    /// `statuses`.
    Statuses,
    /// `hashtags`.
    Hashtags,
}

/// A search as the client asked for it, already validated.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query, trimmed, not empty.
    pub q: String,
    /// Only this kind (`None`: all of them).
    pub kind: Option<Kind>,
    /// Fetch what is not known yet (needs a signed-in viewer).
    pub resolve: bool,
    /// Results per kind.
    pub limit: i64,
    /// Results to skip (only with a `kind`, as Mastodon).
    pub offset: i64,
    /// Only accounts the viewer follows.
    pub following: bool,
    /// Only statuses by this account.
    pub account_id: Option<i64>,
    /// The signed-in user.
    pub viewer: Option<i64>,
}

/// A hashtag result: a stored tag, or the name searched for when it is a
/// valid hashtag nobody used yet (as Mastodon offers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagHit {
    /// Tag id when stored.
    pub id: Option<i64>,
    /// Name without `#`.
    pub name: String,
}

/// What a search found, before presenting (statuses not yet filtered for
/// the viewer's eyes).
#[derive(Debug, Default)]
pub struct SearchResults {
    /// Account ids, best match first.
    pub accounts: Vec<i64>,
    /// Statuses.
    pub statuses: Vec<DbStatus>,
    /// Hashtags.
    pub hashtags: Vec<TagHit>,
}

/// Runs a search.
pub async fn search(app: &App, req: &SearchRequest) -> Result<SearchResults, Internal> {
    let wants = |kind: Kind| req.kind.is_none_or(|k| k == kind);
    let mut out = SearchResults::default();
    if req.limit == 0 {
        return Ok(out);
    }
    if req.q.starts_with("https://") || req.q.starts_with("http://") {
        // A URL names one thing; it is the only result (and only on the
        // first page).
        if req.offset > 0 {
            return Ok(out);
        }
        let found = if req.resolve {
            lookup::resolve_url(app, &req.q).await?
        } else {
            lookup::known_url(app, &req.q).await?
        };
        match found {
            Some(Found::Account(id)) if wants(Kind::Accounts) => out.accounts.push(id),
            Some(Found::Status(s))
                if wants(Kind::Statuses) && req.account_id.is_none_or(|a| a == s.account_id) =>
            {
                out.statuses.push(*s)
            }
            _ => {}
        }
        return Ok(out);
    }
    if wants(Kind::Accounts) {
        out.accounts = accounts(app, req).await?;
    }
    if wants(Kind::Hashtags) {
        out.hashtags = hashtags(app, req).await?;
    }
    Ok(out)
}

/// `name`, `@name`, `name@domain` or `@name@domain`: a name prefix, local
/// only when the domain is ours, else on domains starting with the one given.
/// With `resolve`, an unknown `name@domain` is looked up with WebFinger.
async fn accounts(app: &App, req: &SearchRequest) -> Result<Vec<i64>, Internal> {
    let handle = req.q.strip_prefix('@').unwrap_or(&req.q);
    let (term, domain) = match handle.split_once('@') {
        Some((user, domain)) if domain.eq_ignore_ascii_case(&app.config().domain) => {
            (user, Some(None))
        }
        Some((user, domain)) => (user, Some(Some(domain))),
        None => (handle, None),
    };
    if term.is_empty() || (domain.is_some() && term.contains(char::is_whitespace)) {
        return Ok(Vec::new());
    }
    if req.resolve
        && req.offset == 0
        && let Some(Some(domain)) = domain
        && !domain.is_empty()
        && app
            .store()
            .account_by_acct(term, Some(domain))
            .await?
            .is_none()
        && let Err(e) = crate::service::remote::resolve_acct(app, term, domain).await
    {
        match e {
            crate::service::remote::KeyError::Internal(e) => return Err(e),
            other => tracing::info!(error = %other, "search: could not resolve an account"),
        }
    }
    Ok(app
        .store()
        .search_accounts(&AccountQuery {
            term,
            domain,
            viewer: req.viewer,
            following: req.following,
            limit: req.limit,
            offset: req.offset,
        })
        .await?)
}

/// Stored hashtags starting with the query (without `#`); on the first page
/// the query itself comes first when it is a valid hashtag.
async fn hashtags(app: &App, req: &SearchRequest) -> Result<Vec<TagHit>, Internal> {
    let term = req.q.strip_prefix('#').unwrap_or(&req.q);
    if term.is_empty() {
        return Ok(Vec::new());
    }
    let mut hits: Vec<TagHit> = app
        .store()
        .search_tags(term, req.limit, req.offset)
        .await?
        .into_iter()
        .map(|t| TagHit {
            id: Some(t.id),
            name: t.name,
        })
        .collect();
    let valid = starling_protocol::text::parse(&format!("#{term}")).tags == [term];
    let listed = hits.iter().any(|t| t.name.eq_ignore_ascii_case(term));
    if req.offset == 0 && valid && !listed {
        hits.insert(
            0,
            TagHit {
                id: None,
                name: term.to_owned(),
            },
        );
        hits.truncate(req.limit.max(0) as usize);
    }
    Ok(hits)
}
