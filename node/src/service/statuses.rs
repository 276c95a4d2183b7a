//! Posting, editing, deleting and interacting with statuses, and the fan-out
//! job that fills home feeds.

use starling_protocol::mastodon::Visibility;
use starling_protocol::text::{MentionRef, ResolvedMention};

use super::present::{tag_url, visibility_name};
use super::visibility::visible_one;
use super::{ServiceError, status_not_found};
use crate::app::App;
use crate::error::Internal;
use crate::store::accounts::DbAccount;
use crate::store::feeds::{DbNotification, Mark};
use crate::store::now_ms;
use crate::store::statuses::{DbStatus, NewStatus};

/// The longest status, in characters (Mastodon's default).
pub const MAX_CHARS: usize = 500;

/// A new post as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct PostRequest {
    /// The text.
    pub text: String,
    /// Parent status.
    pub in_reply_to_id: Option<i64>,
    /// Content warning.
    pub spoiler_text: String,
    /// Sensitive flag.
    pub sensitive: bool,
    /// Visibility (default public).
    pub visibility: Option<Visibility>,
    /// Language code.
    pub language: Option<String>,
    /// `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The posting app.
    pub application_id: Option<i64>,
}

/// Mentions in `text` that name accounts we know, keyed as written.
async fn resolve_mentions(app: &App, text: &str) -> Result<Vec<(MentionRef, DbAccount)>, Internal> {
    let parsed = starling_protocol::text::parse(text);
    let ours = app.config().domain.to_ascii_lowercase();
    let mut out = Vec::new();
    for m in parsed.mentions {
        let domain = m.domain.as_deref().filter(|d| *d != ours);
        if let Some(account) = app.store().account_by_acct(&m.username, domain).await? {
            out.push((m, account));
        }
    }
    Ok(out)
}

/// Renders text with resolved mentions and hashtag links.
async fn render(app: &App, text: &str) -> Result<(String, Vec<i64>, Vec<String>), Internal> {
    let resolved = resolve_mentions(app, text).await?;
    let html = starling_protocol::text::render(
        text,
        |m| {
            resolved
                .iter()
                .find(|(r, _)| r == m)
                .map(|(_, a)| ResolvedMention {
                    username: a.username.clone(),
                    domain: a.domain.clone(),
                    url: super::present::profile_url(app, a),
                })
        },
        |tag| tag_url(app, tag),
    );
    let mut mentions: Vec<i64> = resolved.iter().map(|(_, a)| a.id).collect();
    mentions.dedup();
    let tags = starling_protocol::text::parse(text).tags;
    Ok((html, mentions, tags))
}

