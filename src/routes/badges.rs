//! The backpack pages: the list with sorting, filters, search and pages; importing files,
//! URLs and pasted text; a badge's page; and its downloads.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::auth::PlainForm;
use super::session::{csrf_matches, CsrfForm, CsrfToken, CurrentUser, CSRF_COOKIE};
use super::{render_page, see_other, Page};
use crate::backpack::{self, ImportOutcome};
use crate::db::badges::{self as badge_queries, BadgeFilter, BadgeSummary, SortOrder};
use crate::db::models::email_queries;
use crate::domain::bake::bake;
use crate::domain::unbake::{detect, InputKind, Keyword};
use crate::error::AppError;
use crate::export;
use crate::startup::AppState;

/// Badges shown on one page of the backpack.
pub const PAGE_SIZE: i64 = 24;
/// The most items one import form may carry.
const MAX_IMPORT_ITEMS: usize = 20;
/// The largest single file (and pasted text) an import accepts.
const MAX_ITEM_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Deserialize, Default)]
pub struct BackpackQuery {
    status: Option<String>,
    issuer: Option<String>,
    q: Option<String>,
    #[serde(default)]
    sort: SortOrder,
    page: Option<i64>,
    notice: Option<String>,
}

impl BackpackQuery {
    fn filter(&self) -> BadgeFilter {
        let page = self.page.unwrap_or(1).max(1);
        BadgeFilter {
            status: self.status.clone().filter(|s| !s.is_empty()),
            issuer: self.issuer.clone().filter(|s| !s.is_empty()),
            text: self.q.clone().filter(|s| !s.trim().is_empty()),
            sort: self.sort,
            offset: (page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        }
    }
}

/// One page of the backpack and what the filters can offer.
pub struct BackpackPage {
    pub badges: Vec<BadgeSummary>,
    pub total: i64,
    pub issuers: Vec<String>,
    pub pending: Vec<BadgeSummary>,
    /// The account's addresses still waiting for their confirmation link.
    pub unconfirmed: Vec<String>,
}

pub async fn load_backpack(
    state: &AppState,
    user_id: &str,
    filter: BadgeFilter,
) -> Result<BackpackPage, AppError> {
    backpack::sweep_expired_pending(state).await?;
    let user = user_id.to_string();
    Ok(state
        .db
        .run(move |conn| {
            Ok(BackpackPage {
                badges: badge_queries::list(conn, &user, &filter)?,
                total: badge_queries::count(conn, &user, &filter)?,
                issuers: badge_queries::issuers(conn, &user)?,
                pending: badge_queries::pending_for_user(conn, &user)?,
                unconfirmed: email_queries::list_for_user(conn, &user)?
                    .into_iter()
                    .filter(|e| !e.is_confirmed())
                    .map(|e| e.address)
                    .collect(),
            })
        })
        .await?)
}

pub async fn show_backpack(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    query: web::Query<BackpackQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter();
    let page_number = filter.offset / PAGE_SIZE + 1;
    let data = load_backpack(&state, &user.0.id, filter).await?;
    let pages = (data.total + PAGE_SIZE - 1) / PAGE_SIZE;
    let notice = match query.notice.as_deref() {
        Some("deleted") => Some("The badge was deleted.".to_string()),
        Some("registered") => Some("Welcome to Satchel.".to_string()),
        _ => None,
    };
    let page = Page {
        title: "Your backpack",
        csrf_token: &csrf.0,
        signed_in: true,
        notice,
        error: None,
    };
    let context = json!({
        "badges": data.badges,
        "pending": data.pending,
        "total": data.total,
        "issuers": data.issuers,
        "unconfirmed": data.unconfirmed,
        "page_number": page_number,
        "pages": pages,
        "query": {
            "status": query.status, "issuer": query.issuer, "q": query.q,
            "sort": query.sort,
        },
    });
    render_page(&state, "pages/backpack.html", &page, &context)
}

pub async fn import_form(
    state: web::Data<AppState>,
    _user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let page = Page {
        title: "Add badges",
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    render_page(
        &state,
        "pages/import.html",
        &page,
        &json!({ "results": [] }),
    )
}

/// One thing to import, with the label the results page shows for it.
struct ImportItem {
    label: String,
    bytes: Vec<u8>,
    /// Larger than allowed: it gets its own "too large" result and is not read further.
    too_large: bool,
}

/// Handles the import form: files (several at once), a URL and pasted text, each through
/// the verification pipeline, each with its own result.
pub async fn import_badges(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    request: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let (token, items) = read_import_form(payload).await?;
    let cookie = request.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    if !csrf_matches(cookie.as_deref(), &token) {
        return Err(AppError::Csrf);
    }
    let items = expand_exports(items)?;
    if items.is_empty() {
        return Err(AppError::bad_request(
            "nothing_to_import",
            "Choose a badge file, or paste a URL or the badge's text.",
        ));
    }

    let mut results = Vec::new();
    for item in items {
        if item.too_large {
            let limit = MAX_ITEM_BYTES / 1024 / 1024;
            let outcome = ImportOutcome::Refused {
                code: "input_too_large".into(),
                message: format!("This is larger than the {limit} MB a badge may be."),
            };
            results.push(json!({ "label": item.label, "result": outcome }));
            continue;
        }
        let (outcome, report) = backpack::import(&state, &user.0.id, &item.bytes).await?;
        results.push(json!({ "label": item.label, "result": outcome, "status": report.status }));
    }

    let page = Page {
        title: "Add badges",
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    render_page(
        &state,
        "pages/import.html",
        &page,
        &json!({ "results": results }),
    )
}

async fn read_import_form(mut payload: Multipart) -> Result<(String, Vec<ImportItem>), AppError> {
    let mut token = String::new();
    let mut items = Vec::new();
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| malformed(&e.to_string()))?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| malformed(&e.to_string()))?;
            // An export zip may hold many badges; anything else is one badge.
            let limit = if export::is_zip(&bytes) || export::is_zip(&chunk) && bytes.is_empty() {
                export::MAX_EXPORT_BYTES
            } else {
                MAX_ITEM_BYTES
            };
            if too_large || bytes.len() + chunk.len() > limit {
                too_large = true;
                bytes.clear();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => token = String::from_utf8_lossy(&bytes).into_owned(),
            "files" if !bytes.is_empty() || too_large => items.push(ImportItem {
                label: filename.unwrap_or_else(|| "file".into()),
                bytes,
                too_large,
            }),
            "url" | "text" if too_large || !bytes.iter().all(u8::is_ascii_whitespace) => {
                let label = if name == "url" {
                    "pasted URL"
                } else {
                    "pasted text"
                };
                items.push(ImportItem {
                    label: label.into(),
                    bytes,
                    too_large,
                })
            }
            _ => {}
        }
        if items.len() > MAX_IMPORT_ITEMS {
            return Err(AppError::bad_request(
                "too_many_items",
                format!("Import at most {MAX_IMPORT_ITEMS} badges at a time."),
            ));
        }
    }
    Ok((token, items))
}

