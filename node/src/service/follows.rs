//! Following (with requests for locked accounts), blocking and muting.

use serde_json::json;
use starling_protocol::activitystreams::AS_CONTEXT;

use super::ServiceError;
use super::statuses::notify_once;
use crate::app::App;
use crate::error::Internal;
use crate::store::social::Relation;

/// A local account's actor URL.
async fn local_actor(app: &App, account: i64) -> Result<String, ServiceError> {
    let a = app
        .store()
        .account(account)
        .await?
        .ok_or_else(|| ServiceError::NotFound("Record not found".into()))?;
    Ok(app.urls().actor(&a.username))
}

fn not_allowed() -> ServiceError {
    ServiceError::Forbidden("This action is not allowed".into())
}

/// Follows `target` (or asks to, if it is locked). Idempotent; `reblogs` and
/// `notify` update an existing follow.
pub async fn follow(
    app: &App,
    account: i64,
    target: i64,
    reblogs: Option<bool>,
    notify: Option<bool>,
) -> Result<(), ServiceError> {
    if account == target {
        return Err(not_allowed());
    }
    let target_account = app
        .store()
        .account(target)
        .await?
        .ok_or_else(|| ServiceError::NotFound("Record not found".into()))?;
    let sets = app.store().relation_sets(account, &[target]).await?;
    if sets.blocking.contains(&target) || sets.blocked_by.contains(&target) {
        return Err(not_allowed());
    }
    if sets.following.contains(&target) {
        app.store()
            .set_follow_options(
                account,
                target,
                reblogs.unwrap_or(!sets.hiding_reblogs.contains(&target)),
                notify.unwrap_or(sets.notifying.contains(&target)),
            )
            .await?;
        return Ok(());
    }
    if target_account.domain.is_some() {
        // Remote: a request until their server Accepts.
        if let Some((uri, inboxes)) = app.store().remote_inboxes(target).await? {
            app.store()
                .relate(Relation::FollowRequest, app.ids().next(), account, target)
                .await?;
            let me = local_actor(app, account).await?;
            let follow = json!({
                "@context": AS_CONTEXT,
                "id": format!("{me}#follows/{target}"),
                "type": "Follow",
                "actor": me,
                "object": uri,
            });
            crate::service::deliver::enqueue(app, account, &inboxes.inbox_url, &follow).await?;
        }
        return Ok(());
    }
    if target_account.locked {
        if app
            .store()
            .relate(Relation::FollowRequest, app.ids().next(), account, target)
            .await?
        {
            notify_once(app, target, account, "follow_request", None).await?;
        }
        return Ok(());
    }
    if app
        .store()
        .relate(Relation::Follow, app.ids().next(), account, target)
        .await?
    {
        notify_once(app, target, account, "follow", None).await?;
    }
    if reblogs.is_some() || notify.is_some() {
        app.store()
            .set_follow_options(
                account,
                target,
                reblogs.unwrap_or(true),
                notify.unwrap_or(false),
            )
            .await?;
    }
    Ok(())
}

/// Stops following (or withdraws the request) and drops the target's posts
/// from the home feed.
pub async fn unfollow(app: &App, account: i64, target: i64) -> Result<(), ServiceError> {
    if let Some((uri, inboxes)) = app.store().remote_inboxes(target).await? {
        let me = local_actor(app, account).await?;
        let undo = json!({
            "@context": AS_CONTEXT,
            "id": format!("{me}#follows/{target}/undo/{}", app.ids().next()),
            "type": "Undo",
            "actor": me,
            "object": { "id": format!("{me}#follows/{target}"), "type": "Follow", "actor": me, "object": uri },
        });
        crate::service::deliver::enqueue(app, account, &inboxes.inbox_url, &undo).await?;
    }
    app.store()
        .unrelate(Relation::Follow, account, target)
        .await?;
    app.store()
        .unrelate(Relation::FollowRequest, account, target)
        .await?;
    app.store().unmerge_home(account, target).await?;
    Ok(())
}

