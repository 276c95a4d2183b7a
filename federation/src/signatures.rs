//! HTTP signatures for ActivityPub: pure functions over plain request data.
//!
//! Two schemes are in use on the fediverse, and we verify both:
//! - [`cavage`]: draft-cavage-http-signatures-12, the `Signature` header that
//!   Mastodon and nearly everyone else sends (`rsa-sha256`, also `hs2019`).
//! - [`rfc9421`]: RFC 9421 HTTP Message Signatures, `Signature-Input` plus
//!   `Signature`, which Fedify tries first.
//!
//! [`digest`] makes and checks the body digests both schemes sign (`Digest`,
//! RFC 3230; `Content-Digest`, RFC 9530).
//!
//! An inbox verifies in three steps so that the key fetch happens only for
//! requests that could pass, and a [`VerifiedSignature`] exists only after
//! every check:
//! 1. [`ParsedSignature::parse`] reads the headers and yields the `keyId`;
//! 2. [`ParsedSignature::check`] applies the [`Policy`]: our Host, the time
//!    window, what must be covered, and the body digest;
//! 3. [`CheckedSignature::verify`] checks the RSA signature with the key the
//!    caller fetched for that `keyId`.
//!
//! Architecture invariant: no I/O, no clock reads (`now` is a parameter), no
//! HTTP types; callers hand in method, path, headers and body.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::keys;

pub mod cavage;
pub mod digest;
pub mod rfc9421;
mod sfv;

pub use cavage::{sign_request, sign_request_covering};
pub use digest::{DigestError, content_digest_header, sha256_digest_header, verify_digest};
pub use rfc9421::{Rfc9421Headers, sign_request_rfc9421, sign_request_rfc9421_covering};

/// One header line as the caller holds it: owned (`(String, String)`, what
/// signing code builds) or borrowed (`(&str, &str)`, what a server can hand
/// in without copying every header of every request).
pub trait HeaderLine {
    /// The name, in any case.
    fn name(&self) -> &str;
    /// The value as received.
    fn value(&self) -> &str;
}

impl HeaderLine for (String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

impl HeaderLine for (&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

/// The parts of an HTTP request that signatures cover.
#[derive(Debug)]
pub struct HttpRequest<'a, H = (String, String)> {
    /// The method as sent, e.g. `POST`.
    pub method: &'a str,
    /// `https` (or `http` in dev mode): RFC 9421's `@target-uri` and `@scheme`
    /// need it, and it is not on the wire.
    pub scheme: &'a str,
    /// The request target as sent, e.g. `/users/alice/inbox?x=1`.
    pub path_and_query: &'a str,
    /// Every header line, names in any case, repeated names as separate entries.
    pub headers: &'a [H],
}

// By hand: a derive would ask `H: Copy`, and owned header lines are not.
impl<H> Clone for HttpRequest<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for HttpRequest<'_, H> {}

impl<'a, H: HeaderLine> HttpRequest<'a, H> {
    /// Values of every line of header `name` (case-insensitive), in order.
    pub fn header_values<'n>(
        &self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n, H> {
        self.headers
            .iter()
            .filter(move |h| h.name().eq_ignore_ascii_case(name))
            .map(|h| h.value())
    }

    /// All lines of header `name`, each trimmed, joined with `", "` (how both
    /// schemes canonicalise a header value); `None` if there is no such line.
    pub fn combined_header(&self, name: &str) -> Option<String> {
        let mut values = self.header_values(name).map(str::trim);
        let mut combined = values.next()?.to_owned();
        for value in values {
            combined.push_str(", ");
            combined.push_str(value);
        }
        Some(combined)
    }

    /// The one value of a header that must not repeat (Host, Date, Signature).
    pub fn single_header(&self, name: &str) -> Result<Option<&'a str>, SignatureError> {
        let mut values = self.header_values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(SignatureError::DuplicateHeader(name.to_ascii_lowercase()));
        }
        Ok(first.map(str::trim))
    }

    /// Whether the request carries (or by its method should carry) a body that
    /// a digest must cover. Stricter than Mastodon, which asks only for POST.
    pub fn expects_body(&self, body: &[u8]) -> bool {
        !body.is_empty()
            || !(self.method.eq_ignore_ascii_case("GET")
                || self.method.eq_ignore_ascii_case("HEAD"))
    }

    /// The path without the query string.
    pub fn path(&self) -> &'a str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query, |(path, _)| path)
    }
}