/// Replaces a Satchel export zip among the items with the badges it holds.
fn expand_exports(items: Vec<ImportItem>) -> Result<Vec<ImportItem>, AppError> {
    let mut expanded = Vec::with_capacity(items.len());
    for item in items {
        if item.too_large || !export::is_zip(&item.bytes) {
            expanded.push(item);
            continue;
        }
        let badges = export::read_export(&item.bytes).map_err(|e| {
            AppError::bad_request(
                "bad_export",
                format!("{} cannot be imported: {e:#}", item.label),
            )
        })?;
        expanded.extend(badges.into_iter().map(|(label, bytes)| ImportItem {
            too_large: bytes.len() > MAX_ITEM_BYTES,
            label,
            bytes,
        }));
    }
    Ok(expanded)
}

/// The whole account as a zip: every badge's original bytes, assertion and image, with a
/// manifest. Importing the zip again restores the badges.
pub async fn export_account(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let owner = user.0.id.clone();
    let badges = state
        .db
        .run(move |conn| Ok(badge_queries::export_all(conn, &owner)?))
        .await?;
    let count = badges.len();
    let zip = tokio::task::spawn_blocking(move || export::write_export(&badges))
        .await
        .map_err(anyhow::Error::from)??;
    tracing::info!(user.id = %user.0.id, badges = count, "account exported");
    let name = format!(
        "satchel-export-{}.zip",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    Ok(attachment("application/zip", &name, zip))
}

fn malformed(detail: &str) -> AppError {
    AppError::bad_request(
        "malformed_form",
        format!("The form could not be read: {detail}"),
    )
}

/// A badge of the signed-in user; another user's badge is as missing as one that never was.
pub async fn owned_badge(
    state: &AppState,
    user_id: &str,
    badge_id: &str,
) -> Result<BadgeSummary, AppError> {
    let (user, id) = (user_id.to_string(), badge_id.to_string());
    state
        .db
        .run(move |conn| Ok(badge_queries::find_for_user(conn, &user, &id)?))
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn show_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
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
    let parsed: serde_json::Value = serde_json::from_str(&docs.badge_json).unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&docs.report_json).unwrap_or_default();
    let page = Page {
        title: &badge.name,
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    let context = json!({
        "badge": badge, "parsed": parsed, "report": report, "events": events,
    });
    render_page(&state, "pages/badge.html", &page, &context)
}

pub async fn delete_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let (owner, id) = (user.0.id.clone(), path.into_inner());
    let deleted = state
        .db
        .run(move |conn| Ok(badge_queries::delete(conn, &owner, &id)?))
        .await?;
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(user.id = %user.0.id, "badge deleted");
    Ok(see_other("/backpack?notice=deleted"))
}

