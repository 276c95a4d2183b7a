//! What crosses the network between Starling and other servers.
//!
//! - [`keys`]: RSA key pairs for actors, made and used with aws-lc-rs (never the
//!   `rsa` crate, RUSTSEC-2023-0071), stored as PEM.
//! - [`fetch`]: the safe fetcher, the one client for outbound requests.
//! - [`net`]: which addresses outbound requests may dial (the SSRF rule).
//! - [`signatures`]: HTTP signatures (draft-cavage and RFC 9421) and body
//!   digests, signed and verified as pure functions over request data.
//!
//! Inbox verification and delivery, which put these together, arrive with the
//! rest of the federation work (issue 4). Architecture invariant: no sqlx, no axum
//! routing, no config files here; storage is reached through traits that
//! `node` implements.
#![deny(missing_docs)]

pub mod fetch;
pub mod keys;
pub mod net;
pub mod signatures;
