//! Body digests: `Digest` (RFC 3230, what draft-cavage signers send) and
//! `Content-Digest` (RFC 9530, what RFC 9421 signers send). SHA-256 only, as
//! Mastodon; other algorithms in the same header are ignored, not trusted.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::sfv::{self, BareItem, Member};
use super::{HeaderLine, HttpRequest};

/// Why a body does not match its digest header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Neither `Digest` nor `Content-Digest` is present.
    #[error("the request has neither a Digest nor a Content-Digest header")]
    Missing,
    /// The header does not parse.
    #[error("the {header} header is malformed: {value:?}")]
    Malformed {
        /// `digest` or `content-digest`.
        header: &'static str,
        /// The value received.
        value: String,
    },
    /// The header offers only algorithms we do not check.
    #[error("the {header} header has no sha-256 digest (offered: {offered:?})")]
    NoSha256 {
        /// `digest` or `content-digest`.
        header: &'static str,
        /// The algorithm names offered.
        offered: Vec<String>,
    },
    /// The sha-256 value is not 32 bytes of base64.
    #[error("the sha-256 value in the {header} header is not a SHA-256 digest")]
    NotSha256 {
        /// `digest` or `content-digest`.
        header: &'static str,
    },
    /// The body's SHA-256 differs from the header's.
    #[error("the body does not match the {header} header")]
    Mismatch {
        /// `digest` or `content-digest`.
        header: &'static str,
    },
}

/// `Digest` header value for a body: `SHA-256=<base64>`, as Mastodon sends.
pub fn sha256_digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(digest(&SHA256, body)))
}

/// `Content-Digest` header value for a body (RFC 9530): `sha-256=:<base64>:`.
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(digest(&SHA256, body)))
}

/// Checks the body against `Digest` and/or `Content-Digest` (names in any
/// case). Each header present must carry a sha-256 value that matches; at
/// least one header must be present.
pub fn verify_digest<H: HeaderLine>(headers: &[H], body: &[u8]) -> Result<(), DigestError> {
    let req = HttpRequest {
        method: "",
        scheme: "",
        path_and_query: "",
        headers,
    };
    let actual = digest(&SHA256, body);
    let legacy = req.combined_header("digest");
    let modern = req.combined_header("content-digest");
    if legacy.is_none() && modern.is_none() {
        return Err(DigestError::Missing);
    }
    if let Some(value) = legacy {
        check("digest", &legacy_sha256(&value)?, actual.as_ref())?;
    }
    if let Some(value) = modern {
        check("content-digest", &content_sha256(&value)?, actual.as_ref())?;
    }
    Ok(())
}

fn check(header: &'static str, claimed: &[Vec<u8>], actual: &[u8]) -> Result<(), DigestError> {
    for value in claimed {
        if value.len() != 32 {
            return Err(DigestError::NotSha256 { header });
        }
        if value.as_slice() != actual {
            return Err(DigestError::Mismatch { header });
        }
    }
    Ok(())
}

/// Every sha-256 value in an RFC 3230 `Digest` value (`alg=base64, ...`).
fn legacy_sha256(value: &str) -> Result<Vec<Vec<u8>>, DigestError> {
    let malformed = || DigestError::Malformed {
        header: "digest",
        value: value.to_owned(),
    };
    let mut offered = Vec::new();
    let mut found = Vec::new();
    for part in value.split(',') {
        let (alg, b64) = part.trim().split_once('=').ok_or_else(malformed)?;
        let alg = alg.trim();
        if alg.eq_ignore_ascii_case("sha-256") {
            found.push(
                STANDARD
                    .decode(b64.trim())
                    .map_err(|_| DigestError::NotSha256 { header: "digest" })?,
            );
        } else {
            offered.push(alg.to_owned());
        }
    }
    if found.is_empty() {
        return Err(DigestError::NoSha256 {
            header: "digest",
            offered,
        });
    }
    Ok(found)
}

