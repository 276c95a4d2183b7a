//! `GET` and `POST /api/v1/markers`: read positions in the home timeline and
//! the notifications, saved so that another client can resume there.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use starling_protocol::datetime::iso8601_millis;
use starling_protocol::mastodon::{Marker, Markers};

use crate::app::App;
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::{Params, QueryParams, de};
use crate::store::markers::DbMarker;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new().route("/api/v1/markers", get(index).post(create))
}

/// The timelines Mastodon keeps markers for; other names are ignored.
const TIMELINES: [&str; 2] = ["home", "notifications"];

#[derive(Debug, Deserialize)]
struct IndexParams {
    #[serde(default, deserialize_with = "de::strings")]
    timeline: Vec<String>,
}

/// The body of `POST`: `home[last_read_id]=…` or `{"home": {"last_read_id": …}}`.
#[derive(Debug, Deserialize)]
struct CreateParams {
    #[serde(default)]
    home: Option<Position>,
    #[serde(default)]
    notifications: Option<Position>,
}

#[derive(Debug, Deserialize)]
struct Position {
    #[serde(default, deserialize_with = "de::opt_id")]
    last_read_id: Option<i64>,
}

async fn index(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<IndexParams>,
) -> Result<Json<Markers>, ApiError> {
    let account = auth.account("read:statuses")?;
    let wanted: Vec<&str> = TIMELINES
        .into_iter()
        .filter(|t| p.timeline.iter().any(|w| w == t))
        .collect();
    let found = app.store().markers(account, &wanted).await?;
    Ok(Json(markers(&found)))
}

async fn create(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<CreateParams>,
) -> Result<Json<Markers>, ApiError> {
    let account = auth.account("write:statuses")?;
    let mut positions = Vec::new();
    for (timeline, position) in [("home", p.home), ("notifications", p.notifications)] {
        let Some(position) = position else { continue };
        let id = position.last_read_id.ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "Validation failed: {timeline}[last_read_id] can't be blank"
            ))
        })?;
        positions.push((timeline, id));
    }
    let saved = app
        .store()
        .save_markers(account, &positions, crate::store::now_ms())
        .await?;
    Ok(Json(markers(&saved)))
}

/// The Markers entity: one entry per saved timeline.
fn markers(rows: &[DbMarker]) -> Markers {
    let mut out = Markers::default();
    for row in rows {
        let marker = Some(Marker {
            last_read_id: row.last_read_id.to_string(),
            // Versions start at 0 and only grow.
            version: u64::try_from(row.version).unwrap_or_default(),
            updated_at: iso8601_millis(row.updated_at),
        });
        match row.timeline.as_str() {
            "home" => out.home = marker,
            "notifications" => out.notifications = marker,
            _ => {}
        }
    }
    out
}