/// How long a signature stays acceptable: Mastodon's rule, from
/// `app/lib/signed_request.rb` (`EXPIRATION_WINDOW_LIMIT = 12.hours`,
/// `CLOCK_SKEW_MARGIN = 1.hour`, and `expires ||= created + 5.minutes`).
///
/// A signature made at `created` is valid until `expires` (or `created +
/// default_validity` when the signer gave none), never past `created +
/// max_validity`; both ends get `clock_skew` of slack. With Mastodon's values
/// a plain Date-only signature is accepted from 1 hour in the future to
/// 65 minutes in the past, and at most 13 hours old with a long `expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Validity when the signer sets no `expires` (Mastodon: 5 minutes).
    pub default_validity: Duration,
    /// Longest validity an `expires` may claim (Mastodon: 12 hours).
    pub max_validity: Duration,
    /// Slack for clocks that disagree, applied to both ends (Mastodon: 1 hour).
    pub clock_skew: Duration,
}

impl TimeWindow {
    /// Mastodon's values (see the type's docs).
    pub const MASTODON: TimeWindow = TimeWindow {
        default_validity: Duration::from_secs(5 * 60),
        max_validity: Duration::from_secs(12 * 3600),
        clock_skew: Duration::from_secs(3600),
    };

    /// Checks a signature made at `created` (Unix seconds) with an optional
    /// signed `expires` against `now`.
    pub fn check(
        &self,
        created: i64,
        expires: Option<i64>,
        now: i64,
    ) -> Result<(), SignatureError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let limit = created.saturating_add(secs(self.max_validity));
        let expires = expires
            .unwrap_or_else(|| created.saturating_add(secs(self.default_validity)))
            .min(limit);
        if created > now.saturating_add(secs(self.clock_skew)) {
            return Err(SignatureError::NotYetValid { created, now });
        }
        if now > expires.saturating_add(secs(self.clock_skew)) {
            return Err(SignatureError::Expired { expires, now });
        }
        Ok(())
    }
}

impl Default for TimeWindow {
    fn default() -> Self {
        Self::MASTODON
    }
}

/// What an inbox demands of a signed request beyond a matching signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Our authority (`example.com` or `localhost:3000`): the request's Host
    /// must be this, so a signature captured at another server cannot replay here.
    pub host: String,
    /// How old or new `Date` / `created` may be.
    pub window: TimeWindow,
}

impl Policy {
    /// The policy for a server at `host`, with Mastodon's time window.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            window: TimeWindow::MASTODON,
        }
    }
}

/// Which scheme a request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12 (`Signature` alone).
    Cavage,
    /// RFC 9421 (`Signature-Input` and `Signature`).
    Rfc9421,
}

/// Why a structured header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderParseError {
    /// The value ended where more was required.
    #[error("unexpected end of the value")]
    UnexpectedEnd,
    /// A character that the grammar does not allow at this point.
    #[error("unexpected {found:?} at byte {at}")]
    UnexpectedChar {
        /// Byte offset in the header value.
        at: usize,
        /// The character found.
        found: char,
    },
    /// The same key or parameter appears twice.
    #[error("{0:?} appears more than once")]
    DuplicateKey(String),
    /// A value that should be base64 is not.
    #[error("the value of {0:?} is not base64")]
    InvalidBase64(String),
    /// A value that should be an integer is not, or does not fit.
    #[error("the value of {key:?} is not an integer: {value:?}")]
    InvalidInteger {
        /// The parameter name.
        key: String,
        /// The value found.
        value: String,
    },
    /// A value of the wrong kind (a token where a string was needed, say).
    #[error("the value of {key:?} must be {expected}")]
    WrongType {
        /// The parameter or label name.
        key: String,
        /// What the value must be.
        expected: &'static str,
    },
    /// Decimals are valid structured fields but never appear in signatures.
    #[error("decimal numbers are not supported (byte {0})")]
    Decimal(usize),
}

