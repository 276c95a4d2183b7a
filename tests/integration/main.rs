//! Starling's integration suite: real nodes on loopback ports, driven over
//! real HTTP, each test run once on SQLite and once on PostgreSQL.
//!
//! The PostgreSQL half connects to `STARLING_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and gives every test a fresh
//! database that is dropped afterwards.

mod process;
mod support;

mod caching;
mod cli;
mod collections;
mod conversations;
mod delivery;
mod discovery;
mod durability;
mod fanout;
mod federation;
mod federation_more;
mod federation_people;
mod inbox;
mod instance_api;
mod interop;
mod lists_filters;
mod oauth;
mod peers;
mod roles;
mod search;
mod social;
mod statuses;
mod storage;
mod streaming;
mod three_nodes;
