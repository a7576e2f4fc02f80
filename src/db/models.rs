//! Row types and the queries on them, grouped by table. Row structs (`User`, `Email`) are
//! read from the database; insert structs (`NewUser`, ...) are written to it. Ids are UUID
//! strings generated here, so no backend-specific `RETURNING` is needed.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{confirmation_sends, email_tokens, emails, sessions, users};
use super::AnyConnection;

/// The current time as stored in the database (UTC, no zone).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A fresh random id for a new row.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub password_hash: &'a str,
    pub created_at: NaiveDateTime,
}

/// One address an account owns, confirmed or not.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = emails)]
pub struct Email {
    pub id: String,
    pub user_id: String,
    /// The address as the user typed it.
    pub address: String,
    /// The lowercased address: what uniqueness and look-ups compare.
    pub address_lower: String,
    pub is_primary: bool,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Email {
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = emails)]
pub struct NewEmail<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub address: &'a str,
    pub address_lower: &'a str,
    pub is_primary: bool,
    pub confirmed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens)]
pub struct EmailToken {
    pub token_hash: String,
    pub email_id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = email_tokens)]
pub struct NewEmailToken<'a> {
    pub token_hash: &'a str,
    pub email_id: &'a str,
    pub user_id: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub mod user_queries {
    use super::*;

    pub fn insert(conn: &mut AnyConnection, user: &NewUser) -> QueryResult<usize> {
        diesel::insert_into(users::table).values(user).execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// The accounts whose primary address is `address_lower`: the one that confirmed it
    /// first, then any that registered it without confirming it.
    pub fn find_by_primary(
        conn: &mut AnyConnection,
        address_lower: &str,
    ) -> QueryResult<Vec<User>> {
        let found: Vec<(User, Option<NaiveDateTime>)> = users::table
            .inner_join(emails::table)
            .filter(emails::address_lower.eq(address_lower))
            .filter(emails::is_primary.eq(true))
            .select((User::as_select(), emails::confirmed_at))
            .load(conn)?;
        let mut found = found;
        found.sort_by_key(|(_, confirmed)| confirmed.is_none());
        Ok(found.into_iter().map(|(user, _)| user).collect())
    }
}

pub mod email_queries {
    use super::*;

    pub fn insert(conn: &mut AnyConnection, email: &NewEmail) -> QueryResult<usize> {
        diesel::insert_into(emails::table)
            .values(email)
            .execute(conn)
    }

    /// Every address of an account, primary first, then in the order they were added.
    pub fn list_for_user(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<Email>> {
        emails::table
            .filter(emails::user_id.eq(user_id))
            .order((emails::is_primary.desc(), emails::created_at.asc()))
            .select(Email::as_select())
            .load(conn)
    }

    pub fn find_for_user(
        conn: &mut AnyConnection,
        user_id: &str,
        email_id: &str,
    ) -> QueryResult<Option<Email>> {
        emails::table
            .filter(emails::id.eq(email_id))
            .filter(emails::user_id.eq(user_id))
            .select(Email::as_select())
            .first(conn)
            .optional()
    }

    pub fn find(conn: &mut AnyConnection, email_id: &str) -> QueryResult<Option<Email>> {
        emails::table
            .find(email_id)
            .select(Email::as_select())
            .first(conn)
            .optional()
    }

    /// Whether an account holds this address: confirmed, or registered as a primary since
    /// `registered_since` (a registration whose link may still be followed). An older
    /// unconfirmed registration does not block the address's real owner.
    pub fn is_taken(
        conn: &mut AnyConnection,
        address_lower: &str,
        registered_since: NaiveDateTime,
    ) -> QueryResult<bool> {
        let recent_primary = emails::is_primary
            .eq(true)
            .and(emails::created_at.gt(registered_since));
        let taken = emails::table
            .filter(emails::address_lower.eq(address_lower))
            .filter(emails::confirmed_at.is_not_null().or(recent_primary))
            .count()
            .get_result::<i64>(conn)?;
        Ok(taken > 0)
    }

    /// Whether an account other than `user_id` has confirmed this address.
    pub fn confirmed_elsewhere(
        conn: &mut AnyConnection,
        address_lower: &str,
        user_id: &str,
    ) -> QueryResult<bool> {
        let taken = emails::table
            .filter(emails::address_lower.eq(address_lower))
            .filter(emails::confirmed_at.is_not_null())
            .filter(emails::user_id.ne(user_id))
            .count()
            .get_result::<i64>(conn)?;
        Ok(taken > 0)
    }

    pub fn mark_confirmed(
        conn: &mut AnyConnection,
        email_id: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(emails::table.find(email_id))
            .set(emails::confirmed_at.eq(Some(at)))
            .execute(conn)
    }

    pub fn delete(conn: &mut AnyConnection, email_id: &str) -> QueryResult<usize> {
        diesel::delete(emails::table.find(email_id)).execute(conn)
    }

    /// Makes `email_id` the account's only primary address.
    pub fn set_primary(conn: &mut AnyConnection, user_id: &str, email_id: &str) -> QueryResult<()> {
        diesel::update(emails::table.filter(emails::user_id.eq(user_id)))
            .set(emails::is_primary.eq(false))
            .execute(conn)?;
        diesel::update(emails::table.find(email_id))
            .set(emails::is_primary.eq(true))
            .execute(conn)?;
        Ok(())
    }

    /// The confirmed addresses of an account: the only ones that may match a badge.
    pub fn confirmed_addresses(
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> QueryResult<Vec<String>> {
        emails::table
            .filter(emails::user_id.eq(user_id))
            .filter(emails::confirmed_at.is_not_null())
            .order((emails::is_primary.desc(), emails::created_at.asc()))
            .select(emails::address)
            .load(conn)
    }
}

pub mod token_queries {
    use super::*;

    pub fn insert(conn: &mut AnyConnection, token: &NewEmailToken) -> QueryResult<usize> {
        diesel::insert_into(email_tokens::table)
            .values(token)
            .execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<EmailToken>> {
        email_tokens::table
            .find(token_hash)
            .select(EmailToken::as_select())
            .first(conn)
            .optional()
    }

    /// Marks a token used; returns 0 when another request used it first.
    pub fn mark_used(
        conn: &mut AnyConnection,
        token_hash: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            email_tokens::table
                .find(token_hash)
                .filter(email_tokens::used_at.is_null()),
        )
        .set(email_tokens::used_at.eq(Some(at)))
        .execute(conn)
    }

    /// How many confirmation mails went to this address since `since`, from any account.
    pub fn count_for_address_since(
        conn: &mut AnyConnection,
        address_lower: &str,
        since: NaiveDateTime,
    ) -> QueryResult<i64> {
        confirmation_sends::table
            .filter(confirmation_sends::address_lower.eq(address_lower))
            .filter(confirmation_sends::sent_at.gt(since))
            .count()
            .get_result(conn)
    }

    /// How many confirmation mails this account caused since `since`.
    pub fn count_for_user_since(
        conn: &mut AnyConnection,
        user_id: &str,
        since: NaiveDateTime,
    ) -> QueryResult<i64> {
        confirmation_sends::table
            .filter(confirmation_sends::user_id.eq(user_id))
            .filter(confirmation_sends::sent_at.gt(since))
            .count()
            .get_result(conn)
    }

    /// Records a confirmation mail for the hourly limits.
    pub fn record_send(
        conn: &mut AnyConnection,
        address_lower: &str,
        user_id: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::insert_into(confirmation_sends::table)
            .values((
                confirmation_sends::id.eq(new_id()),
                confirmation_sends::address_lower.eq(address_lower),
                confirmation_sends::user_id.eq(user_id),
                confirmation_sends::sent_at.eq(at),
            ))
            .execute(conn)
    }
}

pub mod session_queries {
    use super::*;

    pub fn insert(conn: &mut AnyConnection, session: &NewSession) -> QueryResult<usize> {
        diesel::insert_into(sessions::table)
            .values(session)
            .execute(conn)
    }

    /// The signed-in user for a session token hash, if the session has not expired.
    pub fn find_user(
        conn: &mut AnyConnection,
        token_hash: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Option<User>> {
        sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::expires_at.gt(at))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn delete(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<usize> {
        diesel::delete(sessions::table.find(token_hash)).execute(conn)
    }
}
