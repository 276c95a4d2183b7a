//! Server metadata: `GET /api/v2/instance` ([`InstanceV2`]) and the older
//! `GET /api/v1/instance` ([`InstanceV1`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Account;

/// Server metadata (`GET /api/v2/instance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceV2 {
    /// The server's domain.
    pub domain: String,
    /// Server name.
    pub title: String,
    /// Software version, Mastodon-style (`4.3.0 (compatible; Starling x)`).
    pub version: String,
    /// Source code URL (AGPL).
    pub source_url: String,
    /// Short plain-text description.
    pub description: String,
    /// Usage statistics.
    pub usage: Usage,
    /// Banner image.
    pub thumbnail: Thumbnail,
    /// App icons in several sizes (Mastodon 4.4).
    pub icon: Vec<InstanceIcon>,
    /// Languages the server's users mostly speak (ISO 639-1).
    pub languages: Vec<String>,
    /// Limits and endpoints clients need.
    pub configuration: InstanceV2Configuration,
    /// Sign-up settings.
    pub registrations: Registrations,
    /// API versions implemented, e.g. `{"mastodon": 2}`.
    pub api_versions: ApiVersions,
    /// How to reach the staff.
    pub contact: Contact,
    /// Server rules.
    pub rules: Vec<Rule>,
}

/// An app icon of the server (`InstanceV2.icon[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceIcon {
    /// Image URL.
    pub src: String,
    /// Size as `WIDTHxHEIGHT`.
    pub size: String,
}

/// API versions by implementation name (`mastodon` → integer).
pub type ApiVersions = BTreeMap<String, u32>;

/// `InstanceV2.usage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// User statistics.
    pub users: UsageUsers,
}

/// `InstanceV2.usage.users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageUsers {
    /// Users active in the past four weeks.
    pub active_month: u64,
}

/// `InstanceV2.thumbnail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thumbnail {
    /// Image URL.
    pub url: String,
    /// BlurHash; omitted for the default image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Resolutions; omitted for the default image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<ThumbnailVersions>,
}

/// `InstanceV2.thumbnail.versions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThumbnailVersions {
    /// Image for 1x displays.
    #[serde(rename = "@1x", skip_serializing_if = "Option::is_none")]
    pub x1: Option<String>,
    /// Image for 2x displays.
    #[serde(rename = "@2x", skip_serializing_if = "Option::is_none")]
    pub x2: Option<String>,
}

/// `InstanceV2.configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceV2Configuration {
    /// Endpoint URLs.
    pub urls: UrlsConfiguration,
    /// Web Push settings.
    pub vapid: VapidConfiguration,
    /// Account limits.
    pub accounts: AccountsConfiguration,
    /// Status limits.
    pub statuses: StatusesConfiguration,
    /// Media limits.
    pub media_attachments: MediaAttachmentsConfiguration,
    /// Poll limits.
    pub polls: PollsConfiguration,
    /// Translation support.
    pub translation: TranslationConfiguration,
}

/// `InstanceV2.configuration.urls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UrlsConfiguration {
    /// Streaming API base URL (`wss://…`).
    pub streaming: String,
    /// Status page URL; null if none.
    pub status: Option<String>,
    /// About page URL.
    pub about: String,
    /// Privacy policy URL; null if none.
    pub privacy_policy: Option<String>,
    /// Terms of service URL; null if none.
    pub terms_of_service: Option<String>,
}

/// `InstanceV2.configuration.vapid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VapidConfiguration {
    /// VAPID public key for Web Push subscriptions.
    pub public_key: String,
}

/// `configuration.accounts`; v1 carries only `max_featured_tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountsConfiguration {
    /// Maximum featured hashtags.
    pub max_featured_tags: u32,
    /// Maximum pinned statuses (v2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pinned_statuses: Option<u32>,
    /// Maximum bio length (Mastodon 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_note_length: Option<u32>,
    /// Maximum profile fields (Mastodon 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_profile_fields: Option<u32>,
    /// Maximum profile field name length (Mastodon 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_field_name_limit: Option<u32>,
    /// Maximum profile field value length (Mastodon 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_field_value_limit: Option<u32>,
}

