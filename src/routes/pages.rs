//! Pages that only show things: home, the backpack, the stylesheet and "not found".

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::session::{CsrfToken, CurrentUser, MaybeUser};
use super::{render_page, Page};
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::STYLESHEET;

pub async fn home(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let page = Page {
        title: "Satchel",
        csrf_token: &csrf.0,
        signed_in: user.0.is_some(),
        notice: None,
        error: None,
    };
    render_page(&state, "pages/home.html", &page, &json!({}))
}

pub async fn backpack(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let emails = crate::accounts::list_emails(&state, &user.0.id).await?;
    let unconfirmed: Vec<_> = emails
        .iter()
        .filter(|e| !e.is_confirmed())
        .map(|e| e.address.as_str())
        .collect();
    let page = Page {
        title: "Your backpack",
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    render_page(
        &state,
        "pages/backpack.html",
        &page,
        &json!({ "unconfirmed": unconfirmed }),
    )
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