fn check_text(text: &str, spoiler: &str) -> Result<(), ServiceError> {
    if text.trim().is_empty() {
        return Err(ServiceError::Invalid(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    if text.chars().count() + spoiler.chars().count() > MAX_CHARS {
        return Err(ServiceError::Invalid(format!(
            "Validation failed: Text character limit of {MAX_CHARS} exceeded"
        )));
    }
    Ok(())
}

/// Posts a status for `author`. Commits the status and its fan-out job in one
/// transaction; the job fills followers' home feeds and sends notifications.
pub async fn post(app: &App, author: i64, req: PostRequest) -> Result<DbStatus, ServiceError> {
    check_text(&req.text, &req.spoiler_text)?;
    let parent = match req.in_reply_to_id {
        Some(id) => Some(
            visible_one(app, Some(author), id)
                .await?
                .ok_or_else(status_not_found)?,
        ),
        None => None,
    };
    let (content, mentions, tags) = render(app, &req.text).await?;
    let now = now_ms();
    let status = DbStatus {
        id: app.ids().next(),
        account_id: author,
        uri: None,
        url: None,
        local: true,
        in_reply_to_id: parent.as_ref().map(|p| p.id),
        in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
        reblog_of_id: None,
        text: req.text.clone(),
        content,
        spoiler_text: req.spoiler_text.trim().to_owned(),
        sensitive: req.sensitive || !req.spoiler_text.trim().is_empty(),
        visibility: visibility_name(req.visibility.unwrap_or(Visibility::Public)).to_owned(),
        language: req.language.filter(|l| !l.is_empty()),
        created_at: now,
        edited_at: None,
        application_id: req.application_id,
        ..DbStatus::default()
    };
    let new = NewStatus {
        tag_ids: tags.iter().map(|_| app.ids().next()).collect(),
        mentions,
        tags,
        idempotency_key: req.idempotency_key.filter(|k| !k.is_empty()),
        job_id: app.ids().next(),
        status,
    };
    let id = app.store().insert_status(&new).await?;
    app.jobs_enqueued();
    app.store().status(id).await?.ok_or_else(status_not_found)
}

/// The `fanout` job: home feeds of local followers (and, for direct posts,
/// of the mentioned), plus mention notifications. Idempotent.
pub async fn fan_out(app: &App, status_id: i64) -> Result<(), Internal> {
    let Some(status) = app.store().status(status_id).await? else {
        return Ok(());
    };
    let mentions = app
        .store()
        .mentions_of(&[status.id])
        .await?
        .remove(&status.id)
        .unwrap_or_default();
    let direct = status.visibility == "direct";
    let extra: Vec<i64> = if direct { mentions.clone() } else { Vec::new() };
    // Big accounts are merged in at read time (see `home_timeline` below).
    let big = app
        .store()
        .account(status.account_id)
        .await?
        .is_some_and(|a| a.followers_count > app.config().fanout_threshold);
    app.store()
        .fan_out(
            status.id,
            status.account_id,
            !direct && !big,
            status.reblog_of_id.is_some(),
            &extra,
        )
        .await?;
    // Home feeds are filled: open streams may show it (each decides per viewer).
    crate::stream::publish(app, crate::stream::Event::Status { id: status.id }).await;
    // Our own posts also travel to remote followers and mentioned remote
    // accounts: one delivery per inbox (shared where known).
    if status.local && status.reblog_of_id.is_none() {
        let inboxes = crate::service::activities::audience_inboxes(app, &status).await?;
        if !inboxes.is_empty() {
            let create = crate::service::activities::create_note(app, &status).await?;
            crate::service::deliver::enqueue_all(app, status.account_id, &inboxes, &create).await?;
        }
    }
    // Direct messages land in each local participant's conversations.
    crate::service::conversations::record(app, &status).await?;
    if status.reblog_of_id.is_none() {
        for account in mentions.iter().filter(|a| **a != status.account_id) {
            notify_once(app, *account, status.account_id, "mention", Some(status.id)).await?;
        }
        // Followers who asked to be told of new posts ("notify" on the follow).
        if !direct && status.in_reply_to_id.is_none() {
            for follower in app.store().notifying_followers(status.account_id).await? {
                notify_once(app, follower, status.account_id, "status", Some(status.id)).await?;
            }
        }
    }
    Ok(())
}

/// Records a notification unless the recipient blocks or mutes the sender, or
/// the same one exists (jobs may run twice).
pub async fn notify_once(
    app: &App,
    to: i64,
    from: i64,
    kind: &str,
    status_id: Option<i64>,
) -> Result<(), Internal> {
    if to == from {
        return Ok(());
    }
    if app.store().hides(to, from).await? {
        return Ok(());
    }
    // Remove then insert: a retried job leaves exactly one.
    app.store().unnotify(to, from, kind, status_id).await?;
    let id = app.ids().next();
    app.store()
        .notify(&DbNotification {
            id,
            account_id: to,
            from_account_id: from,
            kind: kind.to_owned(),
            status_id,
            created_at: now_ms(),
        })
        .await?;
    crate::stream::publish(app, crate::stream::Event::Notification { account: to, id }).await;
    Ok(())
}

/// The caller's own status, or 404 if invisible / 403 if someone else's.
async fn own(app: &App, account: i64, id: i64) -> Result<DbStatus, ServiceError> {
    let status = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    if status.account_id != account {
        return Err(ServiceError::Forbidden("This action is not allowed".into()));
    }
    Ok(status)
}

/// Deletes the caller's status; returns it as it was.
pub async fn delete(app: &App, account: i64, id: i64) -> Result<DbStatus, ServiceError> {
    let status = own(app, account, id).await?;
    remove(app, &status).await?;
    federate_change(app, &status, "Delete").await?;
    Ok(status)
}

/// Deletes a status (local or remote) with the boosts of it, and tells open
/// streams to drop each of them: a boost shows on timelines under its own id.
pub async fn remove(app: &App, status: &DbStatus) -> Result<(), Internal> {
    let boosts = app.store().delete_status(status.id).await?;
    crate::stream::deleted(app, status).await;
    for boost in boosts {
        let event = crate::stream::Event::Deleted {
            id: boost.id,
            author: boost.account_id,
            visibility: boost.visibility,
        };
        crate::stream::publish(app, event).await;
    }
    Ok(())
}

/// Edits the caller's status (text, content warning, sensitivity).
pub async fn edit(
    app: &App,
    account: i64,
    id: i64,
    text: String,
    spoiler_text: String,
    sensitive: bool,
) -> Result<DbStatus, ServiceError> {
    let status = own(app, account, id).await?;
    if status.reblog_of_id.is_some() {
        return Err(ServiceError::Forbidden("A boost cannot be edited".into()));
    }
    check_text(&text, &spoiler_text)?;
    let (content, _, _) = render(app, &text).await?;
    let sensitive = sensitive || !spoiler_text.trim().is_empty();
    app.store()
        .edit_status(
            status.id,
            [app.ids().next(), app.ids().next()],
            &text,
            &content,
            spoiler_text.trim(),
            sensitive,
        )
        .await?;
    if let Some(edited) = app.store().status(status.id).await? {
        federate_change(app, &edited, "Update").await?;
    }
    crate::stream::publish(app, crate::stream::Event::Edited { id: status.id }).await;
    // Those who boosted it hear about the edit, as on Mastodon.
    let page = crate::store::sql::Page {
        limit: 10_000,
        ..Default::default()
    };
    for (_, booster) in app.store().reblogging_accounts(status.id, page).await? {
        notify_once(app, booster, account, "update", Some(status.id)).await?;
    }
    app.store()
        .status(status.id)
        .await?
        .ok_or_else(status_not_found)
}

/// Favourites a status (idempotent) and notifies its author.
pub async fn favourite(app: &App, account: i64, id: i64) -> Result<DbStatus, ServiceError> {
    let status = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    let target = status.reblog_of_id.unwrap_or(status.id);
    let status = visible_one(app, Some(account), target)
        .await?
        .ok_or_else(status_not_found)?;
    if app
        .store()
        .mark(Mark::Favourite, app.ids().next(), account, status.id)
        .await?
    {
        notify_once(
            app,
            status.account_id,
            account,
            "favourite",
            Some(status.id),
        )
        .await?;
        tell_author(app, account, &status, "Like", None).await?;
    }
    // Read again: the counters changed.
    app.store()
        .status(status.id)
        .await?
        .ok_or_else(status_not_found)
}

/// Removes a favourite and its notification.
pub async fn unfavourite(app: &App, account: i64, id: i64) -> Result<DbStatus, ServiceError> {
    let status = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    if app
        .store()
        .unmark(Mark::Favourite, account, status.id)
        .await?
    {
        app.store()
            .unnotify(status.account_id, account, "favourite", Some(status.id))
            .await?;
        tell_author(app, account, &status, "Like", Some("Undo")).await?;
    }
    app.store()
        .status(status.id)
        .await?
        .ok_or_else(status_not_found)
}

/// Bookmarks or pins (`mark`) a status; pins only the caller's own public,
/// unlisted or followers-only statuses.
pub async fn set_mark(
    app: &App,
    account: i64,
    id: i64,
    mark: Mark,
    on: bool,
) -> Result<DbStatus, ServiceError> {
    let status = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    if mark == Mark::Pin && on {
        if status.account_id != account || status.reblog_of_id.is_some() {
            return Err(ServiceError::Invalid(
                "Validation failed: You can only pin your own posts".into(),
            ));
        }
        if status.visibility == "direct" {
            return Err(ServiceError::Invalid(
                "Validation failed: Direct posts cannot be pinned".into(),
            ));
        }
    }
    if on {
        app.store()
            .mark(mark, app.ids().next(), account, status.id)
            .await?;
    } else {
        app.store().unmark(mark, account, status.id).await?;
    }
    Ok(status)
}

/// Boosts a status (idempotent): returns the boost.
pub async fn reblog(
    app: &App,
    account: i64,
    id: i64,
    visibility: Option<Visibility>,
) -> Result<DbStatus, ServiceError> {
    let original = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    let original = match original.reblog_of_id {
        Some(inner) => visible_one(app, Some(account), inner)
            .await?
            .ok_or_else(status_not_found)?,
        None => original,
    };
    let allowed = match original.visibility.as_str() {
        "public" | "unlisted" => true,
        "private" => original.account_id == account,
        _ => false,
    };
    if !allowed {
        return Err(ServiceError::Forbidden("This action is not allowed".into()));
    }
    if let Some(existing) = app.store().reblog_by(account, original.id).await? {
        return Ok(existing);
    }
    let visibility = match (original.visibility.as_str(), visibility) {
        ("private", _) => "private".to_owned(),
        (_, Some(v)) if v != Visibility::Direct => visibility_name(v).to_owned(),
        (v, _) => v.to_owned(),
    };
    let boost = DbStatus {
        id: app.ids().next(),
        account_id: account,
        uri: None,
        url: None,
        local: true,
        in_reply_to_id: None,
        in_reply_to_account_id: None,
        reblog_of_id: Some(original.id),
        text: String::new(),
        content: String::new(),
        spoiler_text: String::new(),
        sensitive: false,
        visibility,
        language: None,
        created_at: now_ms(),
        edited_at: None,
        application_id: None,
        ..DbStatus::default()
    };
    let new = NewStatus {
        status: boost,
        mentions: Vec::new(),
        tags: Vec::new(),
        tag_ids: Vec::new(),
        idempotency_key: None,
        job_id: app.ids().next(),
    };
    let id = app.store().insert_status(&new).await?;
    app.jobs_enqueued();
    let stored = app.store().status(id).await?.ok_or_else(status_not_found)?;
    crate::service::activities::deliver_announce(app, &stored, &original, false).await?;
    // The notification points at the boosted status, as Mastodon's does.
    notify_once(
        app,
        original.account_id,
        account,
        "reblog",
        Some(original.id),
    )
    .await?;
    Ok(stored)
}

/// Undoes a boost; returns the original.
pub async fn unreblog(app: &App, account: i64, id: i64) -> Result<DbStatus, ServiceError> {
    let original = visible_one(app, Some(account), id)
        .await?
        .ok_or_else(status_not_found)?;
    if let Some(boost) = app.store().reblog_by(account, original.id).await? {
        remove(app, &boost).await?;
        crate::service::activities::deliver_announce(app, &boost, &original, true).await?;
        app.store()
            .unnotify(original.account_id, account, "reblog", Some(original.id))
            .await?;
    }
    app.store()
        .status(original.id)
        .await?
        .ok_or_else(status_not_found)
}

/// A home timeline page: the fanned-out feed, merged with recent posts of
/// followed accounts too big to fan out to (DESIGN.md "Home timelines"),
/// with the viewer's flags and context read alongside (and the access token
/// `confirm_token` confirmed in the same read, see
/// [`Store::home_page`](crate::store::Store::home_page)).
pub async fn home_timeline(
    app: &App,
    viewer: i64,
    page: crate::store::sql::Page,
    confirm_token: Option<i64>,
) -> Result<crate::store::feeds::HomePage, Internal> {
    let mut home = app
        .store()
        .home_page(viewer, app.config().fanout_threshold, page, confirm_token)
        .await?;
    if home.token_refused || home.context.big_followed.is_empty() {
        return Ok(home);
    }
    let merged = app
        .store()
        .big_account_statuses(&home.context.big_followed, page)
        .await?;
    let rows = &mut home.statuses;
    rows.extend(merged);
    rows.sort_by_key(|s| std::cmp::Reverse(s.id));
    rows.dedup_by_key(|s| s.id);
    if page.reverses() {
        // min_id pages hold the oldest entries above the cursor.
        rows.reverse();
        rows.truncate(page.limit as usize);
        rows.reverse();
    } else {
        rows.truncate(page.limit as usize);
    }
    Ok(home)
}

/// Tells a remote author's server about a like or boost of their status
/// (`undo`: `Some("Undo")` wraps it). Local authors need nothing sent.
async fn tell_author(
    app: &App,
    account: i64,
    status: &DbStatus,
    kind: &str,
    undo: Option<&str>,
) -> Result<(), Internal> {
    if status.local {
        return Ok(());
    }
    let Some((_, inboxes)) = app.store().remote_inboxes(status.account_id).await? else {
        return Ok(());
    };
    let Some(me) = app
        .store()
        .account(account)
        .await?
        .map(|a| app.urls().actor(&a.username))
    else {
        return Ok(());
    };
    let object = crate::service::activities::status_uri(app, status).await?;
    let inner = serde_json::json!({
        "id": format!("{me}#{}/{}", kind.to_lowercase(), status.id),
        "type": kind,
        "actor": me,
        "object": object,
        "to": [starling_protocol::activitystreams::PUBLIC],
    });
    let activity = match undo {
        Some(wrapper) => serde_json::json!({
            "@context": starling_protocol::activitystreams::AS_CONTEXT,
            "id": format!("{me}#{}/{}/undo/{}", kind.to_lowercase(), status.id, app.ids().next()),
            "type": wrapper,
            "actor": me,
            "object": inner,
        }),
        None => {
            let mut a = inner;
            a["@context"] = serde_json::json!(starling_protocol::activitystreams::AS_CONTEXT);
            a
        }
    };
    crate::service::deliver::enqueue(app, account, &inboxes.inbox_url, &activity).await
}

/// Sends `Delete` (a Tombstone) or `Update` (the Note) of one of our posts to
/// every server that received it: remote followers (unless direct) and the
/// mentioned.
async fn federate_change(app: &App, status: &DbStatus, kind: &str) -> Result<(), Internal> {
    if !status.local || status.reblog_of_id.is_some() {
        return Ok(());
    }
    let mut inboxes = crate::service::activities::audience_inboxes(app, status).await?;
    // Servers whose users boosted, liked or answered a public post hold a
    // copy of it too (as Mastodon's reach for edits and deletes).
    if matches!(status.visibility.as_str(), "public" | "unlisted") {
        inboxes.extend(app.store().interacted_inboxes(status.id).await?);
        inboxes.sort();
        inboxes.dedup();
    }
    if inboxes.is_empty() {
        return Ok(());
    }
    let create = crate::service::activities::create_note(app, status).await?;
    let uri = create["object"]["id"].clone();
    let activity = match kind {
        "Delete" => serde_json::json!({
            "@context": starling_protocol::activitystreams::AS_CONTEXT,
            "id": format!("{}#delete", uri.as_str().unwrap_or_default()),
            "type": "Delete",
            "actor": create["actor"],
            "to": [starling_protocol::activitystreams::PUBLIC],
            "object": { "id": uri, "type": "Tombstone" },
        }),
        _ => serde_json::json!({
            "@context": create["@context"],
            "id": format!("{}#updates/{}", uri.as_str().unwrap_or_default(), app.ids().next()),
            "type": "Update",
            "actor": create["actor"],
            "to": create["to"],
            "cc": create["cc"],
            "object": create["object"],
        }),
    };
    crate::service::deliver::enqueue_all(app, status.account_id, &inboxes, &activity).await
}
