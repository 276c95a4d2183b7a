//! Every URL this node mints, in one place, so ids never drift apart.

/// Builds URLs on the node's base (`scheme://domain`).
#[derive(Debug, Clone)]
pub struct Urls {
    /// `scheme://domain`, no trailing slash.
    base: String,
}

impl Urls {
    /// URLs rooted at `base` (`https://example.com`).
    pub fn new(base: String) -> Self {
        Urls { base }
    }

    /// The root, `scheme://domain`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A local actor's id.
    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base)
    }

    /// The actor's key id.
    pub fn actor_key(&self, username: &str) -> String {
        format!("{}#main-key", self.actor(username))
    }

    /// One of the actor's sub-resources (`inbox`, `outbox`, `followers`, …).
    pub fn actor_part(&self, username: &str, part: &str) -> String {
        format!("{}/{part}", self.actor(username))
    }

    /// The human profile page.
    pub fn profile(&self, username: &str) -> String {
        format!("{}/@{username}", self.base)
    }

    /// The shared inbox.
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// The instance actor (signs fetches on behalf of the server).
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    /// A path on this node.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// `host` or `host:port` of a URL, as written: the form of our `domain`, of
/// `Host` headers and of remote accounts' domains. None without a host.
pub fn authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// [`authority`] of a URL given as text.
pub fn authority_of(url: &str) -> Option<String> {
    authority(&url::Url::parse(url).ok()?)
}

/// `host:port` with the scheme's default port filled in, for same-origin
/// checks (`https://x` and `https://x:443` are one origin).
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}
