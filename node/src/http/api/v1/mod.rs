//! `/api/v1/*`.

pub mod apps;

use axum::Router;

use crate::app::App;

/// The routes of `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new().merge(apps::routes())
}
