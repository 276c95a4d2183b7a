//! HTTP signature verification of incoming requests, shared by the inbox
//! (signed POSTs) and the object routes (signed GETs, "authorized fetch"):
//! the cheap checks first (Host is ours, coverage, time window, digest =
//! body), then the key by id (stored, or fetched), refetched once when it
//! does not verify (key rotation, at most once a minute per key). The inbox
//! may use a key remembered in memory instead ([`verify_remembered`]), on
//! the condition that its commit finds the same key stored.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::{HeaderMap, Uri};
use starling_federation::signatures::{HttpRequest, ParsedSignature, Policy, SignatureError};

use crate::app::App;
use crate::error::Internal;
use crate::service::remote::{KeyError, RememberedKey, key_for};
use crate::store::inbox_batch::KeyCheck;
use crate::store::remote::KnownKey;

/// Why a signed request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The signature is missing, malformed, outside policy or wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signing key could not be had or tied to its actor.
    #[error(transparent)]
    Key(KeyError),
    /// Our own failure (the database) while looking up the key: not the
    /// sender's fault, so not a refusal (the inbox answers 500, and the
    /// sender retries instead of dropping the activity for good).
    #[error(transparent)]
    Internal(Internal),
}

impl From<KeyError> for Refused {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Internal(e) => Refused::Internal(e),
            e => Refused::Key(e),
        }
    }
}

/// Whether the request carries a signature (either scheme).
pub fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key("signature") || headers.contains_key("signature-input")
}

/// Verifies the request's signature; returns the key that made it (whose
/// `owner_uri` is the actor that signed). The key is read from the store
/// (or fetched).
pub async fn verify(
    app: &App,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Arc<KnownKey>, Refused> {
    Ok(verify_with(app, method, uri, headers, body, false)
        .await?
        .key)
}

/// A verified signature and how far its key may be trusted.
pub struct Verified {
    /// The key that made it; its `owner_uri` is the actor that signed.
    pub key: Arc<KnownKey>,
    /// Set when the key came from this process's memory, not the store:
    /// whatever the request does must commit only if the stored key is
    /// still this one (`store::inbox_batch` checks it in the same
    /// transaction), else verify again with [`verify`].
    pub remembered: Option<KeyCheck>,
}

/// Like [`verify`], but a key this process verified with before is used
/// without reading the store, on the condition in [`Verified::remembered`].
pub async fn verify_remembered(
    app: &App,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, Refused> {
    verify_with(app, method, uri, headers, body, true).await
}

async fn verify_with(
    app: &App,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    remembered: bool,
) -> Result<Verified, Refused> {
    // Borrowed, not copied: a header that is not visible ASCII cannot be
    // signed over, so it is left out as before.
    let header_list: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = HttpRequest {
        method,
        scheme: app.config().scheme(),
        path_and_query: path,
        headers: &header_list,
    };
    let parsed = ParsedSignature::parse(&request)?;
    let checked = parsed.check(
        request,
        body,
        &Policy::new(app.config().domain.clone()),
        SystemTime::now(),
    )?;
    let key_id = checked.key_id();
    let memory = &app.caches().remote_keys;
    let known = memory.get(key_id);
    if remembered
        && let Some(known) = &known
        && checked.verify_key(&known.parsed).is_ok()
    {
        return Ok(Verified {
            key: known.key.clone(),
            remembered: Some(KeyCheck {
                key_id: key_id.to_owned(),
                key: known.key.clone(),
            }),
        });
    }
    // The stored key (parsed again only if it is not the one remembered);
    // refetched once if it does not verify.
    let stored = RememberedKey::parse(key_for(app, key_id, false).await?, known.as_deref());
    let key = match stored {
        Some(key) if checked.verify_key(&key.parsed).is_ok() => key,
        _ => {
            let fetched = key_for(app, key_id, true).await?;
            let key = RememberedKey::parse(fetched, known.as_deref()).ok_or_else(|| {
                SignatureError::InvalidPublicKey {
                    key_id: key_id.to_owned(),
                }
            })?;
            checked.verify_key(&key.parsed)?;
            key
        }
    };
    let verified = key.key.clone();
    memory.insert(key_id, Arc::new(key));
    Ok(Verified {
        key: verified,
        remembered: None,
    })
}

/// The account that signed a GET, when it carries a valid signature by a
/// known actor; None for an unsigned or unverifiable request (it is then
/// served as to anyone).
pub async fn viewer(app: &App, uri: &Uri, headers: &HeaderMap) -> Option<i64> {
    if !is_signed(headers) {
        return None;
    }
    let key = match verify(app, "GET", uri, headers, &[]).await {
        Ok(key) => key,
        Err(Refused::Internal(e)) => {
            tracing::warn!(error = %crate::error::chain(&e), "could not look up a signing key");
            return None;
        }
        Err(e) => {
            tracing::info!(reason = %e, "a signed fetch did not verify");
            return None;
        }
    };
    match app.store().remote_inboxes_by_uri(&key.owner_uri).await {
        Ok(found) => found.map(|i| i.account_id),
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "could not look up a signer");
            None
        }
    }
}
