//! Post text to HTML, checked against the exact markup Mastodon produces, and
//! against hostile input: nothing a user types may come out as live markup.

use std::cell::RefCell;

use starling_protocol::text::{MentionRef, Parsed, ResolvedMention, parse, render};

const LOCAL: &str = "starling.example";

/// Accounts that exist: `alice` here, `bob@other.example` there.
fn resolve(m: &MentionRef) -> Option<ResolvedMention> {
    let local = m.domain.as_deref().is_none_or(|d| d == LOCAL);
    match (
        m.username.to_lowercase().as_str(),
        local,
        m.domain.as_deref(),
    ) {
        ("alice", true, _) => Some(ResolvedMention {
            username: "alice".into(),
            domain: None,
            url: format!("https://{LOCAL}/@alice"),
        }),
        ("bob", false, Some("other.example")) => Some(ResolvedMention {
            username: "bob".into(),
            domain: Some("other.example".into()),
            url: "https://other.example/@bob".into(),
        }),
        _ => None,
    }
}

fn tag_url(name: &str) -> String {
    format!("https://{LOCAL}/tags/{name}")
}

fn html(text: &str) -> String {
    render(text, resolve, tag_url)
}

const ALICE: &str = r#"<span class="h-card" translate="no"><a href="https://starling.example/@alice" class="u-url mention">@<span>alice</span></a></span>"#;
const BOB: &str = r#"<span class="h-card" translate="no"><a href="https://other.example/@bob" class="u-url mention">@<span>bob</span></a></span>"#;

#[test]
fn plain_text() {
    assert_eq!(html("Hello, world!"), "<p>Hello, world!</p>");
    assert_eq!(html(""), "");
}

#[test]
fn paragraphs_and_line_breaks() {
    assert_eq!(
        html("First line\nsecond line\n\nNew paragraph\n\n\n\nLast"),
        "<p>First line<br />second line</p><p>New paragraph</p><p>Last</p>"
    );
}

#[test]
fn url_with_trailing_period() {
    assert_eq!(
        html("Read https://example.com/short."),
        r#"<p>Read <a href="https://example.com/short" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/short</span><span class="invisible"></span></a>.</p>"#
    );
}

#[test]
fn long_url_gets_ellipsis() {
    assert_eq!(
        html("https://blog.la-terminal.net/xogot-preview-update/"),
        r#"<p><a href="https://blog.la-terminal.net/xogot-preview-update/" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="ellipsis">blog.la-terminal.net/xogot-pre</span><span class="invisible">view-update/</span></a></p>"#
    );
}

#[test]
fn www_is_hidden_with_the_scheme() {
    assert_eq!(
        html("https://www.eventbrite.com/o/iiif-consortium-19836883937"),
        r#"<p><a href="https://www.eventbrite.com/o/iiif-consortium-19836883937" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://www.</span><span class="ellipsis">eventbrite.com/o/iiif-consorti</span><span class="invisible">um-19836883937</span></a></p>"#
    );
}

#[test]
fn url_query_ampersand_is_escaped() {
    assert_eq!(
        html("search https://example.com/s?q=a&b=c&d, then"),
        r#"<p>search <a href="https://example.com/s?q=a&amp;b=c&amp;d" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/s?q=a&amp;b=c&amp;d</span><span class="invisible"></span></a>, then</p>"#
    );
}

#[test]
fn url_in_parentheses() {
    assert_eq!(
        html("(see https://en.wikipedia.org/wiki/Rust_(language))"),
        r#"<p>(see <a href="https://en.wikipedia.org/wiki/Rust_(language)" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="ellipsis">en.wikipedia.org/wiki/Rust_(la</span><span class="invisible">nguage)</span></a>)</p>"#
    );
}

#[test]
fn local_mention_resolved() {
    assert_eq!(html("hi @alice!"), format!("<p>hi {ALICE}!</p>"));
    // Our own domain written out is still the local account.
    assert_eq!(html("@Alice@Starling.Example"), format!("<p>{ALICE}</p>"));
}

#[test]
fn remote_mention_resolved() {
    assert_eq!(
        html("@bob@other.example, hello"),
        format!("<p>{BOB}, hello</p>")
    );
}

#[test]
fn unresolved_mention_stays_text() {
    assert_eq!(
        html("cc @nobody @bob@elsewhere.example"),
        "<p>cc @nobody @bob@elsewhere.example</p>"
    );
}

