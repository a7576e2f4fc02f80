//! The inbox page, `/inbox`: badges issuers pushed to the learner's confirmed addresses,
//! waiting to be accepted into the backpack or declined, and the issuers whose badges are
//! accepted automatically. Forms are CSRF-protected like every other page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::PlainForm;
use super::session::{CsrfForm, CsrfProtected, CsrfToken, CurrentUser};
use super::{render_page, see_other, Page};
use crate::error::AppError;
use crate::push::{self, Accepted};
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// Messages a redirect may ask the page to show; anything else is ignored.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "accepted" => "The badge is in your backpack.",
        "pending" => "The badge was kept, waiting for its address to be confirmed again.",
        "declined" => "The badge was declined and removed from your inbox.",
        "forgotten" => "That issuer's badges will wait in your inbox again.",
        _ => return None,
    })
}

pub async fn show_inbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = query
        .notice
        .as_deref()
        .and_then(notice_text)
        .map(str::to_string);
    render_inbox(&state, &user, &csrf, notice, None).await
}

async fn render_inbox(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (pushes, automatic) = push::inbox(state, &user.0.id).await?;
    let page = Page {
        title: "Inbox",
        csrf_token: &csrf.0,
        signed_in: true,
        notice,
        error,
    };
    let context = json!({ "pushes": pushes, "automatic": automatic });
    render_page(state, "pages/inbox.html", &page, &context)
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf_token: String,
    /// "Always accept from this issuer" (a checkbox).
    #[serde(default)]
    always: Option<String>,
}

impl CsrfProtected for AcceptForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn accept_push(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    form: CsrfForm<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let always = form.0.always.is_some();
    match push::accept(&state, &user.0.id, &path, always).await {
        Ok(Accepted::InBackpack(_)) => Ok(see_other("/inbox?notice=accepted")),
        Ok(Accepted::Pending(_)) => Ok(see_other("/inbox?notice=pending")),
        Err(AppError::BadRequest { code, message }) => {
            let mut page = render_inbox(&state, &user, &csrf, None, Some(message)).await?;
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            page.headers_mut().insert(
                header::HeaderName::from_static("x-satchel-error"),
                header::HeaderValue::from_static(code),
            );
            Ok(page)
        }
        Err(error) => Err(error),
    }
}

pub async fn decline_push(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    push::decline(&state, &user.0.id, &path).await?;
    Ok(see_other("/inbox?notice=declined"))
}

#[derive(Deserialize)]
pub struct ForgetIssuerForm {
    #[serde(default)]
    csrf_token: String,
    issuer_id: String,
}

impl CsrfProtected for ForgetIssuerForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Stops accepting an issuer's badges automatically.
pub async fn forget_issuer(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<ForgetIssuerForm>,
) -> Result<HttpResponse, AppError> {
    push::forget_issuer(&state, &user.0.id, &form.0.issuer_id).await?;
    Ok(see_other("/inbox?notice=forgotten"))
}
