//! draft-cavage-http-signatures-12, as Mastodon signs and verifies it.
//!
//! Signing string: one `name: value` line per entry of `headers`, joined by
//! `\n`, where `(request-target)` is `<lowercase method> <path?query>`,
//! `(created)` / `(expires)` are the parameters of the same name, and a
//! header's value is all its lines trimmed and joined with `", "`.
//!
//! Where we differ from Mastodon (`app/lib/signed_request.rb`), on purpose:
//! - only *signed* times count: Mastodon takes `created` for hs2019 even when
//!   `(created)` is not in `headers`, so a replayed request could carry a fresh
//!   unsigned `created`; we check `Date` if signed and `(created)` if signed.
//!   An unsigned `expires` may shorten the validity, never extend it.
//! - we always require `(request-target)` and `host` signed, and `digest`
//!   whenever there is a body (Mastodon: digest for POST only).

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::{
    HeaderLine, HeaderParseError, HttpRequest, SignError, SignatureError, TimeWindow, sfv,
    sign_rsa, verify_rsa,
};
use crate::keys::{PublicKey, RsaVerification};

const HEADER: &str = "signature";

/// The `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CavageAlgorithm {
    /// `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaSha256,
    /// `hs2019`: algorithm taken from the key; for RSA keys Mastodon (and we)
    /// use RSASSA-PKCS1-v1_5 with SHA-256. The default when absent.
    Hs2019,
}

/// A parsed `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CavageSignature {
    /// `keyId`: the key to fetch.
    pub key_id: String,
    /// `algorithm`.
    pub algorithm: CavageAlgorithm,
    /// `headers`, lowercased, in signing order.
    pub headers: Vec<String>,
    /// `signature`, decoded.
    pub signature: Vec<u8>,
    /// `created`, Unix seconds.
    pub created: Option<i64>,
    /// `expires`, Unix seconds.
    pub expires: Option<i64>,
}

