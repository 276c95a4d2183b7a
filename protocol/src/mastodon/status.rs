//! Statuses and everything a status embeds: media, mentions, tags, link
//! preview cards, polls; plus the `/context`, `/history` and `/source` views.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Account, CustomEmoji, FilterResult, null_as_default};

/// Who can see a status. Unknown values from other servers (e.g. `local`)
/// read as [`Visibility::Private`], the safe side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, on public timelines.
    #[default]
    Public,
    /// Everyone, but kept off public timelines.
    Unlisted,
    /// Mentioned accounts only.
    Direct,
    /// Followers only. Last, because serde's catch-all must be.
    #[serde(other)]
    Private,
}

/// A post (Mastodon `Status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// Local database id.
    pub id: String,
    /// ActivityPub object id.
    pub uri: String,
    /// Creation time.
    pub created_at: String,
    /// The author.
    pub account: Account,
    /// Body as HTML.
    #[serde(deserialize_with = "null_as_default")]
    pub content: String,
    /// Who can see it.
    pub visibility: Visibility,
    /// Whether media is hidden behind a warning.
    #[serde(deserialize_with = "null_as_default")]
    pub sensitive: bool,
    /// Content warning; empty if none.
    #[serde(deserialize_with = "null_as_default")]
    pub spoiler_text: String,
    /// Attached media.
    #[serde(deserialize_with = "null_as_default")]
    pub media_attachments: Vec<MediaAttachment>,
    /// The client that posted it; omitted unless the author shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<StatusApplication>,
    /// Mentioned accounts.
    #[serde(deserialize_with = "null_as_default")]
    pub mentions: Vec<StatusMention>,
    /// Hashtags used.
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<StatusTag>,
    /// Custom emoji used.
    #[serde(deserialize_with = "null_as_default")]
    pub emojis: Vec<CustomEmoji>,
    /// Number of boosts.
    pub reblogs_count: u64,
    /// Number of favourites.
    pub favourites_count: u64,
    /// Number of replies.
    pub replies_count: u64,
    /// HTML page URL; null if none.
    pub url: Option<String>,
    /// Id of the status replied to; null if none.
    pub in_reply_to_id: Option<String>,
    /// Id of the account replied to; null if none.
    pub in_reply_to_account_id: Option<String>,
    /// The boosted status, when this status is a boost; null otherwise.
    pub reblog: Option<Box<Status>>,
    /// Attached poll; null if none.
    pub poll: Option<Poll>,
    /// Link preview; null if none.
    pub card: Option<PreviewCard>,
    /// Language (ISO 639-1); null if unknown.
    pub language: Option<String>,
    /// Plain-text source; only sent by delete-and-redraft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Last edit time; null if never edited.
    pub edited_at: Option<String>,
    /// Viewer favourited it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favourited: Option<bool>,
    /// Viewer boosted it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reblogged: Option<bool>,
    /// Viewer muted the conversation; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    /// Viewer bookmarked it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    /// Viewer pinned it; only sent when the viewer is the author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    /// Viewer's filters that match it; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<FilterResult>>,
}

/// The client a status was posted from (`Status.application`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusApplication {
    /// Client name.
    pub name: String,
    /// Client website; null if none.
    pub website: Option<String>,
}

/// A mentioned account (`Status.mentions[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusMention {
    /// Account id.
    pub id: String,
    /// Username without domain.
    pub username: String,
    /// Profile URL.
    pub url: String,
    /// `user` or `user@domain`.
    pub acct: String,
}

/// A hashtag used in a status (`Status.tags[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusTag {
    /// Tag name without `#`.
    pub name: String,
    /// Tag page URL.
    pub url: String,
}

/// Kind of a media attachment. Unrecognised kinds read as `Unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    /// Still image.
    Image,
    /// Looping silent video (animated GIF).
    Gifv,
    /// Video.
    Video,
    /// Audio.
    Audio,
    /// A file Mastodon could not classify.
    #[default]
    #[serde(other)]
    Unknown,
}

/// An attached file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaAttachment {
    /// Local database id.
    pub id: String,
    /// Kind of media.
    #[serde(rename = "type")]
    pub kind: MediaType,
    /// Original file URL; null while processing.
    pub url: Option<String>,
    /// Thumbnail URL; null if none.
    pub preview_url: Option<String>,
    /// Original URL on the remote server; null for local media.
    pub remote_url: Option<String>,
    /// Remote thumbnail URL; null if none.
    pub preview_remote_url: Option<String>,
    /// Short link to the media (deprecated); null for remote media.
    pub text_url: Option<String>,
    /// Sizes, durations and focal point; its shape varies with the kind.
    pub meta: Value,
    /// Alt text; null if none.
    pub description: Option<String>,
    /// BlurHash of the preview; null if none.
    pub blurhash: Option<String>,
}