pub async fn recheck_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
    backpack::recheck(&state, &badge).await?;
    Ok(see_other(&format!("/badges/{}", badge.id)))
}

/// Our copy of the badge image. SVG is served with a sandboxing policy so any script in
/// it cannot run, and nothing is sniffed into another type.
pub async fn badge_image(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
    serve_image(&state, &badge.id).await
}

pub async fn serve_image(state: &AppState, badge_id: &str) -> Result<HttpResponse, AppError> {
    let id = badge_id.to_string();
    let (image, kind) = state
        .db
        .run(move |conn| Ok(badge_queries::image(conn, &id)?))
        .await?;
    let (Some(image), Some(kind)) = (image, kind) else {
        return Err(AppError::NotFound);
    };
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(image))
}

/// The bytes the learner gave, byte for byte (a baked image, or the pasted text).
pub async fn download_original(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
    let id = badge.id.clone();
    let bytes = state
        .db
        .run(move |conn| Ok(badge_queries::original(conn, &id)?))
        .await?;
    let (kind, extension) = match badge.carrier.as_str() {
        "png" => ("image/png", "png"),
        "svg" => ("image/svg+xml", "svg"),
        "json" => ("application/json", "json"),
        _ => ("text/plain; charset=utf-8", "txt"),
    };
    Ok(attachment(
        kind,
        &format!("{}.{extension}", file_stem(&badge.name)),
        bytes,
    ))
}

/// The assertion (or credential) as the issuer gave it.
pub async fn download_assertion(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
    let id = badge.id.clone();
    let docs = state
        .db
        .run(move |conn| Ok(badge_queries::documents(conn, &id)?))
        .await?;
    let (kind, extension) = match detect(docs.payload.as_bytes()) {
        InputKind::Jws(_) => ("application/jose", "jws"),
        _ => ("application/json", "json"),
    };
    Ok(attachment(
        kind,
        &format!("{}.{extension}", file_stem(&badge.name)),
        docs.payload.into_bytes(),
    ))
}

/// A freshly baked image: the badge's own image with its assertion written into it.
pub async fn download_baked(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = owned_badge(&state, &user.0.id, &path).await?;
    let id = badge.id.clone();
    let (docs, (image, kind)) = state
        .db
        .run(move |conn| {
            Ok((
                badge_queries::documents(conn, &id)?,
                badge_queries::image(conn, &id)?,
            ))
        })
        .await?;
    let (Some(image), Some(kind)) = (image, kind) else {
        return Err(AppError::bad_request(
            "no_image",
            "This badge has no image to bake it into.",
        ));
    };
    let keyword = match badge.version.as_deref() {
        Some("3.0") => Keyword::OpenBadgeCredential,
        _ => Keyword::OpenBadges,
    };
    let baked = bake(&image, &docs.payload, keyword)
        .map_err(|e| AppError::bad_request(e.code(), e.to_string()))?;
    let extension = if kind == "image/png" { "png" } else { "svg" };
    Ok(attachment(
        &kind,
        &format!("{}.{extension}", file_stem(&badge.name)),
        baked,
    ))
}

fn attachment(kind: &str, filename: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(kind.to_string())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .body(body)
}

/// A file name made of the badge name's letters and digits.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if stem.is_empty() {
        "badge".into()
    } else {
        stem.chars().take(60).collect()
    }
}
