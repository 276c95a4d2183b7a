//! Which streams an [`Event`] belongs to, for one viewer, and its frames.
//!
//! Architecture invariant: a status reaches a stream only if the REST
//! timeline of the same name would show it to the same viewer right now.
//! Membership is asked of the very timeline queries (home with big-account
//! merging, public, hashtag, list) on a one-row page around the status id,
//! then `service::visibility`, hidden authors and filters run as in
//! `http/api/v1/timelines.rs`.

use starling_protocol::mastodon::Status;

use super::{Event, Heard};
use crate::app::App;
use crate::error::Internal;
use crate::service::oauth::Scopes;
use crate::service::present::Presenter;
use crate::service::visibility::{visible, without_hidden_authors};
use crate::store::sql::Page;
use crate::store::statuses::DbStatus;

/// One of Mastodon's stream names, with its parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `user`: home timeline, notifications, filter changes.
    User,
    /// `user:notification`: notifications only.
    UserNotification,
    /// `public`: all public statuses.
    Public,
    /// `public:local`.
    PublicLocal,
    /// `public:remote`.
    PublicRemote,
    /// `hashtag` with its tag.
    Hashtag(String),
    /// `hashtag:local` with its tag.
    HashtagLocal(String),
    /// `list` with the list id.
    List(i64),
    /// `direct`: conversations.
    Direct,
}

/// Why a stream cannot be opened; `status` is the HTTP status Mastodon uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 401, 403 or 404.
    pub status: u16,
    /// Mastodon's message.
    pub message: String,
}

fn refuse(status: u16, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.to_owned(),
    }
}

impl Stream {
    /// Parses a stream name and its `tag` or `list` parameter.
    pub fn parse(name: &str, tag: Option<&str>, list: Option<&str>) -> Result<Stream, Refusal> {
        let tag = || {
            tag.map(|t| t.trim_start_matches('#').to_owned())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| refuse(400, "No tag for stream provided"))
        };
        Ok(match name {
            "user" => Stream::User,
            "user:notification" => Stream::UserNotification,
            "public" => Stream::Public,
            "public:local" => Stream::PublicLocal,
            "public:remote" => Stream::PublicRemote,
            "hashtag" => Stream::Hashtag(tag()?),
            "hashtag:local" => Stream::HashtagLocal(tag()?),
            "list" => Stream::List(
                list.and_then(|l| l.parse().ok())
                    .ok_or_else(|| refuse(400, "No list for stream provided"))?,
            ),
            "direct" => Stream::Direct,
            _ => return Err(refuse(400, "Unknown stream type")),
        })
    }

    /// The `stream` array of frames: `["hashtag", "cats"]`, `["user"]`.
    pub fn names(&self) -> Vec<String> {
        match self {
            Stream::User => vec!["user".into()],
            Stream::UserNotification => vec!["user:notification".into()],
            Stream::Public => vec!["public".into()],
            Stream::PublicLocal => vec!["public:local".into()],
            Stream::PublicRemote => vec!["public:remote".into()],
            Stream::Hashtag(t) => vec!["hashtag".into(), t.clone()],
            Stream::HashtagLocal(t) => vec!["hashtag:local".into(), t.clone()],
            Stream::List(id) => vec!["list".into(), id.to_string()],
            Stream::Direct => vec!["direct".into()],
        }
    }

    /// The scope a token needs (`read` covers each), as Mastodon's streaming
    /// server checks.
    fn scope(&self) -> &'static str {
        match self {
            Stream::UserNotification => "read:notifications",
            Stream::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }

    /// Public and hashtag streams may be read without signing in.
    fn needs_account(&self) -> bool {
        matches!(
            self,
            Stream::User | Stream::UserNotification | Stream::List(_) | Stream::Direct
        )
    }
}

/// Who is connected: the token's account and scopes, if any.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The signed-in account.
    pub account: Option<i64>,
    /// The token's scopes; `None` without a token.
    pub scopes: Option<Scopes>,
}

/// Checks that `viewer` may open `stream` (scopes, a signed-in account, an
/// owned list).
pub async fn authorize(app: &App, viewer: &Viewer, stream: &Stream) -> Result<(), Refusal> {
    if let Some(scopes) = &viewer.scopes
        && !scopes.allows(stream.scope())
    {
        return Err(refuse(
            403,
            "Access token does not have the required scopes",
        ));
    }
    if stream.needs_account() && viewer.account.is_none() {
        return Err(refuse(401, "Missing access token"));
    }
    if let (Stream::List(id), Some(me)) = (stream, viewer.account) {
        let owned = app.store().list(me, *id).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot look a list up");
            refuse(500, "Internal error")
        })?;
        if owned.is_none() {
            return Err(refuse(404, "Not found"));
        }
    }
    Ok(())
}