/// Why a signed request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// A header the scheme needs is absent (`signature`, `host`, `date`...).
    #[error("the request has no {0} header")]
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once.
    #[error("the request has more than one {0} header")]
    DuplicateHeader(String),
    /// A signature header does not parse.
    #[error("the {header} header is malformed: {source}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong with it.
        #[source]
        source: HeaderParseError,
    },
    /// An RFC 9421 `Signature-Input` label has no entry in `Signature`.
    #[error("the Signature-Input label {0:?} has no matching Signature")]
    UnmatchedLabel(String),
    /// A signature lacks a parameter it must have.
    #[error("the {header} header lacks the {param} parameter")]
    MissingParameter {
        /// Which header.
        header: &'static str,
        /// Which parameter.
        param: &'static str,
    },
    /// An algorithm we do not verify.
    #[error("unsupported signature algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// A covered component we cannot compute (`@query-param`, `@status`...).
    #[error("cannot compute the signed component {0:?}")]
    UnsupportedComponent(String),
    /// The covered list names a component twice (RFC 9421 forbids it).
    #[error("the signed component {0:?} is listed twice")]
    DuplicateComponent(String),
    /// A header in the signed list is not in the request.
    #[error("the signed header {0:?} is not in the request")]
    SignedHeaderAbsent(String),
    /// Policy: the signature must cover this and does not.
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    /// Policy: the Host header is not our domain.
    #[error("the request is for host {found:?}, not {expected:?}")]
    WrongHost {
        /// Our host.
        expected: String,
        /// The request's Host header.
        found: String,
    },
    /// The Date header is not an HTTP date.
    #[error("the Date header {0:?} is not an HTTP date")]
    InvalidDate(String),
    /// Signed more than the allowed clock skew in the future.
    #[error("signed at {created}, too far after now ({now})")]
    NotYetValid {
        /// Creation time, Unix seconds.
        created: i64,
        /// Our clock, Unix seconds.
        now: i64,
    },
    /// Older than the window allows.
    #[error("the signature expired at {expires} (now {now})")]
    Expired {
        /// End of validity (before skew), Unix seconds.
        expires: i64,
        /// Our clock, Unix seconds.
        now: i64,
    },
    /// The body does not match its digest header (or there is none).
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// The key fetched for `key_id` is not an RSA public key PEM.
    #[error("the public key of {key_id} is not an RSA public key PEM")]
    InvalidPublicKey {
        /// The signature's key id.
        key_id: String,
    },
    /// The signature does not verify with the key.
    #[error("the signature by {key_id} does not match the request")]
    BadSignature {
        /// The signature's key id.
        key_id: String,
    },
}

/// Why we could not sign a request.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A header that must be signed is not in the request.
    #[error("cannot sign without a {0} header")]
    MissingHeader(&'static str),
    /// A component asked for is not in the request.
    #[error("the component {0:?} to sign is not in the request")]
    ComponentAbsent(String),
    /// A component asked for cannot be computed.
    #[error("cannot compute the component {0:?}")]
    UnsupportedComponent(String),
    /// aws-lc-rs refused to sign (should not happen with a valid key).
    #[error("RSA signing failed for {key_id}")]
    Crypto {
        /// The key id we were signing as.
        key_id: String,
    },
}

/// A signature read from the request, not yet checked.
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    inner: Parsed,
}

#[derive(Debug, Clone)]
enum Parsed {
    Cavage(cavage::CavageSignature),
    Rfc9421(rfc9421::Rfc9421Signature),
}

