//! Our statuses as ActivityPub `Note`s and `Create` activities, addressed by
//! visibility as Mastodon addresses them.

use serde_json::{Value, json};
use starling_protocol::activitystreams::{AS_CONTEXT, PUBLIC};
use starling_protocol::datetime::iso8601_seconds;

use crate::app::App;
use crate::error::Internal;
use crate::store::statuses::DbStatus;

/// The ActivityPub id of a status: stored for remote ones, derived for ours.
pub async fn status_uri(app: &App, status: &DbStatus) -> Result<String, Internal> {
    if let Some(uri) = &status.uri {
        return Ok(uri.clone());
    }
    let author = app
        .store()
        .account(status.account_id)
        .await?
        .map(|a| a.username)
        .unwrap_or_default();
    Ok(app
        .urls()
        .path(&format!("/users/{author}/statuses/{}", status.id)))
}

/// The actor URI of an account: stored for remote ones, derived for ours.
async fn actor_uri(app: &App, account_id: i64) -> Result<Option<String>, Internal> {
    if let Some((uri, _)) = app.store().remote_inboxes(account_id).await? {
        return Ok(Some(uri));
    }
    Ok(app
        .store()
        .account(account_id)
        .await?
        .map(|a| app.urls().actor(&a.username)))
}

/// The remote inboxes a local status goes to, as Mastodon reaches them: its
/// author's remote followers (unless direct), the mentioned remote accounts,
/// and, for a public or unlisted reply, the replied-to remote author even when
/// not mentioned (so their server counts the reply and shows it in the
/// thread). One entry per inbox (shared where known).
pub async fn audience_inboxes(app: &App, status: &DbStatus) -> Result<Vec<String>, Internal> {
    let mut inboxes = if status.visibility == "direct" {
        Vec::new()
    } else {
        app.store()
            .remote_follower_inboxes(status.account_id)
            .await?
    };
    let mut reached = app
        .store()
        .mentions_of(&[status.id])
        .await?
        .remove(&status.id)
        .unwrap_or_default();
    if matches!(status.visibility.as_str(), "public" | "unlisted") {
        reached.extend(status.in_reply_to_account_id);
    }
    for account in reached {
        if let Some((_, i)) = app.store().remote_inboxes(account).await? {
            inboxes.push(i.shared_inbox_url.unwrap_or(i.inbox_url));
        }
    }
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

/// The `@context` of our Notes and the activities carrying them.
fn note_context() -> Value {
    json!([AS_CONTEXT, { "sensitive": "as:sensitive", "Hashtag": "as:Hashtag" }])
}

/// The `Note` of a local status, with `to`/`cc` by visibility and the first
/// page of its `replies`: what a Create carries and what its id serves.
pub async fn note(app: &App, status: &DbStatus) -> Result<Value, Internal> {
    let author = app
        .store()
        .account(status.account_id)
        .await?
        .ok_or_else(|| Internal::Job(format!("status {} has no author", status.id)))?;
    let actor = app.urls().actor(&author.username);
    let followers = app.urls().actor_part(&author.username, "followers");
    let id = status_uri(app, status).await?;
    let mentions = app
        .store()
        .mentions_of(&[status.id])
        .await?
        .remove(&status.id)
        .unwrap_or_default();
    let mut mentioned = Vec::new();
    let mut tags = Vec::new();
    for a in app.store().accounts(&mentions).await? {
        let uri = match &a.domain {
            None => app.urls().actor(&a.username),
            Some(_) => match actor_uri(app, a.id).await? {
                Some(uri) => uri,
                None => continue,
            },
        };
        let domain = a.domain.unwrap_or_else(|| app.config().domain.clone());
        tags.push(
            json!({ "type": "Mention", "href": uri, "name": format!("@{}@{domain}", a.username) }),
        );
        mentioned.push(Value::String(uri));
    }
    for name in app
        .store()
        .tags_of(&[status.id])
        .await?
        .remove(&status.id)
        .unwrap_or_default()
    {
        tags.push(json!({ "type": "Hashtag", "href": super::present::tag_url(app, &name), "name": format!("#{name}") }));
    }
    let (to, mut cc): (Vec<Value>, Vec<Value>) = match status.visibility.as_str() {
        "public" => (vec![json!(PUBLIC)], vec![json!(followers)]),
        "unlisted" => (vec![json!(followers)], vec![json!(PUBLIC)]),
        "private" => (vec![json!(followers)], Vec::new()),
        _ => (mentioned.clone(), Vec::new()),
    };
    if status.visibility != "direct" {
        cc.extend(mentioned);
    }
    let in_reply_to = match status.in_reply_to_id {
        Some(parent) => match app.store().status(parent).await? {
            Some(p) => Some(status_uri(app, &p).await?),
            None => None,
        },
        None => None,
    };
    let replies = super::collections::replies_collection(app, status, &id).await?;
    Ok(json!({
        "id": id,
        "type": "Note",
        "attributedTo": actor,
        "content": status.content,
        "published": iso8601_seconds(status.created_at),
        "updated": status.edited_at.map(iso8601_seconds),
        "url": format!("{}/{}", app.urls().profile(&author.username), status.id),
        "to": to,
        "cc": cc,
        "sensitive": status.sensitive,
        "summary": if status.spoiler_text.is_empty() { Value::Null } else { json!(status.spoiler_text) },
        "inReplyTo": in_reply_to,
        "tag": tags,
        "replies": replies,
    }))
}

/// A local Note as a document of its own (with `@context`).
pub async fn note_document(app: &App, status: &DbStatus) -> Result<Value, Internal> {
    let mut note = note(app, status).await?;
    note["@context"] = note_context();
    Ok(note)
}

/// `Create(Note)` for a local status, at `{note id}/activity`.
pub async fn create_note(app: &App, status: &DbStatus) -> Result<Value, Internal> {
    let note = note(app, status).await?;
    let actor = note["attributedTo"].clone();
    Ok(json!({
        "@context": note_context(),
        "id": format!("{}/activity", note["id"].as_str().unwrap_or_default()),
        "type": "Create",
        "actor": actor,
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }))
}

/// `Announce` for a local boost, at `/users/{name}/statuses/{boost id}/activity`
/// (Mastodon's form, so it is dereferenceable): public boosts to Public with
/// the booster's followers and the author in `cc`, others the reverse.
pub async fn announce(app: &App, boost: &DbStatus, original: &DbStatus) -> Result<Value, Internal> {
    let booster = app
        .store()
        .account(boost.account_id)
        .await?
        .ok_or_else(|| Internal::Job(format!("boost {} has no author", boost.id)))?;
    let actor = app.urls().actor(&booster.username);
    let followers = app.urls().actor_part(&booster.username, "followers");
    let author = actor_uri(app, original.account_id).await?;
    let (to, mut cc) = if boost.visibility == "public" {
        (vec![json!(PUBLIC)], vec![json!(followers)])
    } else {
        (vec![json!(followers)], vec![json!(PUBLIC)])
    };
    cc.extend(author.map(Value::String));
    Ok(json!({
        "@context": AS_CONTEXT,
        "id": app.urls().path(&format!("/users/{}/statuses/{}/activity", booster.username, boost.id)),
        "type": "Announce",
        "actor": actor,
        "published": iso8601_seconds(boost.created_at),
        "to": to,
        "cc": cc,
        "object": status_uri(app, original).await?,
    }))
}

/// Tells a remote author about a local boost of their status (`Announce`),
/// or that it was taken back (`Undo(Announce)`, naming the same Announce id).
pub async fn deliver_announce(
    app: &App,
    boost: &DbStatus,
    original: &DbStatus,
    undo: bool,
) -> Result<(), Internal> {
    if original.local {
        return Ok(());
    }
    let Some((_, inboxes)) = app.store().remote_inboxes(original.account_id).await? else {
        return Ok(());
    };
    let announce = announce(app, boost, original).await?;
    let activity = if undo {
        json!({
            "@context": AS_CONTEXT,
            "id": format!("{}#undo/{}", announce["id"].as_str().unwrap_or_default(), app.ids().next()),
            "type": "Undo",
            "actor": announce["actor"],
            "to": announce["to"],
            "cc": announce["cc"],
            "object": announce,
        })
    } else {
        announce
    };
    super::deliver::enqueue(app, boost.account_id, &inboxes.inbox_url, &activity).await
}

/// A remote object's `published` as its `created_at` (ms): the author's
/// time, as Mastodon shows it, but never in the future (a wrong clock must
/// not pin a post to the top of a thread or a profile); `now` when missing
/// or unreadable. The row's id stays the arrival time's Snowflake, so
/// timelines paged by id never gain entries below a page already read.
pub fn published_at(published: &Value, now: i64) -> i64 {
    published
        .as_str()
        .and_then(starling_protocol::datetime::parse_iso8601)
        .map_or(now, |at| at.min(now))
}

/// Plain text of remote HTML: tags dropped, paragraphs and breaks kept as
/// newlines, the five basic entities decoded. Kept as a remote status's
/// `text`; what is shown (`content`) is the HTML through
/// [`super::sanitize::remote_html`].
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        if tag.starts_with("br") {
            out.push('\n');
        } else if tag == "/p" {
            out.push_str("\n\n");
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn remote_html_becomes_inert_text() {
        assert_eq!(
            html_to_text("<p>Hello <b>world</b></p><p>two<br>lines</p>"),
            "Hello world\n\ntwo\nlines"
        );
        assert_eq!(
            html_to_text("<script>alert(1)</script>&lt;b&gt; &amp;"),
            "alert(1)<b> &"
        );
        assert_eq!(html_to_text("broken <a href=\"x\""), "broken");
    }
}
