//! `GET /api/v2/instance`: the current server document (Mastodon 4.0+).
//! Public; the limits and version are shared with `/api/v1/instance`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use starling_protocol::mastodon::{
    AccountsConfiguration, ApiVersions, Contact, InstanceV2, InstanceV2Configuration,
    Registrations, Thumbnail, TranslationConfiguration, UrlsConfiguration, Usage, UsageUsers,
    VapidConfiguration,
};

use crate::app::App;
use crate::http::api::v1::instance::{
    MAX_FEATURED_TAGS, media_configuration, polls_configuration, statuses_configuration,
    streaming_url, thumbnail_url, version,
};
use crate::http::error::ApiError;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new().route("/api/v2/instance", get(instance))
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn instance(State(app): State<App>) -> Result<Json<InstanceV2>, ApiError> {
    let month_ago = crate::store::now_ms() - 30 * DAY_MS;
    let [_, active_month, _] = app
        .store()
        .count_local_users([month_ago, month_ago])
        .await?;
    let domain = app.config().domain.clone();
    Ok(Json(InstanceV2 {
        domain: domain.clone(),
        title: domain,
        version: version(),
        // No public repository yet (NodeInfo leaves `repository` out for the
        // same reason).
        source_url: String::new(),
        description: String::new(),
        usage: Usage {
            users: UsageUsers {
                active_month: u64::try_from(active_month).unwrap_or_default(),
            },
        },
        thumbnail: Thumbnail {
            url: thumbnail_url(&app),
            blurhash: None,
            versions: None,
        },
        icon: Vec::new(),
        languages: vec!["en".into()],
        configuration: InstanceV2Configuration {
            urls: UrlsConfiguration {
                streaming: streaming_url(&app),
                status: None,
                // There is no separate about page yet; the home page says who
                // runs the server.
                about: app.urls().path("/"),
                privacy_policy: None,
                terms_of_service: None,
            },
            // Web Push is not implemented: no key.
            vapid: VapidConfiguration {
                public_key: String::new(),
            },
            accounts: AccountsConfiguration {
                max_featured_tags: MAX_FEATURED_TAGS,
                max_pinned_statuses: Some(5),
                ..AccountsConfiguration::default()
            },
            statuses: statuses_configuration(),
            media_attachments: media_configuration(Some(1500)),
            polls: polls_configuration(),
            translation: TranslationConfiguration { enabled: false },
        },
        registrations: Registrations {
            enabled: app.config().registrations_open,
            approval_required: false,
            reason_required: None,
            message: None,
            min_age: None,
            url: None,
        },
        api_versions: ApiVersions::from([("mastodon".to_owned(), 2)]),
        contact: Contact {
            email: String::new(),
            account: None,
        },
        rules: Vec::new(),
    }))
}
