//! Accounts across servers. Going out: our actor documents, `Update(Person)`
//! when a profile changes, `Delete(Person)` when an admin deletes a user.
//! Coming in: a remote actor's `Update(Person)` (the profile refreshed),
//! `Delete(Person)` (the account and its posts removed) and
//! `Block`/`Undo(Block)` of one of our users.

use serde_json::{Value, json};
use starling_protocol::activitystreams::{
    Actor, Endpoints, Image, PUBLIC, PropertyValue, PublicKey, actor_context,
};
use starling_protocol::datetime::iso8601_seconds;

use super::ServiceError;
use crate::app::App;
use crate::error::Internal;
use crate::store::accounts::DbAccount;
use crate::store::social::Relation;
use crate::urls::origin_of;

/// The ActivityPub actor document of a local account (None without a key).
pub async fn actor_document(app: &App, account: &DbAccount) -> Result<Option<Actor>, Internal> {
    let Some(keys) = app.store().account_keys(account.id).await? else {
        return Ok(None);
    };
    let urls = app.urls();
    let name = &account.username;
    let id = urls.actor(name);
    let image = |url: String| Image {
        kind: "Image".into(),
        media_type: None,
        url,
    };
    // Local bios and field values are plain text; ActivityPub wants HTML.
    let attachment = serde_json::from_str::<Vec<Value>>(&account.fields)
        .unwrap_or_default()
        .iter()
        .map(|f| PropertyValue {
            kind: "PropertyValue".into(),
            name: f["name"].as_str().unwrap_or_default().to_owned(),
            value: super::present::render_plain(app, f["value"].as_str().unwrap_or_default()),
        })
        .collect();
    Ok(Some(Actor {
        context: actor_context(),
        id: id.clone(),
        kind: if account.bot { "Service" } else { "Person" }.into(),
        preferred_username: name.clone(),
        name: account.display_name.clone(),
        summary: super::present::render_plain(app, &account.note),
        url: urls.profile(name),
        published: iso8601_seconds(account.created_at),
        inbox: urls.actor_part(name, "inbox"),
        outbox: urls.actor_part(name, "outbox"),
        followers: urls.actor_part(name, "followers"),
        following: urls.actor_part(name, "following"),
        featured: Some(urls.actor_part(name, "collections/featured")),
        endpoints: Endpoints {
            shared_inbox: Some(urls.shared_inbox()),
        },
        manually_approves_followers: account.locked,
        discoverable: account.discoverable,
        indexable: account.discoverable,
        public_key: PublicKey {
            id: urls.actor_key(name),
            owner: id,
            public_key_pem: keys.public_key_pem,
        },
        icon: account.avatar_url.clone().map(image),
        image: account.header_url.clone().map(image),
        attachment,
    }))
}

/// Enqueues `activity` by `account_id` to each inbox; returns how many.
async fn send_all(
    app: &App,
    account_id: i64,
    inboxes: &[String],
    activity: &Value,
) -> Result<usize, Internal> {
    super::deliver::enqueue_all(app, account_id, inboxes, activity).await?;
    Ok(inboxes.len())
}

/// `Update(Person)` with the current actor document, to the inboxes of the
/// account's remote followers (after `update_credentials`).
pub async fn profile_changed(app: &App, account_id: i64) -> Result<(), Internal> {
    let Some(account) = app.store().account(account_id).await? else {
        return Ok(());
    };
    if account.domain.is_some() {
        return Ok(());
    }
    let Some(document) = actor_document(app, &account).await? else {
        return Ok(());
    };
    let actor = app.urls().actor(&account.username);
    let update = json!({
        "@context": document.context.clone(),
        "id": format!("{actor}#updates/{}", app.ids().next()),
        "type": "Update",
        "actor": actor,
        "to": [PUBLIC],
        "object": document,
    });
    let inboxes = app.store().remote_follower_inboxes(account_id).await?;
    send_all(app, account_id, &inboxes, &update).await?;
    Ok(())
}

/// Deletes a local user (`starling admin delete-user`): `Delete(Person)` is
/// queued for the inboxes of its remote followers and of the remote accounts
/// it follows, then its posts, relations and sign-in data go. The account
/// row stays, marked deleted (its actor answers 410 Gone), so the username
/// stays reserved and the deliveries can still be signed. Returns how many
/// inboxes will be told.
pub async fn delete_local_user(app: &App, username: &str) -> Result<usize, ServiceError> {
    let account = app
        .store()
        .local_account_by_username(username)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no local user {username}")))?;
    let actor = app.urls().actor(&account.username);
    let delete = json!({
        "@context": starling_protocol::activitystreams::AS_CONTEXT,
        "id": format!("{actor}#delete"),
        "type": "Delete",
        "actor": actor,
        "to": [PUBLIC],
        "object": actor,
    });
    let mut inboxes = app.store().remote_follower_inboxes(account.id).await?;
    inboxes.extend(app.store().remote_following_inboxes(account.id).await?);
    inboxes.sort();
    inboxes.dedup();
    // Queued before the relations that name the audience are gone; a crash in
    // between leaves the user in place, and running the command again is safe
    // (receivers dedupe the Delete by its id).
    let told = send_all(app, account.id, &inboxes, &delete).await?;
    app.store().retire_local_account(account.id).await?;
    Ok(told)
}

/// Incoming `Update` of an actor: only the actor itself, and only its own
/// document. An embedded document with the actor's id is used as sent (the
/// signature and the same-origin id vouch for it); anything else is fetched
/// from the actor's URL through the safe fetcher.
pub async fn remote_updated(app: &App, actor: &str, object: &Value) -> Result<(), Internal> {
    if app.store().remote_inboxes_by_uri(actor).await?.is_none() {
        return Ok(());
    }
    let embedded = object
        .is_object()
        .then_some(object)
        .filter(|o| o["id"].as_str() == Some(actor) && origin_of(actor).is_some());
    if let Err(e) = super::remote::refresh_actor(app, actor, embedded).await {
        tracing::info!(actor, error = %e, "could not refresh an updated actor");
    }
    Ok(())
}

/// Incoming `Delete` of an actor by itself: the account, its posts, boosts,
/// favourites and follows go, and its id is tombstoned so that nothing brings
/// it back.
pub async fn remote_deleted(app: &App, actor: &str) -> Result<(), Internal> {
    app.store().tombstone_actor(actor).await?;
    if let Some(account) = app.store().remote_inboxes_by_uri(actor).await? {
        app.store().purge_remote_account(account.account_id).await?;
    }
    Ok(())
}

/// Incoming `Block` (on) or `Undo(Block)` (off) of a local account by `actor`.
/// A block ends follows both ways and takes each side's posts out of the
/// other's home feed; the visibility rules then keep the blocker's posts
/// from the blocked user.
pub async fn remote_blocked(
    app: &App,
    actor: &str,
    local: Option<i64>,
    on: bool,
) -> Result<(), Internal> {
    let (Some(blocker), Some(target)) = (app.store().remote_inboxes_by_uri(actor).await?, local)
    else {
        return Ok(());
    };
    if on {
        super::follows::apply_block(app, blocker.account_id, target).await?;
    } else {
        app.store()
            .unrelate(Relation::Block, blocker.account_id, target)
            .await?;
    }
    Ok(())
}
