//! `/api/v1/*`.

pub mod accounts;
pub mod apps;
pub mod conversations;
pub mod instance;
pub mod lists;
pub mod markers;
pub mod misc;
pub mod notifications;
pub mod statuses;
pub mod timelines;

use axum::Router;

use crate::app::App;

/// The routes of `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new()
        .merge(accounts::routes())
        .merge(apps::routes())
        .merge(conversations::routes())
        .merge(instance::routes())
        .merge(lists::routes())
        .merge(markers::routes())
        .merge(misc::routes())
        .merge(notifications::routes())
        .merge(statuses::routes())
        .merge(timelines::routes())
}
