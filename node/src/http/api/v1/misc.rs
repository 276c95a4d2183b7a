//! Small client-API endpoints that clients call at start-up and expect to
//! succeed: custom emoji, trends, announcements, followed hashtags and the
//! user's preferences.
//!
//! Several answer with an empty list because the feature behind them does not
//! exist yet; an empty list is what Mastodon itself returns when there is
//! nothing to show, so clients render an empty section instead of an error.

use axum::routing::get;
use axum::{Json, Router};
use starling_protocol::mastodon::{Announcement, CustomEmoji, Preferences, Tag, Visibility};

use crate::app::App;
use crate::http::api::PageParams;
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::QueryParams;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/custom_emojis", get(custom_emojis))
        .route("/api/v1/trends", get(trends))
        .route("/api/v1/trends/tags", get(trends))
        .route("/api/v1/trends/statuses", get(trends))
        .route("/api/v1/trends/links", get(trends))
        .route("/api/v1/announcements", get(announcements))
        .route("/api/v1/followed_tags", get(followed_tags))
        .route("/api/v1/preferences", get(preferences))
}

/// Public. No custom emoji can be uploaded yet.
async fn custom_emojis() -> Json<Vec<CustomEmoji>> {
    Json(Vec::new())
}

/// Public. Trending tags, statuses and links (`/api/v1/trends` is the old
/// name of `/trends/tags`): always empty, because Starling computes no trends
/// yet. Each element type differs, but an empty array is the same JSON.
async fn trends() -> Json<Vec<Tag>> {
    Json(Vec::new())
}

/// Staff announcements: none can be written yet. Needs a signed-in user, as
/// on Mastodon.
async fn announcements(auth: Auth) -> Result<Json<Vec<Announcement>>, ApiError> {
    auth.account("read")?;
    Ok(Json(Vec::new()))
}

/// Hashtags the user follows. Following hashtags is not implemented, so the
/// list is empty; the parameters are still validated as Mastodon does, and an
/// empty page carries no `Link` header, as on Mastodon.
async fn followed_tags(
    auth: Auth,
    QueryParams(_page): QueryParams<PageParams>,
) -> Result<Json<Vec<Tag>>, ApiError> {
    auth.account("read:follows")?;
    Ok(Json(Vec::new()))
}

/// The user's posting and reading defaults. None can be changed yet, so these
/// are Mastodon's defaults for a new account.
async fn preferences(auth: Auth) -> Result<Json<Preferences>, ApiError> {
    auth.account("read:accounts")?;
    Ok(Json(Preferences {
        posting_default_visibility: Visibility::Public,
        posting_default_sensitive: false,
        posting_default_language: None,
        posting_default_quote_policy: None,
        reading_expand_media: "default".into(),
        reading_expand_spoilers: false,
        reading_autoplay_gifs: false,
    }))
}
