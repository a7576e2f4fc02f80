//! The HTTP layer: every route is registered in [`configure`], top to bottom. Handlers
//! extract and authorise, call `accounts` / `domain` / `db`, and render a template.

pub mod api;
pub mod auth;
pub mod badges;
pub mod collections;
pub mod emails;
pub mod health;
pub mod inbox;
pub mod oauth;
pub mod pages;
pub mod public;
pub mod session;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::AppError;
use crate::startup::AppState;

/// Registers every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::home))
        .route("/healthz", web::get().to(health::health_check))
        .route("/static/style.css", web::get().to(pages::stylesheet))
        .route("/register", web::get().to(auth::register_form))
        .route("/register", web::post().to(auth::register))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/backpack", web::get().to(badges::show_backpack))
        .route("/import", web::get().to(badges::import_form))
        .route("/import", web::post().to(badges::import_badges))
        .route("/account/export", web::get().to(badges::export_account))
        .route("/badges/{id}", web::get().to(badges::show_badge))
        .route("/badges/{id}/delete", web::post().to(badges::delete_badge))
        .route(
            "/badges/{id}/recheck",
            web::post().to(badges::recheck_badge),
        )
        .route("/badges/{id}/image", web::get().to(badges::badge_image))
        .route(
            "/badges/{id}/original",
            web::get().to(badges::download_original),
        )
        .route(
            "/badges/{id}/assertion",
            web::get().to(badges::download_assertion),
        )
        .route("/badges/{id}/baked", web::get().to(badges::download_baked))
        .route(
            "/badges/{id}/publish",
            web::post().to(public::publish_badge),
        )
        .route(
            "/badges/{id}/unpublish",
            web::post().to(public::unpublish_badge),
        )
        .route("/collections", web::get().to(collections::list_collections))
        .route(
            "/collections",
            web::post().to(collections::create_collection),
        )
        .route(
            "/collections/{id}",
            web::get().to(collections::show_collection),
        )
        .route(
            "/collections/{id}/edit",
            web::post().to(collections::edit_collection),
        )
        .route(
            "/collections/{id}/delete",
            web::post().to(collections::delete_collection),
        )
        .route(
            "/collections/{id}/badges",
            web::post().to(collections::add_badge),
        )
        .route(
            "/collections/{id}/badges/{badge_id}/remove",
            web::post().to(collections::remove_badge),
        )
        .route(
            "/collections/{id}/publish",
            web::post().to(collections::publish_collection),
        )
        .route(
            "/collections/{id}/unpublish",
            web::post().to(collections::unpublish_collection),
        )
        .route("/c/{slug}", web::get().to(public::public_collection))
        .route(
            "/c/{slug}/badges/{badge_id}",
            web::get().to(public::collection_badge),
        )
        .route(
            "/c/{slug}/badges/{badge_id}/image",
            web::get().to(public::collection_badge_image),
        )
        .route("/b/{slug}", web::get().to(public::public_badge))
        .route("/b/{slug}/image", web::get().to(public::public_badge_image))
        .route("/account/emails", web::get().to(emails::list_emails))
        .route("/account/emails", web::post().to(emails::add_email))
        .route(
            "/account/emails/{id}/resend",
            web::post().to(emails::resend_confirmation),
        )
        .route(
            "/account/emails/{id}/remove",
            web::post().to(emails::remove_email),
        )
        .route(
            "/account/emails/{id}/primary",
            web::post().to(emails::make_primary),
        )
        .route("/confirm-email", web::get().to(emails::confirm_email))
        .route("/account/tokens", web::get().to(api::tokens::list_tokens))
        .route("/account/tokens", web::post().to(api::tokens::create_token))
        .route(
            "/account/tokens/{id}/revoke",
            web::post().to(api::tokens::revoke_token),
        )
        .route("/inbox", web::get().to(inbox::show_inbox))
        .route("/inbox/{id}/accept", web::post().to(inbox::accept_push))
        .route("/inbox/{id}/decline", web::post().to(inbox::decline_push))
        .route(
            "/inbox/issuers/forget",
            web::post().to(inbox::forget_issuer),
        )
        .route("/oauth/token", web::post().to(oauth::issue_token))
        .configure(api::configure)
        .default_service(web::to(pages::not_found));
}

/// Renders a page template with `context` plus the values every page needs.
pub fn render_page(
    state: &AppState,
    template: &str,
    page: &Page<'_>,
    context: &impl Serialize,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::from_serialize(context).map_err(anyhow::Error::from)?;
    ctx.insert("page", page);
    let html = state
        .templates
        .render(template, &ctx)
        .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// What the page layout shows around every page.
#[derive(Serialize)]
pub struct Page<'a> {
    pub title: &'a str,
    pub csrf_token: &'a str,
    pub signed_in: bool,
    /// A message shown above the page content after an action.
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// Redirects the browser to `location` with a GET (303), the answer to a posted form.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}