#[test]
fn hashtag() {
    assert_eq!(
        html("I like #Rust and #日本語."),
        r#"<p>I like <a href="https://starling.example/tags/Rust" class="mention hashtag" rel="tag">#<span>Rust</span></a> and <a href="https://starling.example/tags/日本語" class="mention hashtag" rel="tag">#<span>日本語</span></a>.</p>"#
    );
}

#[test]
fn number_sign_is_not_a_hashtag() {
    assert_eq!(html("issue #123 and C#"), "<p>issue #123 and C#</p>");
    assert!(parse("issue #123 and C#").tags.is_empty());
}

#[test]
fn email_address_is_not_a_mention() {
    assert_eq!(
        html("write to alice@example.com"),
        "<p>write to alice@example.com</p>"
    );
    assert_eq!(parse("write to alice@example.com"), Parsed::default());
}

#[test]
fn everything_together() {
    let text = "@alice look: https://example.com/a?b=1\n\n#Fediverse ❤️ @bob@other.example";
    assert_eq!(
        html(text),
        format!(
            "<p>{ALICE} look: {link}</p><p>{tag} ❤️ {BOB}</p>",
            link = r#"<a href="https://example.com/a?b=1" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/a?b=1</span><span class="invisible"></span></a>"#,
            tag = r#"<a href="https://starling.example/tags/Fediverse" class="mention hashtag" rel="tag">#<span>Fediverse</span></a>"#,
        )
    );
    let parsed = parse(text);
    assert_eq!(parsed.tags, ["Fediverse"]);
    assert_eq!(parsed.links, ["https://example.com/a?b=1"]);
    assert_eq!(
        parsed.mentions,
        [
            MentionRef {
                username: "alice".into(),
                domain: None
            },
            MentionRef {
                username: "bob".into(),
                domain: Some("other.example".into())
            },
        ]
    );
}

#[test]
fn unicode_and_emoji_pass_through() {
    let text = "Grüße 👋🏽 — 你好 👨‍👩‍👧 مرحبا";
    assert_eq!(html(text), format!("<p>{text}</p>"));
}

// --- The XSS boundary -------------------------------------------------------

#[test]
fn script_tag_is_escaped() {
    assert_eq!(
        html("<script>alert('x')</script>"),
        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"
    );
}

