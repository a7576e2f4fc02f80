//! Personal access tokens: the rows behind `Authorization: Bearer satchel_pat_...` and the
//! queries the token page and the API's authentication run on them. Only the token's hash
//! is stored (see `domain::token`); this module never sees a token in clear.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::models::User;
use super::schema::{api_tokens, users};
use super::AnyConnection;

/// A token as the token page lists it; the hash is never read back.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    /// What the user called it, e.g. "laptop script".
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, token: &NewApiToken) -> QueryResult<usize> {
    diesel::insert_into(api_tokens::table)
        .values(token)
        .execute(conn)
}

/// Every token of an account, newest first, revoked ones included.
pub fn list_for_user(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::created_at.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

/// How many tokens of an account still work.
pub fn count_active(conn: &mut AnyConnection, user_id: &str) -> QueryResult<i64> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .count()
        .get_result(conn)
}

/// The token (unrevoked) with this hash and the account it acts for.
pub fn find_active(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> QueryResult<Option<(ApiToken, User)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Records a use of the token, at most once per `granularity` so that a busy script does
/// not turn every read into a write.
pub fn touch(
    conn: &mut AnyConnection,
    token_id: &str,
    at: NaiveDateTime,
    granularity: chrono::Duration,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table.find(token_id).filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(at - granularity)),
        ),
    )
    .set(api_tokens::last_used_at.eq(Some(at)))
    .execute(conn)
}

/// Revokes one token of this user; 0 when it is not theirs or already revoked.
pub fn revoke(
    conn: &mut AnyConnection,
    user_id: &str,
    token_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(at)))
    .execute(conn)
}
