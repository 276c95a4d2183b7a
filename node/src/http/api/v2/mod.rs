//! `/api/v2/*`.

pub mod filters;
pub mod instance;
pub mod search;

use axum::Router;

use crate::app::App;

/// The routes of `/api/v2`.
pub fn routes() -> Router<App> {
    Router::new()
        .merge(filters::routes())
        .merge(instance::routes())
        .merge(search::routes())
}
