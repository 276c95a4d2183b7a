//! WebFinger (RFC 7033) documents and `acct:` URIs (RFC 7565).

use serde::{Deserialize, Serialize};

/// The media type of an ActivityStreams document, used in JRD `self` links.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// A JSON Resource Descriptor: the answer to a WebFinger query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jrd {
    /// The resource this document describes, e.g. `acct:alice@example.com`.
    pub subject: String,
    /// Other URIs for the same resource (the actor id, the profile page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Typed links to representations of the resource.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// One link of a [`Jrd`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The relation, e.g. `self` or `http://webfinger.net/rel/profile-page`.
    pub rel: String,
    /// The media type of the target.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The target URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// A URI template (used by OStatus-style `subscribe` links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl Jrd {
    /// The `href` of the first `self` link whose type is an ActivityStreams
    /// media type: where the actor document lives.
    pub fn actor_url(&self) -> Option<&str> {
        self.links
            .iter()
            .filter(|l| l.rel == "self")
            .find(|l| {
                l.kind
                    .as_deref()
                    .is_some_and(|t| t == ACTIVITY_JSON || t.starts_with("application/ld+json"))
            })
            .and_then(|l| l.href.as_deref())
    }
}

/// An `acct:user@host` URI, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acct {
    /// The user part, as written.
    pub user: String,
    /// The host part (with a port when one was given), lower-cased.
    pub host: String,
}

impl Acct {
    /// Parses `acct:user@host`, also accepting the forms clients type:
    /// `user@host` and `@user@host`.
    ///
    /// ```
    /// use starling_protocol::webfinger::Acct;
    /// let a = Acct::parse("acct:Alice@Example.COM").unwrap();
    /// assert_eq!((a.user.as_str(), a.host.as_str()), ("Alice", "example.com"));
    /// assert!(Acct::parse("@bob@localhost:8080").is_some());
    /// assert!(Acct::parse("acct:nobody").is_none());
    /// assert!(Acct::parse("acct:a@b@c").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<Acct> {
        let rest = input.strip_prefix("acct:").unwrap_or(input);
        let rest = rest.strip_prefix('@').unwrap_or(rest);
        let (user, host) = rest.split_once('@')?;
        let valid_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        let valid_user = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        (valid_user && valid_host).then(|| Acct {
            user: user.to_owned(),
            host: host.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for Acct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "acct:{}@{}", self.user, self.host)
    }
}
