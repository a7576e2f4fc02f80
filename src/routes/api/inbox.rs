//! `/api/v1/inbox`: the badges issuers pushed to the caller's confirmed addresses, as the
//! inbox page shows them, and the same three decisions: accept (optionally always, for that
//! issuer), decline, and stop accepting an issuer automatically. Handlers call `push`, which
//! the page uses too, so both take the same path through the verification pipeline.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::ApiUser;
use super::badges::{read_json, timestamp};
use super::error::ApiError;
use crate::db::pushes::{AutoAccept, Push};
use crate::error::AppError;
use crate::push::{self, Accepted};
use crate::routes::badges::owned_badge;
use crate::startup::AppState;

/// The largest accept body: `{"always": true}` with room to spare.
const MAX_ACCEPT_BODY: usize = 4 * 1024;

/// A pushed badge waiting in the inbox.
#[derive(Debug, Serialize)]
struct InboxItem {
    id: String,
    name: String,
    description: Option<String>,
    issuer: InboxIssuer,
    issued_on: Option<String>,
    /// The confirmed address the issuer sent it to.
    address: String,
    /// When it reached this inbox (a held push: when its address was confirmed).
    delivered_at: Option<String>,
    accept_url: String,
    decline_url: String,
}

#[derive(Debug, Serialize)]
struct InboxIssuer {
    id: String,
    name: Option<String>,
}

impl From<Push> for InboxItem {
    fn from(p: Push) -> InboxItem {
        InboxItem {
            accept_url: format!("/api/v1/inbox/{}/accept", p.id),
            decline_url: format!("/api/v1/inbox/{}/decline", p.id),
            id: p.id,
            name: p.name,
            description: p.description,
            issuer: InboxIssuer {
                id: p.issuer_id,
                name: p.issuer_name,
            },
            issued_on: p.issued_on.map(timestamp),
            address: p.address_lower,
            delivered_at: p.delivered_at.map(timestamp),
        }
    }
}

/// An issuer whose badges are accepted without asking.
#[derive(Debug, Serialize)]
struct AutomaticIssuer {
    issuer_id: String,
    issuer_name: Option<String>,
    since: String,
}

impl From<AutoAccept> for AutomaticIssuer {
    fn from(a: AutoAccept) -> AutomaticIssuer {
        AutomaticIssuer {
            issuer_id: a.issuer_id,
            issuer_name: a.issuer_name,
            since: timestamp(a.created_at),
        }
    }
}

/// `GET /inbox`: the waiting badges, newest first, and the issuers accepted automatically.
pub async fn list_inbox(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let (pushes, automatic) = push::inbox(&state, user.id()).await?;
    let pushes: Vec<InboxItem> = pushes.into_iter().map(InboxItem::from).collect();
    let automatic: Vec<AutomaticIssuer> = automatic.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "pushes": pushes, "automatic": automatic })))
}

/// `POST /inbox/{id}/accept` body; the body itself may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    /// Accept this issuer's later badges without asking.
    #[serde(default)]
    always: bool,
}

/// `POST /inbox/{id}/accept`: verifies the badge again and adds it to the backpack.
pub async fn accept_push(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: AcceptBody = if has_body(&request) {
        read_json(&request, payload, MAX_ACCEPT_BODY).await?
    } else {
        AcceptBody::default()
    };
    let accepted = push::accept(&state, user.id(), &path, body.always)
        .await
        .map_err(|error| match error {
            AppError::BadRequest { code, message } => ApiError::Unprocessable {
                code: code.to_string(),
                message,
            },
            other => other.into(),
        })?;
    let (outcome, badge_id) = match accepted {
        Accepted::InBackpack(id) => ("in_backpack", id),
        Accepted::Pending(id) => ("pending", id),
    };
    // A badge revoked or expired since it was pushed is still accepted, with that status;
    // the caller learns it here rather than from a second request.
    let badge = owned_badge(&state, user.id(), &badge_id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "outcome": outcome,
        "badge_id": badge_id,
        "badge_url": format!("/api/v1/badges/{badge_id}"),
        "status": badge.status,
        "always": body.always,
    })))
}

/// `POST /inbox/{id}/decline`: the badge leaves the inbox and is not kept.
pub async fn decline_push(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    push::decline(&state, user.id(), &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /inbox/automatic` query: which issuer to stop accepting automatically.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgetQuery {
    issuer_id: String,
}

/// `DELETE /inbox/automatic?issuer_id=...`: that issuer's badges wait in the inbox again.
pub async fn forget_issuer(
    state: web::Data<AppState>,
    user: ApiUser,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<ForgetQuery>::from_query(request.query_string()).map_err(|_| {
        ApiError::bad_request(
            "missing_issuer_id",
            "Name the issuer as `?issuer_id=` (its id, URL-encoded).",
        )
    })?;
    push::forget_issuer(&state, user.id(), &query.issuer_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether the request says it carries a body: a content type or a non-zero length.
fn has_body(request: &HttpRequest) -> bool {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    match length {
        Some(length) => length > 0,
        None => {
            headers.contains_key(header::CONTENT_TYPE)
                || headers.contains_key(header::TRANSFER_ENCODING)
        }
    }
}
