//! Pushed badges and what goes with them: the push rows (held for an address, delivered to
//! an inbox, then accepted, declined or expired), the per-client rate windows, and the
//! issuers a learner accepts automatically. Only `push` decides state changes; these are
//! the queries it runs.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{push_auto_accepts, push_rate_windows, pushes};
use super::AnyConnection;

/// A push without the badge bytes.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = pushes)]
pub struct Push {
    pub id: String,
    pub client_id: String,
    pub dedupe_key: String,
    pub request_hash: String,
    pub address_lower: String,
    /// `held`, `delivered`, `accepted`, `declined` or `expired`.
    pub state: String,
    pub user_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub issuer_id: String,
    pub issuer_name: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = pushes)]
pub struct NewPush {
    pub id: String,
    pub client_id: String,
    pub dedupe_key: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub address_lower: String,
    pub state: String,
    pub user_id: Option<String>,
    pub input: Vec<u8>,
    pub name: String,
    pub description: Option<String>,
    pub issuer_id: String,
    pub issuer_name: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut AnyConnection, push: &NewPush) -> QueryResult<usize> {
    diesel::insert_into(pushes::table)
        .values(push)
        .execute(conn)
}

/// A push of this client (another client's push is `None`, like a missing one).
pub fn find_for_client(
    conn: &mut AnyConnection,
    client_id: &str,
    push_id: &str,
) -> QueryResult<Option<Push>> {
    pushes::table
        .filter(pushes::id.eq(push_id))
        .filter(pushes::client_id.eq(client_id))
        .select(Push::as_select())
        .first(conn)
        .optional()
}

/// The push this client made with this `Idempotency-Key`.
pub fn find_by_idempotency_key(
    conn: &mut AnyConnection,
    client_id: &str,
    key: &str,
) -> QueryResult<Option<Push>> {
    pushes::table
        .filter(pushes::client_id.eq(client_id))
        .filter(pushes::idempotency_key.eq(key))
        .select(Push::as_select())
        .first(conn)
        .optional()
}

/// The push this client made of the same badge.
pub fn find_by_dedupe_key(
    conn: &mut AnyConnection,
    client_id: &str,
    dedupe_key: &str,
) -> QueryResult<Option<Push>> {
    pushes::table
        .filter(pushes::client_id.eq(client_id))
        .filter(pushes::dedupe_key.eq(dedupe_key))
        .select(Push::as_select())
        .first(conn)
        .optional()
}

/// A push waiting in this user's inbox.
pub fn find_in_inbox(
    conn: &mut AnyConnection,
    user_id: &str,
    push_id: &str,
) -> QueryResult<Option<Push>> {
    pushes::table
        .filter(pushes::id.eq(push_id))
        .filter(pushes::user_id.eq(user_id))
        .filter(pushes::state.eq("delivered"))
        .select(Push::as_select())
        .first(conn)
        .optional()
}

/// The badge bytes of a push, as the issuer sent them.
pub fn input(conn: &mut AnyConnection, push_id: &str) -> QueryResult<Vec<u8>> {
    pushes::table
        .find(push_id)
        .select(pushes::input)
        .first(conn)
}

/// The pushes waiting in a user's inbox, newest first.
pub fn inbox(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<Push>> {
    pushes::table
        .filter(pushes::user_id.eq(user_id))
        .filter(pushes::state.eq("delivered"))
        .order(pushes::created_at.desc())
        .select(Push::as_select())
        .load(conn)
}

/// Held pushes for an address, oldest first.
pub fn held_for_address(conn: &mut AnyConnection, address_lower: &str) -> QueryResult<Vec<Push>> {
    pushes::table
        .filter(pushes::address_lower.eq(address_lower))
        .filter(pushes::state.eq("held"))
        .order(pushes::created_at.asc())
        .select(Push::as_select())
        .load(conn)
}

/// The confirmed addresses (account id, email id) that pushes are still held for: an
/// address confirmed while a push of it was being stored, so the confirmation's delivery
/// did not see that push.
pub fn held_for_confirmed(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String)>> {
    use super::schema::emails;
    let held = pushes::table
        .filter(pushes::state.eq("held"))
        .select(pushes::address_lower);
    emails::table
        .filter(emails::confirmed_at.is_not_null())
        .filter(emails::address_lower.eq_any(held))
        .select((emails::user_id, emails::id))
        .load(conn)
}

/// Moves a held push into a user's inbox; 0 when it is no longer held.
pub fn deliver(
    conn: &mut AnyConnection,
    push_id: &str,
    user_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(pushes::table.find(push_id).filter(pushes::state.eq("held")))
        .set((
            pushes::state.eq("delivered"),
            pushes::user_id.eq(Some(user_id)),
            pushes::delivered_at.eq(Some(at)),
        ))
        .execute(conn)
}

/// Records the learner's decision (`accepted` or `declined`) on a push in their inbox and
/// empties its badge bytes; 0 when it was not waiting in this inbox.
pub fn decide(
    conn: &mut AnyConnection,
    user_id: &str,
    push_id: &str,
    state: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        pushes::table
            .filter(pushes::id.eq(push_id))
            .filter(pushes::user_id.eq(user_id))
            .filter(pushes::state.eq("delivered")),
    )
    .set((
        pushes::state.eq(state),
        pushes::decided_at.eq(Some(at)),
        pushes::input.eq(Vec::<u8>::new()),
    ))
    .execute(conn)
}

