//! Issuer clients: the registered issuers that may push badges (their secret is stored only
//! as a hash, see `domain::token`), and the service-wide keys every instance on this
//! database shares, such as the key that signs push access tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{issuer_clients, service_keys};
use super::AnyConnection;

/// A registered issuer client; the secret's hash is never read back.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = issuer_clients)]
pub struct IssuerClient {
    /// The public client id.
    pub id: String,
    pub name: String,
    /// The registered origins (`scheme://host[:port]`), one per line.
    pub origins: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl IssuerClient {
    /// The registered origins as a list.
    pub fn origin_list(&self) -> Vec<&str> {
        self.origins.lines().filter(|o| !o.is_empty()).collect()
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = issuer_clients)]
pub struct NewIssuerClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub origins: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, client: &NewIssuerClient) -> QueryResult<usize> {
    diesel::insert_into(issuer_clients::table)
        .values(client)
        .execute(conn)
}

/// Every client, oldest first, revoked ones included.
pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<IssuerClient>> {
    issuer_clients::table
        .order(issuer_clients::created_at.asc())
        .select(IssuerClient::as_select())
        .load(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<IssuerClient>> {
    issuer_clients::table
        .find(id)
        .select(IssuerClient::as_select())
        .first(conn)
        .optional()
}

/// A client with its secret hash, for checking presented credentials.
pub fn find_with_secret(
    conn: &mut AnyConnection,
    id: &str,
) -> QueryResult<Option<(IssuerClient, String)>> {
    issuer_clients::table
        .find(id)
        .select((IssuerClient::as_select(), issuer_clients::secret_hash))
        .first(conn)
        .optional()
}

/// Revokes a client; 0 when it does not exist or is already revoked.
pub fn revoke(conn: &mut AnyConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        issuer_clients::table
            .find(id)
            .filter(issuer_clients::revoked_at.is_null()),
    )
    .set(issuer_clients::revoked_at.eq(Some(at)))
    .execute(conn)
}

/// A service-wide secret by name.
pub fn service_key(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<String>> {
    service_keys::table
        .find(name)
        .select(service_keys::secret)
        .first(conn)
        .optional()
}

/// Stores a service-wide secret; fails with a unique violation when another instance
/// stored one under this name first.
pub fn insert_service_key(
    conn: &mut AnyConnection,
    name: &str,
    secret: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(service_keys::table)
        .values((
            service_keys::name.eq(name),
            service_keys::secret.eq(secret),
            service_keys::created_at.eq(at),
        ))
        .execute(conn)
}
