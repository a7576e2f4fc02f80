//! Pages anyone can read without an account: published collections and badges, with Open
//! Graph tags for link previews and JSON-LD for clients that ask for it. Only badges that
//! still hold up are shown: revoked, expired and pending badges drop off public pages. An
//! unpublished or unknown link is a 404, whoever asks.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::PlainForm;
use super::badges::serve_image;
use super::session::{CsrfForm, CsrfToken, CurrentUser, MaybeUser};
use super::{render_page, see_other, Page};
use crate::db::badges::{self as badge_queries, BadgeSummary};
use crate::db::collections as collection_queries;
use crate::domain::jws::parse_compact;
use crate::domain::token::generate_token;
use crate::error::AppError;
use crate::startup::AppState;

/// Whether a badge with this status may be shown to the public.
pub fn shown_publicly(status: &str) -> bool {
    matches!(status, "valid" | "unreachable" | "unverifiable")
}

/// Whether the client asked for JSON (JSON-LD) rather than a page.
fn wants_json(request: &HttpRequest) -> bool {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("json") && !accept.contains("text/html")
}

fn absolute(state: &AppState, path: &str) -> String {
    state
        .settings
        .base_url
        .join(path.trim_start_matches('/'))
        .map(String::from)
        .unwrap_or_default()
}

fn page<'a>(title: &'a str, csrf: &'a CsrfToken, user: &MaybeUser) -> Page<'a> {
    Page {
        title,
        csrf_token: &csrf.0,
        signed_in: user.0.is_some(),
        notice: None,
        error: None,
    }
}

pub async fn public_collection(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: MaybeUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slug = path.into_inner();
    let lookup = slug.clone();
    let (collection, badges) = state
        .db
        .run(move |conn| {
            let Some(collection) = collection_queries::find_public(conn, &lookup)? else {
                return Ok(None);
            };
            let badges = collection_queries::badges(conn, &collection.id)?;
            Ok(Some((collection, badges)))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let badges: Vec<BadgeSummary> = badges
        .into_iter()
        .filter(|b| shown_publicly(&b.status))
        .collect();
    let base = format!("/c/{slug}");

    if wants_json(&request) {
        let items: Vec<_> = badges
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "@type": "ListItem", "position": i + 1, "name": b.name,
                    "url": absolute(&state, &format!("{base}/badges/{}", b.id)),
                })
            })
            .collect();
        let body = json!({
            "@context": "https://schema.org", "@type": "ItemList",
            "name": collection.name, "description": collection.description,
            "url": absolute(&state, &base), "itemListElement": items,
        });
        return Ok(json_ld(body.to_string()));
    }
    let image = badges.iter().find(|b| b.image_type.is_some());
    let context = json!({
        "collection": collection, "badges": badges, "base": base,
        "og": {
            "title": collection.name, "description": collection.description,
            "url": absolute(&state, &base),
            "image": image.map(|b| absolute(&state, &format!("{base}/badges/{}/image", b.id))),
        },
    });
    render_page(
        &state,
        "pages/public_collection.html",
        &page(&collection.name, &csrf, &user),
        &context,
    )
}

/// A badge shown through a published collection it belongs to.
async fn badge_in_collection(
    state: &AppState,
    slug: &str,
    badge_id: &str,
) -> Result<BadgeSummary, AppError> {
    let (slug, badge_id) = (slug.to_string(), badge_id.to_string());
    let badge = state
        .db
        .run(move |conn| {
            let Some(collection) = collection_queries::find_public(conn, &slug)? else {
                return Ok(None);
            };
            if !collection_queries::contains(conn, &collection.id, &badge_id)? {
                return Ok(None);
            }
            Ok(badge_queries::find_for_user(
                conn,
                &collection.user_id,
                &badge_id,
            )?)
        })
        .await?;
    badge
        .filter(|b| shown_publicly(&b.status))
        .ok_or(AppError::NotFound)
}

async fn published_badge(state: &AppState, slug: &str) -> Result<BadgeSummary, AppError> {
    let slug = slug.to_string();
    let badge = state
        .db
        .run(move |conn| Ok(badge_queries::find_public(conn, &slug)?))
        .await?;
    badge
        .filter(|b| shown_publicly(&b.status))
        .ok_or(AppError::NotFound)
}

pub async fn collection_badge(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: MaybeUser,
    csrf: CsrfToken,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, badge_id) = path.into_inner();
    let badge = badge_in_collection(&state, &slug, &badge_id).await?;
    let base = format!("/c/{slug}/badges/{badge_id}");
    show_public_badge(&state, &request, &user, &csrf, badge, &base).await
}

