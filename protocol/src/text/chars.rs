//! Character classes shared by the scanners, written out by hand because the
//! crate takes no regex dependency.
//!
//! The Ruby originals use Onigmo's Unicode classes; where std offers no exact
//! equivalent (general categories) the approximation is noted.

/// Ruby's `[[:word:]]`: letters, marks, decimal digits, connector punctuation.
///
/// Approximation: `char::is_alphanumeric` also admits `No`/`Nl` numbers
/// (`²`, `½`), and only the common combining-mark blocks are listed.
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || is_connector(c) || is_mark(c)
}

/// Connector punctuation (`Pc`), of which `_` is the one that matters.
fn is_connector(c: char) -> bool {
    matches!(
        c,
        '_' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
            ..='\u{FE4F}' | '\u{FF3F}'
    )
}

/// Combining marks that `is_alphanumeric` misses (viramas, nuktas, accents,
/// Hebrew and Arabic points, Thai tone marks), so tags in those scripts are
/// not cut in half.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{0591}'..='\u{05BD}'
            | '\u{05BF}'
            | '\u{05C1}'..='\u{05C2}'
            | '\u{05C4}'..='\u{05C5}'
            | '\u{05C7}'
            | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E4}'
            | '\u{06E7}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
            | '\u{0900}'..='\u{0903}'
            | '\u{093A}'..='\u{094F}'
            | '\u{0951}'..='\u{0957}'
            | '\u{0962}'..='\u{0963}'
            | '\u{09BC}'
            | '\u{09CD}'
            | '\u{0A3C}'
            | '\u{0A4D}'
            | '\u{0ABC}'
            | '\u{0ACD}'
            | '\u{0B3C}'
            | '\u{0B4D}'
            | '\u{0BCD}'
            | '\u{0C4D}'
            | '\u{0CBC}'
            | '\u{0CCD}'
            | '\u{0D4D}'
            | '\u{0DCA}'
            | '\u{0E31}'
            | '\u{0E34}'..='\u{0E3A}'
            | '\u{0E47}'..='\u{0E4E}'
            | '\u{0EB1}'
            | '\u{0EB4}'..='\u{0EBC}'
            | '\u{0EC8}'..='\u{0ECE}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{3099}'..='\u{309A}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Separators Mastodon allows inside a hashtag (`Tag::HASHTAG_SEPARATORS`):
/// underscore, middle dot, katakana middle dot, zero-width non-joiner.
pub(super) fn is_hashtag_separator(c: char) -> bool {
    matches!(c, '_' | '\u{00B7}' | '\u{30FB}' | '\u{200C}')
}

/// twitter-text's `latin_accents`: a mention directly followed by one of these
/// is not a mention (`@alicé` is not `@alic`).
pub(super) fn is_latin_accent(c: char) -> bool {
    matches!(
        c,
        '\u{00C0}'..='\u{00D6}'
            | '\u{00D8}'..='\u{00F6}'
            | '\u{00F8}'..='\u{024F}'
            | '\u{0253}'
            | '\u{0254}'
            | '\u{0256}'
            | '\u{0257}'
            | '\u{0259}'
            | '\u{025B}'
            | '\u{0263}'
            | '\u{0268}'
            | '\u{026F}'
            | '\u{0272}'
            | '\u{0289}'
            | '\u{028B}'
            | '\u{02BB}'
            | '\u{0300}'..='\u{036F}'
            | '\u{1E00}'..='\u{1EFF}'
    )
}

/// twitter-text's `INVALID_CHARACTERS`: never part of a domain.
fn is_invalid(c: char) -> bool {
    matches!(
        c,
        '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}' | '\u{202A}'..='\u{202E}'
    )
}

/// twitter-text's `DOMAIN_VALID_CHARS`: anything but ASCII punctuation,
/// spaces, control and invalid characters (so IDN labels and emoji pass).
pub(super) fn is_domain_char(c: char) -> bool {
    !(c.is_ascii_punctuation()
        || c.is_whitespace()
        || c == '\u{180E}'
        || c.is_control()
        || is_invalid(c))
}

/// twitter-text's `valid_url_preceding_chars`: a URL may not start straight
/// after a letter, digit, `@`, `$` or `#` (so `xhttps://` is not a link).
pub(super) fn may_precede_url(c: char) -> bool {
    !(c.is_ascii_alphanumeric()
        || matches!(
            c,
            '@' | '\u{FF20}' | '$' | '#' | '\u{FF03}' | '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}'
        ))
}

/// Mastodon's `valid_general_url_path_chars`: `[^\p{White_Space}<>()?]`.
/// Control characters are refused too (a deliberate tightening).
pub(super) fn is_url_path_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | '?'))
}

/// Mastodon's `valid_url_path_ending_chars`: a path cannot end in sentence
/// punctuation, quotes or brackets.
pub(super) fn is_url_path_ending(c: char) -> bool {
    is_url_path_char(c)
        && !matches!(
            c,
            '!' | '*'
                | '"'
                | '\''
                | '「'
                | '」'
                | ';'
                | ':'
                | '='
                | ','
                | '.'
                | '$'
                | '%'
                | '['
                | ']'
                | '~'
                | '&'
                | '|'
                | '@'
        )
}

/// `UCHARS` from Mastodon's twitter-text override: non-ASCII characters that
/// may appear anywhere in a query string.
fn is_uchar(c: char) -> bool {
    let u = u32::from(c);
    let plane_low = u & 0xFFFF;
    match u {
        0xA0..=0xD7FF | 0xE000..=0xF8FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF => true,
        0xE0000..=0xE0FFF => false,
        0x10000..=0x10FFFF => plane_low <= 0xFFFD,
        _ => false,
    }
}

/// Mastodon's `valid_url_query_chars`.
pub(super) fn is_url_query_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!?*'();:&=+$/%#[]-_.,~|@^".contains(c) || is_uchar(c)
}

/// Mastodon's `valid_url_query_ending_chars`.
pub(super) fn is_url_query_ending(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_&=#/-".contains(c) || is_uchar(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_covers_scripts_used_in_tags() {
        for c in [
            'a', 'Z', '9', '_', 'é', 'ж', '漢', 'ー', '\u{094D}', '\u{0301}',
        ] {
            assert!(is_word(c), "{c:?} should be a word character");
        }
        for c in [' ', '#', '@', '.', '-', '/', '🎉', '·'] {
            assert!(!is_word(c), "{c:?} should not be a word character");
        }
    }

    #[test]
    fn domain_chars_refuse_ascii_punctuation_and_space() {
        assert!(is_domain_char('a') && is_domain_char('例') && is_domain_char('🎉'));
        for c in [
            '.', '-', '_', '/', ':', '@', ' ', '\u{3000}', '\u{202E}', '\0',
        ] {
            assert!(!is_domain_char(c), "{c:?}");
        }
    }

    #[test]
    fn query_chars_follow_twitter_text() {
        assert!(is_url_query_char('\'') && !is_url_query_ending('\''));
        assert!(!is_url_query_char('"') && !is_url_query_char('<') && !is_url_query_char(' '));
        assert!(is_url_query_char('é') && is_url_query_ending('é'));
        assert!(!is_url_query_char('\u{E0001}'));
    }
}
