//! Finding `http(s)://` URLs in text, after twitter-text's `valid_url` as
//! Mastodon overrides it (`config/initializers/twitter_regex.rb`).
//!
//! The regex is walked by hand: scheme, host, optional port, optional path,
//! optional query. Each part takes the longest run its characters allow and
//! then gives back trailing characters a URL may not end with, which is what
//! the regex's backtracking does.

use super::chars::{
    is_domain_char, is_url_path_char, is_url_path_ending, is_url_query_char, is_url_query_ending,
    may_precede_url,
};

/// Every URL in `chars`, as `(start, end)` char ranges, in order.
pub(super) fn find(chars: &[char]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match url_at(chars, i) {
            Some(end) => {
                found.push((i, end));
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

/// The end of the URL starting at `start`, if one does.
fn url_at(chars: &[char], start: usize) -> Option<usize> {
    if start > 0 && !may_precede_url(chars[start - 1]) {
        return None;
    }
    let host_start = start + scheme_len(&chars[start..])?;
    let mut end = host(chars, host_start)?;
    if chars.get(end) == Some(&':') && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
        end += 1;
        while chars.get(end).is_some_and(char::is_ascii_digit) {
            end += 1;
        }
    }
    if chars.get(end) == Some(&'/') {
        end = path(chars, end + 1);
    }
    if chars.get(end) == Some(&'?')
        && let Some(query_end) = query(chars, end + 1)
    {
        end = query_end;
    }
    Some(end)
}

/// Length of a leading `http://` or `https://` (any case).
fn scheme_len(chars: &[char]) -> Option<usize> {
    ["https://", "http://"].into_iter().find_map(|scheme| {
        let n = scheme.chars().count();
        let matches = chars.len() >= n
            && chars
                .iter()
                .zip(scheme.chars())
                .all(|(c, s)| c.eq_ignore_ascii_case(&s));
        matches.then_some(n)
    })
}

/// The end of a valid host name starting at `start`.
///
/// Labels are runs of domain characters, `-` and `_`, joined by single dots.
/// The longest run of labels that forms a valid domain wins: subdomain labels
/// may hold `_`, the registrable label may not, and the last label must begin
/// with a top-level domain.
fn host(chars: &[char], start: usize) -> Option<usize> {
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut j = start;
    loop {
        let label_start = j;
        while chars
            .get(j)
            .is_some_and(|&c| is_domain_char(c) || c == '-' || c == '_')
        {
            j += 1;
        }
        if j == label_start {
            break;
        }
        labels.push((label_start, j));
        if chars.get(j) == Some(&'.') {
            j += 1;
        } else {
            break;
        }
    }
    // leading_ok[k]: labels[..k] are all valid subdomain labels.
    let mut leading_ok = vec![true];
    for &(s, e) in &labels {
        let ok = leading_ok.last().copied().unwrap_or(false) && label_ok(&chars[s..e], true);
        leading_ok.push(ok);
    }
    (2..=labels.len()).rev().find_map(|k| {
        let (name_start, name_end) = labels[k - 2];
        if !leading_ok[k - 2] || !label_ok(&chars[name_start..name_end], false) {
            return None;
        }
        let (tld_start, tld_end) = labels[k - 1];
        tld(chars, tld_start, tld_end)
    })
}

/// A label starts and ends with a domain character; `-` (and `_` for
/// subdomains) only inside.
fn label_ok(label: &[char], allow_underscore: bool) -> bool {
    let inner_ok = |c: &char| is_domain_char(*c) || *c == '-' || (allow_underscore && *c == '_');
    match (label.first(), label.last()) {
        (Some(&first), Some(&last)) => {
            is_domain_char(first) && is_domain_char(last) && label.iter().all(inner_ok)
        }
        _ => false,
    }
}

/// The end of the top-level domain at the start of `chars[start..end]`.
///
/// twitter-text matches against its list of TLDs; we accept any run of two or
/// more letters (or an `xn--` punycode label), which must not run straight on
/// into an ASCII digit, letter, `@`, `+` or `-`.
fn tld(chars: &[char], start: usize, end: usize) -> Option<usize> {
    let label = &chars[start..end];
    let is_punycode = label.len() > 4
        && label[..4]
            .iter()
            .zip("xn--".chars())
            .all(|(c, p)| c.eq_ignore_ascii_case(&p));
    let tld_len = if is_punycode {
        4 + label[4..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count()
    } else {
        label.iter().take_while(|c| c.is_alphabetic()).count()
    };
    let tld_end = start + tld_len;
    let runs_on = chars
        .get(tld_end)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, '@' | '+' | '-'));
    (tld_len >= 2 && !(is_punycode && tld_len == 4) && !runs_on).then_some(tld_end)
}

/// The end of a path whose first character (after the `/`) is at `start`.
///
/// Takes path characters and balanced parentheses, then backs off to the last
/// one a URL may end with: a trailing `.`, `,`, `!` or unbalanced `)` is the
/// sentence's, not the link's.
fn path(chars: &[char], start: usize) -> usize {
    let mut j = start;
    let mut last_end = start;
    while let Some(&c) = chars.get(j) {
        if c == '(' {
            match balanced_parens(chars, j) {
                Some(group_end) => {
                    j = group_end;
                    last_end = j;
                }
                None => break,
            }
        } else if is_url_path_char(c) {
            j += 1;
            if is_url_path_ending(c) {
                last_end = j;
            }
        } else {
            break;
        }
    }
    last_end
}

/// The end of a parenthesised group at `open`: `(x)` or one nested level,
/// `(a(b)c)`.
fn balanced_parens(chars: &[char], open: usize) -> Option<usize> {
    let run_end = |from: usize| {
        let mut k = from;
        while chars.get(k).is_some_and(|&c| is_url_path_char(c)) {
            k += 1;
        }
        k
    };
    let inner_end = run_end(open + 1);
    match chars.get(inner_end) {
        Some(')') if inner_end > open + 1 => Some(inner_end + 1),
        Some('(') => {
            let nested_end = run_end(inner_end + 1);
            if nested_end == inner_end + 1 || chars.get(nested_end) != Some(&')') {
                return None;
            }
            let tail_end = run_end(nested_end + 1);
            (chars.get(tail_end) == Some(&')')).then_some(tail_end + 1)
        }
        _ => None,
    }
}

/// The end of a query string whose first character (after the `?`) is at
/// `start`, or `None` when no character there may end one.
fn query(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start;
    let mut last_end = None;
    while let Some(&c) = chars.get(j) {
        if !is_url_query_char(c) {
            break;
        }
        j += 1;
        if is_url_query_ending(c) {
            last_end = Some(j);
        }
    }
    last_end
}

#[cfg(test)]
mod tests {
    use super::find;

    /// The URLs `find` picks out of `text`.
    fn urls(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        find(&chars)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect())
            .collect()
    }

    #[test]
    fn trailing_sentence_punctuation_is_not_part_of_the_url() {
        assert_eq!(urls("see https://example.com."), ["https://example.com"]);
        assert_eq!(
            urls("see https://example.com/a/b.html, ok"),
            ["https://example.com/a/b.html"]
        );
        assert_eq!(
            urls("wow https://example.com/x!?"),
            ["https://example.com/x"]
        );
        assert_eq!(urls("(https://example.com/x)"), ["https://example.com/x"]);
        assert_eq!(
            urls("https://example.com/x/ ok"),
            ["https://example.com/x/"]
        );
    }

    #[test]
    fn balanced_parentheses_stay_in_the_path() {
        assert_eq!(
            urls("https://en.wikipedia.org/wiki/Rust_(programming_language))."),
            ["https://en.wikipedia.org/wiki/Rust_(programming_language)"]
        );
        assert_eq!(urls("https://x.org/a(b(c)d)e"), ["https://x.org/a(b(c)d)e"]);
    }

    #[test]
    fn query_port_and_fragment() {
        assert_eq!(
            urls("https://example.com:8443/search?q=a&b=c#frag, next"),
            ["https://example.com:8443/search?q=a&b=c#frag"]
        );
        assert_eq!(
            urls("https://example.com?q=1."),
            ["https://example.com?q=1"]
        );
        assert_eq!(urls("https://example.com/? no"), ["https://example.com/"]);
    }

    #[test]
    fn only_http_and_https_after_a_boundary() {
        assert!(urls("javascript:alert(1)").is_empty());
        assert!(urls("ftp://example.com").is_empty());
        assert!(urls("xhttps://example.com").is_empty());
        assert!(urls("https://localhost/").is_empty());
        assert!(urls("https://user@example.com/").is_empty());
        assert_eq!(urls("HTTPS://EXAMPLE.COM/A"), ["HTTPS://EXAMPLE.COM/A"]);
        assert_eq!(urls("«https://example.com»"), ["https://example.com"]);
    }

    #[test]
    fn hosts_follow_twitter_text_rules() {
        assert_eq!(
            urls("https://a_b.example.com/"),
            ["https://a_b.example.com/"]
        );
        assert!(urls("https://-a.example.com").is_empty());
        assert_eq!(
            urls("https://例え.テスト/パス"),
            ["https://例え.テスト/パス"]
        );
        assert_eq!(
            urls("https://xn--r8jz45g.xn--zckzah/"),
            ["https://xn--r8jz45g.xn--zckzah/"]
        );
        assert_eq!(urls("https://example.com.x1"), ["https://example.com"]);
        assert!(urls("https://1.2.3.4/").is_empty());
    }

    #[test]
    fn quotes_and_angle_brackets_end_a_url() {
        assert_eq!(urls("https://x.com/a\"><img src=x>"), ["https://x.com/a"]);
        assert_eq!(urls("https://x.com/a\"b c"), ["https://x.com/a\"b"]);
        assert_eq!(urls("<https://x.com/a>"), ["https://x.com/a"]);
    }
}