/// `configuration.statuses`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusesConfiguration {
    /// Maximum characters per status.
    pub max_characters: u32,
    /// Maximum media attachments per status.
    pub max_media_attachments: u32,
    /// Characters each URL counts as.
    pub characters_reserved_per_url: u32,
}

/// `configuration.media_attachments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaAttachmentsConfiguration {
    /// Accepted MIME types.
    pub supported_mime_types: Vec<String>,
    /// Maximum alt text length (v2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_limit: Option<u32>,
    /// Maximum image size in bytes.
    pub image_size_limit: u64,
    /// Maximum image pixels (width × height).
    pub image_matrix_limit: u64,
    /// Maximum video size in bytes.
    pub video_size_limit: u64,
    /// Maximum video frame rate.
    pub video_frame_rate_limit: u32,
    /// Maximum video pixels (width × height).
    pub video_matrix_limit: u64,
}

/// `configuration.polls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PollsConfiguration {
    /// Maximum options per poll.
    pub max_options: u32,
    /// Maximum characters per option.
    pub max_characters_per_option: u32,
    /// Shortest duration in seconds.
    pub min_expiration: u64,
    /// Longest duration in seconds.
    pub max_expiration: u64,
}

/// `InstanceV2.configuration.translation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranslationConfiguration {
    /// Whether statuses can be translated.
    pub enabled: bool,
}

/// `InstanceV2.registrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registrations {
    /// Whether sign-up is open.
    pub enabled: bool,
    /// Whether sign-ups need approval.
    pub approval_required: bool,
    /// Whether a reason must be given when approval is required.
    pub reason_required: Option<bool>,
    /// Custom message (HTML) shown when sign-up is closed; null if none.
    pub message: Option<String>,
    /// Minimum age to sign up; null if none.
    pub min_age: Option<u32>,
    /// External sign-up URL; null if none.
    pub url: Option<String>,
}

/// `InstanceV2.contact`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    /// Staff email address.
    pub email: String,
    /// Staff account; null if none.
    pub account: Option<Account>,
}

/// A server rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Rule id.
    pub id: String,
    /// The rule.
    pub text: String,
    /// Longer explanation; may be empty.
    pub hint: String,
}

/// Server metadata, old format (`GET /api/v1/instance`, deprecated by
/// Mastodon but still read by many clients).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceV1 {
    /// The server's domain.
    pub uri: String,
    /// Server name.
    pub title: String,
    /// Short description (HTML allowed).
    pub short_description: String,
    /// Long description (HTML).
    pub description: String,
    /// Staff email address.
    pub email: String,
    /// Software version.
    pub version: String,
    /// Endpoint URLs.
    pub urls: InstanceUrls,
    /// Counts of users, statuses and known domains.
    pub stats: InstanceStats,
    /// Banner image URL; null if none.
    pub thumbnail: Option<String>,
    /// Languages the server's users mostly speak.
    pub languages: Vec<String>,
    /// Whether sign-up is open.
    pub registrations: bool,
    /// Whether sign-ups need approval.
    pub approval_required: bool,
    /// Whether users may invite others.
    pub invites_enabled: bool,
    /// Limits clients need.
    pub configuration: InstanceV1Configuration,
    /// Staff account; null if none.
    pub contact_account: Option<Account>,
    /// Server rules.
    pub rules: Vec<Rule>,
}

/// `InstanceV1.urls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceUrls {
    /// Streaming API base URL (`wss://…`).
    pub streaming_api: String,
}

/// `InstanceV1.stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceStats {
    /// Local users.
    pub user_count: u64,
    /// Local statuses.
    pub status_count: u64,
    /// Known domains.
    pub domain_count: u64,
}

/// `InstanceV1.configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceV1Configuration {
    /// Account limits.
    pub accounts: AccountsConfiguration,
    /// Status limits.
    pub statuses: StatusesConfiguration,
    /// Media limits.
    pub media_attachments: MediaAttachmentsConfiguration,
    /// Poll limits.
    pub polls: PollsConfiguration,
}
