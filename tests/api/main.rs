//! Integration tests: the real application on a real database (a temp SQLite file, or a
//! fresh PostgreSQL database per test when `TEST_DATABASE_URL` is set), driven over HTTP.

mod api_badges;
mod api_collections;
mod api_tokens;
mod auth;
mod backpack;
mod browser;
mod collections;
mod emails;
mod fetch;
mod health;
mod helpers;
mod issuer;
mod local_issuer;
mod migrations;
mod push;
mod revalidation;
mod smtp;
mod verify;
mod verify_field_reports;
mod verify_spec_examples;