/// Marks pushes held since before `before` as expired: their bytes are emptied and their
/// dedupe key freed, so the issuer may push the badge again. Returns how many.
pub fn expire_held(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<usize> {
    let expired: Vec<String> = pushes::table
        .filter(pushes::state.eq("held"))
        .filter(pushes::created_at.lt(before))
        .select(pushes::id)
        .load(conn)?;
    for id in &expired {
        diesel::update(pushes::table.find(id).filter(pushes::state.eq("held")))
            .set((
                pushes::state.eq("expired"),
                pushes::decided_at.eq(Some(crate::db::models::now())),
                pushes::dedupe_key.eq(format!("expired:{id}")),
                pushes::input.eq(Vec::<u8>::new()),
            ))
            .execute(conn)?;
    }
    Ok(expired.len())
}

/// Counts one request of `client_id` in the window starting at `window_start` and returns
/// how many it has made in that window, this one included. Atomic on both backends: the
/// increment is one `UPDATE`, and a lost race to create the window's row retries it.
pub fn count_request(
    conn: &mut AnyConnection,
    client_id: &str,
    window_start: NaiveDateTime,
) -> QueryResult<i32> {
    for _ in 0..2 {
        let updated = diesel::update(
            push_rate_windows::table
                .filter(push_rate_windows::client_id.eq(client_id))
                .filter(push_rate_windows::window_start.eq(window_start)),
        )
        .set(push_rate_windows::requests.eq(push_rate_windows::requests + 1))
        .execute(conn)?;
        if updated == 0 {
            let inserted = diesel::insert_into(push_rate_windows::table)
                .values((
                    push_rate_windows::client_id.eq(client_id),
                    push_rate_windows::window_start.eq(window_start),
                    push_rate_windows::requests.eq(1),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => return Ok(1),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => continue,
                Err(error) => return Err(error),
            }
        }
        return push_rate_windows::table
            .filter(push_rate_windows::client_id.eq(client_id))
            .filter(push_rate_windows::window_start.eq(window_start))
            .select(push_rate_windows::requests)
            .first(conn);
    }
    Err(diesel::result::Error::NotFound)
}

/// Forgets rate windows that started before `before`.
pub fn drop_rate_windows(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(push_rate_windows::table.filter(push_rate_windows::window_start.lt(before)))
        .execute(conn)
}

/// An issuer a learner accepts badges from without asking.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = push_auto_accepts)]
pub struct AutoAccept {
    pub issuer_id: String,
    pub issuer_name: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Whether this user accepts this issuer's badges automatically.
pub fn auto_accepts(conn: &mut AnyConnection, user_id: &str, issuer_id: &str) -> QueryResult<bool> {
    let found: i64 = push_auto_accepts::table
        .filter(push_auto_accepts::user_id.eq(user_id))
        .filter(push_auto_accepts::issuer_id.eq(issuer_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Starts accepting an issuer's badges automatically (nothing changes when already so).
pub fn add_auto_accept(
    conn: &mut AnyConnection,
    user_id: &str,
    issuer_id: &str,
    issuer_name: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    if auto_accepts(conn, user_id, issuer_id)? {
        return Ok(());
    }
    diesel::insert_into(push_auto_accepts::table)
        .values((
            push_auto_accepts::user_id.eq(user_id),
            push_auto_accepts::issuer_id.eq(issuer_id),
            push_auto_accepts::issuer_name.eq(issuer_name),
            push_auto_accepts::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn remove_auto_accept(
    conn: &mut AnyConnection,
    user_id: &str,
    issuer_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        push_auto_accepts::table
            .filter(push_auto_accepts::user_id.eq(user_id))
            .filter(push_auto_accepts::issuer_id.eq(issuer_id)),
    )
    .execute(conn)
}

/// The issuers a user accepts automatically, by name.
pub fn list_auto_accepts(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<AutoAccept>> {
    push_auto_accepts::table
        .filter(push_auto_accepts::user_id.eq(user_id))
        .order(push_auto_accepts::created_at.asc())
        .select(AutoAccept::as_select())
        .load(conn)
}

/// The account that has confirmed this address, with the address as it holds it. At most
/// one account can have confirmed an address.
pub fn confirmed_owner(
    conn: &mut AnyConnection,
    address_lower: &str,
) -> QueryResult<Option<(String, String)>> {
    use super::schema::emails;
    emails::table
        .filter(emails::address_lower.eq(address_lower))
        .filter(emails::confirmed_at.is_not_null())
        .select((emails::user_id, emails::address))
        .first(conn)
        .optional()
}