impl ParsedSignature {
    /// Reads the signature: RFC 9421 when `Signature-Input` is present (as
    /// Mastodon and Fedify decide), otherwise draft-cavage.
    pub fn parse<H: HeaderLine>(req: &HttpRequest<'_, H>) -> Result<Self, SignatureError> {
        let signature = req
            .single_header("signature")?
            .ok_or(SignatureError::MissingHeader("signature"))?;
        let inner = match req.single_header("signature-input")? {
            Some(input) => Parsed::Rfc9421(rfc9421::Rfc9421Signature::parse(input, signature)?),
            None => Parsed::Cavage(cavage::CavageSignature::parse(signature)?),
        };
        Ok(Self { inner })
    }

    /// The key the caller must fetch to verify.
    pub fn key_id(&self) -> &str {
        match &self.inner {
            Parsed::Cavage(s) => &s.key_id,
            Parsed::Rfc9421(s) => &s.key_id,
        }
    }

    /// Which scheme signed the request.
    pub fn scheme(&self) -> Scheme {
        match &self.inner {
            Parsed::Cavage(_) => Scheme::Cavage,
            Parsed::Rfc9421(_) => Scheme::Rfc9421,
        }
    }

    /// Applies the policy before any key fetch: Host is ours, the signature
    /// covers what it must, its time is inside the window, and the body
    /// matches its digest header(s).
    pub fn check<'r, H: HeaderLine>(
        self,
        req: HttpRequest<'r, H>,
        body: &[u8],
        policy: &Policy,
        now: SystemTime,
    ) -> Result<CheckedSignature<'r, H>, SignatureError> {
        let host = req
            .single_header("host")?
            .ok_or(SignatureError::MissingHeader("host"))?;
        if !host.eq_ignore_ascii_case(&policy.host) {
            return Err(SignatureError::WrongHost {
                expected: policy.host.clone(),
                found: host.to_owned(),
            });
        }
        let expects_body = req.expects_body(body);
        let now = unix_seconds(now);
        match &self.inner {
            Parsed::Cavage(s) => s.check_policy(&req, expects_body, &policy.window, now)?,
            Parsed::Rfc9421(s) => s.check_policy(&req, expects_body, &policy.window, now)?,
        }
        let has_digest = req.header_values("digest").next().is_some()
            || req.header_values("content-digest").next().is_some();
        if expects_body || has_digest {
            verify_digest(req.headers, body)?;
        }
        Ok(CheckedSignature {
            inner: self.inner,
            req,
        })
    }
}

/// A signature that passed the policy; only [`verify`](Self::verify) remains.
#[derive(Debug)]
pub struct CheckedSignature<'r, H = (String, String)> {
    inner: Parsed,
    req: HttpRequest<'r, H>,
}

impl<H> Clone for CheckedSignature<'_, H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            req: self.req,
        }
    }
}

impl<H: HeaderLine> CheckedSignature<'_, H> {
    /// The key the caller must fetch to verify.
    pub fn key_id(&self) -> &str {
        match &self.inner {
            Parsed::Cavage(s) => &s.key_id,
            Parsed::Rfc9421(s) => &s.key_id,
        }
    }

    /// Verifies the signature with the SubjectPublicKeyInfo PEM
    /// (`publicKeyPem`) fetched for [`key_id`](Self::key_id).
    pub fn verify(self, public_key_pem: &str) -> Result<VerifiedSignature, SignatureError> {
        self.verify_key(&parse_public_key(public_key_pem, self.key_id())?)
    }

    /// Like [`verify`](Self::verify), with a key already parsed: a server
    /// that remembers keys verifies with no decoding at all.
    pub fn verify_key(&self, key: &keys::PublicKey) -> Result<VerifiedSignature, SignatureError> {
        let (key_id, scheme) = match &self.inner {
            Parsed::Cavage(s) => {
                s.verify_key(&self.req, key)?;
                (&s.key_id, Scheme::Cavage)
            }
            Parsed::Rfc9421(s) => {
                s.verify_key(&self.req, key)?;
                (&s.key_id, Scheme::Rfc9421)
            }
        };
        Ok(VerifiedSignature {
            key_id: key_id.clone(),
            scheme,
        })
    }
}

