//! `GET /nodeinfo/2.0` and `/nodeinfo/2.1`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use starling_protocol::nodeinfo::{NodeInfo, Services, Software, Usage, UsageUsers};

use super::error::ApiError;
use crate::app::App;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/nodeinfo/2.0", get(nodeinfo_2_0))
        .route("/nodeinfo/2.1", get(nodeinfo_2_1))
}

async fn nodeinfo_2_0(State(app): State<App>) -> Result<Response, ApiError> {
    let doc = document(&app, "2.0").await?;
    Ok(respond(doc, starling_protocol::nodeinfo::SCHEMA_2_0))
}

async fn nodeinfo_2_1(State(app): State<App>) -> Result<Response, ApiError> {
    let doc = document(&app, "2.1").await?;
    Ok(respond(doc, starling_protocol::nodeinfo::SCHEMA_2_1))
}

fn respond(doc: NodeInfo, schema: &str) -> Response {
    let mut response = super::json_as("application/json; charset=utf-8", &doc);
    if let Ok(v) = format!("application/json; profile=\"{schema}#\"").parse() {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, v);
    }
    super::well_known::allow_any_origin(&mut response);
    response
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn document(app: &App, version: &str) -> Result<NodeInfo, ApiError> {
    let now = crate::store::now_ms();
    let [total, month, halfyear] = app
        .store()
        .count_local_users([now - 30 * DAY_MS, now - 180 * DAY_MS])
        .await?;
    let local_posts = app.store().count_local_statuses().await?;
    let mut metadata = serde_json::Map::new();
    metadata.insert("nodeName".into(), app.config().domain.clone().into());
    // Client libraries (megalodon's detector, for one) decide which API a
    // server speaks from NodeInfo; this says "the Mastodon API".
    metadata.insert(
        "upstream".into(),
        serde_json::json!({ "name": "Mastodon", "version": crate::http::MASTODON_API_VERSION }),
    );
    Ok(NodeInfo {
        version: version.into(),
        software: Software {
            name: "starling".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            // 2.1 allows these; we have no public home yet, so leave them out.
            repository: None,
            homepage: None,
        },
        protocols: vec!["activitypub".into()],
        services: Services::default(),
        open_registrations: app.config().registrations_open,
        usage: Usage {
            users: UsageUsers {
                total,
                active_month: month,
                active_halfyear: halfyear,
            },
            local_posts,
        },
        metadata,
    })
}