/// A link preview (Mastodon `PreviewCard`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviewCard {
    /// Linked URL.
    pub url: String,
    /// Page title.
    pub title: String,
    /// Page description.
    pub description: String,
    /// `link`, `photo`, `video` or `rich`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Fediverse authors of the page.
    pub authors: Vec<PreviewCardAuthor>,
    /// Author name (deprecated in favour of `authors`).
    pub author_name: String,
    /// Author URL (deprecated in favour of `authors`).
    pub author_url: String,
    /// Site name.
    pub provider_name: String,
    /// Site URL.
    pub provider_url: String,
    /// Embed HTML for `video`/`rich`.
    pub html: String,
    /// Preview width in pixels.
    pub width: u32,
    /// Preview height in pixels.
    pub height: u32,
    /// Preview image URL; null if none.
    pub image: Option<String>,
    /// Alt text of the image.
    pub image_description: String,
    /// Embeddable media URL.
    pub embed_url: String,
    /// BlurHash of the image; null if none.
    pub blurhash: Option<String>,
    /// Page language; null if unknown.
    pub language: Option<String>,
    /// Page publication time; null if unknown.
    pub published_at: Option<String>,
}

/// An author of a linked page (`PreviewCard.authors[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviewCardAuthor {
    /// Author name from the page.
    pub name: String,
    /// Author URL from the page.
    pub url: String,
    /// The author's fediverse account; null if unknown.
    pub account: Option<Account>,
}

/// A poll attached to a status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Poll {
    /// Poll id.
    pub id: String,
    /// Closing time; null if it never closes.
    pub expires_at: Option<String>,
    /// Whether it has closed.
    pub expired: bool,
    /// Whether several choices are allowed.
    pub multiple: bool,
    /// Number of votes.
    pub votes_count: u64,
    /// Number of voters; null unless `multiple`.
    pub voters_count: Option<u64>,
    /// The choices.
    pub options: Vec<PollOption>,
    /// Custom emoji used in the options.
    pub emojis: Vec<CustomEmoji>,
    /// Whether the viewer voted; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
    /// Indexes the viewer chose; omitted for anonymous viewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_votes: Option<Vec<u32>>,
}

/// One choice of a [`Poll`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PollOption {
    /// Choice text.
    pub title: String,
    /// Votes for it; null while results are hidden.
    pub votes_count: Option<u64>,
}

/// One revision of a status (`GET /api/v1/statuses/:id/history`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusEdit {
    /// Body as HTML at this revision.
    pub content: String,
    /// Content warning at this revision.
    pub spoiler_text: String,
    /// Sensitivity at this revision.
    pub sensitive: bool,
    /// When this revision was made.
    pub created_at: String,
    /// The author.
    pub account: Account,
    /// Poll options at this revision; omitted if there was no poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<StatusEditPoll>,
    /// Media at this revision.
    pub media_attachments: Vec<MediaAttachment>,
    /// Custom emoji at this revision.
    pub emojis: Vec<CustomEmoji>,
}

/// The poll of a [`StatusEdit`]: choices only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusEditPoll {
    /// The choices.
    pub options: Vec<StatusEditPollOption>,
}

/// One choice of a [`StatusEditPoll`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusEditPollOption {
    /// Choice text.
    pub title: String,
}

/// The plain-text source of a status, for editing
/// (`GET /api/v1/statuses/:id/source`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusSource {
    /// Status id.
    pub id: String,
    /// Body as plain text.
    pub text: String,
    /// Content warning as plain text.
    pub spoiler_text: String,
}

/// The thread around a status (`GET /api/v1/statuses/:id/context`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// Parents, oldest first.
    pub ancestors: Vec<Status>,
    /// Replies, depth-first.
    pub descendants: Vec<Status>,
}

/// The results of `GET /api/v2/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Search {
    /// Accounts found.
    pub accounts: Vec<super::Account>,
    /// Statuses found.
    pub statuses: Vec<Status>,
    /// Hashtags found.
    pub hashtags: Vec<super::Tag>,
}
