//! TODO: being written.

use axum::Router;

use crate::app::App;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
}
