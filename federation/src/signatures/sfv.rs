//! Just enough of RFC 8941 structured fields for `Signature-Input`,
//! `Signature` and `Content-Digest`: dictionaries of items and inner lists
//! with parameters. Decimals are refused; duplicate keys are refused rather
//! than "last wins", so nothing can hide behind a second entry.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::HeaderParseError;

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BareItem {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// Parameters in the order they were sent.
pub(crate) type Params = Vec<(String, BareItem)>;

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    Item(BareItem, Params),
    InnerList(Vec<(BareItem, Params)>, Params),
}

/// Parses a dictionary (RFC 8941 §4.2.2).
pub(crate) fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, HeaderParseError> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out: Vec<(String, Member)> = Vec::new();
    while !p.at_end() {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                p.inner_list()?
            } else {
                let item = p.bare_item()?;
                Member::Item(item, p.params()?)
            }
        } else {
            Member::Item(BareItem::Boolean(true), p.params()?)
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(HeaderParseError::DuplicateKey(key));
        }
        out.push((key, member));
        p.skip_ows();
        if p.at_end() {
            break;
        }
        p.expect(b',')?;
        p.skip_ows();
        if p.at_end() {
            return Err(HeaderParseError::UnexpectedEnd);
        }
    }
    Ok(out)
}

/// Serialises an inner list with its parameters (RFC 8941 §4.1.1.1).
pub(crate) fn serialize_inner_list(items: &[(BareItem, Params)], params: &Params) -> String {
    let mut out = String::from("(");
    for (n, (item, item_params)) in items.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        serialize_bare(item, &mut out);
        serialize_params(item_params, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

/// Serialises a string as an sf-string (quotes, with `\` and `"` escaped).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::new();
    serialize_bare(&BareItem::String(s.to_owned()), &mut out);
    out
}

fn serialize_params(params: &Params, out: &mut String) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != BareItem::Boolean(true) {
            out.push('=');
            serialize_bare(value, out);
        }
    }
}

fn serialize_bare(item: &BareItem, out: &mut String) {
    match item {
        BareItem::Integer(n) => out.push_str(&n.to_string()),
        BareItem::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        BareItem::Token(t) => out.push_str(t),
        BareItem::Bytes(b) => {
            out.push(':');
            out.push_str(&STANDARD.encode(b));
            out.push(':');
        }
        BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn unexpected(&self) -> HeaderParseError {
        match self.peek() {
            Some(c) => HeaderParseError::UnexpectedChar {
                at: self.i,
                found: char::from(c),
            },
            None => HeaderParseError::UnexpectedEnd,
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), HeaderParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Every predicate used accepts ASCII only, so the slice is UTF-8.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default()
    }

    fn key(&mut self) -> Result<String, HeaderParseError> {
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'*')) {
            return Err(self.unexpected());
        }
        Ok(self
            .take_while(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
            .to_owned())
    }

    fn params(&mut self) -> Result<Params, HeaderParseError> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return Err(HeaderParseError::DuplicateKey(key));
            }
            params.push((key, value));
        }
        Ok(params)
    }

    fn inner_list(&mut self) -> Result<Member, HeaderParseError> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Ok(Member::InnerList(items, self.params()?));
            }
            let item = self.bare_item()?;
            items.push((item, self.params()?));
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(self.unexpected());
            }
        }
    }

    fn bare_item(&mut self) -> Result<BareItem, HeaderParseError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                match self.peek() {
                    Some(b'0') => {
                        self.i += 1;
                        Ok(BareItem::Boolean(false))
                    }
                    Some(b'1') => {
                        self.i += 1;
                        Ok(BareItem::Boolean(true))
                    }
                    _ => Err(self.unexpected()),
                }
            }
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => Ok(BareItem::Token(
                self.take_while(|c| is_tchar(c) || c == b':' || c == b'/')
                    .to_owned(),
            )),
            _ => Err(self.unexpected()),
        }
    }

    fn integer(&mut self) -> Result<BareItem, HeaderParseError> {
        let start = self.i;
        let negative = self.eat(b'-');
        let digits = self.take_while(|c| c.is_ascii_digit()).to_owned();
        if self.peek() == Some(b'.') {
            return Err(HeaderParseError::Decimal(self.i));
        }
        // RFC 8941 caps integers at 15 digits.
        if digits.is_empty() || digits.len() > 15 {
            self.i = start;
            return Err(self.unexpected());
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| HeaderParseError::UnexpectedChar {
                at: start,
                found: '-',
            })?;
        Ok(BareItem::Integer(if negative { -n } else { n }))
    }

    fn string(&mut self) -> Result<BareItem, HeaderParseError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(HeaderParseError::UnexpectedEnd),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.i += 1;
                }
                Some(_) => return Err(self.unexpected()),
            }
        }
    }

    fn bytes(&mut self) -> Result<BareItem, HeaderParseError> {
        self.expect(b':')?;
        let b64 = self
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            .to_owned();
        self.expect(b':')?;
        STANDARD
            .decode(&b64)
            .or_else(|_| STANDARD_NO_PAD.decode(&b64))
            .map(BareItem::Bytes)
            .map_err(|_| HeaderParseError::InvalidBase64(b64))
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_input_and_reserialises_it_canonically() {
        let input = r#"sig1=("@method"  "@target-uri" "content-digest");created=1618884473;keyid="k\"1";alg="rsa-v1_5-sha256", sig2=();created=1"#;
        let dict = parse_dictionary(input).expect("parse");
        assert_eq!(dict.len(), 2);
        let Member::InnerList(items, params) = &dict[0].1 else {
            panic!("not a list")
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            params[1],
            ("keyid".to_owned(), BareItem::String("k\"1".to_owned()))
        );
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@method" "@target-uri" "content-digest");created=1618884473;keyid="k\"1";alg="rsa-v1_5-sha256""#
        );
    }

    #[test]
    fn parses_byte_sequences_and_tokens() {
        let dict = parse_dictionary("sha-256=:AQID:, unixtime=?1, id=tok/en:x;p").expect("parse");
        assert_eq!(
            dict[0].1,
            Member::Item(BareItem::Bytes(vec![1, 2, 3]), vec![])
        );
        assert_eq!(dict[1].1, Member::Item(BareItem::Boolean(true), vec![]));
        assert_eq!(
            dict[2].1,
            Member::Item(
                BareItem::Token("tok/en:x".to_owned()),
                vec![("p".to_owned(), BareItem::Boolean(true))]
            )
        );
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "sig1=(\"a\"",
            "sig1=:not base64!:",
            "Sig1=1",
            "a=1,",
            "a=1, a=2",
            "a=1;p;p",
            "a=1.5",
            "a=\"unterminated",
            "a=\"bad\\escape\"",
            "a=(\"x\"\"y\")",
            "a=1234567890123456",
            "a=?2",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