impl CavageSignature {
    /// Parses a `Signature` header value: `key="quoted"` or `key=token`
    /// pairs separated by commas (whitespace allowed around `=` and `,`),
    /// unknown parameters ignored, duplicates refused. Also accepts the stray
    /// `Signature ` prefix old node-http-signature versions send.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let malformed = |source| SignatureError::Malformed {
            header: HEADER,
            source,
        };
        let params = parse_params(value).map_err(malformed)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let required = |param: &'static str| {
            get(param)
                .filter(|v| !v.is_empty())
                .ok_or(SignatureError::MissingParameter {
                    header: HEADER,
                    param,
                })
        };
        let key_id = required("keyId")?.to_owned();
        let b64 = required("signature")?;
        let signature = STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64))
            .map_err(|_| malformed(HeaderParseError::InvalidBase64("signature".to_owned())))?;
        let algorithm = match get("algorithm") {
            None => CavageAlgorithm::Hs2019,
            Some(a) if a.eq_ignore_ascii_case("rsa-sha256") => CavageAlgorithm::RsaSha256,
            Some(a) if a.eq_ignore_ascii_case("hs2019") => CavageAlgorithm::Hs2019,
            Some(a) => return Err(SignatureError::UnsupportedAlgorithm(a.to_owned())),
        };
        let headers = match get("headers") {
            Some(list) => list
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect(),
            // The spec's defaults; the policy then refuses them as too weak.
            None if algorithm == CavageAlgorithm::Hs2019 => vec!["(created)".to_owned()],
            None => vec!["date".to_owned()],
        };
        let int = |name: &str| -> Result<Option<i64>, SignatureError> {
            get(name)
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        malformed(HeaderParseError::InvalidInteger {
                            key: name.to_owned(),
                            value: v.to_owned(),
                        })
                    })
                })
                .transpose()
        };
        Ok(Self {
            key_id,
            algorithm,
            headers,
            signature,
            created: int("created")?,
            expires: int("expires")?,
        })
    }

    fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// The policy: `(request-target)`, `host`, `date` or `(created)`, and
    /// `digest` when there is a body must be signed; every signed header must
    /// be present; every signed time must be inside `window` at `now` (Unix
    /// seconds).
    pub fn check_policy<H: HeaderLine>(
        &self,
        req: &HttpRequest<'_, H>,
        expects_body: bool,
        window: &TimeWindow,
        now: i64,
    ) -> Result<(), SignatureError> {
        if !self.covers("(request-target)") {
            return Err(SignatureError::NotCovered("(request-target)"));
        }
        if !self.covers("host") {
            return Err(SignatureError::NotCovered("host"));
        }
        if !self.covers("date") && !self.covers("(created)") {
            return Err(SignatureError::NotCovered("date or (created)"));
        }
        if expects_body && !self.covers("digest") {
            return Err(SignatureError::NotCovered("digest"));
        }
        for name in &self.headers {
            self.pseudo_value(name)?;
            if !name.starts_with('(') && req.header_values(name).next().is_none() {
                return Err(SignatureError::SignedHeaderAbsent(name.clone()));
            }
        }
        let default_secs = i64::try_from(window.default_validity.as_secs()).unwrap_or(i64::MAX);
        let expires_for = |created: i64| match self.expires {
            Some(e) if self.covers("(expires)") => Some(e),
            Some(e) => Some(e.min(created.saturating_add(default_secs))),
            None => None,
        };
        if self.covers("(created)") {
            // pseudo_value has checked that `created` is present.
            let created = self.created.unwrap_or(i64::MIN);
            window.check(created, expires_for(created), now)?;
        }
        if self.covers("date") {
            let date = req
                .single_header("date")?
                .ok_or(SignatureError::MissingHeader("date"))?;
            let time = httpdate::parse_http_date(date)
                .map_err(|_| SignatureError::InvalidDate(date.to_owned()))?;
            let created = super::unix_seconds(time);
            window.check(created, expires_for(created), now)?;
        }
        Ok(())
    }

    /// The value of `(created)` / `(expires)`, refusing them with rsa-sha256
    /// as the draft requires; `None` for anything else.
    fn pseudo_value(&self, name: &str) -> Result<Option<i64>, SignatureError> {
        let (value, param) = match name {
            "(created)" => (self.created, "created"),
            "(expires)" => (self.expires, "expires"),
            _ => return Ok(None),
        };
        if self.algorithm == CavageAlgorithm::RsaSha256 {
            return Err(SignatureError::UnsupportedComponent(format!(
                "{name} with rsa-sha256"
            )));
        }
        value.map(Some).ok_or(SignatureError::MissingParameter {
            header: HEADER,
            param,
        })
    }

    /// The signing string for this signature over `req`, with the query
    /// string in `(request-target)` or without it.
    pub fn signing_string<H: HeaderLine>(
        &self,
        req: &HttpRequest<'_, H>,
        with_query: bool,
    ) -> Result<String, SignatureError> {
        let target = if with_query {
            req.path_and_query
        } else {
            req.path()
        };
        let mut lines = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let value = match name.as_str() {
                "(request-target)" => format!("{} {target}", req.method.to_ascii_lowercase()),
                "(created)" | "(expires)" => {
                    self.pseudo_value(name)?.unwrap_or_default().to_string()
                }
                _ => req
                    .combined_header(name)
                    .ok_or_else(|| SignatureError::SignedHeaderAbsent(name.clone()))?,
            };
            lines.push(format!("{name}: {value}"));
        }
        Ok(lines.join("\n"))
    }

    /// Checks the signature with a parsed RSA public key. Like Mastodon, a
    /// `(request-target)` signed without the query string is also accepted
    /// (older Mastodon and Fedify sign only the path).
    pub fn verify_key<H: HeaderLine>(
        &self,
        req: &HttpRequest<'_, H>,
        key: &PublicKey,
    ) -> Result<(), SignatureError> {
        let alg = RsaVerification::Pkcs1Sha256;
        let full = self.signing_string(req, true)?;
        let first = verify_rsa(alg, key, &self.key_id, full.as_bytes(), &self.signature);
        match first {
            Err(SignatureError::BadSignature { .. }) if req.path() != req.path_and_query => {
                let path_only = self.signing_string(req, false)?;
                verify_rsa(
                    alg,
                    key,
                    &self.key_id,
                    path_only.as_bytes(),
                    &self.signature,
                )
            }
            other => other,
        }
    }
}

