//! The one error type of HTTP handlers, turned into a response in exactly one
//! place with Mastodon's `{"error": "…"}` body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{Internal, chain};
use crate::store::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token lacks a scope, or the user may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 410: it existed and was deleted.
    #[error("{0}")]
    Gone(String),
    /// 413: the body is over the limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 422: well-formed but invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: over the rate limit.
    #[error("Too many requests")]
    TooManyRequests,
    /// An OAuth 2 error (RFC 6749 §5.2 body: `error` + `error_description`).
    #[error("{error}: {description}")]
    OAuth {
        /// HTTP status (400 or 401).
        status: StatusCode,
        /// The RFC 6749 error code, e.g. `invalid_grant`.
        error: &'static str,
        /// Human-readable detail.
        description: String,
    },
    /// 500: our fault; the cause chain is logged, the client sees a generic text.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(Internal::Store(e))
    }
}

impl From<crate::service::ServiceError> for ApiError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as S;
        match e {
            S::NotFound(m) => ApiError::NotFound(m),
            S::Forbidden(m) => ApiError::Forbidden(m),
            S::Invalid(m) => ApiError::Unprocessable(m),
            S::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            ApiError::Gone(m) => (StatusCode::GONE, m.clone()),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            ApiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            ApiError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, self.to_string()),
            ApiError::OAuth {
                status,
                error,
                description,
            } => {
                let body = serde_json::json!({ "error": error, "error_description": description });
                return (*status, Json(body)).into_response();
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %chain(e), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error".to_owned(),
                )
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("Record not found".into())
}