/// What goes to the client: one event on one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The stream's names (`["user"]`).
    pub stream: Vec<String>,
    /// `update`, `delete`, `notification`, `status.update`, `conversation`,
    /// `filters_changed`.
    pub event: &'static str,
    /// The entity's JSON, or a status id for `delete`; none for
    /// `filters_changed`.
    pub payload: Option<String>,
}

impl Frame {
    /// The WebSocket text message: the payload as a JSON *string*, as
    /// Mastodon (and masto.js) expect.
    pub fn websocket(&self) -> String {
        // Written straight from the frame: a stream writes one per
        // connection, and the payload is the bulk of it.
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            stream: &'a [String],
            event: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            payload: Option<&'a str>,
        }
        serde_json::to_string(&Wire {
            stream: &self.stream,
            event: self.event,
            payload: self.payload.as_deref(),
        })
        .unwrap_or_default()
    }

    /// The Server-Sent Events block.
    pub fn sse(&self) -> String {
        // Mastodon writes JavaScript's `undefined` for payload-less events.
        let data = self.payload.as_deref().unwrap_or("undefined");
        format!("event: {}\ndata: {}\n\n", self.event, data)
    }
}

/// A one-row page holding exactly `id`.
fn around(id: i64) -> Page {
    Page {
        max_id: Some(id + 1),
        since_id: Some(id - 1),
        min_id: None,
        limit: 1,
    }
}