pub async fn collection_badge_image(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, badge_id) = path.into_inner();
    let badge = badge_in_collection(&state, &slug, &badge_id).await?;
    serve_image(&state, &badge.id).await
}

pub async fn public_badge(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: MaybeUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slug = path.into_inner();
    let badge = published_badge(&state, &slug).await?;
    show_public_badge(&state, &request, &user, &csrf, badge, &format!("/b/{slug}")).await
}

pub async fn public_badge_image(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let badge = published_badge(&state, &path).await?;
    serve_image(&state, &badge.id).await
}

async fn show_public_badge(
    state: &AppState,
    request: &HttpRequest,
    user: &MaybeUser,
    csrf: &CsrfToken,
    badge: BadgeSummary,
    base: &str,
) -> Result<HttpResponse, AppError> {
    let id = badge.id.clone();
    let docs = state
        .db
        .run(move |conn| Ok(badge_queries::documents(conn, &id)?))
        .await?;
    if wants_json(request) {
        return Ok(json_ld(assertion_json(&docs.payload)));
    }
    let report: serde_json::Value = serde_json::from_str(&docs.report_json).unwrap_or_default();
    let context = json!({
        "badge": badge, "report": report, "base": base,
        "og": {
            "title": badge.name, "description": badge.description,
            "url": absolute(state, base),
            "image": badge.image_type.as_ref().map(|_| absolute(state, &format!("{base}/image"))),
        },
    });
    render_page(
        state,
        "pages/public_badge.html",
        &page(&badge.name, csrf, user),
        &context,
    )
}

/// The assertion as JSON for the public: the issuer's JSON as stored (or the payload of a
/// signed badge), without any plain-text recipient address. Hashed identities stay: the
/// issuer published them so that only someone who knows the address can check it.
fn assertion_json(payload: &str) -> String {
    let mut json = match parse_compact(payload) {
        Ok(jws) => serde_json::Value::Object(jws.payload_json),
        Err(_) => serde_json::from_str(payload).unwrap_or_default(),
    };
    strip_plain_recipients(&mut json);
    json.to_string()
}

/// Removes recipient data that names a person in plain text: a 1.x/2.0 `recipient` that is
/// not hashed (or a 0.5 string recipient), and 3.0 `credentialSubject` email ids and
/// unhashed identifiers. Works on a VC-JWT's `vc` claim too.
fn strip_plain_recipients(json: &mut serde_json::Value) {
    let Some(object) = json.as_object_mut() else {
        return;
    };
    let hashed = |value: &serde_json::Value| {
        value
            .get("hashed")
            .and_then(|h| h.as_bool().or(h.as_str().map(|s| s == "true")))
            == Some(true)
    };
    if object.get("recipient").is_some_and(|r| !hashed(r)) {
        object.remove("recipient");
    }
    if let Some(vc) = object.get_mut("vc") {
        strip_plain_recipients(vc);
    }
    let Some(subject) = object
        .get_mut("credentialSubject")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    if subject
        .get("id")
        .and_then(|id| id.as_str())
        .is_some_and(|id| id.starts_with("mailto:"))
    {
        subject.remove("id");
    }
    if let Some(serde_json::Value::Array(identifiers)) = subject.get_mut("identifier") {
        identifiers.retain(hashed);
    } else if subject.get("identifier").is_some_and(|i| !hashed(i)) {
        subject.remove("identifier");
    }
}

fn json_ld(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ld+json")
        .insert_header((header::VARY, "Accept"))
        .body(body)
}

/// Publishes one badge on its own with an unguessable link.
pub async fn publish_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let (owner, id) = (user.0.id.clone(), path.into_inner());
    let slug = generate_token();
    let found = state
        .db
        .run(move |conn| {
            let Some(badge) = badge_queries::find_for_user(conn, &owner, &id)? else {
                return Ok(None);
            };
            if badge.public_slug.is_none() {
                badge_queries::set_public_slug(conn, &badge.id, Some(&slug))?;
            }
            Ok(Some(badge.id))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(see_other(&format!("/badges/{found}")))
}

pub async fn unpublish_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let (owner, id) = (user.0.id.clone(), path.into_inner());
    let found = state
        .db
        .run(move |conn| {
            let Some(badge) = badge_queries::find_for_user(conn, &owner, &id)? else {
                return Ok(None);
            };
            badge_queries::set_public_slug(conn, &badge.id, None)?;
            Ok(Some(badge.id))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(see_other(&format!("/badges/{found}")))
}
