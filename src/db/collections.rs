//! Collection rows: named, described sets of a learner's badges that can be published
//! with an unguessable link.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::badges::BadgeSummary;
use super::schema::{badges, collection_badges, collections};
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = collections)]
pub struct Collection {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub description: String,
    pub public_slug: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, collection: &Collection) -> QueryResult<usize> {
    diesel::insert_into(collections::table)
        .values(collection)
        .execute(conn)
}

/// The user's collections, newest first.
pub fn list_for_user(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<Collection>> {
    collections::table
        .filter(collections::user_id.eq(user_id))
        .order(collections::created_at.desc())
        .select(Collection::as_select())
        .load(conn)
}

/// A collection of this user (another user's is `None`, like a missing one).
pub fn find_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
) -> QueryResult<Option<Collection>> {
    collections::table
        .filter(collections::id.eq(id))
        .filter(collections::user_id.eq(user_id))
        .select(Collection::as_select())
        .first(conn)
        .optional()
}

pub fn find_public(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<Collection>> {
    collections::table
        .filter(collections::public_slug.eq(slug))
        .select(Collection::as_select())
        .first(conn)
        .optional()
}

pub fn update_text(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    description: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(collections::table.find(id))
        .set((
            collections::name.eq(name),
            collections::description.eq(description),
            collections::updated_at.eq(at),
        ))
        .execute(conn)
}

pub fn set_public_slug(
    conn: &mut AnyConnection,
    id: &str,
    slug: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(collections::table.find(id))
        .set(collections::public_slug.eq(slug))
        .execute(conn)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(collections::table.find(id)).execute(conn)
}

/// Adds a badge; adding it twice changes nothing.
pub fn add_badge(
    conn: &mut AnyConnection,
    collection_id: &str,
    badge_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let present = collection_badges::table
        .filter(collection_badges::collection_id.eq(collection_id))
        .filter(collection_badges::badge_id.eq(badge_id))
        .count()
        .get_result::<i64>(conn)?;
    if present > 0 {
        return Ok(0);
    }
    diesel::insert_into(collection_badges::table)
        .values((
            collection_badges::collection_id.eq(collection_id),
            collection_badges::badge_id.eq(badge_id),
            collection_badges::added_at.eq(at),
        ))
        .execute(conn)
}

pub fn remove_badge(
    conn: &mut AnyConnection,
    collection_id: &str,
    badge_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        collection_badges::table
            .filter(collection_badges::collection_id.eq(collection_id))
            .filter(collection_badges::badge_id.eq(badge_id)),
    )
    .execute(conn)
}

/// The badges in a collection, in the order they were added.
pub fn badges(conn: &mut AnyConnection, collection_id: &str) -> QueryResult<Vec<BadgeSummary>> {
    collection_badges::table
        .inner_join(badges::table)
        .filter(collection_badges::collection_id.eq(collection_id))
        .order(collection_badges::added_at.asc())
        .select(BadgeSummary::as_select())
        .load(conn)
}

/// Whether a badge is in a collection.
pub fn contains(
    conn: &mut AnyConnection,
    collection_id: &str,
    badge_id: &str,
) -> QueryResult<bool> {
    let found = collection_badges::table
        .filter(collection_badges::collection_id.eq(collection_id))
        .filter(collection_badges::badge_id.eq(badge_id))
        .count()
        .get_result::<i64>(conn)?;
    Ok(found > 0)
}
