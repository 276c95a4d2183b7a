//! Actor key pairs: RSA-2048, generated and used through aws-lc-rs.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA512};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The system could not produce a key pair (no entropy, allocation failure).
    #[error("could not generate an RSA key pair")]
    Generate,
    /// A stored private key is not a valid PKCS#8 RSA key.
    #[error("the private key is not valid PKCS#8 RSA PEM: {0}")]
    InvalidPrivateKey(String),
}

/// A freshly generated key pair, as PEM text ready to store.
#[derive(Clone)]
pub struct GeneratedKey {
    /// PKCS#8 private key, `-----BEGIN PRIVATE KEY-----`.
    pub private_pem: String,
    /// SubjectPublicKeyInfo public key, `-----BEGIN PUBLIC KEY-----`, the form
    /// ActivityPub's `publicKeyPem` carries.
    pub public_pem: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private half.
        f.debug_struct("GeneratedKey")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key pair. Takes tens of milliseconds: call it off the
/// async executor (`spawn_blocking`).
pub fn generate_rsa_2048() -> Result<GeneratedKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let private: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generate)?;
    let public: PublicKeyX509Der<'static> =
        pair.public_key().as_der().map_err(|_| KeyError::Generate)?;
    Ok(GeneratedKey {
        private_pem: pem_encode("PRIVATE KEY", private.as_ref()),
        public_pem: pem_encode("PUBLIC KEY", public.as_ref()),
    })
}

/// Reads a PKCS#8 private key PEM, checking that it is a usable RSA key.
pub fn parse_private_pem(pem: &str) -> Result<KeyPair, KeyError> {
    let der = pem_decode("PRIVATE KEY", pem)
        .ok_or_else(|| KeyError::InvalidPrivateKey("not a PRIVATE KEY PEM block".into()))?;
    KeyPair::from_pkcs8(&der).map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
}

/// The public key PEM belonging to a private key PEM.
pub fn public_pem_of(private_pem: &str) -> Result<String, KeyError> {
    let pair = parse_private_pem(private_pem)?;
    let public: PublicKeyX509Der<'static> = pair
        .public_key()
        .as_der()
        .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))?;
    Ok(pem_encode("PUBLIC KEY", public.as_ref()))
}

/// The RSA signature schemes remote signatures are checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaVerification {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `hs2019`, `rsa-v1_5-sha256`).
    Pkcs1Sha256,
    /// RSASSA-PSS with SHA-512 (`rsa-pss-sha512`).
    PssSha512,
}

/// A remote actor's RSA public key, decoded and parsed once: verifying with
/// it decodes nothing, and the modulus' Montgomery context, built on first
/// use, is kept with it.
#[derive(Clone)]
pub struct PublicKey {
    /// The key parsed for PKCS#1 v1.5 SHA-256 (aws-lc-rs ties a parsed key to
    /// one algorithm).
    pkcs1_sha256: ParsedPublicKey,
    /// The same key parsed for PSS SHA-512.
    pss_sha512: ParsedPublicKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Reads an RSA public key PEM: SubjectPublicKeyInfo (`PUBLIC KEY`, what
    /// `publicKeyPem` carries) or the PKCS#1 `RSA PUBLIC KEY` form a few old
    /// servers publish. None when it is not a usable RSA public key.
    pub fn from_pem(pem: &str) -> Option<Self> {
        let der = pem_decode("PUBLIC KEY", pem).or_else(|| pem_decode("RSA PUBLIC KEY", pem))?;
        // The stricter parse first, so a broken key is refused here rather
        // than reported later as a wrong signature.
        aws_lc_rs::rsa::PublicKey::from_der(&der).ok()?;
        Some(PublicKey {
            pkcs1_sha256: ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der).ok()?,
            pss_sha512: ParsedPublicKey::new(&RSA_PSS_2048_8192_SHA512, &der).ok()?,
        })
    }

    /// Checks `signature` over `message`.
    pub fn verify(
        &self,
        algorithm: RsaVerification,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), aws_lc_rs::error::Unspecified> {
        match algorithm {
            RsaVerification::Pkcs1Sha256 => self.pkcs1_sha256.verify_sig(message, signature),
            RsaVerification::PssSha512 => self.pss_sha512.verify_sig(message, signature),
        }
    }
}

/// Wraps DER bytes in a PEM block with 64-column base64 lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Extracts the DER bytes of the first PEM block with this label.
pub fn pem_decode(label: &str, pem: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_pem() {
        let key = generate_rsa_2048().expect("keygen");
        assert!(key.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(key.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(
            public_pem_of(&key.private_pem).expect("parse"),
            key.public_pem
        );
        // 2048-bit modulus: the SPKI DER of an RSA-2048 key is 294 bytes.
        assert_eq!(
            pem_decode("PUBLIC KEY", &key.public_pem).map(|d| d.len()),
            Some(294)
        );
    }

    #[test]
    fn garbage_private_key_is_rejected() {
        assert!(parse_private_pem("not a key").is_err());
        let fake = pem_encode("PRIVATE KEY", b"\x30\x03\x02\x01\x00");
        assert!(parse_private_pem(&fake).is_err());
    }
}