/// Tells a remote `requester`'s server that `account` answered its follow
/// request: `Accept` or `Reject` of the Follow (by its recorded id, embedded
/// as Mastodon sends it). Nothing for local requesters.
async fn answer_remote_request(
    app: &App,
    account: i64,
    requester: i64,
    kind: &str,
    follow_uri: Option<String>,
) -> Result<(), ServiceError> {
    let Some((requester_uri, inboxes)) = app.store().remote_inboxes(requester).await? else {
        return Ok(());
    };
    let me = local_actor(app, account).await?;
    let mut follow = json!({ "type": "Follow", "actor": requester_uri, "object": me });
    if let Some(uri) = follow_uri {
        follow["id"] = json!(uri);
    }
    let answer = json!({
        "@context": AS_CONTEXT,
        "id": format!("{me}#{}/follows/{}", kind.to_lowercase(), app.ids().next()),
        "type": kind,
        "actor": me,
        "object": follow,
    });
    crate::service::deliver::enqueue(app, account, &inboxes.inbox_url, &answer).await?;
    Ok(())
}

/// Accepts a follow request from `requester` to `account`; a remote
/// requester's server gets `Accept(Follow)`.
pub async fn authorize(app: &App, account: i64, requester: i64) -> Result<(), ServiceError> {
    let follow_uri = app.store().follow_request_uri(requester, account).await?;
    if !app
        .store()
        .accept_follow_request(app.ids().next(), requester, account)
        .await?
    {
        return Err(ServiceError::NotFound("Record not found".into()));
    }
    app.store()
        .unnotify(account, requester, "follow_request", None)
        .await?;
    notify_once(app, account, requester, "follow", None).await?;
    answer_remote_request(app, account, requester, "Accept", follow_uri).await
}

/// Rejects a follow request; a remote requester's server gets
/// `Reject(Follow)`.
pub async fn reject(app: &App, account: i64, requester: i64) -> Result<(), ServiceError> {
    let follow_uri = app.store().follow_request_uri(requester, account).await?;
    if !app
        .store()
        .unrelate(Relation::FollowRequest, requester, account)
        .await?
    {
        return Err(ServiceError::NotFound("Record not found".into()));
    }
    app.store()
        .unnotify(account, requester, "follow_request", None)
        .await?;
    answer_remote_request(app, account, requester, "Reject", follow_uri).await
}

/// Blocks `target`: follows both ways end. A remote target's server is
/// told with `Block` (it ends the follows on its side too).
pub async fn block(app: &App, account: i64, target: i64) -> Result<(), ServiceError> {
    if account == target {
        return Err(not_allowed());
    }
    let new = apply_block(app, account, target).await?;
    if new && let Some((uri, inboxes)) = app.store().remote_inboxes(target).await? {
        let me = local_actor(app, account).await?;
        crate::service::deliver::enqueue(
            app,
            account,
            &inboxes.inbox_url,
            &block_activity(&me, &uri, target),
        )
        .await?;
    }
    Ok(())
}

/// The `Block` of `target` (actor `uri`) by `me`. Its id is stable, so the
/// `Undo` can name it.
fn block_activity(me: &str, uri: &str, target: i64) -> serde_json::Value {
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{me}#blocks/{target}"),
        "type": "Block",
        "actor": me,
        "object": uri,
    })
}

/// Records that `account` blocks `target`, ends follows both ways and takes
/// each one's posts out of the other's home feed. Returns whether the block
/// is new.
pub async fn apply_block(app: &App, account: i64, target: i64) -> Result<bool, Internal> {
    let new = app
        .store()
        .relate(Relation::Block, app.ids().next(), account, target)
        .await?;
    app.store().sever(account, target).await?;
    app.store().unmerge_home(account, target).await?;
    app.store().unmerge_home(target, account).await?;
    Ok(new)
}

/// Unblocks `target`; a remote target's server gets `Undo(Block)`.
pub async fn unblock(app: &App, account: i64, target: i64) -> Result<(), ServiceError> {
    if app
        .store()
        .unrelate(Relation::Block, account, target)
        .await?
        && let Some((uri, inboxes)) = app.store().remote_inboxes(target).await?
    {
        let me = local_actor(app, account).await?;
        let undo = json!({
            "@context": AS_CONTEXT,
            "id": format!("{me}#blocks/{target}/undo/{}", app.ids().next()),
            "type": "Undo",
            "actor": me,
            "object": block_activity(&me, &uri, target),
        });
        crate::service::deliver::enqueue(app, account, &inboxes.inbox_url, &undo).await?;
    }
    Ok(())
}

/// Mutes `target`.
pub async fn mute(app: &App, account: i64, target: i64) -> Result<(), ServiceError> {
    if account == target {
        return Err(not_allowed());
    }
    app.store()
        .relate(Relation::Mute, app.ids().next(), account, target)
        .await?;
    Ok(())
}
