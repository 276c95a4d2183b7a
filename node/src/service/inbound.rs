//! Applying verified inbound activities (the `inbox` job). The inbox already
//! proved who sent each one; this decides what it means.
//!
//! Follows, notes, likes and boosts are handled here; what concerns whole
//! accounts (`Update`/`Delete` of an actor, `Block`) in `service::people`.
//! Everything else is kept in `inbox_activities` and ignored.

use serde_json::{Value, json};

use crate::app::App;
use crate::error::Internal;
use crate::service::statuses::notify_once;
use crate::store::social::Relation;
use crate::urls::origin_of;

/// Runs one `inbox` job.
pub async fn run(app: &App, row_id: i64) -> Result<(), Internal> {
    let Some(body) = app.store().inbox_activity(row_id).await? else {
        return Ok(());
    };
    let Ok(activity) = serde_json::from_str::<Value>(&body) else {
        return Ok(());
    };
    let actor = id_of(&activity["actor"]);
    match activity["type"].as_str() {
        Some("Follow") => follow(app, &actor, &activity).await,
        Some("Accept") => accepted(app, &actor, &activity["object"]).await,
        Some("Reject") => rejected(app, &actor, &activity["object"]).await,
        Some("Create") => created(app, &actor, &activity["object"]).await,
        Some("Like") => liked(app, &actor, &id_of(&activity["object"]), true).await,
        Some("Delete") if id_of(&activity["object"]) == actor => {
            crate::service::people::remote_deleted(app, &actor).await
        }
        Some("Delete") => deleted(app, &actor, &id_of(&activity["object"])).await,
        Some("Update") if id_of(&activity["object"]) == actor => {
            crate::service::people::remote_updated(app, &actor, &activity["object"]).await
        }
        Some("Update") => updated(app, &actor, &activity["object"]).await,
        Some("Block") => {
            let target = local_target(app, &id_of(&activity["object"])).await?;
            crate::service::people::remote_blocked(app, &actor, target, true).await
        }
        Some("Undo") if activity["object"]["type"] == "Block" => {
            // Only the block's own actor may undo it.
            if id_of(&activity["object"]["actor"]) != actor {
                return Ok(());
            }
            let target = local_target(app, &id_of(&activity["object"]["object"])).await?;
            crate::service::people::remote_blocked(app, &actor, target, false).await
        }
        Some("Announce") => announced(app, &actor, &activity).await,
        Some("Undo") if activity["object"]["type"] == "Like" => {
            if id_of(&activity["object"]["actor"]) != actor {
                return Ok(());
            }
            liked(app, &actor, &id_of(&activity["object"]["object"]), false).await
        }
        Some("Undo") if activity["object"]["type"] == "Announce" => {
            if id_of(&activity["object"]["actor"]) != actor {
                return Ok(());
            }
            unannounced(app, &actor, &id_of(&activity["object"])).await
        }
        Some("Undo") if activity["object"]["type"] == "Follow" => {
            // Only the follow's own actor may undo it.
            if id_of(&activity["object"]["actor"]) != actor {
                return Ok(());
            }
            unfollow(app, &actor, &id_of(&activity["object"]["object"])).await
        }
        _ => Ok(()),
    }
}

/// An object's id, whether given as a string or embedded.
pub(crate) fn id_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// The values of a property that may hold one or many. JSON-LD compaction
/// (Fedify's output) writes a one-element array as the bare value, so a
/// single `Mention` arrives as `"tag": {…}`, not `"tag": [{…}]`.
fn one_or_many(value: &Value) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Null => &[],
        one => std::slice::from_ref(one),
    };
    items.iter()
}

/// The local account an actor URL of ours names.
pub(crate) async fn local_target(app: &App, uri: &str) -> Result<Option<i64>, Internal> {
    let prefix = app.urls().actor("");
    let Some(name) = uri
        .strip_prefix(&prefix)
        .filter(|n| !n.is_empty() && !n.contains('/'))
    else {
        return Ok(None);
    };
    Ok(app
        .store()
        .local_account_by_username(name)
        .await?
        .map(|a| a.id))
}

