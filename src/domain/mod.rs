//! Pure logic: what an account input is, how secrets are made, and (from the badge issues)
//! unbaking, parsing, verification and recipient matching. Nothing here imports `routes`,
//! `db`, actix or diesel, so it can be tested and fuzzed on its own.

pub mod account;
pub mod assertion;
pub mod bake;
pub mod contexts;
pub mod jws;
pub mod origin;
pub mod recipient;
pub mod token;
pub mod unbake;
