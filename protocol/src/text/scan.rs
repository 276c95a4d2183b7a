//! Finding the entities of a post — URLs, hashtags, mentions — the way
//! Mastodon's `Extractor.extract_entities_with_indices` does: each kind is
//! scanned over the whole text, then the lists are merged by start position
//! and any entity overlapping an earlier one is dropped (so a `#fragment` or
//! `@user` inside a link stays part of the link).

use super::chars::{is_hashtag_separator, is_latin_accent, is_word};
use super::url;

/// The longest hashtag we link, in characters.
pub(super) const MAX_HASHTAG_CHARS: usize = 100;

/// One entity of the text, over the char range `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entity {
    /// First char of the entity (the `h` of `https`, the `#`, the `@`).
    pub start: usize,
    /// One past its last char.
    pub end: usize,
    /// What it is.
    pub kind: Kind,
}

/// The kinds of [`Entity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// An `http(s)` URL; the text of the range is the URL.
    Url,
    /// A hashtag; the name as written, without `#`.
    Hashtag(String),
    /// A mention; the username as written and the domain, lower-cased.
    Mention {
        /// The part before the second `@`.
        username: String,
        /// The part after it, if any.
        domain: Option<String>,
    },
}

/// All entities of `chars`, ordered by position, none overlapping.
pub(super) fn entities(chars: &[char]) -> Vec<Entity> {
    let mut all: Vec<Entity> = url::find(chars)
        .into_iter()
        .map(|(start, end)| Entity {
            start,
            end,
            kind: Kind::Url,
        })
        .collect();
    all.extend(hashtags(chars));
    all.extend(mentions(chars));
    // Stable sort: on a tie the URL, listed first, wins, as in twitter-text.
    all.sort_by_key(|e| e.start);
    let mut kept: Vec<Entity> = Vec::with_capacity(all.len());
    for entity in all {
        if kept.last().is_none_or(|prev| prev.end <= entity.start) {
            kept.push(entity);
        }
    }
    kept
}

/// Mentions, after Mastodon's `Account::MENTION_RE`:
/// `(?<![=/[:word:]])@(USERNAME(?:@DOMAIN)?)`, dropped when followed by `@`,
/// a Latin accented letter or `://` (twitter-text's `end_mention_match`).
fn mentions(chars: &[char]) -> Vec<Entity> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@'
            || i > 0 && matches!(chars[i - 1], c if is_word(c) || c == '=' || c == '/')
        {
            i += 1;
            continue;
        }
        let username_start = i + 1;
        let Some(username_end) = dotted_run(chars, username_start, |c| {
            c.is_ascii_alphanumeric() || c == '_'
        }) else {
            i += 1;
            continue;
        };
        let mut end = username_end;
        let mut domain = None;
        if chars.get(username_end) == Some(&'@')
            && let Some(domain_end) = dotted_run(chars, username_end + 1, is_word)
        {
            let domain_end = port_end(chars, domain_end);
            let domain_chars = &chars[username_end + 1..domain_end];
            domain = Some(domain_chars.iter().collect::<String>().to_lowercase());
            end = domain_end;
        }
        let next = chars.get(end).copied();
        let rejected = matches!(next, Some('@' | '\u{FF20}'))
            || next.is_some_and(is_latin_accent)
            || chars.get(end..end + 3) == Some(&[':', '/', '/']);
        if !rejected {
            found.push(Entity {
                start: i,
                end,
                kind: Kind::Mention {
                    username: chars[username_start..username_end].iter().collect(),
                    domain,
                },
            });
        }
        i = end;
    }
    found
}

