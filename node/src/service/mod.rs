//! Domain operations, called by HTTP handlers and the admin CLI alike. They
//! validate input, talk to the store, and never know about HTTP.

pub mod accounts;
pub mod apps;
pub mod oauth;
pub mod present;
