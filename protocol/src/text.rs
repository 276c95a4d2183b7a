//! Plain text of a post to Mastodon-style HTML: links, mentions, hashtags.
//!
//! [`parse`] says what a post refers to (to resolve mentions, record tags,
//! fetch link previews); [`render`] turns it into the HTML that goes into
//! `Status.content` and the ActivityPub `Note`. Both read the text with the
//! same scanner, so they always find the same entities.
//!
//! The output follows Mastodon's `TextFormatter` and the twitter-text
//! extractor it configures, as closely as a hand-written scanner allows:
//!
//! - `chars`: character classes (Ruby's `[[:word:]]`, twitter-text's domain
//!   and URL character sets).
//! - `url`: `http(s)` URL detection with twitter-text's trailing-punctuation
//!   rules.
//! - `scan`: mentions, hashtags, and merging all entities.
//! - `html`: escaping, the markup of each entity, `simple_format`.
//!
//! Architecture invariant: this is an XSS boundary. All text between entities,
//! and every value placed in an entity's markup (URLs, names, the URLs the
//! caller supplies), is HTML-escaped; only `http`/`https` URLs are ever linked.
//!
//! Known differences from Mastodon: any alphabetic top-level domain is
//! accepted (twitter-text checks a list; neither links bare IPs or
//! `localhost`);
//! `xmpp:`, `magnet:`, `gemini:` and other schemes are not linked; a hashtag
//! may follow punctuation (Mastodon's older rule; 4.4 wants whitespace) but
//! not `&`, `=`, `/` or `)`; hashtags over 100 characters stay text; URLs are
//! not re-parsed (Mastodon drops links Addressable cannot parse); Unicode
//! classes are approximated with std (see `chars`).

mod chars;
mod html;
mod scan;
mod url;

/// Escapes text for HTML element content and double- or single-quoted
/// attributes (`& < > " '`), as ERB's `h` does.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    html::escape_into(&mut out, text.chars());
    out
}

use std::collections::{HashMap, HashSet};

use scan::{Entity, Kind};

/// What a post's text refers to, found by [`parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Accounts mentioned, in order of first appearance, without duplicates
    /// (compared case-insensitively).
    pub mentions: Vec<MentionRef>,
    /// Hashtag names as first written (without `#`), in order of first
    /// appearance, without case-insensitive duplicates.
    pub tags: Vec<String>,
    /// `http(s)` URLs, in order of first appearance, without duplicates.
    pub links: Vec<String>,
}

/// A mention as written in the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MentionRef {
    /// The username, as written (`Alice` in `@Alice`).
    pub username: String,
    /// `None` for `@alice`; `Some("other.example")` (lower-cased) for
    /// `@bob@Other.Example`. A mention of our own domain is `Some` too: the
    /// resolver knows the local domain, this module does not.
    pub domain: Option<String>,
}

/// How a mention whose account exists is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMention {
    /// The account's username, as the account spells it.
    pub username: String,
    /// The account's domain; `None` for a local account.
    pub domain: Option<String>,
    /// The account's profile URL, the link target.
    pub url: String,
}

/// Finds the mentions, hashtags and links of `text`.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(chars) = prepare(text) else {
        return parsed;
    };
    let mut seen_mentions = HashSet::new();
    let mut seen_tags = HashSet::new();
    let mut seen_links = HashSet::new();
    for entity in scan::entities(&chars) {
        match entity.kind {
            Kind::Url => {
                let url: String = chars[entity.start..entity.end].iter().collect();
                if seen_links.insert(url.clone()) {
                    parsed.links.push(url);
                }
            }
            Kind::Hashtag(name) => {
                if seen_tags.insert(name.to_lowercase()) {
                    parsed.tags.push(name);
                }
            }
            Kind::Mention { username, domain } => {
                if seen_mentions.insert((username.to_lowercase(), domain.clone())) {
                    parsed.mentions.push(MentionRef { username, domain });
                }
            }
        }
    }
    parsed
}

