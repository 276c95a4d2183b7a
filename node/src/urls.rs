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
    if let Some(authority) = plain_authority(url) {
        return Some(authority.to_owned());
    }
    authority(&url::Url::parse(url).ok()?)
}

/// The authority of an `http(s)://` URL whose host needs no normalisation,
/// read without a full parse (the inbox reads two per request): lowercase
/// ASCII letters, digits, `-` and `.` in labels that are neither empty,
/// punycode (`xn--`) nor, last, numeric (IPv4 forms), then an optional port
/// that is not the scheme's default, has no leading zero and fits, then `/`,
/// `?`, `#` or the end. Anything else (upper case, userinfo, IP literals,
/// whitespace, backslashes, IDNs) is None, left to [`url::Url::parse`], whose
/// answer this one always equals where it answers.
fn plain_authority(url: &str) -> Option<&str> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, "443")
    } else {
        (url.strip_prefix("http://")?, "80")
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let mut labels = host.split('.');
    let last = labels.next_back()?;
    let plain_label = |label: &str| {
        !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !plain_label(last) || !last.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    if !labels.all(plain_label) {
        return None;
    }
    if let Some(port) = port {
        let plain_port = !port.is_empty()
            && !port.starts_with('0')
            && port != default_port
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok();
        if !plain_port {
            return None;
        }
    }
    Some(authority)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_authority_agrees_with_a_full_parse() {
        let urls = [
            "https://a.example/users/x",
            "https://a.example",
            "https://a.example?x#y",
            "https://a.example#y",
            "http://localhost:3000/users/x",
            "https://a.example:443/x",
            "http://a.example:80/x",
            "http://a.example:443/x",
            "https://a.example:0443/x",
            "https://a.example:65536/x",
            "https://a.example:65535/x",
            "https://a.example:/x",
            "https://a.example:1:2/x",
            "https://A.Example/x",
            "HTTPS://a.example/x",
            " https://a.example/x",
            "https://a.example /x",
            "https://a.exa\tmple/x",
            "https://a.example\\x",
            "https://user@a.example/x",
            "https://a@b.example/x",
            "https://1.2.3.4/x",
            "https://1.2.3.4:8080/x",
            "https://0x7f.1/x",
            "https://a.0x1/x",
            "https://a.123/x",
            "https://123.a/x",
            "https://a..example/x",
            "https://.a.example/x",
            "https://a.example./x",
            "https:///x",
            "https://",
            "https://[::1]/x",
            "https://xn--nxasmq6b.example/x",
            "https://xn--zz.example/x",
            "https://b\u{fc}cher.example/x",
            "https://a-.example/x",
            "https://-a.example/x",
            "https://a_b.example/x",
            "https://a%41.example/x",
            "ftp://a.example/x",
            "https:a.example/x",
            "mailto:a@a.example",
            "",
        ];
        let long = format!("https://{}.example/x", "a".repeat(300));
        for url in urls.iter().copied().chain([long.as_str()]) {
            let full = url::Url::parse(url).ok().and_then(|u| authority(&u));
            assert_eq!(authority_of(url), full, "{url:?}");
            if let Some(quick) = plain_authority(url) {
                assert_eq!(Some(quick.to_owned()), full, "{url:?}");
            }
        }
        assert_eq!(plain_authority("https://a.example/x"), Some("a.example"));
        assert_eq!(
            plain_authority("http://localhost:3000/x"),
            Some("localhost:3000")
        );
    }
}
