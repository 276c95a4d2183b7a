//! The Starling node: a federated, Mastodon-compatible social server.
//!
//! Layout (see `docs/ARCHITECTURE.md`):
//! - [`config`]: defaults, TOML file, `STARLING_*` overrides; read once.
//! - [`app`]: builds an [`app::App`] (database, migrations, keys) and serves
//!   it until a shutdown signal.
//! - [`http`]: routes, one file per URL subtree; thin handlers.
//! - [`service`]: domain operations shared by HTTP and the CLI.
//! - [`queue`]: the durable job queue's workers.
//! - [`store`]: all SQL, for SQLite and PostgreSQL.
//! - [`cli`]: the `starling` command line.
//! - [`id`], [`urls`], [`error`], [`cache`]: Snowflake ids, URL minting,
//!   internal errors, the versioned per-process cache.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod id;
pub mod queue;
pub mod service;
pub mod store;
pub mod stream;
pub mod urls;