async fn follow(app: &App, actor: &str, activity: &Value) -> Result<(), Internal> {
    let Some(target) = local_target(app, &id_of(&activity["object"])).await? else {
        return Ok(());
    };
    let Some(follower) = app.store().remote_inboxes_by_uri(actor).await? else {
        return Ok(());
    };
    let target_account = app.store().account(target).await?;
    let locked = target_account.as_ref().is_some_and(|a| a.locked);
    if locked {
        if app
            .store()
            .relate(
                Relation::FollowRequest,
                app.ids().next(),
                follower.account_id,
                target,
            )
            .await?
        {
            notify_once(app, target, follower.account_id, "follow_request", None).await?;
        }
        // The answer names this Follow (a repeat replaces an older id).
        let follow_id = id_of(activity);
        if !follow_id.is_empty() {
            app.store()
                .set_follow_request_uri(follower.account_id, target, &follow_id)
                .await?;
        }
        return Ok(());
    }
    if app
        .store()
        .relate(
            Relation::Follow,
            app.ids().next(),
            follower.account_id,
            target,
        )
        .await?
    {
        notify_once(app, target, follower.account_id, "follow", None).await?;
    }
    // Accept (again, if this is a repeat: the follower may have missed it).
    let Some(username) = target_account.map(|a| a.username) else {
        return Ok(());
    };
    let me = app.urls().actor(&username);
    let accept = json!({
        "@context": starling_protocol::activitystreams::AS_CONTEXT,
        "id": format!("{me}#accepts/follows/{}", app.ids().next()),
        "type": "Accept",
        "actor": me,
        "object": activity,
    });
    crate::service::deliver::enqueue(app, target, &follower.inbox_url, &accept).await
}

async fn unfollow(app: &App, actor: &str, object: &str) -> Result<(), Internal> {
    let (Some(target), Some(follower)) = (
        local_target(app, object).await?,
        app.store().remote_inboxes_by_uri(actor).await?,
    ) else {
        return Ok(());
    };
    app.store()
        .unrelate(Relation::Follow, follower.account_id, target)
        .await?;
    app.store()
        .unrelate(Relation::FollowRequest, follower.account_id, target)
        .await?;
    Ok(())
}

/// The local follower and the remote account (`actor`, who answers) of a
/// Follow that is being accepted or rejected; None when either is unknown.
async fn answered_follow(
    app: &App,
    actor: &str,
    follow: &Value,
) -> Result<Option<(i64, i64)>, Internal> {
    let Some(target) = app.store().remote_inboxes_by_uri(actor).await? else {
        return Ok(None);
    };
    // The Follow may come embedded or as its id (`{me}#follows/{target}`).
    let follower_uri = match follow {
        Value::Object(_) => id_of(&follow["actor"]),
        Value::String(id) => id.split('#').next().unwrap_or_default().to_owned(),
        _ => return Ok(None),
    };
    Ok(local_target(app, &follower_uri)
        .await?
        .map(|follower| (follower, target.account_id)))
}

/// `Accept(Follow)`: our follow request to `actor` took effect.
async fn accepted(app: &App, actor: &str, follow: &Value) -> Result<(), Internal> {
    if let Some((follower, target)) = answered_follow(app, actor, follow).await? {
        app.store()
            .accept_follow_request(app.ids().next(), follower, target)
            .await?;
    }
    Ok(())
}

/// `Reject(Follow)`: `actor` turned our request down (or, as Mastodon does
/// when it removes a follower, ended an accepted follow).
async fn rejected(app: &App, actor: &str, follow: &Value) -> Result<(), Internal> {
    if let Some((follower, target)) = answered_follow(app, actor, follow).await? {
        app.store()
            .unrelate(Relation::FollowRequest, follower, target)
            .await?;
        app.store()
            .unrelate(Relation::Follow, follower, target)
            .await?;
        app.store().unmerge_home(follower, target).await?;
    }
    Ok(())
}

