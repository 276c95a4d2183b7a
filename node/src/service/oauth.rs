//! OAuth 2 as Mastodon speaks it: scopes, secrets, and what a token allows.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Every scope a client may ask for.
const KNOWN_SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:write",
];

/// Every scope a client may ask for (for the server metadata document).
pub fn known_scopes() -> &'static [&'static str] {
    KNOWN_SCOPES
}

/// The redirect URI that means "show me the code instead of redirecting".
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// A validated set of scopes, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space- (or `+`-) separated scope list; empty means `read`.
    /// Unknown scopes are an error naming them.
    pub fn parse(value: &str) -> Result<Scopes, String> {
        let mut scopes: Vec<String> = Vec::new();
        for s in value.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
            let known = KNOWN_SCOPES.contains(&s)
                || s.starts_with("admin:read:")
                || s.starts_with("admin:write:");
            if !known {
                return Err(format!("unknown scope {s:?}"));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        if scopes.is_empty() {
            scopes.push("read".into());
        }
        Ok(Scopes(scopes))
    }

    /// Whether these scopes grant `required` (e.g. `read:statuses` is granted by
    /// `read` or by itself; the legacy `follow` grants follows, blocks, mutes).
    pub fn allows(&self, required: &str) -> bool {
        let parent = required.split(':').next().unwrap_or(required);
        self.0.iter().any(|s| {
            s == required
                || s == parent
                || (s == "follow"
                    && matches!(
                        required,
                        "read:follows"
                            | "write:follows"
                            | "read:blocks"
                            | "write:blocks"
                            | "read:mutes"
                            | "write:mutes"
                    ))
                || (required == "profile" && (s == "read" || s == "read:accounts"))
        })
    }

    /// Whether every scope here is also in `granted` (a token may not ask for
    /// more than its app registered).
    pub fn within(&self, granted: &Scopes) -> bool {
        self.0.iter().all(|s| granted.allows(s))
    }

    /// Space-separated, as OAuth writes them.
    pub fn to_string_list(&self) -> String {
        self.0.join(" ")
    }

    /// The scopes, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// A fresh random secret: 32 bytes, base64url (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // aws-lc-rs's RNG only fails if the OS has no entropy source at all;
    // zero bytes would then be caught by the unique index, never silently reused.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How secrets, codes and tokens are stored: SHA-256, hex. They are random
/// 256-bit values, so a fast hash is enough (no dictionary to attack).
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for b in secret_digest(secret) {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 15)] as char);
    }
    hex
}

/// SHA-256 of a secret, as bytes ([`hash_secret`] is its hex form).
pub fn secret_digest(secret: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, secret.as_bytes()).as_ref());
    out
}

/// PKCE S256: `BASE64URL(SHA256(verifier)) == challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref());
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .is_ok()
}

/// Whether `uri` may be registered as a redirect URI: the out-of-band URN or
/// an absolute URI with a scheme (apps use custom schemes like `toot://`).
pub fn valid_redirect_uri(uri: &str) -> bool {
    if uri == OOB {
        return true;
    }
    let lower = uri.to_ascii_lowercase();
    let dangerous = ["javascript:", "data:", "vbscript:", "file:"]
        .iter()
        .any(|p| lower.starts_with(p));
    !dangerous && !uri.contains('#') && url::Url::parse(uri).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_grant_their_children_and_reject_unknowns() {
        let s = Scopes::parse("read write:statuses follow").unwrap();
        assert!(s.allows("read:notifications"));
        assert!(s.allows("write:statuses"));
        assert!(!s.allows("write:favourites"));
        assert!(s.allows("write:follows"), "legacy follow scope");
        assert!(s.allows("profile"));
        assert!(Scopes::parse("read rm-rf").is_err());
        assert_eq!(Scopes::parse("").unwrap().to_string_list(), "read");
        let app = Scopes::parse("read write").unwrap();
        assert!(Scopes::parse("read:statuses write").unwrap().within(&app));
        assert!(!Scopes::parse("follow").unwrap().within(&app));
    }

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "wrong",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn redirect_uris() {
        assert!(valid_redirect_uri(OOB));
        assert!(valid_redirect_uri("https://app.example/callback"));
        assert!(valid_redirect_uri("toot://oauth"));
        assert!(!valid_redirect_uri("javascript:alert(1)"));
        assert!(!valid_redirect_uri("not a uri"));
        assert!(!valid_redirect_uri("https://app.example/cb#frag"));
    }
}