/// Proof that a request passed the policy and its signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    key_id: String,
    scheme: Scheme,
}

impl VerifiedSignature {
    /// The key that signed; its owner must be the activity's actor.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Which scheme signed the request.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
}

/// Formats a time as an HTTP Date header value (`Tue, 05 Mar 2024 07:49:44 GMT`).
pub fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// Seconds since the Unix epoch, negative before it.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Parses `publicKeyPem`, or says which key id named a key that is not one.
pub(crate) fn parse_public_key(pem: &str, key_id: &str) -> Result<keys::PublicKey, SignatureError> {
    keys::PublicKey::from_pem(pem).ok_or_else(|| SignatureError::InvalidPublicKey {
        key_id: key_id.to_owned(),
    })
}

/// Checks `signature` over `message` with a parsed RSA public key.
pub(crate) fn verify_rsa(
    algorithm: keys::RsaVerification,
    key: &keys::PublicKey,
    key_id: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    key.verify(algorithm, message, signature)
        .map_err(|_| SignatureError::BadSignature {
            key_id: key_id.to_owned(),
        })
}

/// Signs `message` with RSA under `encoding`, returning the raw signature.
pub(crate) fn sign_rsa(
    encoding: &'static dyn aws_lc_rs::signature::RsaEncoding,
    key: &aws_lc_rs::rsa::KeyPair,
    key_id: &str,
    message: &[u8],
) -> Result<Vec<u8>, SignError> {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        encoding,
        &aws_lc_rs::rand::SystemRandom::new(),
        message,
        &mut signature,
    )
    .map_err(|_| SignError::Crypto {
        key_id: key_id.to_owned(),
    })?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_window_accepts_65_minutes_back_and_one_hour_ahead() {
        let w = TimeWindow::MASTODON;
        let created = 1_000_000;
        assert!(w.check(created, None, created + 65 * 60).is_ok());
        assert!(matches!(
            w.check(created, None, created + 65 * 60 + 1),
            Err(SignatureError::Expired { .. })
        ));
        assert!(w.check(created, None, created - 3600).is_ok());
        assert!(matches!(
            w.check(created, None, created - 3601),
            Err(SignatureError::NotYetValid { .. })
        ));
    }

    #[test]
    fn expires_extends_validity_but_never_past_twelve_hours() {
        let w = TimeWindow::MASTODON;
        let created = 1_000_000;
        let far = created + 48 * 3600;
        assert!(w.check(created, Some(far), created + 13 * 3600).is_ok());
        assert!(matches!(
            w.check(created, Some(far), created + 13 * 3600 + 1),
            Err(SignatureError::Expired { .. })
        ));
        // A short expires shortens the window.
        assert!(matches!(
            w.check(created, Some(created + 10), created + 3611),
            Err(SignatureError::Expired { .. })
        ));
    }

    #[test]
    fn absurd_times_do_not_overflow() {
        let w = TimeWindow::MASTODON;
        assert!(w.check(i64::MAX, Some(i64::MAX), 0).is_err());
        assert!(w.check(i64::MIN, None, 0).is_err());
    }

    #[test]
    fn headers_are_found_case_insensitively_and_duplicates_refused() {
        let headers = vec![
            ("HOST".to_owned(), "a.example".to_owned()),
            ("X-A".to_owned(), " 1 ".to_owned()),
            ("x-a".to_owned(), "2".to_owned()),
        ];
        let req = HttpRequest {
            method: "GET",
            scheme: "https",
            path_and_query: "/p?q",
            headers: &headers,
        };
        assert_eq!(req.single_header("host").ok().flatten(), Some("a.example"));
        assert_eq!(req.combined_header("x-a").as_deref(), Some("1, 2"));
        assert!(matches!(
            req.single_header("x-a"),
            Err(SignatureError::DuplicateHeader(_))
        ));
        assert_eq!(req.path(), "/p");
    }
}