#[test]
fn attribute_breakout_is_escaped() {
    assert_eq!(
        html(r#""><img src=x onerror=alert(1)>"#),
        "<p>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>"
    );
}

#[test]
fn javascript_urls_are_never_linked() {
    for text in [
        "javascript:alert(1)",
        "JavaScript://example.com/%0Aalert(1)",
        "xhttps://example.com",
        "data:text/html,<script>alert(1)</script>",
    ] {
        let out = html(text);
        assert!(!out.contains("<a"), "{text:?} was linked: {out}");
        assert_valid_markup(&out);
    }
}

#[test]
fn quote_in_url_cannot_break_the_href() {
    // The URL ends before `">`; what follows is text.
    assert_eq!(
        html(r#"https://example.com/x"><img src=x onerror=alert(1)>"#),
        r#"<p><a href="https://example.com/x" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/x</span><span class="invisible"></span></a>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>"#
    );
    // A quote inside the path stays in the URL, escaped.
    assert_eq!(
        html(r#"https://example.com/a"b'c/ x"#),
        r#"<p><a href="https://example.com/a&quot;b&#39;c/" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/a&quot;b&#39;c/</span><span class="invisible"></span></a> x</p>"#
    );
}

#[test]
fn caller_supplied_urls_and_names_are_escaped() {
    let evil = |_: &MentionRef| {
        Some(ResolvedMention {
            username: "<b>eve</b>".into(),
            domain: None,
            url: "https://x.example/\"onmouseover=\"alert(1)".into(),
        })
    };
    let out = render("@eve #tag", evil, |_| "\"><script>".into());
    assert_eq!(
        out,
        r#"<p><span class="h-card" translate="no"><a href="https://x.example/&quot;onmouseover=&quot;alert(1)" class="u-url mention">@<span>&lt;b&gt;eve&lt;/b&gt;</span></a></span> <a href="&quot;&gt;&lt;script&gt;" class="mention hashtag" rel="tag">#<span>tag</span></a></p>"#
    );
}

#[test]
fn hostile_inputs_never_produce_live_markup() {
    let inputs = [
        "<a href=\"javascript:alert(1)\">x</a>",
        "<<script>>",
        "&lt;script&gt;",
        "&#x3C;img src=x onerror=alert(1)&#x3E;",
        "https://example.com/<script>",
        "https://example.com/?q=<svg/onload=alert(1)>",
        "https://example.com/'onmouseover='alert(1)",
        "#tag<script> @alice<img> @carol@other.example\"x",
        "https://e.com/\u{0}\u{202E}",
        "@alice/'><x>",
    ];
    for text in inputs {
        let out = html(text);
        assert_valid_markup(&out);
        assert_eq!(
            visible_text(&out),
            flatten(text),
            "{text:?} lost text: {out}"
        );
    }
}

/// Fuzz with a tiny LCG over characters that matter to the scanner.
#[test]
fn random_text_is_safe_preserved_and_consistent() {
    const ALPHABET: &[&str] = &[
        "a",
        "B",
        "1",
        "_",
        ".",
        "-",
        "@",
        "#",
        "&",
        "<",
        ">",
        "\"",
        "'",
        "/",
        ":",
        "?",
        "=",
        "(",
        ")",
        " ",
        "\n",
        "é",
        "日",
        "🎉",
        "https://",
        "www.",
        "alice",
        "bob@other.example",
        ".com",
        "&#",
        "\u{200C}",
        "·",
    ];
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for _ in 0..3000 {
        let len = next() % 24;
        let text: String = (0..len)
            .map(|_| ALPHABET[next() % ALPHABET.len()])
            .collect();

        let resolved = RefCell::new(Vec::new());
        let tagged = RefCell::new(Vec::new());
        let out = render(
            &text,
            |m| {
                resolved.borrow_mut().push(m.clone());
                // Local accounts echo their name back (remote ones would show
                // without their domain), so the visible text is unchanged.
                m.domain.is_none().then(|| ResolvedMention {
                    username: m.username.clone(),
                    domain: None,
                    url: "https://x.example/@u".into(),
                })
            },
            |name| {
                tagged.borrow_mut().push(name.to_owned());
                "https://x.example/tags/t".into()
            },
        );
        assert_valid_markup(&out);
        assert_eq!(visible_text(&out), flatten(&text), "{text:?} gave {out}");

        // parse and render find the same things.
        let parsed = parse(&text);
        let mut distinct_tags = Vec::<String>::new();
        for tag in tagged.into_inner() {
            if !distinct_tags
                .iter()
                .any(|t| t.to_lowercase() == tag.to_lowercase())
            {
                distinct_tags.push(tag);
            }
        }
        assert_eq!(parsed.tags, distinct_tags, "{text:?}");
        assert_eq!(parsed.mentions, resolved.into_inner(), "{text:?}");
        for link in &parsed.links {
            let escaped = link
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            assert!(
                out.contains(&format!("<a href=\"{escaped}\" target=")),
                "{text:?}: {link} not linked"
            );
        }
    }
}

/// The text a reader sees: tags removed, entities decoded.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// What `visible_text` should give for `text`: stripped, without newlines.
fn flatten(text: &str) -> String {
    let stripped =
        text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C' | '\0'));
    if stripped.chars().all(char::is_whitespace) {
        return String::new();
    }
    stripped.replace(['\r', '\n'], "")
}

/// Every tag in `html` is one the formatter writes, with only its attributes,
/// quoted values free of markup characters, and `http(s)` link targets.
fn assert_valid_markup(html: &str) {
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let close = rest[open..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {html}"))
            + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if matches!(tag, "p" | "/p" | "br /" | "span" | "/span" | "/a") {
            continue;
        }
        let (name, mut attrs) = tag
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad tag <{tag}> in {html}"));
        assert!(matches!(name, "a" | "span"), "unexpected <{tag}> in {html}");
        while !attrs.is_empty() {
            let (key, after) = attrs
                .split_once("=\"")
                .unwrap_or_else(|| panic!("bad attribute in <{tag}>"));
            let (value, after) = after
                .split_once('"')
                .unwrap_or_else(|| panic!("unterminated value in <{tag}>"));
            assert!(
                matches!(key, "href" | "target" | "rel" | "translate" | "class"),
                "unexpected attribute {key} in <{tag}>"
            );
            assert!(
                !value.contains(['<', '>', '\'']),
                "unescaped value {value:?} in <{tag}>"
            );
            if key == "href" {
                let lower = value.to_ascii_lowercase();
                assert!(
                    lower.starts_with("https://") || lower.starts_with("http://"),
                    "href {value:?} in {html}"
                );
            }
            attrs = after.strip_prefix(' ').unwrap_or(after);
        }
    }
    assert!(!rest.contains('>'), "stray > in {html}");
}
