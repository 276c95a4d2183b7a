//! Remote HTML through an allowlist, like Mastodon's `MASTODON_STRICT`:
//! paragraphs, breaks, inline formatting, quotes, code, lists, `span`s with
//! microformat and Mastodon classes, and links to `http`/`https` only (opened
//! in a new tab, `rel="nofollow noopener noreferrer"`). Everything else is
//! removed and its text kept; `script` and `style` go with their content.
//!
//! Used for remote statuses, remote bios and profile field values. Display
//! names and other plain-text fields are never HTML (clients escape them).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Elements kept (their allowed attributes are in [`ATTRIBUTES`]).
const TAGS: &[&str] = &[
    "p",
    "br",
    "span",
    "a",
    "del",
    "s",
    "pre",
    "blockquote",
    "code",
    "b",
    "strong",
    "u",
    "i",
    "em",
    "ul",
    "ol",
    "li",
];

/// Attributes kept per element. `rel` and `target` of links are ours, never
/// the sender's.
const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "class"]),
    ("span", &["class"]),
    ("p", &["class"]),
    ("ol", &["start", "reversed"]),
    ("li", &["value"]),
];

/// Whether a class is one Mastodon keeps: microformats (`h-card`, `u-url`,
/// `p-name`, `dt-published`, `e-content`) and the classes its web UI styles.
fn allowed_class(class: &str) -> bool {
    ["h-", "p-", "u-", "dt-", "e-"]
        .iter()
        .any(|prefix| class.starts_with(prefix) && class.len() > prefix.len())
        || matches!(class, "mention" | "hashtag" | "ellipsis" | "invisible")
}

/// The `class` attribute with only allowed classes (None: drop it).
fn filter_classes(value: &str) -> Option<Cow<'_, str>> {
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|c| allowed_class(c))
        .collect();
    (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
}

/// The configured sanitiser. Built once: it is a constant, not state.
static STRICT: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    let attributes: HashMap<&str, HashSet<&str>> = ATTRIBUTES
        .iter()
        .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
        .collect();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(["script", "style"].into_iter().collect())
        .tag_attributes(attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https"].into_iter().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true)
        .attribute_filter(|_, attribute, value| match attribute {
            "class" => filter_classes(value),
            _ => Some(Cow::Borrowed(value)),
        });
    builder
});

/// Remote HTML made safe to serve as a status's `content` or an account's
/// `note`.
pub fn remote_html(html: &str) -> String {
    STRICT.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::remote_html;

    #[test]
    fn links_survive_with_our_rel_and_target() {
        assert_eq!(
            remote_html(
                r#"<p>see <a href="https://example.com/x" rel="me" target="_self">this</a></p>"#
            ),
            r#"<p>see <a href="https://example.com/x" target="_blank" rel="nofollow noopener noreferrer">this</a></p>"#
        );
    }

    #[test]
    fn mastodon_mentions_and_hashtags_keep_their_classes() {
        let html = r#"<p><span class="h-card"><a href="https://m.example/@bob" class="u-url mention evil">@<span>bob</span></a></span> <a href="https://m.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a></p>"#;
        let clean = remote_html(html);
        assert!(clean.contains(r#"<span class="h-card">"#), "{clean}");
        assert!(clean.contains(r#"class="u-url mention""#), "{clean}");
        assert!(!clean.contains("evil"), "{clean}");
        assert!(clean.contains(r#"class="mention hashtag""#), "{clean}");
    }

    #[test]
    fn dangerous_markup_goes_and_its_text_stays() {
        let clean = remote_html(
            r#"<div onclick="x()">Hi <script>alert(1)</script><style>p{}</style><img src="https://e/x.png" onerror="y()"><a href="javascript:alert(2)">click</a> <a href="/relative">rel</a> <iframe src="https://e"></iframe><h1>title</h1></div>"#,
        );
        for bad in [
            "onclick",
            "script",
            "alert",
            "style",
            "img",
            "onerror",
            "javascript",
            "iframe",
            "relative",
            "<div",
            "<h1",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert!(clean.contains("Hi "), "{clean}");
        assert!(clean.contains("click"), "{clean}");
        assert!(clean.contains("title"), "{clean}");
    }

    #[test]
    fn text_stays_escaped() {
        assert_eq!(remote_html("a &lt;b&gt; &amp; c"), "a &lt;b&gt; &amp; c");
        assert_eq!(remote_html("1 < 2"), "1 &lt; 2");
    }
}
