//! Accounts (`Account`, `CredentialAccount`) and the relationship between two
//! accounts.

use serde::{Deserialize, Serialize};

use super::{Visibility, null_as_default};

/// A user profile, local or remote (Mastodon `Account`). With [`Self::source`]
/// and [`Self::role`] set it is a `CredentialAccount` (verify_credentials).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// Local database id.
    pub id: String,
    /// Username without the domain.
    pub username: String,
    /// `user` for local accounts, `user@domain` for remote ones.
    pub acct: String,
    /// Profile page URL (HTML).
    pub url: String,
    /// ActivityPub actor id.
    pub uri: String,
    /// Display name; may be empty.
    #[serde(deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Bio as HTML.
    #[serde(deserialize_with = "null_as_default")]
    pub note: String,
    /// Avatar URL (may be animated).
    pub avatar: String,
    /// Static avatar URL.
    pub avatar_static: String,
    /// Header image URL (may be animated).
    pub header: String,
    /// Static header image URL.
    pub header_static: String,
    /// Whether follows need approval.
    #[serde(deserialize_with = "null_as_default")]
    pub locked: bool,
    /// Profile metadata fields.
    #[serde(deserialize_with = "null_as_default")]
    pub fields: Vec<Field>,
    /// Custom emoji used in the name, bio and fields.
    #[serde(deserialize_with = "null_as_default")]
    pub emojis: Vec<CustomEmoji>,
    /// Whether the account is automated.
    #[serde(deserialize_with = "null_as_default")]
    pub bot: bool,
    /// Whether the account is a group actor.
    #[serde(deserialize_with = "null_as_default")]
    pub group: bool,
    /// Whether the account opted into discovery features; null if unknown.
    pub discoverable: Option<bool>,
    /// Whether the account asked search engines not to index it. Mastodon
    /// sends it for local accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noindex: Option<bool>,
    /// The account this one moved to, if it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<Box<Account>>,
    /// Present (true) when the account is suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
    /// Present (true) when moderators limited the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited: Option<bool>,
    /// Present (true) when the account is a memorial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memorial: Option<bool>,
    /// Creation time (Mastodon rounds it to midnight UTC).
    pub created_at: String,
    /// Date (`YYYY-MM-DD`) of the last status; null if none.
    pub last_status_at: Option<String>,
    /// Number of statuses.
    pub statuses_count: u64,
    /// Number of followers; `-1` when hidden.
    pub followers_count: i64,
    /// Number of accounts followed; `-1` when hidden.
    pub following_count: i64,
    /// Whether the account hides its follows and followers.
    #[serde(deserialize_with = "null_as_default")]
    pub hide_collections: bool,
    /// Whether public posts may be indexed for full-text search.
    #[serde(deserialize_with = "null_as_default")]
    pub indexable: bool,
    /// Roles shown on the profile.
    #[serde(deserialize_with = "null_as_default")]
    pub roles: Vec<AccountRole>,
    /// Profile source, only for the owner (`CredentialAccount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<AccountSource>,
    /// The owner's role, only for the owner (`CredentialAccount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// The raw profile and posting defaults of the logged-in account
/// (`CredentialAccount.source`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSource {
    /// Bio as plain text.
    #[serde(deserialize_with = "null_as_default")]
    pub note: String,
    /// Profile fields as plain text.
    #[serde(deserialize_with = "null_as_default")]
    pub fields: Vec<Field>,
    /// Default visibility of new posts.
    pub privacy: Visibility,
    /// Whether new posts are sensitive by default.
    #[serde(deserialize_with = "null_as_default")]
    pub sensitive: bool,
    /// Default language of new posts (ISO 639-1); null if unset.
    pub language: Option<String>,
    /// Number of pending follow requests.
    pub follow_requests_count: u64,
    /// Whether follows and followers are hidden.
    pub hide_collections: Option<bool>,
    /// Whether the account opted into discovery.
    pub discoverable: Option<bool>,
    /// Whether public posts may be indexed.
    pub indexable: Option<bool>,
    /// Domains allowed to credit this account as author of link previews.
    #[serde(deserialize_with = "null_as_default")]
    pub attribution_domains: Vec<String>,
    /// Default quote policy of new posts (Mastodon 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_policy: Option<String>,
}

/// A profile metadata field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Field {
    /// Label.
    pub name: String,
    /// Value as HTML.
    pub value: String,
    /// When a link in the value was verified (rel=me); null if not verified.
    pub verified_at: Option<String>,
}

/// A custom emoji.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomEmoji {
    /// Name without colons.
    pub shortcode: String,
    /// Image URL.
    pub url: String,
    /// Static image URL.
    pub static_url: String,
    /// Whether it is offered in the picker.
    pub visible_in_picker: bool,
    /// Picker category; null if none.
    pub category: Option<String>,
}

/// A role badge shown on a profile (`Account.roles[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountRole {
    /// Role id.
    pub id: String,
    /// Role name.
    pub name: String,
    /// Hex colour, or empty.
    pub color: String,
}

/// The full role of the logged-in user (`CredentialAccount.role`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name.
    pub name: String,
    /// Hex colour, or empty.
    pub color: String,
    /// Permission bitmask, as a decimal string.
    pub permissions: String,
    /// Whether the role is shown on the profile.
    pub highlighted: bool,
}

/// The viewer's relationship to another account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Relationship {
    /// The other account's id.
    pub id: String,
    /// The viewer follows them.
    pub following: bool,
    /// The viewer sees their boosts in home.
    pub showing_reblogs: bool,
    /// The viewer is notified of their posts.
    pub notifying: bool,
    /// Languages the viewer follows them in; null for all.
    pub languages: Option<Vec<String>>,
    /// They follow the viewer.
    pub followed_by: bool,
    /// The viewer blocks them.
    pub blocking: bool,
    /// They block the viewer.
    pub blocked_by: bool,
    /// The viewer mutes them.
    pub muting: bool,
    /// The mute also hides their notifications.
    pub muting_notifications: bool,
    /// When the mute ends; null if it does not.
    pub muting_expires_at: Option<String>,
    /// The viewer's follow request is pending.
    pub requested: bool,
    /// They asked to follow the viewer.
    pub requested_by: bool,
    /// The viewer blocks their domain.
    pub domain_blocking: bool,
    /// The viewer features them on their profile.
    pub endorsed: bool,
    /// The viewer's private note about them.
    #[serde(deserialize_with = "null_as_default")]
    pub note: String,
}
