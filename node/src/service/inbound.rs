//! Applying verified inbound activities (the `inbox` job). The inbox already
//! proved who sent each one; this decides what it means.
//!
//! Handled so far: `Follow` of a local account (a follow, or a request for a
//! locked account, answered with `Accept` when it takes effect) and
//! `Undo(Follow)`. Everything else is kept in `inbox_activities` and ignored.

use serde_json::{Value, json};

use crate::app::App;
use crate::error::Internal;
use crate::service::statuses::notify_once;
use crate::store::social::Relation;

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
fn id_of(value: &Value) -> String {
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

/// The local account an actor URL of ours names.
async fn local_target(app: &App, uri: &str) -> Result<Option<i64>, Internal> {
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
