//! NodeInfo (<https://nodeinfo.diaspora.software/>) discovery and documents.

use serde::{Deserialize, Serialize};

/// The schema URI of NodeInfo 2.0.
pub const SCHEMA_2_0: &str = "http://nodeinfo.diaspora.software/ns/schema/2.0";
/// The schema URI of NodeInfo 2.1.
pub const SCHEMA_2_1: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

/// `/.well-known/nodeinfo`: links to the documents this server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// One link per supported schema version.
    pub links: Vec<DiscoveryLink>,
}

/// One entry of [`Discovery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryLink {
    /// The schema URI ([`SCHEMA_2_0`] or [`SCHEMA_2_1`]).
    pub rel: String,
    /// Where the document is.
    pub href: String,
}

/// A NodeInfo document (2.0 or 2.1: 2.1 only adds `software.repository` and
/// `software.homepage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// `"2.0"` or `"2.1"`.
    pub version: String,
    /// What server software this is.
    pub software: Software,
    /// Federation protocols spoken, e.g. `["activitypub"]`.
    pub protocols: Vec<String>,
    /// Third-party services; always empty for Starling.
    pub services: Services,
    /// Whether anyone may sign up.
    pub open_registrations: bool,
    /// User and post counts.
    pub usage: Usage,
    /// Free-form extra data.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The `software` block of [`NodeInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// Lower-case software name (`starling`).
    pub name: String,
    /// Version string.
    pub version: String,
    /// Source repository (2.1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Project home page (2.1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// The `services` block of [`NodeInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    /// Services we pull from.
    pub inbound: Vec<String>,
    /// Services we push to.
    pub outbound: Vec<String>,
}

/// The `usage` block of [`NodeInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// User counts.
    pub users: UsageUsers,
    /// Number of posts written by local users.
    pub local_posts: i64,
}

/// User counts of [`Usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageUsers {
    /// All local users.
    pub total: i64,
    /// Users active in the last 30 days.
    pub active_month: i64,
    /// Users active in the last 180 days.
    pub active_halfyear: i64,
}