/// `Create(Note)` (and Article, Page, Question shown as statuses).
async fn created(app: &App, actor: &str, object: &Value) -> Result<(), Internal> {
    let object_id = id_of(object);
    if object_id.is_empty() {
        return Ok(());
    }
    // An embedded object from another origin is not trusted as sent: fetch it
    // from where it lives (Mastodon CVE-2024-23832).
    let note = if object.is_object() && origin_of(&object_id) == origin_of(actor) {
        object.clone()
    } else {
        match app.fetcher().fetch_object(&object_id).await {
            Ok(fetched) => fetched,
            Err(e) => {
                tracing::info!(error = %e, "could not fetch a created object");
                return Ok(());
            }
        }
    };
    // Only the author's own server may create the author's posts.
    if author_of(&note) != actor {
        return Ok(());
    }
    store_note(app, &note).await.map(|_| ())
}

/// Whether an object is one of the types shown as statuses.
pub(crate) fn is_note(object: &Value) -> bool {
    matches!(
        object["type"].as_str(),
        Some("Note" | "Article" | "Page" | "Question")
    )
}

/// The author (`attributedTo`) of a note, as an actor id.
pub(crate) fn author_of(note: &Value) -> String {
    match &note["attributedTo"] {
        // Some servers list several attributions; the first actor wins.
        Value::Array(items) => items.first().map(id_of).unwrap_or_default(),
        other => id_of(other),
    }
}

