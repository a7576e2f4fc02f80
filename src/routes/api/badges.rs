//! `/api/v1/badges`: the backpack as JSON. List with filters and pages, one badge with its
//! checks and history, import (a URL, an assertion, or a base64 image) through the same
//! pipeline as the import page, delete, recheck, and the badge's image.
//!
//! Handlers here parse, authorise through [`ApiUser`], call `backpack` and `db::badges`,
//! and shape the answer; they hold no verification logic of their own.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::Context;
use base64::Engine;
use chrono::{NaiveDateTime, SecondsFormat};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::ApiUser;
use super::error::ApiError;
use crate::backpack::{self, ImportOutcome};
use crate::db::badges::{self as badge_queries, BadgeEvent, BadgeFilter, BadgeSummary, SortOrder};
use crate::domain::unbake::{detect, InputKind};
use crate::startup::AppState;
use crate::verify::Report;

/// Badges on one page when the client does not say.
const DEFAULT_PER_PAGE: i64 = 24;
/// The most badges one page may hold.
const MAX_PER_PAGE: i64 = 100;
/// The largest import body: a 5 MiB image in base64 plus room for the JSON around it.
pub const MAX_BODY_BYTES: usize = 7 * 1024 * 1024;
/// The largest single input, as on the import page.
const MAX_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// Every status a stored badge can have.
const STATUSES: &[&str] = &[
    "valid",
    "invalid",
    "revoked",
    "expired",
    "unreachable",
    "unverifiable",
    "pending",
];

/// `GET /badges` query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    issuer: Option<String>,
    q: Option<String>,
    #[serde(default)]
    sort: SortOrder,
    page: Option<i64>,
    per_page: Option<i64>,
}

impl ListQuery {
    fn filter(&self) -> Result<(BadgeFilter, i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 {
            return Err(ApiError::bad_request("invalid_page", "`page` starts at 1."));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(
                "invalid_per_page",
                format!("`per_page` must be between 1 and {MAX_PER_PAGE}."),
            ));
        }
        let status = self.status.clone().filter(|s| !s.is_empty());
        if let Some(status) = status.as_deref().filter(|s| !STATUSES.contains(s)) {
            return Err(ApiError::bad_request(
                "unknown_status",
                format!(
                    "`{status}` is not a status; use one of {}.",
                    STATUSES.join(", ")
                ),
            ));
        }
        let filter = BadgeFilter {
            status,
            issuer: self.issuer.clone().filter(|s| !s.is_empty()),
            text: self.q.clone().filter(|s| !s.trim().is_empty()),
            sort: self.sort,
            offset: (page - 1).saturating_mul(per_page),
            limit: per_page,
        };
        Ok((filter, page, per_page))
    }
}

/// A badge as lists show it.
#[derive(Debug, Serialize)]
pub struct BadgeItem {
    id: String,
    name: String,
    description: Option<String>,
    status: String,
    /// For `pending` badges: the address that must be confirmed to deliver it.
    pending_address: Option<String>,
    issuer: IssuerItem,
    issued_on: Option<String>,
    expires_at: Option<String>,
    /// Open Badges version the badge was read as.
    version: Option<String>,
    /// How it came in: png, svg, url, json or jws.
    carrier: String,
    matched_address: Option<String>,
    match_form: Option<String>,
    checked_at: String,
    /// Set while the issuer has not answered re-checks since then (the status is the last
    /// one it confirmed).
    stale_since: Option<String>,
    created_at: String,
    url: String,
    html_url: String,
    image_url: Option<String>,
}

#[derive(Debug, Serialize)]
struct IssuerItem {
    name: Option<String>,
    url: Option<String>,
}

impl From<BadgeSummary> for BadgeItem {
    fn from(b: BadgeSummary) -> BadgeItem {
        BadgeItem {
            url: format!("/api/v1/badges/{}", b.id),
            html_url: format!("/badges/{}", b.id),
            image_url: b
                .image_type
                .as_ref()
                .map(|_| format!("/api/v1/badges/{}/image", b.id)),
            issuer: IssuerItem {
                name: b.issuer_name,
                url: b.issuer_url,
            },
            issued_on: b.issued_on.map(timestamp),
            expires_at: b.expires_at.map(timestamp),
            checked_at: timestamp(b.checked_at),
            stale_since: b.stale_since.map(timestamp),
            created_at: timestamp(b.created_at),
            id: b.id,
            name: b.name,
            description: b.description,
            status: b.status,
            pending_address: b.pending_address,
            version: b.version,
            carrier: b.carrier,
            matched_address: b.matched_address,
            match_form: b.match_form,
        }
    }
}