/// The sha-256 value of an RFC 9530 `Content-Digest` dictionary.
fn content_sha256(value: &str) -> Result<Vec<Vec<u8>>, DigestError> {
    let malformed = || DigestError::Malformed {
        header: "content-digest",
        value: value.to_owned(),
    };
    let dict = sfv::parse_dictionary(value).map_err(|_| malformed())?;
    let mut offered = Vec::new();
    for (alg, member) in dict {
        if alg == "sha-256" {
            return match member {
                Member::Item(BareItem::Bytes(bytes), _) => Ok(vec![bytes]),
                _ => Err(malformed()),
            };
        }
        offered.push(alg);
    }
    Err(DigestError::NoSha256 {
        header: "content-digest",
        offered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn known_answer_for_hello_world() {
        // The `Digest` of "Hello, world!" in Fedify's sig/http.test.ts fixture.
        assert_eq!(
            sha256_digest_header(b"Hello, world!"),
            "SHA-256=MV9b23bQeMQ7isAGTkoBZGErH853yGk0W/yUx1iU7dM="
        );
        assert_eq!(
            content_digest_header(b"Hello, world!"),
            "sha-256=:MV9b23bQeMQ7isAGTkoBZGErH853yGk0W/yUx1iU7dM=:"
        );
    }

    #[test]
    fn either_header_alone_is_enough_and_names_are_case_insensitive() {
        let body = b"{}";
        assert_eq!(
            verify_digest(&h(&[("DIGEST", &sha256_digest_header(body))]), body),
            Ok(())
        );
        assert_eq!(
            verify_digest(
                &h(&[("Content-Digest", &content_digest_header(body))]),
                body
            ),
            Ok(())
        );
        let lower = sha256_digest_header(body).replace("SHA-256", "sha-256");
        assert_eq!(verify_digest(&h(&[("digest", &lower)]), body), Ok(()));
    }

    #[test]
    fn both_headers_must_match_when_both_are_present() {
        let body = b"{}";
        let good = h(&[
            ("Digest", &sha256_digest_header(body)),
            ("Content-Digest", &content_digest_header(body)),
        ]);
        assert_eq!(verify_digest(&good, body), Ok(()));
        let bad = h(&[
            ("Digest", &sha256_digest_header(body)),
            ("Content-Digest", &content_digest_header(b"x")),
        ]);
        assert_eq!(
            verify_digest(&bad, body),
            Err(DigestError::Mismatch {
                header: "content-digest"
            })
        );
    }

    #[test]
    fn other_algorithms_are_ignored_but_sha256_is_required() {
        let body = b"{}";
        let sha = sha256_digest_header(body);
        let mixed = format!("SHA-512=AAAA,{sha}");
        assert_eq!(verify_digest(&h(&[("Digest", &mixed)]), body), Ok(()));
        let mixed = format!("sha-512=:AAAA:, {}", content_digest_header(body));
        assert_eq!(
            verify_digest(&h(&[("Content-Digest", &mixed)]), body),
            Ok(())
        );
        assert_eq!(
            verify_digest(&h(&[("Digest", "SHA-512=AAAA")]), body),
            Err(DigestError::NoSha256 {
                header: "digest",
                offered: vec!["SHA-512".to_owned()]
            })
        );
        assert!(matches!(
            verify_digest(&h(&[("Content-Digest", "sha-512=:AAAA:")]), body),
            Err(DigestError::NoSha256 {
                header: "content-digest",
                ..
            })
        ));
    }

    #[test]
    fn garbage_and_absence_are_refused() {
        let body = b"{}";
        assert_eq!(
            verify_digest::<(String, String)>(&[], body),
            Err(DigestError::Missing)
        );
        assert!(matches!(
            verify_digest(&h(&[("Digest", "garbage")]), body),
            Err(DigestError::Malformed { .. })
        ));
        assert_eq!(
            verify_digest(&h(&[("Digest", "SHA-256=!!!")]), body),
            Err(DigestError::NotSha256 { header: "digest" })
        );
        assert_eq!(
            verify_digest(&h(&[("Digest", "SHA-256=AQID")]), body),
            Err(DigestError::NotSha256 { header: "digest" })
        );
        assert!(matches!(
            verify_digest(&h(&[("Content-Digest", "sha-256=AQID")]), body),
            Err(DigestError::Malformed { .. })
        ));
        assert_eq!(
            verify_digest(&h(&[("Digest", &sha256_digest_header(b"{ }"))]), body),
            Err(DigestError::Mismatch { header: "digest" })
        );
    }
}
