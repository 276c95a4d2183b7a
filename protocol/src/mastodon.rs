//! Mastodon client API entities, exactly as Mastodon documents them.
//!
//! Every field Mastodon 4.x documents is present under its documented JSON
//! name. Two kinds of absent value are kept apart, because clients treat them
//! differently:
//!
//! - documented *nullable* fields are `Option<T>` and are written as `null`
//!   (many clients crash on a missing key);
//! - fields Mastodon *omits* in some contexts (viewer-specific flags such as
//!   `favourited`, credential-only `source`) are `Option<T>` skipped when `None`.
//!
//! Ids are strings. Timestamps are strings in ISO 8601 UTC with milliseconds
//! (see [`crate::datetime::iso8601_millis`]). Deserialization is lenient: every
//! struct defaults missing keys, and a few fields that real servers send as
//! `null` despite the docs accept it, so captured JSON from other servers parses.
//!
//! Layout: [`Account`] and [`Relationship`] in `account`; [`Status`] and what it
//! embeds in `status`; [`InstanceV1`] / [`InstanceV2`] in `instance`; filters
//! in `filter`; notifications, conversations, markers and announcements in
//! `notification`; OAuth apps, tokens, preferences, lists and tags in `client`.

mod account;
mod client;
mod filter;
mod instance;
mod notification;
mod status;

pub use account::{Account, AccountRole, AccountSource, CustomEmoji, Field, Relationship, Role};
pub use client::{Application, List, Preferences, Tag, TagHistory, Token};
pub use filter::{Filter, FilterAction, FilterContext, FilterKeyword, FilterResult, FilterStatus};
pub use instance::{
    AccountsConfiguration, ApiVersions, Contact, InstanceIcon, InstanceStats, InstanceUrls,
    InstanceV1, InstanceV1Configuration, InstanceV2, InstanceV2Configuration,
    MediaAttachmentsConfiguration, PollsConfiguration, Registrations, Rule, StatusesConfiguration,
    Thumbnail, ThumbnailVersions, TranslationConfiguration, UrlsConfiguration, Usage, UsageUsers,
    VapidConfiguration,
};
pub use notification::{
    Announcement, AnnouncementAccount, AnnouncementStatus, Conversation, Marker, Markers,
    Notification, NotificationType, Reaction,
};
pub use status::{
    Context, MediaAttachment, MediaType, Poll, PollOption, PreviewCard, PreviewCardAuthor, Search,
    Status, StatusApplication, StatusEdit, StatusEditPoll, StatusEditPollOption, StatusMention,
    StatusSource, StatusTag, Visibility,
};

use serde::{Deserialize, Deserializer, Serialize};

/// The body of every Mastodon API error response: `{"error": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// Human-readable reason.
    pub error: String,
    /// Longer explanation; only OAuth errors carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Reads `null` as the type's default, for fields documented as non-null that
/// some servers nevertheless send as `null`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
