//! Notifications, direct-message conversations, timeline read markers and
//! server announcements.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Account, CustomEmoji, Status, StatusTag};

/// What a notification is about. Unrecognised types read as `Unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationType {
    /// Someone mentioned the user.
    #[default]
    #[serde(rename = "mention")]
    Mention,
    /// Someone the user enabled notifications for posted.
    #[serde(rename = "status")]
    Status,
    /// Someone boosted the user's status.
    #[serde(rename = "reblog")]
    Reblog,
    /// Someone followed the user.
    #[serde(rename = "follow")]
    Follow,
    /// Someone asked to follow the user.
    #[serde(rename = "follow_request")]
    FollowRequest,
    /// Someone favourited the user's status.
    #[serde(rename = "favourite")]
    Favourite,
    /// A poll the user voted in or made has ended.
    #[serde(rename = "poll")]
    Poll,
    /// A status the user interacted with was edited.
    #[serde(rename = "update")]
    Update,
    /// Someone signed up (moderators only).
    #[serde(rename = "admin.sign_up")]
    AdminSignUp,
    /// A report was filed (moderators only).
    #[serde(rename = "admin.report")]
    AdminReport,
    /// Follow relationships were severed by a block or suspension.
    #[serde(rename = "severed_relationships")]
    SeveredRelationships,
    /// Moderators acted against the user.
    #[serde(rename = "moderation_warning")]
    ModerationWarning,
    /// Someone quoted the user's status (Mastodon 4.5).
    #[serde(rename = "quote")]
    Quote,
    /// A status the user quoted was edited (Mastodon 4.5).
    #[serde(rename = "quoted_update")]
    QuotedUpdate,
    /// A type this version does not know.
    #[serde(rename = "unknown", other)]
    Unknown,
}

/// A notification (`GET /api/v1/notifications`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Notification {
    /// Notification id.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// Key grouping similar notifications (`ungrouped-{id}` if not grouped).
    pub group_key: String,
    /// When it happened.
    pub created_at: String,
    /// Who caused it.
    pub account: Account,
    /// The status concerned; omitted for types without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The report, for `admin.report`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
    /// The severance event, for `severed_relationships`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    /// The moderation warning, for `moderation_warning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation_warning: Option<Value>,
}

/// A direct-message conversation (`GET /api/v1/conversations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Whether it has unread messages.
    pub unread: bool,
    /// Participants other than the viewer.
    pub accounts: Vec<Account>,
    /// Newest status; null if none is visible.
    pub last_status: Option<Status>,
}

/// Read positions per timeline (`GET /api/v1/markers`); absent timelines
/// are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Markers {
    /// Position in the home timeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home: Option<Marker>,
    /// Position in notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Marker>,
}

/// A saved read position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Marker {
    /// Id of the last item read.
    pub last_read_id: String,
    /// Counter for optimistic locking.
    pub version: u64,
    /// When it was saved.
    pub updated_at: String,
}

/// An announcement by the server's staff (`GET /api/v1/announcements`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Announcement {
    /// Announcement id.
    pub id: String,
    /// Body as HTML.
    pub content: String,
    /// When the event starts; null if none.
    pub starts_at: Option<String>,
    /// When the event ends; null if none.
    pub ends_at: Option<String>,
    /// Whether it is published.
    pub published: bool,
    /// Whether the times are whole days.
    pub all_day: bool,
    /// Publication time.
    pub published_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Whether the viewer dismissed it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    /// Mentioned accounts.
    pub mentions: Vec<AnnouncementAccount>,
    /// Linked statuses.
    pub statuses: Vec<AnnouncementStatus>,
    /// Hashtags used.
    pub tags: Vec<StatusTag>,
    /// Custom emoji used.
    pub emojis: Vec<CustomEmoji>,
    /// Emoji reactions.
    pub reactions: Vec<Reaction>,
}

/// An account mentioned in an [`Announcement`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnouncementAccount {
    /// Account id.
    pub id: String,
    /// Username without domain.
    pub username: String,
    /// Profile URL.
    pub url: String,
    /// `user` or `user@domain`.
    pub acct: String,
}

/// A status linked from an [`Announcement`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnouncementStatus {
    /// Status id.
    pub id: String,
    /// Status URL.
    pub url: String,
}

/// An emoji reaction to an [`Announcement`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reaction {
    /// Unicode emoji or custom shortcode.
    pub name: String,
    /// How many reacted with it.
    pub count: u64,
    /// Whether the viewer reacted; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
    /// Image URL, for custom emoji.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Static image URL, for custom emoji.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_url: Option<String>,
}