/// Renders `text` as Mastodon would: `<p>` paragraphs, `<br />` line breaks,
/// shortened links, hashtag links and mention links, everything else escaped.
///
/// `resolve` is asked once per distinct mention; a mention it does not know
/// stays plain text. `tag_url` gives the link of a hashtag from its name (it
/// should percent-encode it). An empty or blank text renders as `""`.
///
/// As in Mastodon, a resolved mention shows just the username, unless another
/// account with the same username but a different domain is mentioned too;
/// then each shows `username@domain` (local accounts stay bare).
pub fn render(
    text: &str,
    resolve: impl Fn(&MentionRef) -> Option<ResolvedMention>,
    tag_url: impl Fn(&str) -> String,
) -> String {
    let Some(chars) = prepare(text) else {
        return String::new();
    };
    let entities = scan::entities(&chars);

    let mut resolved: HashMap<(String, Option<String>), Option<ResolvedMention>> = HashMap::new();
    for entity in &entities {
        if let Kind::Mention { username, domain } = &entity.kind {
            resolved
                .entry((username.to_lowercase(), domain.clone()))
                .or_insert_with(|| {
                    resolve(&MentionRef {
                        username: username.clone(),
                        domain: domain.clone(),
                    })
                });
        }
    }
    // Domains seen per username, to spot two accounts sharing one.
    let mut domains_by_username: HashMap<String, HashSet<Option<String>>> = HashMap::new();
    for account in resolved.values().flatten() {
        domains_by_username
            .entry(account.username.to_lowercase())
            .or_default()
            .insert(account.domain.as_deref().map(str::to_lowercase));
    }

    let mut inline = String::with_capacity(text.len() * 2);
    let mut last = 0;
    for Entity { start, end, kind } in &entities {
        html::escape_into(&mut inline, chars[last..*start].iter().copied());
        match kind {
            Kind::Url => html::link(&mut inline, &chars[*start..*end]),
            Kind::Hashtag(name) => html::hashtag(&mut inline, name, &tag_url(name)),
            Kind::Mention { username, domain } => {
                match resolved
                    .get(&(username.to_lowercase(), domain.clone()))
                    .and_then(Option::as_ref)
                {
                    Some(account) => {
                        let shared = domains_by_username
                            .get(&account.username.to_lowercase())
                            .is_some_and(|domains| domains.len() > 1);
                        let display = match (&account.domain, shared) {
                            (Some(domain), true) => format!("{}@{domain}", account.username),
                            _ => account.username.clone(),
                        };
                        html::mention(&mut inline, &display, &account.url);
                    }
                    None => html::escape_into(&mut inline, chars[*start..*end].iter().copied()),
                }
            }
        }
        last = *end;
    }
    html::escape_into(&mut inline, chars[last..].iter().copied());
    html::simple_format(&inline)
}

/// The text as Mastodon formats it: stripped of surrounding ASCII whitespace
/// (`Status#prepare_contents`), line ends normalised to `\n`; `None` when
/// nothing but whitespace is left (`text.blank?`).
fn prepare(text: &str) -> Option<Vec<char>> {
    let stripped =
        text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C' | '\0'));
    if stripped.chars().all(char::is_whitespace) {
        return None;
    }
    let mut chars = Vec::with_capacity(stripped.len());
    let mut it = stripped.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\r' {
            it.next_if_eq(&'\n');
            chars.push('\n');
        } else {
            chars.push(c);
        }
    }
    Some(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_tag_url(name: &str) -> String {
        format!("https://local.example/tags/{name}")
    }

    #[test]
    fn blank_text_renders_empty() {
        for text in ["", "   ", "\n\n", " \u{3000}\t"] {
            assert_eq!(render(text, |_| None, no_tag_url), "");
            assert_eq!(parse(text), Parsed::default());
        }
    }

    #[test]
    fn crlf_and_surrounding_whitespace() {
        assert_eq!(
            render("\r\n a\r\nb\r\rc \n", |_| None, no_tag_url),
            "<p>a<br />b</p><p>c</p>"
        );
    }

    #[test]
    fn parse_dedupes() {
        let parsed = parse("#Rust #rust @a @A @a@X.org @a@x.org https://x.org https://x.org");
        assert_eq!(parsed.tags, ["Rust"]);
        assert_eq!(
            parsed.mentions,
            [
                MentionRef {
                    username: "a".into(),
                    domain: None
                },
                MentionRef {
                    username: "a".into(),
                    domain: Some("x.org".into())
                },
            ]
        );
        assert_eq!(parsed.links, ["https://x.org"]);
    }

    #[test]
    fn resolver_called_once_per_distinct_mention() {
        let calls = std::cell::Cell::new(0);
        render(
            "@a @A @a @b",
            |_| {
                calls.set(calls.get() + 1);
                None
            },
            no_tag_url,
        );
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn same_username_on_two_domains_shows_domains() {
        let resolve = |m: &MentionRef| {
            Some(ResolvedMention {
                username: m.username.clone(),
                domain: m.domain.clone(),
                url: format!(
                    "https://{}/@{}",
                    m.domain.as_deref().unwrap_or("local.example"),
                    m.username
                ),
            })
        };
        let html = render("@bob @bob@other.example", resolve, no_tag_url);
        assert_eq!(
            html,
            "<p><span class=\"h-card\" translate=\"no\"><a href=\"https://local.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> \
             <span class=\"h-card\" translate=\"no\"><a href=\"https://other.example/@bob\" class=\"u-url mention\">@<span>bob@other.example</span></a></span></p>"
        );
    }
}
