//! Direct messages as conversations (`/api/v1/conversations`).
//!
//! The fan-out job of every direct status, local or received over federation,
//! calls [`record`]: the status joins its parent's conversation (or starts
//! one) and every local participant's row moves to it — unread for the
//! recipients, read for the author. Rows are per account: removing one hides
//! it from that account only, until a new message brings it back.

use std::collections::HashMap;

use starling_protocol::mastodon::Conversation;

use super::ServiceError;
use super::present::Presenter;
use super::visibility::visible;
use crate::app::App;
use crate::error::Internal;
use crate::store::conversations::{ConversationUpdate, DbAccountConversation};
use crate::store::now_ms;
use crate::store::sql::Page;
use crate::store::statuses::DbStatus;

/// How far up a thread [`record`] looks for the conversation to join.
const MAX_DEPTH: usize = 64;

/// Files a direct status in its conversation for each local participant
/// (author and mentioned accounts). Idempotent: the fan-out job may run twice.
pub async fn record(app: &App, status: &DbStatus) -> Result<(), Internal> {
    if status.visibility != "direct" || status.reblog_of_id.is_some() {
        return Ok(());
    }
    let conversation = thread_of(app, status).await?;
    let mut participants = app
        .store()
        .mentions_of(&[status.id])
        .await?
        .remove(&status.id)
        .unwrap_or_default();
    participants.push(status.account_id);
    participants.sort_unstable();
    participants.dedup();
    let local: Vec<i64> = app
        .store()
        .accounts(&participants)
        .await?
        .into_iter()
        .filter(|a| a.domain.is_none())
        .map(|a| a.id)
        .collect();
    for account in local {
        let author = account == status.account_id;
        // Someone who blocks or mutes the author does not hear from them.
        if !author && app.store().hides(account, status.account_id).await? {
            continue;
        }
        let update = ConversationUpdate {
            new_id: app.ids().next(),
            account_id: account,
            conversation_id: conversation,
            participants: participants
                .iter()
                .copied()
                .filter(|p| *p != account)
                .collect(),
            status_id: status.id,
            unread: !author,
        };
        let row = app.store().add_to_conversation(&update).await?;
        notify_conversation(app, account, row, status.id).await;
    }
    Ok(())
}

/// The conversation `status` belongs to: its own, else that of the nearest
/// direct ancestor that has one (placing the direct ancestors on the way, so
/// a reply filed before its parent's job ran still shares one thread), else
/// a new one.
async fn thread_of(app: &App, status: &DbStatus) -> Result<i64, Internal> {
    let store = app.store();
    if let Some(id) = store.conversation_of(status.id).await? {
        return Ok(id);
    }
    let mut chain = vec![status.id];
    let mut found = None;
    let mut parent = status.in_reply_to_id;
    while let Some(id) = parent {
        if chain.len() >= MAX_DEPTH {
            break;
        }
        if let Some(c) = store.conversation_of(id).await? {
            found = Some(c);
            break;
        }
        match store.status(id).await? {
            Some(p) if p.visibility == "direct" => {
                chain.push(p.id);
                parent = p.in_reply_to_id;
            }
            _ => break,
        }
    }
    Ok(store
        .place_in_conversation(&chain, found, app.ids().next(), now_ms())
        .await?)
}

/// A conversation changed for `account_id` (message `status_id` arrived in
/// its row `conversation_id`): the `conversation` event on their `direct`
/// stream, rendered with [`entity`].
async fn notify_conversation(app: &App, account_id: i64, conversation_id: i64, status_id: i64) {
    crate::stream::publish(
        app,
        crate::stream::Event::Conversation {
            account: account_id,
            conversation: conversation_id,
            status: status_id,
        },
    )
    .await;
}

/// The Conversation entity of one of `viewer`'s conversations (by the id
/// clients see), or None if it is not theirs.
pub async fn entity(
    app: &App,
    viewer: i64,
    conversation_id: i64,
) -> Result<Option<Conversation>, Internal> {
    let Some(row) = app
        .store()
        .account_conversation(viewer, conversation_id)
        .await?
    else {
        return Ok(None);
    };
    Ok(present(app, viewer, &[row]).await?.pop())
}

/// A page of `viewer`'s conversations, newest activity first, with the
/// cursors (`last_status_id`) for the `Link` header.
pub async fn list(
    app: &App,
    viewer: i64,
    page: Page,
) -> Result<(Vec<Conversation>, Vec<i64>), Internal> {
    let rows = app.store().account_conversations(viewer, page).await?;
    let cursors = rows.iter().filter_map(|r| r.last_status_id).collect();
    Ok((present(app, viewer, &rows).await?, cursors))
}

/// Marks one of `viewer`'s conversations read and returns it.
pub async fn mark_read(app: &App, viewer: i64, id: i64) -> Result<Conversation, ServiceError> {
    if !app.store().mark_conversation_read(viewer, id).await? {
        return Err(not_found());
    }
    entity(app, viewer, id).await?.ok_or_else(not_found)
}

/// Removes one of `viewer`'s conversations, for them only.
pub async fn remove(app: &App, viewer: i64, id: i64) -> Result<(), ServiceError> {
    if !app.store().remove_conversation(viewer, id).await? {
        return Err(not_found());
    }
    Ok(())
}

fn not_found() -> ServiceError {
    ServiceError::NotFound("Record not found".into())
}

/// Conversation entities for rows of one viewer, in order. A last status
/// the viewer may no longer see (its author blocked since) shows as null.
async fn present(
    app: &App,
    viewer: i64,
    rows: &[DbAccountConversation],
) -> Result<Vec<Conversation>, Internal> {
    let presenter = Presenter::new(app, Some(viewer));
    let status_ids: Vec<i64> = rows.iter().filter_map(|r| r.last_status_id).collect();
    let statuses = visible(app, Some(viewer), app.store().statuses(&status_ids).await?).await?;
    // The presenter may leave a status out (author gone): match by id.
    let by_id: HashMap<String, _> = presenter
        .statuses(&statuses)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut account_ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.participants.iter().copied())
        .collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let accounts = presenter.accounts(&account_ids).await?;
    Ok(rows
        .iter()
        .map(|r| Conversation {
            id: r.id.to_string(),
            unread: r.unread,
            accounts: r
                .participants
                .iter()
                .filter_map(|a| accounts.get(a).cloned())
                .collect(),
            last_status: r
                .last_status_id
                .and_then(|id| by_id.get(&id.to_string()).cloned()),
        })
        .collect())
}
