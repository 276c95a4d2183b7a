//! `GET /api/v1/instance` (the older server document most clients still read
//! at login) and its sub-resources `peers`, `activity` and `rules`.
//!
//! The limits and version shared with `/api/v2/instance` live here too.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use starling_protocol::mastodon::{
    AccountsConfiguration, InstanceStats, InstanceUrls, InstanceV1, InstanceV1Configuration,
    MediaAttachmentsConfiguration, PollsConfiguration, Rule, StatusesConfiguration,
};

use crate::app::App;
use crate::http::error::ApiError;

/// The routes of this module. Public: no token needed.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/instance", get(instance))
        .route("/api/v1/instance/peers", get(empty_list))
        .route("/api/v1/instance/activity", get(empty_list))
        .route("/api/v1/instance/rules", get(rules))
}

use crate::http::MASTODON_API_VERSION;

/// `4.3.0 (compatible; Starling 0.1.0)`.
pub(crate) fn version() -> String {
    format!(
        "{MASTODON_API_VERSION} (compatible; Starling {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The streaming API's base URL: `wss://domain`, or `ws://` in development.
pub(crate) fn streaming_url(app: &App) -> String {
    let scheme = if app.config().dev { "ws" } else { "wss" };
    format!("{scheme}://{}", app.config().domain)
}

/// The banner image: the same placeholder accounts without an avatar get.
pub(crate) fn thumbnail_url(app: &App) -> String {
    app.urls().path("/avatars/original/missing.png")
}

/// Status limits.
pub(crate) fn statuses_configuration() -> StatusesConfiguration {
    StatusesConfiguration {
        max_characters: 500,
        max_media_attachments: 4,
        characters_reserved_per_url: 23,
    }
}

/// Media limits: Mastodon's defaults. `description_limit` is written only by
/// the v2 document.
pub(crate) fn media_configuration(description_limit: Option<u32>) -> MediaAttachmentsConfiguration {
    let types = [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/webp",
        "image/avif",
        "video/webm",
        "video/mp4",
        "video/quicktime",
        "video/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wave",
        "audio/vnd.wave",
        "audio/ogg",
        "audio/vorbis",
        "audio/mpeg",
        "audio/mp3",
        "audio/webm",
        "audio/flac",
        "audio/aac",
        "audio/m4a",
        "audio/x-m4a",
        "audio/mp4",
        "audio/3gpp",
        "video/x-ms-asf",
    ];
    MediaAttachmentsConfiguration {
        supported_mime_types: types.into_iter().map(String::from).collect(),
        description_limit,
        image_size_limit: 16 * 1024 * 1024,
        image_matrix_limit: 33_177_600,
        video_size_limit: 99 * 1024 * 1024,
        video_frame_rate_limit: 120,
        video_matrix_limit: 8_294_400,
    }
}

/// Poll limits: Mastodon's defaults.
pub(crate) fn polls_configuration() -> PollsConfiguration {
    PollsConfiguration {
        max_options: 4,
        max_characters_per_option: 50,
        min_expiration: 300,
        max_expiration: 2_629_746,
    }
}

/// Most featured hashtags a profile may show.
pub(crate) const MAX_FEATURED_TAGS: u32 = 10;

async fn instance(State(app): State<App>) -> Result<Json<InstanceV1>, ApiError> {
    let [user_count, _, _] = app.store().count_local_users([0, 0]).await?;
    let status_count = app.store().count_local_statuses().await?;
    let domain = app.config().domain.clone();
    Ok(Json(InstanceV1 {
        uri: domain.clone(),
        title: domain,
        short_description: String::new(),
        description: String::new(),
        email: String::new(),
        version: version(),
        urls: InstanceUrls {
            streaming_api: streaming_url(&app),
        },
        stats: InstanceStats {
            user_count: u64::try_from(user_count).unwrap_or_default(),
            status_count: u64::try_from(status_count).unwrap_or_default(),
            // Known peers are not tracked yet.
            domain_count: 0,
        },
        thumbnail: Some(thumbnail_url(&app)),
        languages: vec!["en".into()],
        registrations: app.config().registrations_open,
        approval_required: false,
        invites_enabled: false,
        configuration: InstanceV1Configuration {
            accounts: AccountsConfiguration {
                max_featured_tags: MAX_FEATURED_TAGS,
                ..AccountsConfiguration::default()
            },
            statuses: statuses_configuration(),
            media_attachments: media_configuration(None),
            polls: polls_configuration(),
        },
        contact_account: None,
        rules: Vec::new(),
    }))
}

/// `peers` and `activity`: we track neither known domains nor weekly
/// activity yet, so both are empty lists (never 404, which some clients treat
/// as a broken server).
async fn empty_list() -> Json<Value> {
    Json(json!([]))
}

/// The server rules: none can be configured yet.
async fn rules() -> Json<Vec<Rule>> {
    Json(Vec::new())
}
