//! `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::{Params, de};
use crate::service::apps::register_app;
use crate::store::oauth::DbApp;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/apps", post(create))
        .route("/api/v1/apps/verify_credentials", get(verify_credentials))
}

#[derive(Debug, Deserialize)]
struct CreateApp {
    #[serde(default)]
    client_name: String,
    #[serde(default, deserialize_with = "de::strings")]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    website: Option<String>,
}

/// The Application entity (without secrets unless given).
fn application(app: &DbApp, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "vapid_key": "",
    });
    if let Some(secret) = secret {
        v["client_id"] = json!(app.client_id);
        v["client_secret"] = json!(secret);
        v["client_secret_expires_at"] = json!(0);
    }
    v
}

async fn create(
    State(app): State<App>,
    Params(p): Params<CreateApp>,
) -> Result<Json<Value>, ApiError> {
    let registered = register_app(&app, &p.client_name, &p.redirect_uris, &p.scopes, p.website)
        .await
        .map_err(ApiError::Unprocessable)?;
    Ok(Json(application(
        &registered.app,
        Some(&registered.client_secret),
    )))
}

async fn verify_credentials(State(app): State<App>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let found = app
        .store()
        .app_by_id(auth.app_id)
        .await?
        .ok_or_else(crate::http::auth::invalid_token)?;
    Ok(Json(application(&found, None)))
}
