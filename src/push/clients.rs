//! Issuer clients: creating one (its secret is returned once and stored only as a hash),
//! listing, revoking, and checking the credentials a client presents. Used by the
//! `satchel issuer-client` commands and by `/oauth/token`.

use crate::db::issuer_clients::{self, IssuerClient, NewIssuerClient};
use crate::db::models::now;
use crate::db::AnyConnection;
use crate::domain::origin::{OriginError, WebOrigin};
use crate::domain::token::{generate_token, hash_token, same_secret};

/// What every client secret starts with, so a leaked one is easy to recognise.
pub const SECRET_PREFIX: &str = "satchel_cs_";
/// The longest client name, in characters.
const MAX_NAME_CHARS: usize = 120;

/// A client just created, with the secret that is never shown again.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: IssuerClient,
    pub secret: String,
}

/// Why a client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "give the client a name of 1 to {MAX_NAME_CHARS} characters, without control characters"
    )]
    BadName,
    #[error("give at least one --origin")]
    NoOrigin,
    #[error("bad --origin: {0}")]
    BadOrigin(#[from] OriginError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Registers a client allowed to push badges hosted on `origins`.
pub fn create(
    conn: &mut AnyConnection,
    name: &str,
    origins: &[String],
) -> Result<CreatedClient, ClientError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ClientError::BadName);
    }
    let mut parsed = origins
        .iter()
        .map(|o| WebOrigin::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort();
    parsed.dedup();
    if parsed.is_empty() {
        return Err(ClientError::NoOrigin);
    }
    let lines: Vec<&str> = parsed.iter().map(WebOrigin::as_str).collect();
    let id = format!("sic_{}", uuid::Uuid::new_v4().simple());
    let secret = format!("{SECRET_PREFIX}{}", generate_token());
    let row = NewIssuerClient {
        id: &id,
        name,
        secret_hash: &hash_token(&secret),
        origins: &lines.join("\n"),
        created_at: now(),
    };
    issuer_clients::insert(conn, &row)?;
    let client = issuer_clients::find(conn, &id)?.ok_or(diesel::result::Error::NotFound)?;
    tracing::info!(client.id = %id, "issuer client created");
    Ok(CreatedClient { client, secret })
}

/// Every client, oldest first.
pub fn list(conn: &mut AnyConnection) -> diesel::QueryResult<Vec<IssuerClient>> {
    issuer_clients::list(conn)
}

/// Revokes a client: its tokens stop working at once. `false` when there is no such active
/// client.
pub fn revoke(conn: &mut AnyConnection, id: &str) -> diesel::QueryResult<bool> {
    let revoked = issuer_clients::revoke(conn, id, now())? > 0;
    if revoked {
        tracing::info!(client.id = %id, "issuer client revoked");
    }
    Ok(revoked)
}

/// How presented client credentials turned out.
#[derive(Debug)]
pub enum ClientAuth {
    Active(IssuerClient),
    /// Unknown id, wrong secret, or a revoked client: all look alike to the caller.
    Refused,
}

/// Checks a client id and secret. The stored hash is compared in constant time.
pub fn authenticate(
    conn: &mut AnyConnection,
    id: &str,
    secret: &str,
) -> diesel::QueryResult<ClientAuth> {
    let presented = hash_token(secret);
    let Some((client, stored)) = issuer_clients::find_with_secret(conn, id)? else {
        return Ok(ClientAuth::Refused);
    };
    if !same_secret(&stored, &presented) || !client.is_active() {
        return Ok(ClientAuth::Refused);
    }
    Ok(ClientAuth::Active(client))
}