/// Past a `:port` (1 to 5 digits, then no word character) at `end`, where
/// there is one; else `end`. Mastodon has no ports in mentions, but nodes
/// in dev mode live at `localhost:PORT` and must be able to mention each
/// other.
fn port_end(chars: &[char], end: usize) -> usize {
    if chars.get(end) != Some(&':') {
        return end;
    }
    let digits = chars[end + 1..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let after = chars.get(end + 1 + digits).copied();
    if (1..=5).contains(&digits) && !after.is_some_and(|c| is_word(c) || c == ':') {
        end + 1 + digits
    } else {
        end
    }
}

/// The end of `x+([.-]+x+)*` starting at `start`, where `x` is `is_part`.
fn dotted_run(chars: &[char], start: usize, is_part: impl Fn(char) -> bool) -> Option<usize> {
    let run = |from: usize| {
        from + chars[from.min(chars.len())..]
            .iter()
            .take_while(|&&c| is_part(c))
            .count()
    };
    let mut end = run(start);
    if end == start {
        return None;
    }
    loop {
        let dots_end = end
            + chars[end..]
                .iter()
                .take_while(|&&c| c == '.' || c == '-')
                .count();
        let part_end = run(dots_end);
        if dots_end == end || part_end == dots_end {
            return Some(end);
        }
        end = part_end;
    }
}

/// Hashtags, after Mastodon's `Tag::HASHTAG_RE` and the URL-overlap fix in
/// its `Extractor.extract_hashtags_with_indices`.
fn hashtags(chars: &[char]) -> Vec<Entity> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !matches!(chars[i], '#' | '\u{FF03}') || i > 0 && !may_precede_hashtag(chars[i - 1]) {
            i += 1;
            continue;
        }
        let name_start = i + 1;
        let Some(name_end) = hashtag_name_end(chars, name_start) else {
            i += 1;
            continue;
        };
        let end = strip_glued_scheme(chars, name_start, name_end);
        let name_len = end - name_start;
        if name_len <= MAX_HASHTAG_CHARS && hashtag_name_end(&chars[..end], name_start) == Some(end)
        {
            found.push(Entity {
                start: i,
                end,
                kind: Kind::Hashtag(chars[name_start..end].iter().collect()),
            });
        }
        i = name_end;
    }
    found
}

/// Whether a `#` after `c` may start a hashtag: at a word boundary, and not
/// in `&#…;`, `/#…` (a URL fragment), `)#` or `=#`.
fn may_precede_hashtag(c: char) -> bool {
    c.is_whitespace() || !(is_word(c) || matches!(c, '/' | ')' | '&' | '='))
}

/// The end of the hashtag name at `start`, per Mastodon's `HASHTAG_NAME_PAT`:
/// either word characters and inner separators (`·`, `・`, ZWNJ) with a letter
/// or separator somewhere inside, or a run of word characters holding a
/// letter. So `#123` is no hashtag but `#1a` and `#a_1` are.
fn hashtag_name_end(chars: &[char], start: usize) -> Option<usize> {
    if !chars.get(start).is_some_and(|&c| is_word(c)) {
        return None;
    }
    let run = chars[start..]
        .iter()
        .take_while(|&&c| is_word(c) || is_hashtag_separator(c))
        .count();
    let words_end = start
        + chars[start..start + run]
            .iter()
            .rposition(|&c| is_word(c))
            .map_or(0, |p| p + 1);
    let inner = chars
        .get(start + 1..words_end.saturating_sub(1))
        .unwrap_or(&[]);
    if inner
        .iter()
        .any(|&c| c.is_alphabetic() || is_hashtag_separator(c))
    {
        return Some(words_end);
    }
    let word_run = chars[start..].iter().take_while(|&&c| is_word(c)).count();
    chars[start..start + word_run]
        .iter()
        .any(|c| c.is_alphabetic())
        .then_some(start + word_run)
}

