//! Pages that only show things: home, the backpack, the stylesheet and "not found".

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::session::{CsrfToken, MaybeUser};
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

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
