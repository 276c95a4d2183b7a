//! `GET /actor`: the instance actor, an `Application` whose key signs the
//! server's own fetches (authorized fetch) on no user's behalf.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use starling_protocol::activitystreams::actor_context;

use crate::app::App;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new().route("/actor", get(instance_actor))
}

async fn instance_actor(State(app): State<App>) -> Response {
    let urls = app.urls();
    let id = urls.instance_actor();
    let host = app
        .config()
        .domain
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    super::activity_json(&json!({
        "@context": actor_context(),
        "id": id,
        "type": "Application",
        "preferredUsername": host,
        "name": app.config().domain,
        "url": urls.base(),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "manuallyApprovesFollowers": true,
        "endpoints": { "sharedInbox": urls.shared_inbox() },
        "publicKey": {
            "id": format!("{id}#main-key"),
            "owner": id,
            "publicKeyPem": app.instance_key().public_key_pem,
        },
    }))
}