/// In `#tagstuffhttps://…` the name swallowed the next URL's scheme; give it
/// back, as Mastodon's extractor does.
fn strip_glued_scheme(chars: &[char], start: usize, end: usize) -> usize {
    if chars.get(end..end + 3) != Some(&[':', '/', '/']) {
        return end;
    }
    for scheme in ["https", "http"] {
        let n = scheme.len();
        if end - start > n && chars[end - n..end].iter().copied().eq(scheme.chars()) {
            return end - n;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<(String, Kind)> {
        let chars: Vec<char> = text.chars().collect();
        entities(&chars)
            .into_iter()
            .map(|e| (chars[e.start..e.end].iter().collect(), e.kind))
            .collect()
    }

    fn mention(username: &str, domain: Option<&str>) -> Kind {
        Kind::Mention {
            username: username.into(),
            domain: domain.map(Into::into),
        }
    }

    #[test]
    fn mentions_local_and_remote() {
        assert_eq!(
            scan("hi @alice and @Bob@Other.Example."),
            [
                ("@alice".into(), mention("alice", None)),
                (
                    "@Bob@Other.Example".into(),
                    mention("Bob", Some("other.example"))
                ),
            ]
        );
        assert_eq!(
            scan("(@a.b-c_d)"),
            [("@a.b-c_d".into(), mention("a.b-c_d", None))]
        );
        assert_eq!(scan("@alice."), [("@alice".into(), mention("alice", None))]);
    }

    #[test]
    fn a_mention_may_name_a_port() {
        assert_eq!(
            scan("hi @alice@localhost:3000!"),
            [(
                "@alice@localhost:3000".into(),
                mention("alice", Some("localhost:3000"))
            )]
        );
        // Not a port: no digits, too many, or letters after them.
        for (text, mentioned) in [
            ("@a@b.c: hello", "@a@b.c"),
            ("@a@b.c:123456", "@a@b.c"),
            ("@a@b.c:80x", "@a@b.c"),
            ("@a@b.c:80:90", "@a@b.c"),
        ] {
            assert_eq!(scan(text)[0].0, mentioned, "{text:?}");
        }
    }

    #[test]
    fn not_mentions() {
        for text in [
            "mail a@b.c",
            "x=@alice",
            "/@alice",
            "@alice@",
            "@alicé",
            "@alice://x",
            "@",
            "@.a",
            "@é",
        ] {
            assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
        }
        // A rejected match is skipped whole, as Ruby's scan does.
        assert_eq!(scan("@a@@b"), [("@b".into(), mention("b", None))]);
    }

    #[test]
    fn hashtags_need_a_letter_and_a_boundary() {
        assert_eq!(
            scan("#Rust"),
            [("#Rust".into(), Kind::Hashtag("Rust".into()))]
        );
        assert_eq!(
            scan("(#rust)"),
            [("#rust".into(), Kind::Hashtag("rust".into()))]
        );
        assert_eq!(
            scan("#日本語です"),
            [("#日本語です".into(), Kind::Hashtag("日本語です".into()))]
        );
        assert_eq!(scan("#1a"), [("#1a".into(), Kind::Hashtag("1a".into()))]);
        assert_eq!(
            scan("#a·b· x"),
            [("#a·b".into(), Kind::Hashtag("a·b".into()))]
        );
        assert_eq!(
            scan("#हिन्दी"),
            [("#हिन्दी".into(), Kind::Hashtag("हिन्दी".into()))]
        );
        for text in ["#123", "a#b", "&#39;", "/#x", ")#x", "# x", "#", "#_1"] {
            assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
        }
    }

    #[test]
    fn hashtag_length_is_capped() {
        let ok = format!("#{}", "a".repeat(MAX_HASHTAG_CHARS));
        let long = format!("#{}", "a".repeat(MAX_HASHTAG_CHARS + 1));
        assert_eq!(scan(&ok).len(), 1);
        assert!(scan(&long).is_empty());
    }

    #[test]
    fn hashtag_gives_back_a_glued_scheme() {
        assert_eq!(
            scan("#foohttps://x.com"),
            [("#foo".into(), Kind::Hashtag("foo".into()))]
        );
        assert_eq!(
            scan("#http://x.com"),
            [("#http".into(), Kind::Hashtag("http".into()))]
        );
    }

    #[test]
    fn entities_inside_urls_belong_to_the_url() {
        assert_eq!(
            scan("https://x.com/a,@bob,#tag"),
            [("https://x.com/a,@bob,#tag".into(), Kind::Url)]
        );
        assert_eq!(
            scan("https://x.com/#tag #real"),
            [
                ("https://x.com/#tag".into(), Kind::Url),
                ("#real".into(), Kind::Hashtag("real".into())),
            ]
        );
    }
}
