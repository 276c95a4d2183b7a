//! HTTP signature verification of incoming requests, shared by the inbox
//! (signed POSTs) and the object routes (signed GETs, "authorized fetch"):
//! the cheap checks first (Host is ours, coverage, time window, digest =
//! body), then the key by id (stored, or fetched), refetched once when it
//! does not verify (key rotation, at most once a minute per key).

use std::time::SystemTime;

use axum::http::{HeaderMap, Uri};
use starling_federation::signatures::{HttpRequest, ParsedSignature, Policy, SignatureError};

use crate::app::App;
use crate::service::remote::{KeyError, key_for};
use crate::store::remote::KnownKey;

/// Why a signed request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The signature is missing, malformed, outside policy or wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signing key could not be had or tied to its actor.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Whether the request carries a signature (either scheme).
pub fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key("signature") || headers.contains_key("signature-input")
}

/// Verifies the request's signature; returns the key that made it (whose
/// `owner_uri` is the actor that signed).
pub async fn verify(
    app: &App,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<KnownKey, Refused> {
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
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
    let key_id = checked.key_id().to_owned();
    let key = key_for(app, &key_id, false).await?;
    if checked.clone().verify(&key.public_key_pem).is_ok() {
        return Ok(key);
    }
    let key = key_for(app, &key_id, true).await?;
    checked.verify(&key.public_key_pem)?;
    Ok(key)
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