/// Signs an outgoing request as Mastodon does, returning the `Signature`
/// header value. Covers `(request-target) host date`, then `digest` and
/// `content-type` when present; `host` and `date` are required, and `digest`
/// too unless the method is GET or HEAD.
pub fn sign_request(
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    key_id: &str,
    key: &KeyPair,
) -> Result<String, SignError> {
    let req = HttpRequest {
        method,
        scheme: "",
        path_and_query,
        headers,
    };
    let mut covered = vec!["(request-target)", "host", "date"];
    for name in ["host", "date"] {
        if req.header_values(name).next().is_none() {
            return Err(SignError::MissingHeader(name));
        }
    }
    if req.header_values("digest").next().is_some() {
        covered.push("digest");
    } else if req.expects_body(&[]) {
        return Err(SignError::MissingHeader("digest"));
    }
    if req.header_values("content-type").next().is_some() {
        covered.push("content-type");
    }
    sign_request_covering(method, path_and_query, headers, &covered, key_id, key)
}

/// Signs with `rsa-sha256` over exactly the `covered` list (lowercase names or
/// `(request-target)`). For tests and unusual peers; inboxes refuse weak lists.
pub fn sign_request_covering(
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    covered: &[&str],
    key_id: &str,
    key: &KeyPair,
) -> Result<String, SignError> {
    let req = HttpRequest {
        method,
        scheme: "",
        path_and_query,
        headers,
    };
    let draft = CavageSignature {
        key_id: key_id.to_owned(),
        algorithm: CavageAlgorithm::RsaSha256,
        headers: covered.iter().map(|h| h.to_ascii_lowercase()).collect(),
        signature: Vec::new(),
        created: None,
        expires: None,
    };
    let message = draft.signing_string(&req, true).map_err(|e| match e {
        SignatureError::SignedHeaderAbsent(name) => SignError::ComponentAbsent(name),
        _ => SignError::UnsupportedComponent(covered.join(" ")),
    })?;
    let signature = sign_rsa(&RSA_PKCS1_SHA256, key, key_id, message.as_bytes())?;
    Ok(format!(
        "keyId={},algorithm=\"rsa-sha256\",headers={},signature=\"{}\"",
        sfv::quote(key_id),
        sfv::quote(&draft.headers.join(" ")),
        STANDARD.encode(signature)
    ))
}

