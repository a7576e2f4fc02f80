//! Registration, login and logout pages.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::session::{
    private_cookie, removal_cookie, CsrfForm, CsrfProtected, CsrfToken, MaybeUser, SESSION_COOKIE,
};
use super::{render_page, see_other, Page};
use crate::accounts;
use crate::domain::account::{EmailAddress, Password};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    password: String,
}

impl CsrfProtected for CredentialsForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[derive(Deserialize)]
pub struct PlainForm {
    #[serde(default)]
    csrf_token: String,
}

impl CsrfProtected for PlainForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn register_form(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/backpack"));
    }
    show_form(
        &state,
        "pages/register.html",
        "Create your backpack",
        &csrf,
        None,
        "",
    )
}

pub async fn register(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: CsrfForm<CredentialsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let template = "pages/register.html";
    let title = "Create your backpack";
    let parsed = EmailAddress::parse(&form.email)
        .and_then(|email| Ok((email, Password::parse(&form.password)?)));
    let (email, password) = match parsed {
        Ok(valid) => valid,
        Err(error) => {
            let page = show_form(
                &state,
                template,
                title,
                &csrf,
                Some(error.to_string()),
                &form.email,
            )?;
            return Ok(refused(page, StatusCode::BAD_REQUEST, error.code()));
        }
    };

    let user = match accounts::register(&state, email, password).await {
        Ok(user) => user,
        Err(AppError::BadRequest { code, message }) => {
            let page = show_form(&state, template, title, &csrf, Some(message), &form.email)?;
            return Ok(refused(page, StatusCode::CONFLICT, code));
        }
        Err(other) => return Err(other),
    };

    signed_in_redirect(&state, &user.id, "/backpack?notice=registered").await
}

pub async fn login_form(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/backpack"));
    }
    show_form(&state, "pages/login.html", "Log in", &csrf, None, "")
}

pub async fn login(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: CsrfForm<CredentialsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;

    let user = accounts::authenticate(&state, &form.email, form.password).await?;

    let Some(user) = user else {
        let message = "That email and password do not match an account.".to_string();
        let page = show_form(
            &state,
            "pages/login.html",
            "Log in",
            &csrf,
            Some(message),
            &form.email,
        )?;
        return Ok(refused(page, StatusCode::UNAUTHORIZED, "login_failed"));
    };
    tracing::info!(user.id = %user.id, "signed in");
    signed_in_redirect(&state, &user.id, "/backpack").await
}

pub async fn logout(
    state: web::Data<AppState>,
    request: HttpRequest,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(cookie) = request.cookie(SESSION_COOKIE) {
        accounts::end_session(&state, cookie.value()).await?;
    }
    let mut response = see_other("/");
    response
        .add_cookie(&removal_cookie(SESSION_COOKIE))
        .map_err(anyhow::Error::from)?;
    Ok(response)
}

async fn signed_in_redirect(
    state: &AppState,
    user_id: &str,
    location: &str,
) -> Result<HttpResponse, AppError> {
    let token = accounts::start_session(state, user_id).await?;
    let secure = state.settings.behind_https();
    let cookie = private_cookie(SESSION_COOKIE, token, secure, SameSite::Lax);
    let mut response = see_other(location);
    response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
    Ok(response)
}

/// A form shown again with the reason it was refused, its status and stable code.
fn refused(mut page: HttpResponse, status: StatusCode, code: &'static str) -> HttpResponse {
    *page.status_mut() = status;
    page.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("x-satchel-error"),
        actix_web::http::header::HeaderValue::from_static(code),
    );
    page
}

fn show_form(
    state: &AppState,
    template: &str,
    title: &str,
    csrf: &CsrfToken,
    error: Option<String>,
    email: &str,
) -> Result<HttpResponse, AppError> {
    let page = Page {
        title,
        csrf_token: &csrf.0,
        signed_in: false,
        notice: None,
        error,
    };
    render_page(state, template, &page, &json!({ "email": email }))
}
