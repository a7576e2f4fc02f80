//! Satchel: an Open Badges backpack.
//!
//! # Layout
//!
//! - [`config`]: typed settings from environment variables.
//! - [`telemetry`]: `tracing` set-up.
//! - [`startup`]: builds the app (database, migrations, listener, routes); shared by `main`
//!   and the tests.
//! - [`routes`]: the HTTP layer, every route registered in one place.
//! - [`accounts`]: registration, sessions and email confirmation, used by the routes.
//! - [`domain`]: pure logic (inputs, tokens, recipient matching, unbaking, parsing); knows
//!   nothing of HTTP or the database.
//! - [`db`]: the diesel schema for SQLite and PostgreSQL, the pool, rows and queries.
//! - [`mail`]: rendering and sending mail (SMTP, outbox folder, memory).
//! - [`push`]: the issuer push API: clients, access tokens, routing pushed badges to inboxes.
//! - [`templates`]: the embedded tera templates and stylesheet.
//! - [`error`]: the HTTP layer's one error type.

pub mod accounts;
pub mod backpack;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod fetch;
pub mod intake;
pub mod mail;
pub mod push;
pub mod revalidate;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod templates;
pub mod verify;
pub mod worker;
