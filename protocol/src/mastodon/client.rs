//! Entities about the client and its user: OAuth applications and tokens,
//! preferences, lists and hashtags.

use serde::{Deserialize, Serialize};

use super::Visibility;

/// A registered OAuth client (`POST /api/v1/apps`,
/// `GET /api/v1/apps/verify_credentials`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Application {
    /// Application id.
    pub id: String,
    /// Client name.
    pub name: String,
    /// Client website; null if none.
    pub website: Option<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Redirect URIs joined by newlines (deprecated in favour of
    /// `redirect_uris`).
    pub redirect_uri: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// OAuth client id; only returned on registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OAuth client secret; only returned on registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the secret expires, in Unix seconds; `0` means never. Only
    /// returned on registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// Web Push VAPID key (deprecated; see the instance configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vapid_key: Option<String>,
}

/// An OAuth access token (`POST /oauth/token`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Issue time in Unix seconds.
    pub created_at: i64,
}

/// The logged-in user's preferences (`GET /api/v1/preferences`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Default visibility of new posts.
    #[serde(rename = "posting:default:visibility")]
    pub posting_default_visibility: Visibility,
    /// Whether new posts are sensitive by default.
    #[serde(rename = "posting:default:sensitive")]
    pub posting_default_sensitive: bool,
    /// Default language of new posts; null if unset.
    #[serde(rename = "posting:default:language")]
    pub posting_default_language: Option<String>,
    /// Default quote policy of new posts (Mastodon 4.5).
    #[serde(
        rename = "posting:default:quote_policy",
        skip_serializing_if = "Option::is_none"
    )]
    pub posting_default_quote_policy: Option<String>,
    /// Sensitive media: `default`, `show_all` or `hide_all`.
    #[serde(rename = "reading:expand:media")]
    pub reading_expand_media: String,
    /// Whether content warnings are expanded.
    #[serde(rename = "reading:expand:spoilers")]
    pub reading_expand_spoilers: bool,
    /// Whether animated images play automatically.
    #[serde(rename = "reading:autoplay:gifs")]
    pub reading_autoplay_gifs: bool,
}

/// A list of followed accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct List {
    /// List id.
    pub id: String,
    /// List name.
    pub title: String,
    /// Which replies show: `followed`, `list` or `none`.
    pub replies_policy: String,
    /// Whether members' posts are kept out of home.
    pub exclusive: bool,
}

/// A hashtag with usage history (`/api/v1/tags/:name`, trends, followed tags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    /// Tag id; older servers omit it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tag name without `#`.
    pub name: String,
    /// Tag page URL.
    pub url: String,
    /// Daily usage, newest first.
    pub history: Vec<TagHistory>,
    /// Whether the viewer follows it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
    /// Whether the viewer features it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub featuring: Option<bool>,
}

/// One day of [`Tag`] usage. Mastodon writes all three as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagHistory {
    /// The day, as Unix seconds at midnight UTC.
    pub day: String,
    /// Statuses using the tag that day.
    pub uses: String,
    /// Accounts using the tag that day.
    pub accounts: String,
}
