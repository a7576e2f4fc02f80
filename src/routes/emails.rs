//! The account's email addresses: list, add, resend a confirmation, remove, make primary,
//! and the mailed confirmation link itself.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::PlainForm;
use super::session::{CsrfForm, CsrfProtected, CsrfToken, CurrentUser, MaybeUser};
use super::{render_page, see_other, Page};
use crate::accounts::{self, Confirmation};
use crate::domain::account::EmailAddress;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// Messages a redirect may ask the page to show; anything else in the query is ignored,
/// so a link cannot make Satchel display arbitrary text.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "added" => "We mailed a confirmation link to the new address.",
        "resent" => "We mailed a new confirmation link.",
        "removed" => "The address was removed.",
        "primary" => "Your primary address was changed.",
        _ => return None,
    })
}

pub async fn list_emails(
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
    show_emails(&state, &user, &csrf, notice, None).await
}

async fn show_emails(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let emails = accounts::list_emails(state, &user.0.id).await?;
    let page = Page {
        title: "Your email addresses",
        csrf_token: &csrf.0,
        signed_in: true,
        notice,
        error,
    };
    render_page(
        state,
        "pages/emails.html",
        &page,
        &json!({ "emails": emails }),
    )
}

#[derive(Deserialize)]
pub struct AddEmailForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
}

impl CsrfProtected for AddEmailForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn add_email(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: CsrfForm<AddEmailForm>,
) -> Result<HttpResponse, AppError> {
    let added = match EmailAddress::parse(&form.0.email) {
        Ok(address) => accounts::add_email(&state, &user.0.id, address).await,
        Err(error) => Err(AppError::bad_request(error.code(), error.to_string())),
    };
    match added {
        Ok(()) => Ok(see_other("/account/emails?notice=added")),
        Err(error) => show_refusal(&state, &user, &csrf, error).await,
    }
}

pub async fn resend_confirmation(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    match accounts::send_confirmation(&state, &user.0.id, &path).await {
        Ok(()) => Ok(see_other("/account/emails?notice=resent")),
        Err(error) => show_refusal(&state, &user, &csrf, error).await,
    }
}

pub async fn remove_email(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    match accounts::remove_email(&state, &user.0.id, &path).await {
        Ok(()) => Ok(see_other("/account/emails?notice=removed")),
        Err(error) => show_refusal(&state, &user, &csrf, error).await,
    }
}

pub async fn make_primary(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    match accounts::make_primary(&state, &user.0.id, &path).await {
        Ok(()) => Ok(see_other("/account/emails?notice=primary")),
        Err(error) => show_refusal(&state, &user, &csrf, error).await,
    }
}

/// Shows the address list again with the reason an action was refused; unexpected
/// errors still go to the error page.
async fn show_refusal(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    error: AppError,
) -> Result<HttpResponse, AppError> {
    let status = match &error {
        AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => return Err(error),
    };
    let mut page = show_emails(state, user, csrf, None, Some(error.to_string())).await?;
    *page.status_mut() = status;
    page.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("x-satchel-error"),
        actix_web::http::header::HeaderValue::from_static(error.code()),
    );
    Ok(page)
}

#[derive(Deserialize)]
pub struct ConfirmQuery {
    token: Option<String>,
}

/// The mailed link. It works on any device, signed in or not: the token proves the mailbox.
pub async fn confirm_email(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
    query: web::Query<ConfirmQuery>,
) -> Result<HttpResponse, AppError> {
    let outcome = match query.token.as_deref() {
        Some(token) if !token.trim().is_empty() => accounts::confirm_email(&state, token).await?,
        _ => Confirmation::Unknown,
    };
    let status = match outcome {
        Confirmation::Confirmed { .. } => StatusCode::OK,
        Confirmation::TakenElsewhere => StatusCode::CONFLICT,
        Confirmation::Unknown => StatusCode::NOT_FOUND,
        Confirmation::Expired | Confirmation::AlreadyUsed => StatusCode::GONE,
    };
    let page = Page {
        title: "Email confirmation",
        csrf_token: &csrf.0,
        signed_in: user.0.is_some(),
        notice: None,
        error: None,
    };
    let mut response = render_page(&state, "pages/confirm.html", &page, &outcome)?;
    *response.status_mut() = status;
    Ok(response)
}
