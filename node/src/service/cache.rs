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

/// The caches one process keeps.
pub struct Caches {
    /// Account entities by account id.
    pub accounts: GenCache<i64, CachedAccount>,
    /// Client applications shown on statuses, by app id (name and website
    /// never change after registration). `None`: no such app.
    pub apps: GenCache<i64, Option<StatusApplication>>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            accounts: GenCache::new(20_000),
            apps: GenCache::new(1_000),
        }
    }
}