/// The frames `event` makes for `viewer` on the streams in `subs`.
pub async fn render(
    app: &App,
    viewer: &Viewer,
    subs: &[Stream],
    heard: &Heard,
) -> Result<Vec<Frame>, Internal> {
    let mut frames = Vec::new();
    let event = &heard.event;
    match event {
        Event::Status { id } | Event::Edited { id } => {
            let name = if matches!(event, Event::Status { .. }) {
                "update"
            } else {
                "status.update"
            };
            for stream in subs {
                if let (Stream::User, Some(me)) = (stream, viewer.account) {
                    if !heard.may_reach_home(app, *id, me).await? {
                        continue;
                    }
                    if let Some(payload) = heard.shared_home(app, *id, me).await? {
                        frames.push(Frame {
                            stream: stream.names(),
                            event: name,
                            payload: Some(payload.to_string()),
                        });
                        continue;
                    }
                }
                if let Some(status) = status_on(app, viewer.account, stream, *id).await? {
                    frames.push(Frame {
                        stream: stream.names(),
                        event: name,
                        payload: Some(to_json(&status)?),
                    });
                }
            }
        }
        Event::Deleted {
            id,
            author,
            visibility,
        } => {
            for stream in subs {
                if deletion_reaches(app, viewer.account, stream, *id, *author, visibility).await? {
                    frames.push(Frame {
                        stream: stream.names(),
                        event: "delete",
                        payload: Some(id.to_string()),
                    });
                }
            }
        }
        Event::Notification { account, id } => {
            let mine = viewer.account == Some(*account);
            let may = viewer
                .scopes
                .as_ref()
                .is_some_and(|s| s.allows("read:notifications"));
            let wanted: Vec<&Stream> = subs
                .iter()
                .filter(|s| matches!(s, Stream::User | Stream::UserNotification))
                .collect();
            if mine && may && !wanted.is_empty() {
                let rows = app
                    .store()
                    .notifications(*account, &[], &[], around(*id))
                    .await?;
                let presented = Presenter::new(app, Some(*account))
                    .notifications(&rows)
                    .await?;
                if let Some(n) = presented.first() {
                    let payload = to_json(n)?;
                    for stream in wanted {
                        frames.push(Frame {
                            stream: stream.names(),
                            event: "notification",
                            payload: Some(payload.clone()),
                        });
                    }
                }
            }
        }
        Event::FiltersChanged { account } => {
            if viewer.account == Some(*account) && subs.contains(&Stream::User) {
                frames.push(Frame {
                    stream: Stream::User.names(),
                    event: "filters_changed",
                    payload: None,
                });
            }
        }
        Event::Conversation {
            account,
            conversation,
            status,
        } => {
            if viewer.account == Some(*account) && subs.contains(&Stream::Direct) {
                // The status only wakes the stream; the entity is the
                // conversation as the REST API shows it now.
                let _ = status;
                let entity =
                    crate::service::conversations::entity(app, *account, *conversation).await?;
                if let Some(entity) = entity {
                    frames.push(Frame {
                        stream: Stream::Direct.names(),
                        event: "conversation",
                        payload: Some(to_json(&entity)?),
                    });
                }
            }
        }
    }
    Ok(frames)
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Internal> {
    serde_json::to_string(value).map_err(|e| Internal::Serialize(e.to_string()))
}

/// Status `id` as `viewer` would see it on `stream`'s timeline, if there.
async fn status_on(
    app: &App,
    viewer: Option<i64>,
    stream: &Stream,
    id: i64,
) -> Result<Option<Status>, Internal> {
    let store = app.store();
    let mut presenter = Presenter::new(app, viewer);
    // Whether the viewer may have filters to apply (known for home).
    let mut has_filters = true;
    let (rows, context): (Vec<DbStatus>, &str) = match stream {
        Stream::User => {
            let Some(me) = viewer else { return Ok(None) };
            let home = crate::service::statuses::home_timeline(app, me, around(id), None).await?;
            // As `GET /api/v1/timelines/home` does: the page came with the
            // viewer's flags and whether they have filters.
            has_filters = home.context.has_filters;
            presenter = presenter.with_flags(home.flags, home.flagged);
            (
                without_hidden_authors(app, &home.context.hidden, home.statuses).await?,
                "home",
            )
        }
        Stream::Public | Stream::PublicLocal | Stream::PublicRemote => {
            let local = match stream {
                Stream::PublicLocal => Some(true),
                Stream::PublicRemote => Some(false),
                _ => None,
            };
            (store.public_timeline(local, around(id)).await?, "public")
        }
        Stream::Hashtag(tag) | Stream::HashtagLocal(tag) => {
            let local = matches!(stream, Stream::HashtagLocal(_)).then_some(true);
            (store.tag_timeline(tag, local, around(id)).await?, "public")
        }
        Stream::List(list) => {
            let Some(me) = viewer else { return Ok(None) };
            let Some(list) = store.list(me, *list).await? else {
                return Ok(None);
            };
            (store.list_timeline(&list, around(id)).await?, "home")
        }
        Stream::UserNotification | Stream::Direct => return Ok(None),
    };
    let rows = match (context, viewer) {
        ("public", Some(v)) => {
            let ctx = store.viewer_context(v, None).await?;
            without_hidden_authors(app, &ctx.hidden, visible(app, viewer, rows).await?).await?
        }
        _ => rows,
    };
    if rows.is_empty() {
        return Ok(None);
    }
    let mut items = presenter.statuses(&rows).await?;
    if let Some(v) = viewer.filter(|_| has_filters) {
        crate::service::filters::apply(app, v, context, &mut items).await?;
    }
    Ok(items.pop())
}

/// Whether the deletion of a status may be told on `stream`: to its author
/// and to those who could have seen it there (ids only; never to a stream
/// a followers-only or direct post did not belong to).
async fn deletion_reaches(
    app: &App,
    viewer: Option<i64>,
    stream: &Stream,
    id: i64,
    author: i64,
    visibility: &str,
) -> Result<bool, Internal> {
    match stream {
        Stream::Public | Stream::PublicLocal | Stream::PublicRemote => Ok(visibility == "public"),
        Stream::Hashtag(_) | Stream::HashtagLocal(_) => Ok(visibility == "public"),
        Stream::User | Stream::List(_) => {
            let Some(me) = viewer else { return Ok(false) };
            if me == author {
                return Ok(matches!(stream, Stream::User));
            }
            if visibility == "direct" {
                let mentioned = app.store().mentions_of(&[id]).await?;
                return Ok(matches!(stream, Stream::User)
                    && mentioned.get(&id).is_some_and(|m| m.contains(&me)));
            }
            let sets = app.store().relation_sets(me, &[author]).await?;
            Ok(sets.following.contains(&author))
        }
        Stream::UserNotification | Stream::Direct => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_framed_as_mastodon_frames_them() {
        let update = Frame {
            stream: Stream::Hashtag("cats".into()).names(),
            event: "update",
            payload: Some(r#"{"id":"1"}"#.into()),
        };
        // WebSocket: the payload is a JSON *string* (masto.js parses it again).
        let ws: serde_json::Value = serde_json::from_str(&update.websocket()).unwrap();
        assert_eq!(
            ws,
            serde_json::json!({"stream": ["hashtag", "cats"], "event": "update", "payload": "{\"id\":\"1\"}"})
        );
        assert_eq!(update.sse(), "event: update\ndata: {\"id\":\"1\"}\n\n");
        let changed = Frame {
            stream: Stream::User.names(),
            event: "filters_changed",
            payload: None,
        };
        assert!(!changed.websocket().contains("payload"));
        assert_eq!(changed.sse(), "event: filters_changed\ndata: undefined\n\n");
    }

    #[test]
    fn stream_names_parse_with_their_parameters() {
        assert_eq!(Stream::parse("user", None, None), Ok(Stream::User));
        assert_eq!(
            Stream::parse("hashtag:local", Some("#Cats"), None),
            Ok(Stream::HashtagLocal("Cats".into()))
        );
        assert_eq!(
            Stream::parse("list", None, Some("42")),
            Ok(Stream::List(42))
        );
        assert_eq!(
            Stream::parse("hashtag", None, None).unwrap_err().status,
            400
        );
        assert_eq!(
            Stream::parse("list", None, Some("x")).unwrap_err().status,
            400
        );
        assert_eq!(
            Stream::parse("everything", None, None).unwrap_err().status,
            400
        );
        assert_eq!(Stream::List(42).names(), vec!["list", "42"]);
        assert_eq!(Stream::PublicRemote.names(), vec!["public:remote"]);
    }
}