/// A badge with what its page shows: criteria, evidence, the checks and the history.
#[derive(Debug, Serialize)]
pub struct BadgeDetail {
    #[serde(flatten)]
    item: BadgeItem,
    criteria: Option<Criteria>,
    narrative: Option<String>,
    evidence: Vec<Evidence>,
    revocation_reason: Option<String>,
    checks: Vec<CheckItem>,
    history: Vec<HistoryItem>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Criteria {
    url: Option<String>,
    narrative: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Evidence {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    narrative: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckItem {
    check: String,
    code: String,
    outcome: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct HistoryItem {
    at: String,
    status: String,
    reason: String,
}

impl From<BadgeEvent> for HistoryItem {
    fn from(e: BadgeEvent) -> HistoryItem {
        HistoryItem {
            at: timestamp(e.at),
            status: e.status,
            reason: e.reason,
        }
    }
}

/// The parts of a stored verification report the API shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoredReport {
    checks: Vec<CheckItem>,
    badge_class: Option<StoredClass>,
    revocation_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoredClass {
    criteria: Option<Criteria>,
}

/// The parts of a stored parsed badge the API shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoredBadge {
    evidence: Vec<Evidence>,
    narrative: Option<String>,
}

/// A stored time as RFC 3339 in UTC, e.g. `2024-01-01T00:00:00Z`.
pub(super) fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /badges`: one page of the caller's backpack.
pub async fn list_badges(
    state: web::Data<AppState>,
    user: ApiUser,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<ListQuery>::from_query(request.query_string()).map_err(|e| {
        ApiError::bad_request("invalid_query", format!("The query could not be read: {e}"))
    })?;
    let (filter, page, per_page) = query.filter()?;

    backpack::sweep_expired_pending(&state).await?;
    let owner = user.id().to_string();
    let (badges, total) = state
        .db
        .run(move |conn| {
            Ok((
                badge_queries::list(conn, &owner, &filter)?,
                badge_queries::count(conn, &owner, &filter)?,
            ))
        })
        .await?;

    let items: Vec<BadgeItem> = badges.into_iter().map(BadgeItem::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": (total + per_page - 1) / per_page,
    })))
}

/// `GET /badges/{id}`: one badge with its checks and history.
pub async fn get_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let badge = owned_badge(&state, user.id(), &path).await?;
    Ok(HttpResponse::Ok().json(detail(&state, badge).await?))
}

async fn detail(state: &AppState, badge: BadgeSummary) -> Result<BadgeDetail, ApiError> {
    let id = badge.id.clone();
    let (docs, events) = state
        .db
        .run(move |conn| {
            Ok((
                badge_queries::documents(conn, &id)?,
                badge_queries::events(conn, &id)?,
            ))
        })
        .await?;
    let report: StoredReport =
        serde_json::from_str(&docs.report_json).context("the stored report reads")?;
    let parsed: StoredBadge =
        serde_json::from_str(&docs.badge_json).context("the stored badge reads")?;
    Ok(BadgeDetail {
        item: badge.into(),
        criteria: report.badge_class.and_then(|c| c.criteria),
        narrative: parsed.narrative,
        evidence: parsed.evidence,
        revocation_reason: report.revocation_reason,
        checks: report.checks,
        history: events.into_iter().map(HistoryItem::from).collect(),
    })
}

/// A badge of this user; another user's badge is as missing as a badge that never was.
async fn owned_badge(
    state: &AppState,
    user_id: &str,
    badge_id: &str,
) -> Result<BadgeSummary, ApiError> {
    Ok(crate::routes::badges::owned_badge(state, user_id, badge_id).await?)
}

/// `POST /badges` body: exactly one of the three inputs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRequest {
    /// The assertion's (or credential's) URL.
    url: Option<String>,
    /// The assertion as a JSON object, or as text: JSON or a compact JWS.
    assertion: Option<Value>,
    /// A baked PNG or SVG in base64, optionally as a `data:` URI.
    image: Option<String>,
}

impl ImportRequest {
    /// The bytes the pipeline takes, as the import page would hand them over.
    fn into_input(self) -> Result<Vec<u8>, ApiError> {
        match (self.url, self.assertion, self.image) {
            (Some(url), None, None) => url_input(&url),
            (None, Some(assertion), None) => assertion_input(assertion),
            (None, None, Some(image)) => image_input(&image),
            _ => Err(ApiError::bad_request(
                "exactly_one_input",
                "Send exactly one of `url`, `assertion` or `image`.",
            )),
        }
    }
}

pub(super) fn url_input(url: &str) -> Result<Vec<u8>, ApiError> {
    let url = url.trim();
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.as_bytes().to_vec()),
        _ => Err(ApiError::bad_request(
            "invalid_url",
            "`url` must be an http or https URL.",
        )),
    }
}

pub(super) fn assertion_input(assertion: Value) -> Result<Vec<u8>, ApiError> {
    let bytes = match assertion {
        Value::String(text) => text.into_bytes(),
        // TODO: keep the object's exact text, because re-serialising reorders its keys;
        // it needs serde_json's `raw_value` feature.
        object @ Value::Object(_) => serde_json::to_vec(&object).context("JSON serialises")?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_assertion",
                "`assertion` must be a JSON object, or a string holding JSON or a compact JWS.",
            ))
        }
    };
    within_input_limit(bytes)
}

pub(super) fn image_input(image: &str) -> Result<Vec<u8>, ApiError> {
    let encoded = match image.trim().strip_prefix("data:") {
        Some(uri) => uri.split_once(";base64,").map_or("", |(_, data)| data),
        None => image.trim(),
    };
    let compact: String = encoded.split_ascii_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| ApiError::bad_request("invalid_base64", "`image` is not valid base64."))?;
    let bytes = within_input_limit(bytes)?;
    match detect(&bytes) {
        InputKind::Png | InputKind::Svg => Ok(bytes),
        _ => Err(ApiError::bad_request(
            "not_an_image",
            "`image` must be a PNG or SVG file.",
        )),
    }
}

fn within_input_limit(bytes: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ApiError::TooLarge {
            code: "input_too_large",
            message: format!(
                "A badge may be at most {} MiB.",
                MAX_INPUT_BYTES / 1024 / 1024
            ),
        });
    }
    Ok(bytes)
}

/// `POST /badges`: imports one badge through the verification pipeline.
pub async fn import_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: ImportRequest = read_json(&request, payload, MAX_BODY_BYTES).await?;
    let input = body.into_input()?;

    let (outcome, report) = backpack::import(&state, user.id(), &input).await?;

    import_response(&state, user.id(), outcome, &report).await
}

/// The checks a fresh verification made, shown with every import outcome.
fn verification(report: &Report) -> Value {
    serde_json::json!({ "status": report.status, "checks": report.checks })
}

async fn import_response(
    state: &AppState,
    user_id: &str,
    outcome: ImportOutcome,
    report: &Report,
) -> Result<HttpResponse, ApiError> {
    let (mut response, mut body) = match outcome {
        ImportOutcome::Added { badge_id, .. } => {
            let badge = BadgeItem::from(owned_badge(state, user_id, &badge_id).await?);
            let mut response = HttpResponse::Created();
            response.insert_header((header::LOCATION, badge.url.clone()));
            (
                response,
                serde_json::json!({ "outcome": "added", "badge": badge }),
            )
        }
        ImportOutcome::Duplicate { badge_id, .. } => {
            let badge = BadgeItem::from(owned_badge(state, user_id, &badge_id).await?);
            let body = serde_json::json!({ "outcome": "duplicate", "badge": badge });
            (HttpResponse::Ok(), body)
        }
        ImportOutcome::Pending {
            badge_id,
            named_address,
            ..
        } => {
            let badge = BadgeItem::from(owned_badge(state, user_id, &badge_id).await?);
            let body = serde_json::json!({
                "outcome": "pending", "badge": badge, "named_address": named_address,
            });
            (HttpResponse::Accepted(), body)
        }
        ImportOutcome::Refused { code, message } => {
            let body = serde_json::json!({
                "outcome": "refused", "error": { "code": code, "message": message },
            });
            (HttpResponse::UnprocessableEntity(), body)
        }
    };
    body["verification"] = verification(report);
    Ok(response.json(body))
}

/// Reads a JSON body of at most `limit` bytes, after the caller has been authenticated.
pub(super) async fn read_json<T: DeserializeOwned>(
    request: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, ApiError> {
    let body = read_json_body(request, payload, limit).await?;
    serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::bad_request("invalid_body", format!("The body does not fit: {e}"))
        }
        _ => ApiError::bad_request("malformed_json", format!("The body is not JSON: {e}")),
    })
}

/// The bytes of a JSON body of at most `limit` bytes, not yet parsed.
pub(super) async fn read_json_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    if !is_json(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let too_large = || ApiError::TooLarge {
        code: "body_too_large",
        message: format!("The body may be at most {} MiB.", limit / 1024 / 1024),
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("unreadable_body", "The request body could not be read.")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `application/json`, or any `+json` type.
fn is_json(request: &HttpRequest) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `DELETE /badges/{id}`.
pub async fn delete_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = (user.id().to_string(), path.into_inner());
    let deleted = state
        .db
        .run(move |conn| Ok(badge_queries::delete(conn, &owner, &id)?))
        .await?;
    if deleted == 0 {
        return Err(ApiError::NotFound);
    }
    tracing::info!(user.id = %user.id(), "badge deleted through the API");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /badges/{id}/recheck`: verifies the badge again now.
pub async fn recheck_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let badge = owned_badge(&state, user.id(), &path).await?;
    let previous = badge.status.clone();

    backpack::recheck(&state, &badge).await?;

    let badge = owned_badge(&state, user.id(), &path).await?;
    let changed = badge.status != previous;
    let detail = detail(&state, badge).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "previous_status": previous, "changed": changed, "badge": detail,
    })))
}

/// `GET /badges/{id}/image`: our copy of the badge image, served as the pages serve it.
pub async fn badge_image(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let badge = owned_badge(&state, user.id(), &path).await?;
    Ok(crate::routes::badges::serve_image(&state, &badge.id).await?)
}
