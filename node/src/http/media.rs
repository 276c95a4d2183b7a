//! Default avatar and header images, so `avatar` and `header` are never
//! empty (clients crash or show broken images on empty URLs).

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;

const AVATAR: &[u8] = include_bytes!("../../assets/avatar.png");
const HEADER: &[u8] = include_bytes!("../../assets/header.png");

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/avatars/original/missing.png",
            get(|| async { png(AVATAR) }),
        )
        .route(
            "/headers/original/missing.png",
            get(|| async { png(HEADER) }),
        )
}

fn png(bytes: &'static [u8]) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
