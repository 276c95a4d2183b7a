//! The HTML Mastodon emits for each entity, and Rails' `simple_format`.
//!
//! Architecture invariant: every byte of user text reaches the output through
//! [`escape_into`]; the only unescaped markup is the fixed tags written here.

use std::fmt::Write as _;

/// How many characters of a link are shown before the ellipsis.
const LINK_DISPLAY_CHARS: usize = 30;

/// Appends `text` HTML-escaped as ERB's `h` does (`& < > " '`), so it is safe
/// both as element content and inside a double-quoted attribute.
pub(crate) fn escape_into(out: &mut String, text: impl IntoIterator<Item = char>) {
    for c in text {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// `text` HTML-escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text.chars());
    out
}

/// Mastodon's `TextFormatter.shortened_link`: the scheme (and `www.`) hidden,
/// then 30 characters shown and the rest hidden behind an ellipsis. A single
/// leftover character is shown rather than hidden.
pub(super) fn link(out: &mut String, url: &[char]) {
    let url_string: String = url.iter().collect();
    // Case-sensitive, like Mastodon's URL_PREFIX_REGEX.
    let prefix_len = ["https://www.", "http://www.", "https://", "http://"]
        .into_iter()
        .find(|p| url_string.starts_with(p))
        .map_or(0, str::len);
    let (prefix, rest) = url.split_at(prefix_len);
    let (mut shown, mut hidden) = rest.split_at(rest.len().min(LINK_DISPLAY_CHARS));
    if hidden.len() == 1 {
        (shown, hidden) = (rest, &[]);
    }
    let class = if hidden.is_empty() { "" } else { "ellipsis" };
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r#"<a href="{}" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">"#,
        escape(&url_string)
    );
    escape_into(out, prefix.iter().copied());
    let _ = write!(out, r#"</span><span class="{class}">"#);
    escape_into(out, shown.iter().copied());
    out.push_str(r#"</span><span class="invisible">"#);
    escape_into(out, hidden.iter().copied());
    out.push_str("</span></a>");
}

/// Mastodon's `link_to_hashtag`.
pub(super) fn hashtag(out: &mut String, name: &str, url: &str) {
    let _ = write!(
        out,
        r#"<a href="{}" class="mention hashtag" rel="tag">#<span>{}</span></a>"#,
        escape(url),
        escape(name)
    );
}

/// Mastodon's `link_to_mention` for an account that exists.
pub(super) fn mention(out: &mut String, display: &str, url: &str) {
    let _ = write!(
        out,
        r#"<span class="h-card" translate="no"><a href="{}" class="u-url mention">@<span>{}</span></a></span>"#,
        escape(url),
        escape(display)
    );
}

/// Rails' `simple_format` followed by Mastodon's `.delete("\n")`: paragraphs
/// split on two or more newlines, a single newline inside one becomes
/// `<br />`. `html` must already be escaped and use `\n` line ends only.
pub(super) fn simple_format(html: &str) -> String {
    let mut paragraphs: Vec<&str> = split_paragraphs(html);
    // Ruby's String#split drops trailing empty pieces but keeps leading ones.
    while paragraphs.last().is_some_and(|p| p.is_empty()) {
        paragraphs.pop();
    }
    if paragraphs.is_empty() {
        return "<p></p>".to_owned();
    }
    let mut out = String::with_capacity(html.len() + 7 * paragraphs.len());
    for paragraph in paragraphs {
        out.push_str("<p>");
        let mut prev = None;
        let mut chars = paragraph.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\n' {
                // A newline at either edge of a paragraph is dropped silently.
                if prev.is_some_and(|p| p != '\n') && chars.peek().is_some_and(|&n| n != '\n') {
                    out.push_str("<br />");
                }
            } else {
                out.push(c);
            }
            prev = Some(c);
        }
        out.push_str("</p>");
    }
    out
}

/// `html.split(/\n\n+/)`, before the trailing empties are dropped.
fn split_paragraphs(html: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' && bytes.get(i + 1) == Some(&b'\n') {
            let mut run_end = i;
            while bytes.get(run_end) == Some(&b'\n') {
                run_end += 1;
            }
            pieces.push(&html[piece_start..i]);
            piece_start = run_end;
            i = run_end;
        } else {
            i += 1;
        }
    }
    pieces.push(&html[piece_start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_html(url: &str) -> String {
        let mut out = String::new();
        link(&mut out, &url.chars().collect::<Vec<_>>());
        out
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("héllo 🎉"), "héllo 🎉");
    }

    #[test]
    fn link_hides_scheme_and_www() {
        assert_eq!(
            link_html("https://www.example.com/a"),
            r#"<a href="https://www.example.com/a" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://www.</span><span class="">example.com/a</span><span class="invisible"></span></a>"#
        );
        assert!(link_html("HTTP://EXAMPLE.COM").contains(
            r#"<span class="invisible"></span><span class="">HTTP://EXAMPLE.COM</span>"#
        ));
    }

    #[test]
    fn link_ellipsis_boundaries() {
        let thirty = "a".repeat(30);
        assert!(link_html(&format!("https://{thirty}")).contains(r#"<span class="">"#));
        // One character over: shown whole, as Mastodon reverts a 1-char cut.
        let html = link_html(&format!("https://{thirty}b"));
        assert!(
            html.contains(&format!(
                r#"<span class="">{thirty}b</span><span class="invisible"></span>"#
            )),
            "{html}"
        );
        let html = link_html(&format!("https://{thirty}bc"));
        assert!(
            html.contains(&format!(
                r#"<span class="ellipsis">{thirty}</span><span class="invisible">bc</span>"#
            )),
            "{html}"
        );
    }

    #[test]
    fn simple_format_matches_rails() {
        assert_eq!(simple_format("a"), "<p>a</p>");
        assert_eq!(simple_format("a\nb"), "<p>a<br />b</p>");
        assert_eq!(simple_format("a\n\nb"), "<p>a</p><p>b</p>");
        assert_eq!(simple_format("a\n\n\n\nb\nc"), "<p>a</p><p>b<br />c</p>");
        assert_eq!(simple_format("a\n"), "<p>a</p>");
        assert_eq!(simple_format("\na"), "<p>a</p>");
        assert_eq!(simple_format("\n\na"), "<p></p><p>a</p>");
        assert_eq!(simple_format("a\n\n"), "<p>a</p>");
        assert_eq!(simple_format("a\n \nb"), "<p>a<br /> <br />b</p>");
    }
}
