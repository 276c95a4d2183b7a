//! The Mastodon client API under `/api`. Files mirror the URL tree.

pub mod v1;
pub mod v2;

use axum::Router;

use crate::app::App;

/// The routes of `/api`.
pub fn routes() -> Router<App> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}
