//! Wire formats spoken by Starling, and nothing else.
//!
//! This crate holds the JSON shapes that cross the network, so that every other
//! crate agrees on them and so that they can be tested against captured
//! payloads without a runtime:
//!
//! - [`activitystreams`]: ActivityStreams / ActivityPub documents (actors,
//!   collections) and the JSON-LD `@context` we publish.
//! - [`webfinger`]: the JRD document and `acct:` URIs (RFC 7033, RFC 7565).
//! - [`nodeinfo`]: NodeInfo 2.0 / 2.1 discovery and documents.
//! - [`datetime`]: the timestamp formats Mastodon and ActivityPub use.
//! - [`mastodon`]: Mastodon client API entities (Account, Status, …).
//! - [`text`]: plain text of a post to Mastodon-style HTML (links, mentions,
//!   hashtags), and what it mentions and tags.
//!
//! Architecture invariant: no tokio, sqlx, axum or reqwest here. Types are plain
//! serde structs; behaviour lives in `federation` and `node`.
#![deny(missing_docs)]

pub mod activitystreams;
pub mod datetime;
pub mod mastodon;
pub mod nodeinfo;
pub mod text;
pub mod webfinger;
