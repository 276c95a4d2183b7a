//! Content filters (v2): a filter, its keywords and statuses, and the match
//! result attached to `Status.filtered`.

use serde::{Deserialize, Serialize};

/// Where a filter applies. Unrecognised contexts read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterContext {
    /// Home and lists.
    Home,
    /// Notifications.
    Notifications,
    /// Public timelines.
    Public,
    /// Expanded threads.
    Thread,
    /// Profiles.
    Account,
    /// A context this version does not know.
    #[serde(other)]
    Unknown,
}

/// What a matching filter does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    /// Hide completely.
    Hide,
    /// Hide media behind a warning (Mastodon 4.4).
    Blur,
    /// Show behind a warning naming the filter; also what unknown actions
    /// read as.
    #[default]
    #[serde(other)]
    Warn,
}

/// A user-defined filter (Mastodon `Filter`, API v2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Filter id.
    pub id: String,
    /// Name shown in the warning.
    pub title: String,
    /// Where it applies.
    pub context: Vec<FilterContext>,
    /// When it ends; null if never.
    pub expires_at: Option<String>,
    /// What it does.
    pub filter_action: FilterAction,
    /// Keywords; omitted inside [`FilterResult`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<FilterKeyword>>,
    /// Filtered statuses; omitted inside [`FilterResult`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<FilterStatus>>,
}

/// A keyword of a [`Filter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterKeyword {
    /// Keyword id.
    pub id: String,
    /// Phrase to match.
    pub keyword: String,
    /// Whether to match whole words only.
    pub whole_word: bool,
}

/// A single status a [`Filter`] hides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterStatus {
    /// Entry id.
    pub id: String,
    /// The filtered status.
    pub status_id: String,
}

/// Why a status matched a filter (`Status.filtered[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterResult {
    /// The matching filter, without keywords and statuses.
    pub filter: Filter,
    /// Keywords that matched; null if none.
    pub keyword_matches: Option<Vec<String>>,
    /// Status ids that matched; null if none.
    pub status_matches: Option<Vec<String>>,
}
