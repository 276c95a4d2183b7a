//! Domain operations, called by HTTP handlers and the admin CLI alike. They
//! validate input, talk to the store, and never know about HTTP.

pub mod accounts;
pub mod apps;
pub mod filters;
pub mod follows;
pub mod oauth;
pub mod present;
pub mod statuses;
