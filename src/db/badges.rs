//! Badge rows: what a backpack holds, its status history, and the queries the backpack
//! pages, the API and the revalidation worker run on them. Image and original bytes are
//! only loaded by the queries that serve them; lists read [`BadgeSummary`].

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{badge_copies, badge_events, badges};
use super::AnyConnection;

/// A badge with everything but its bytes.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = badges)]
pub struct BadgeSummary {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub pending_address: Option<String>,
    pub version: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub issuer_name: Option<String>,
    pub issuer_url: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub matched_address: Option<String>,
    pub match_form: Option<String>,
    pub carrier: String,
    pub image_type: Option<String>,
    pub public_slug: Option<String>,
    pub checked_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// Failed re-checks in a row since the last conclusive one.
    pub failures: i32,
    /// When the issuer first failed to answer, while the last good result still stands.
    pub stale_since: Option<NaiveDateTime>,
}

/// The stored documents of one badge: what the badge page and downloads need.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = badges)]
pub struct BadgeDocuments {
    pub dedupe_key: String,
    pub payload: String,
    pub badge_json: String,
    pub report_json: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = badges)]
pub struct NewBadge {
    pub id: String,
    pub user_id: String,
    pub dedupe_key: String,
    pub status: String,
    pub pending_address: Option<String>,
    pub version: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub issuer_name: Option<String>,
    pub issuer_url: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub matched_address: Option<String>,
    pub match_form: Option<String>,
    pub carrier: String,
    pub original: Vec<u8>,
    pub payload: String,
    pub badge_json: String,
    pub report_json: String,
    pub image: Option<Vec<u8>>,
    pub image_type: Option<String>,
    pub checked_at: NaiveDateTime,
    pub next_check_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// The fields a conclusive re-check changes (the issuer answered). It also releases the
/// worker's lease.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = badges, treat_none_as_null = true)]
pub struct CheckedBadge {
    pub status: String,
    pub pending_address: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub issuer_name: Option<String>,
    pub issuer_url: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub matched_address: Option<String>,
    pub match_form: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub report_json: String,
    pub checked_at: NaiveDateTime,
    pub next_check_at: NaiveDateTime,
    pub failures: i32,
    pub stale_since: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
}

/// The fields an inconclusive re-check changes (the issuer could not be reached, or the
/// badge expired by its date without a fetch): the last good report stays. It also
/// releases the worker's lease.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = badges, treat_none_as_null = true)]
pub struct AttemptedBadge {
    pub status: String,
    pub next_check_at: NaiveDateTime,
    pub failures: i32,
    pub stale_since: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
}

/// The issuer's copy of a hosted assertion as last fetched, with its validators.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = badge_copies)]
pub struct BadgeCopy {
    pub badge_id: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: String,
    pub fetched_at: NaiveDateTime,
}

/// One change of a badge's status, with why.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = badge_events)]
pub struct BadgeEvent {
    pub id: String,
    pub badge_id: String,
    pub at: NaiveDateTime,
    pub status: String,
    pub reason: String,
}

/// How a backpack list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Newest issue date first (the default).
    #[default]
    Date,
    Name,
    Issuer,
}

/// What a backpack list shows.
#[derive(Debug, Clone, Default)]
pub struct BadgeFilter {
    pub status: Option<String>,
    pub issuer: Option<String>,
    /// Matched case-insensitively against name, description and issuer name.
    pub text: Option<String>,
    pub sort: SortOrder,
    pub offset: i64,
    pub limit: i64,
}

pub fn insert(conn: &mut AnyConnection, badge: &NewBadge) -> QueryResult<usize> {
    diesel::insert_into(badges::table)
        .values(badge)
        .execute(conn)
}

/// The badge with `dedupe_key` in this backpack, if already imported.
pub fn find_by_key(
    conn: &mut AnyConnection,
    user_id: &str,
    dedupe_key: &str,
) -> QueryResult<Option<BadgeSummary>> {
    badges::table
        .filter(badges::user_id.eq(user_id))
        .filter(badges::dedupe_key.eq(dedupe_key))
        .select(BadgeSummary::as_select())
        .first(conn)
        .optional()
}

/// A badge of this user (another user's badge is `None`, like a missing one).
pub fn find_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    badge_id: &str,
) -> QueryResult<Option<BadgeSummary>> {
    badges::table
        .filter(badges::id.eq(badge_id))
        .filter(badges::user_id.eq(user_id))
        .select(BadgeSummary::as_select())
        .first(conn)
        .optional()
}

/// A badge by id, whoever owns it (the worker and tests).
pub fn find_any(conn: &mut AnyConnection, badge_id: &str) -> QueryResult<Option<BadgeSummary>> {
    badges::table
        .find(badge_id)
        .select(BadgeSummary::as_select())
        .first(conn)
        .optional()
}

