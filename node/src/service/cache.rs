//! Per-process caches of rendered entities (see [`crate::cache`] for the
//! rule that keeps them exact).

use std::sync::Arc;

use starling_protocol::mastodon::{Account, StatusApplication};

use crate::cache::GenCache;

/// A rendered account and the row version it came from.
#[derive(Clone)]
pub struct CachedAccount {
    /// `accounts.version` when rendered.
    pub version: i64,
    /// The entity (without per-viewer or credential fields).
    pub entity: Arc<Account>,
}

/// A parsed signing key and the PEM it was parsed from. Parsing an RSA
/// private key checks it (a modular inverse and more) and costs more CPU
/// than the signature itself, so deliveries reuse the parsed key while the
/// stored PEM is unchanged.
#[derive(Clone)]
pub struct CachedSigningKey {
    /// `account_keys.private_key_pem` when parsed.
    pub pem: Arc<str>,
    /// The key, ready to sign.
    pub pair: Arc<aws_lc_rs::rsa::KeyPair>,
}

/// A status's JSON as every signed-in viewer without a favourite, boost,
/// bookmark or pin on it sees it (no filters applied), and the versions of
/// the rows it was rendered from. Taken only while both versions equal the
/// ones just read, as for [`CachedAccount`].
#[derive(Clone)]
pub struct PlainStatus {
    /// `statuses.version` when rendered.
    pub version: i64,
    /// The author's `accounts.version` when rendered.
    pub author_version: i64,
    /// The serialised Status entity.
    pub json: Arc<[u8]>,
}

/// The caches one process keeps.
pub struct Caches {
    /// Account entities by account id.
    pub accounts: GenCache<i64, CachedAccount>,
    /// Client applications shown on statuses, by app id (name and website
    /// never change after registration). `None`: no such app.
    pub apps: GenCache<i64, Option<StatusApplication>>,
    /// Statuses' JSON for viewers with no flags on them, by status id (the
    /// home timeline's rows, most of which no viewer has touched).
    pub plain_statuses: GenCache<i64, PlainStatus>,
    /// Access tokens by the SHA-256 of the token, for [`PendingAuth`]
    /// (`crate::http::auth`): a hit still has to be confirmed by the
    /// handler's own read.
    ///
    /// [`PendingAuth`]: crate::http::auth::PendingAuth
    pub tokens: GenCache<[u8; 32], Arc<crate::http::auth::Auth>>,
    /// Local accounts' parsed private keys, by account id; used only when
    /// the PEM just read from `account_keys` is the same.
    pub signing_keys: GenCache<i64, CachedSigningKey>,
    /// Remote actors' public keys the inbox verified with; checked against
    /// the stored key when what they verified is committed.
    pub remote_keys: crate::service::remote::KeyMemory,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            accounts: GenCache::new(20_000),
            apps: GenCache::new(1_000),
            // About 1.5 KiB each: at most ~30 MiB for both generations.
            plain_statuses: GenCache::new(10_000),
            tokens: GenCache::new(10_000),
            signing_keys: GenCache::new(1_000),
            remote_keys: Default::default(),
        }
    }
}