/// Stores a note as a remote status, the one path for every way a note
/// arrives (a delivered `Create`, a search by URL, a fetched ancestor). The
/// caller vouches that `note` came from its own origin (embedded in an
/// activity from there, or fetched from its id); this checks the rest: a type
/// shown as a status, an author already stored and on the note's origin, not
/// deleted. Returns the stored status (the existing one if it was already
/// there), or None when refused.
pub(crate) async fn store_note(
    app: &App,
    note: &Value,
) -> Result<Option<crate::store::statuses::DbStatus>, Internal> {
    let object_id = id_of(note);
    let actor = author_of(note);
    if object_id.is_empty()
        || !is_note(note)
        || origin_of(&object_id).is_none()
        || origin_of(&object_id) != origin_of(&actor)
        || origin_of(&object_id) == origin_of(app.urls().base())
    {
        return Ok(None);
    }
    if let Some(existing) = app.store().status_by_uri(&object_id).await? {
        return Ok(Some(existing));
    }
    if app.store().is_tombstoned(&object_id).await? {
        return Ok(None);
    }
    let Some(author) = app.store().remote_inboxes_by_uri(&actor).await? else {
        return Ok(None);
    };
    let addressed = |field: &str| -> Vec<String> { one_or_many(&note[field]).map(id_of).collect() };
    let (to, cc) = (addressed("to"), addressed("cc"));
    let public = starling_protocol::activitystreams::PUBLIC;
    let is_public = |list: &[String]| {
        list.iter()
            .any(|a| a == public || a == "as:Public" || a == "Public")
    };
    let followers_only = to
        .iter()
        .chain(cc.iter())
        .any(|a| a.ends_with("/followers"));
    let visibility = if is_public(&to) {
        "public"
    } else if is_public(&cc) {
        "unlisted"
    } else if followers_only {
        "private"
    } else {
        "direct"
    };
    let mut mentions = Vec::new();
    for tag in one_or_many(&note["tag"]).filter(|t| t["type"] == "Mention") {
        if let Some(local) = local_target(app, &id_of(&tag["href"])).await? {
            mentions.push(local);
        }
    }
    let parent_uri = Some(id_of(&note["inReplyTo"])).filter(|u| !u.is_empty());
    let parent = match &parent_uri {
        Some(uri) => known_status(app, uri).await?,
        None => None,
    };
    // A parent whose own ancestors wait for this note would close a loop.
    let parent = match parent {
        Some(p) if closes_loop(app, &p, &object_id).await? => None,
        other => other,
    };
    let html = note["content"].as_str().unwrap_or_default();
    let text = crate::service::activities::html_to_text(html);
    let content = crate::service::sanitize::remote_html(html);
    let now = crate::store::now_ms();
    let status = crate::store::statuses::DbStatus {
        id: app.ids().next(),
        account_id: author.account_id,
        uri: Some(object_id.clone()),
        url: note["url"].as_str().map(str::to_owned),
        local: false,
        in_reply_to_id: parent.as_ref().map(|p| p.id),
        in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
        in_reply_to_uri: parent_uri,
        text,
        content,
        spoiler_text: note["summary"].as_str().unwrap_or_default().to_owned(),
        sensitive: note["sensitive"].as_bool().unwrap_or(false),
        visibility: visibility.to_owned(),
        created_at: crate::service::activities::published_at(&note["published"], now),
        ..Default::default()
    };
    let new = crate::store::statuses::NewStatus {
        status,
        mentions,
        tags: Vec::new(),
        tag_ids: Vec::new(),
        idempotency_key: None,
        job_id: app.ids().next(),
    };
    match app.store().insert_status(&new).await {
        Ok(id) => {
            app.jobs_enqueued();
            // A Delete handled concurrently may have missed the row: the
            // tombstone is written before it looks, so checking after the
            // insert closes the race.
            if app.store().is_tombstoned(&object_id).await? {
                app.store().delete_status(id).await?;
                return Ok(None);
            }
            Ok(app.store().status(id).await?)
        }
        // Two copies arriving at once: the other one won.
        Err(crate::store::StoreError::Database(e))
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            Ok(app.store().status_by_uri(&object_id).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether `parent` or one of its stored ancestors is a reply waiting for
/// `uri` (a reply loop: linking both ways would make the thread endless).
async fn closes_loop(
    app: &App,
    parent: &crate::store::statuses::DbStatus,
    uri: &str,
) -> Result<bool, Internal> {
    let mut current = Some(parent.clone());
    for _ in 0..64 {
        let Some(s) = current else {
            return Ok(false);
        };
        if s.uri.as_deref() == Some(uri) || s.in_reply_to_uri.as_deref() == Some(uri) {
            return Ok(true);
        }
        current = match s.in_reply_to_id {
            Some(id) => app.store().status(id).await?,
            None => None,
        };
    }
    // Deeper than any thread we fetch: treat as a loop rather than walk on.
    Ok(true)
}

/// One of our own statuses, by its ActivityPub id.
pub(crate) async fn local_status(
    app: &App,
    uri: &str,
) -> Result<Option<crate::store::statuses::DbStatus>, Internal> {
    let Some(rest) = uri.strip_prefix(&app.urls().path("/users/")) else {
        return Ok(None);
    };
    let id = rest.rsplit('/').next().and_then(|s| s.parse::<i64>().ok());
    match id {
        Some(id) => Ok(app.store().status(id).await?.filter(|s| s.local)),
        None => Ok(None),
    }
}

/// A status we know by its ActivityPub id: ours or a stored remote one.
pub(crate) async fn known_status(
    app: &App,
    uri: &str,
) -> Result<Option<crate::store::statuses::DbStatus>, Internal> {
    Ok(match app.store().status_by_uri(uri).await? {
        Some(s) => Some(s),
        None => local_status(app, uri).await?,
    })
}

/// `Like` / `Undo(Like)` of a status we know.
async fn liked(app: &App, actor: &str, object: &str, on: bool) -> Result<(), Internal> {
    let (Some(liker), Some(status)) = (
        app.store().remote_inboxes_by_uri(actor).await?,
        known_status(app, object).await?,
    ) else {
        return Ok(());
    };
    use crate::store::feeds::Mark;
    if on {
        if app
            .store()
            .mark(
                Mark::Favourite,
                app.ids().next(),
                liker.account_id,
                status.id,
            )
            .await?
        {
            notify_once(
                app,
                status.account_id,
                liker.account_id,
                "favourite",
                Some(status.id),
            )
            .await?;
        }
    } else if app
        .store()
        .unmark(Mark::Favourite, liker.account_id, status.id)
        .await?
    {
        app.store()
            .unnotify(
                status.account_id,
                liker.account_id,
                "favourite",
                Some(status.id),
            )
            .await?;
    }
    Ok(())
}

/// `Announce` of a status we know (a boost).
async fn announced(app: &App, actor: &str, activity: &Value) -> Result<(), Internal> {
    let id = id_of(activity);
    if origin_of(&id) != origin_of(actor) || app.store().status_by_uri(&id).await?.is_some() {
        return Ok(());
    }
    let (Some(booster), Some(original)) = (
        app.store().remote_inboxes_by_uri(actor).await?,
        known_status(app, &id_of(&activity["object"])).await?,
    ) else {
        return Ok(());
    };
    if !matches!(original.visibility.as_str(), "public" | "unlisted") {
        return Ok(());
    }
    let boost = crate::store::statuses::DbStatus {
        id: app.ids().next(),
        account_id: booster.account_id,
        uri: Some(id),
        local: false,
        reblog_of_id: Some(original.id),
        visibility: original.visibility.clone(),
        created_at: crate::service::activities::published_at(
            &activity["published"],
            crate::store::now_ms(),
        ),
        ..Default::default()
    };
    let new = crate::store::statuses::NewStatus {
        status: boost,
        mentions: Vec::new(),
        tags: Vec::new(),
        tag_ids: Vec::new(),
        idempotency_key: None,
        job_id: app.ids().next(),
    };
    app.store().insert_status(&new).await?;
    app.jobs_enqueued();
    notify_once(
        app,
        original.account_id,
        booster.account_id,
        "reblog",
        Some(original.id),
    )
    .await
}

/// `Undo(Announce)`: the boost goes, with its notification.
async fn unannounced(app: &App, actor: &str, announce_id: &str) -> Result<(), Internal> {
    let Some(boost) = app.store().status_by_uri(announce_id).await? else {
        return Ok(());
    };
    let Some(booster) = app.store().remote_inboxes_by_uri(actor).await? else {
        return Ok(());
    };
    if boost.account_id != booster.account_id {
        return Ok(());
    }
    crate::service::statuses::remove(app, &boost).await?;
    if let Some(original) = boost.reblog_of_id
        && let Some(o) = app.store().status(original).await?
    {
        app.store()
            .unnotify(o.account_id, booster.account_id, "reblog", Some(o.id))
            .await?;
    }
    Ok(())
}

/// `Delete` of an object: only its author's own server may delete it. A
/// tombstone keeps a late `Create` from bringing it back.
async fn deleted(app: &App, actor: &str, object: &str) -> Result<(), Internal> {
    if object.is_empty() || origin_of(object) != origin_of(actor) || object == actor {
        // An actor deleting itself is `people::remote_deleted`.
        return Ok(());
    }
    let Some(author) = app.store().remote_inboxes_by_uri(actor).await? else {
        return Ok(());
    };
    app.store().add_tombstone(object, actor).await?;
    if let Some(status) = app.store().status_by_uri(object).await?
        && status.account_id == author.account_id
    {
        crate::service::statuses::remove(app, &status).await?;
    }
    Ok(())
}

/// `Update(Note)`: new text for a status, by its author only.
async fn updated(app: &App, actor: &str, object: &Value) -> Result<(), Internal> {
    let object_id = id_of(object);
    if !object.is_object()
        || origin_of(&object_id) != origin_of(actor)
        || author_of(object) != actor
    {
        return Ok(());
    }
    let (Some(author), Some(status)) = (
        app.store().remote_inboxes_by_uri(actor).await?,
        app.store().status_by_uri(&object_id).await?,
    ) else {
        return Ok(());
    };
    if status.account_id != author.account_id {
        return Ok(());
    }
    let html = object["content"].as_str().unwrap_or_default();
    let text = crate::service::activities::html_to_text(html);
    let content = crate::service::sanitize::remote_html(html);
    let spoiler = object["summary"].as_str().unwrap_or_default();
    let sensitive = object["sensitive"].as_bool().unwrap_or(false);
    app.store()
        .edit_status(
            status.id,
            [app.ids().next(), app.ids().next()],
            &text,
            &content,
            spoiler,
            sensitive,
        )
        .await?;
    crate::stream::publish(app, crate::stream::Event::Edited { id: status.id }).await;
    Ok(())
}