pub fn documents(conn: &mut AnyConnection, badge_id: &str) -> QueryResult<BadgeDocuments> {
    badges::table
        .find(badge_id)
        .select(BadgeDocuments::as_select())
        .first(conn)
}

/// The bytes the learner gave, byte for byte.
pub fn original(conn: &mut AnyConnection, badge_id: &str) -> QueryResult<Vec<u8>> {
    badges::table
        .find(badge_id)
        .select(badges::original)
        .first(conn)
}

/// The display image and its content type.
pub fn image(
    conn: &mut AnyConnection,
    badge_id: &str,
) -> QueryResult<(Option<Vec<u8>>, Option<String>)> {
    badges::table
        .find(badge_id)
        .select((badges::image, badges::image_type))
        .first(conn)
}

fn filtered<'a>(
    user_id: &'a str,
    filter: &'a BadgeFilter,
) -> badges::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut query = badges::table
        .filter(badges::user_id.eq(user_id))
        .into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(badges::status.eq(status));
    }
    if let Some(issuer) = &filter.issuer {
        query = query.filter(badges::issuer_name.eq(issuer));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = format!("%{}%", escape_like(&text.trim().to_lowercase()));
        query = query.filter(
            lower(badges::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(badges::description.assume_not_null())
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower(badges::issuer_name.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    query
}

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of a backpack.
pub fn list(
    conn: &mut AnyConnection,
    user_id: &str,
    filter: &BadgeFilter,
) -> QueryResult<Vec<BadgeSummary>> {
    let query = filtered(user_id, filter).select(BadgeSummary::as_select());
    let query = match filter.sort {
        SortOrder::Date => query.order((badges::issued_on.desc(), badges::created_at.desc())),
        SortOrder::Name => query.order((badges::name.asc(), badges::created_at.desc())),
        SortOrder::Issuer => query.order((badges::issuer_name.asc(), badges::name.asc())),
    };
    query.offset(filter.offset).limit(filter.limit).load(conn)
}

/// How many badges the filter matches in all.
pub fn count(conn: &mut AnyConnection, user_id: &str, filter: &BadgeFilter) -> QueryResult<i64> {
    filtered(user_id, filter).count().get_result(conn)
}

/// The issuers in a backpack, for the filter menu.
pub fn issuers(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<String>> {
    badges::table
        .filter(badges::user_id.eq(user_id))
        .filter(badges::issuer_name.is_not_null())
        .select(badges::issuer_name.assume_not_null())
        .distinct()
        .order(badges::issuer_name.assume_not_null().asc())
        .load(conn)
}

/// Badges of this user waiting for one of their addresses to be confirmed.
pub fn pending_for_user(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<BadgeSummary>> {
    badges::table
        .filter(badges::user_id.eq(user_id))
        .filter(badges::status.eq("pending"))
        .select(BadgeSummary::as_select())
        .load(conn)
}

pub fn delete(conn: &mut AnyConnection, user_id: &str, badge_id: &str) -> QueryResult<usize> {
    diesel::delete(
        badges::table
            .filter(badges::id.eq(badge_id))
            .filter(badges::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Deletes pending badges imported before `before` that were never accepted; returns how
/// many. A badge that was in the backpack and went back to pending (its address was
/// removed) is the learner's: it waits however long it takes.
pub fn drop_expired_pending(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<usize> {
    use diesel::dsl::{exists, not};
    let accepted = badge_events::table
        .filter(badge_events::badge_id.eq(badges::id))
        .filter(badge_events::status.ne("pending"));
    diesel::delete(
        badges::table
            .filter(badges::status.eq("pending"))
            .filter(badges::created_at.lt(before))
            .filter(not(exists(accepted))),
    )
    .execute(conn)
}

/// Records a conclusive re-check of a badge read with status `from`: only while it still
/// has that status (another re-check that got there first wins, so a change is recorded
/// and mailed once) and, with `owner`, while that worker still holds the badge's lease.
/// Returns the rows changed (0: left alone, or the badge was deleted).
pub fn update_checked(
    conn: &mut AnyConnection,
    badge_id: &str,
    from: &str,
    owner: Option<&str>,
    checked: &CheckedBadge,
) -> QueryResult<usize> {
    let row = badges::table.find(badge_id).filter(badges::status.eq(from));
    match owner {
        Some(owner) => diesel::update(row.filter(badges::lease_owner.eq(owner)))
            .set(checked)
            .execute(conn),
        None => diesel::update(row).set(checked).execute(conn),
    }
}

/// Records an inconclusive re-check; like [`update_checked`] for the status and the lease.
pub fn update_attempted(
    conn: &mut AnyConnection,
    badge_id: &str,
    from: &str,
    owner: Option<&str>,
    attempt: &AttemptedBadge,
) -> QueryResult<usize> {
    let row = badges::table.find(badge_id).filter(badges::status.eq(from));
    match owner {
        Some(owner) => diesel::update(row.filter(badges::lease_owner.eq(owner)))
            .set(attempt)
            .execute(conn),
        None => diesel::update(row).set(attempt).execute(conn),
    }
}

/// Reserves up to `limit` badges due for a re-check at `now` for the worker `owner` until
/// `until`, soonest due first, and returns them. Pending badges are included: one whose
/// address was confirmed while its issuer was down is delivered by a later check. Badges
/// another worker holds an unexpired lease on are skipped; on PostgreSQL rows another transaction is claiming right now are
/// skipped too (`FOR UPDATE SKIP LOCKED`), so concurrent workers never claim one badge
/// twice. Run it inside a transaction.
pub fn claim_due(
    conn: &mut AnyConnection,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<BadgeSummary>> {
    let due = badges::table
        .filter(badges::next_check_at.le(now))
        .filter(
            badges::lease_until
                .is_null()
                .or(badges::lease_until.lt(now)),
        )
        .order(badges::next_check_at.asc())
        .select(badges::id)
        .limit(limit);
    let ids: Vec<String> = match conn {
        AnyConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
        AnyConnection::Sqlite(lite) => due.load(lite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(badges::table.filter(badges::id.eq_any(&ids)))
        .set((badges::lease_owner.eq(owner), badges::lease_until.eq(until)))
        .execute(conn)?;
    badges::table
        .filter(badges::id.eq_any(&ids))
        .order(badges::next_check_at.asc())
        .select(BadgeSummary::as_select())
        .load(conn)
}

impl From<BadgeCopy> for crate::verify::IssuerCopy {
    fn from(copy: BadgeCopy) -> crate::verify::IssuerCopy {
        crate::verify::IssuerCopy {
            url: copy.url,
            etag: copy.etag,
            last_modified: copy.last_modified,
            text: copy.body,
        }
    }
}

/// The issuer's last copies of these badges' hosted assertions.
pub fn copies(conn: &mut AnyConnection, badge_ids: &[String]) -> QueryResult<Vec<BadgeCopy>> {
    badge_copies::table
        .filter(badge_copies::badge_id.eq_any(badge_ids))
        .select(BadgeCopy::as_select())
        .load(conn)
}

/// Keeps (or replaces) the issuer's copy of a badge's hosted assertion.
pub fn save_copy(conn: &mut AnyConnection, copy: &BadgeCopy) -> QueryResult<usize> {
    diesel::delete(badge_copies::table.find(&copy.badge_id)).execute(conn)?;
    diesel::insert_into(badge_copies::table)
        .values(copy)
        .execute(conn)
}

/// The stored payloads of these badges, by id.
pub fn payloads(
    conn: &mut AnyConnection,
    badge_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    badges::table
        .filter(badges::id.eq_any(badge_ids))
        .select((badges::id, badges::payload))
        .load(conn)
}

pub fn set_public_slug(
    conn: &mut AnyConnection,
    badge_id: &str,
    slug: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(badges::table.find(badge_id))
        .set(badges::public_slug.eq(slug))
        .execute(conn)
}

/// A published badge by its public link.
pub fn find_public(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<BadgeSummary>> {
    badges::table
        .filter(badges::public_slug.eq(slug))
        .select(BadgeSummary::as_select())
        .first(conn)
        .optional()
}

pub fn add_event(conn: &mut AnyConnection, event: &BadgeEvent) -> QueryResult<usize> {
    diesel::insert_into(badge_events::table)
        .values(event)
        .execute(conn)
}

/// A badge's status history, oldest first.
pub fn events(conn: &mut AnyConnection, badge_id: &str) -> QueryResult<Vec<BadgeEvent>> {
    badge_events::table
        .filter(badge_events::badge_id.eq(badge_id))
        .order(badge_events::at.asc())
        .select(BadgeEvent::as_select())
        .load(conn)
}

/// Everything needed to export one badge.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = badges)]
pub struct ExportedBadge {
    pub id: String,
    pub name: String,
    pub status: String,
    pub carrier: String,
    pub original: Vec<u8>,
    pub payload: String,
    pub image: Option<Vec<u8>>,
    pub image_type: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub version: Option<String>,
}

/// Every badge of a user with its bytes, oldest first (for the account export).
pub fn export_all(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<ExportedBadge>> {
    badges::table
        .filter(badges::user_id.eq(user_id))
        .order(badges::created_at.asc())
        .select(ExportedBadge::as_select())
        .load(conn)
}
