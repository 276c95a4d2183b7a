//! Domain operations, called by HTTP handlers and the admin CLI alike. They
//! validate input, talk to the store, and never know about HTTP.

pub mod accounts;
pub mod apps;
pub mod cache;
pub mod conversations;
pub mod filters;
pub mod follows;
pub mod oauth;
pub mod people;
pub mod present;
pub mod statuses;
pub mod visibility;

use crate::error::Internal;
use crate::store::StoreError;

/// Why a domain operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing does not exist, or the caller may not know it exists.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(Internal::Store(e))
    }
}

/// Shorthand for a 404 of a status.
pub fn status_not_found() -> ServiceError {
    ServiceError::NotFound("Record not found".into())
}
pub mod activities;
pub mod collections;
pub mod deliver;
pub mod inbound;
pub mod lookup;
pub mod remote;
pub mod sanitize;
pub mod search;