/// `key=value` pairs of a draft-cavage header, values unquoted.
fn parse_params(value: &str) -> Result<Vec<(String, String)>, HeaderParseError> {
    let trimmed = value.trim_start();
    let lead = value.len() - trimmed.len();
    let (s, offset) = match trimmed.trim_end().strip_prefix("Signature ") {
        Some(rest) => (rest, lead + "Signature ".len()),
        None => (trimmed.trim_end(), lead),
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut out: Vec<(String, String)> = Vec::new();
    let unexpected = |i: usize| match s[i..].chars().next() {
        Some(found) => HeaderParseError::UnexpectedChar {
            at: offset + i,
            found,
        },
        None => HeaderParseError::UnexpectedEnd,
    };
    let skip_ws = |i: &mut usize| {
        while bytes.get(*i).is_some_and(|c| *c == b' ' || *c == b'\t') {
            *i += 1;
        }
    };
    let is_tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    loop {
        skip_ws(&mut i);
        let start = i;
        while bytes.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        if start == i {
            return Err(unexpected(i));
        }
        let key = s[start..i].to_owned();
        skip_ws(&mut i);
        if bytes.get(i) != Some(&b'=') {
            return Err(unexpected(i));
        }
        i += 1;
        skip_ws(&mut i);
        let val = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut val = String::new();
            loop {
                match s[i..].chars().next() {
                    None => return Err(HeaderParseError::UnexpectedEnd),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let escaped = s[i + 1..]
                            .chars()
                            .next()
                            .ok_or(HeaderParseError::UnexpectedEnd)?;
                        val.push(escaped);
                        i += 1 + escaped.len_utf8();
                    }
                    Some(c) => {
                        val.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            val
        } else {
            let start = i;
            while bytes.get(i).copied().is_some_and(is_tchar) {
                i += 1;
            }
            if start == i {
                return Err(unexpected(i));
            }
            s[start..i].to_owned()
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(HeaderParseError::DuplicateKey(key));
        }
        out.push((key, val));
        skip_ws(&mut i);
        if i == bytes.len() {
            return Ok(out);
        }
        if bytes[i] != b',' {
            return Err(unexpected(i));
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_values_with_commas_escapes_and_unknown_params() {
        let sig = CavageSignature::parse(
            r#"Signature keyId="https://a.example/u#k,1" , algorithm=hs2019,headers="(request-target) Host date",created=1756126694,expires="1756130294",extra="x\"y",signature="AQID""#,
        )
        .expect("parse");
        assert_eq!(sig.key_id, "https://a.example/u#k,1");
        assert_eq!(sig.algorithm, CavageAlgorithm::Hs2019);
        assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
        assert_eq!(
            (sig.created, sig.expires),
            (Some(1_756_126_694), Some(1_756_130_294))
        );
        assert_eq!(sig.signature, [1, 2, 3]);
    }

    #[test]
    fn defaults_follow_the_draft() {
        let sig = CavageSignature::parse(r#"keyId="k",signature="AQID""#).expect("parse");
        assert_eq!(sig.algorithm, CavageAlgorithm::Hs2019);
        assert_eq!(sig.headers, ["(created)"]);
        let sig = CavageSignature::parse(r#"keyId="k",algorithm="rsa-sha256",signature="AQID""#)
            .expect("parse");
        assert_eq!(sig.headers, ["date"]);
    }

    type Expectation = fn(&SignatureError) -> bool;

    #[test]
    fn refuses_malformed_headers_with_a_reason() {
        use SignatureError as E;
        let cases: [(&str, Expectation); 9] = [
            ("", |e| matches!(e, E::Malformed { .. })),
            ("keyId", |e| matches!(e, E::Malformed { .. })),
            (r#"keyId="k",signature="AQID","#, |e| {
                matches!(e, E::Malformed { .. })
            }),
            (r#"keyId="k" signature="AQID""#, |e| {
                matches!(e, E::Malformed { .. })
            }),
            (r#"keyId="k,signature=AQID"#, |e| {
                matches!(
                    e,
                    E::Malformed {
                        source: HeaderParseError::UnexpectedEnd,
                        ..
                    }
                )
            }),
            (
                r#"keyId="k",keyId="j",signature="AQID""#,
                |e| matches!(e, E::Malformed { source: HeaderParseError::DuplicateKey(k), .. } if k == "keyId"),
            ),
            (r#"keyId="",signature="AQID""#, |e| {
                matches!(e, E::MissingParameter { param: "keyId", .. })
            }),
            (r#"keyId="k",signature="%%%""#, |e| {
                matches!(
                    e,
                    E::Malformed {
                        source: HeaderParseError::InvalidBase64(_),
                        ..
                    }
                )
            }),
            (
                r#"keyId="k",algorithm="ed25519",signature="AQID""#,
                |e| matches!(e, E::UnsupportedAlgorithm(a) if a == "ed25519"),
            ),
        ];
        for (value, expected) in cases {
            let err = CavageSignature::parse(value).expect_err(value);
            assert!(expected(&err), "{value:?} gave {err:?}");
        }
        let err = CavageSignature::parse(r#"keyId="k",created="soon",signature="AQID""#)
            .expect_err("created");
        assert!(matches!(
            err,
            E::Malformed {
                source: HeaderParseError::InvalidInteger { .. },
                ..
            }
        ));
    }

    #[test]
    fn created_pseudo_header_is_refused_with_rsa_sha256() {
        let headers = vec![("host".to_owned(), "a.example".to_owned())];
        let req = HttpRequest {
            method: "GET",
            scheme: "https",
            path_and_query: "/",
            headers: &headers,
        };
        let sig = CavageSignature::parse(
            r#"keyId="k",algorithm="rsa-sha256",created=1,headers="(request-target) host (created)",signature="AQID""#,
        )
        .expect("parse");
        assert!(matches!(
            sig.check_policy(&req, false, &TimeWindow::MASTODON, 1),
            Err(SignatureError::UnsupportedComponent(_))
        ));
    }
}
