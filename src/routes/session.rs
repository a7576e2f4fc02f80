//! Who is asking: the sign-in session cookie, the per-browser CSRF token, and the
//! extractors handlers use for them (`CurrentUser`, `CsrfToken`, `CsrfForm`).
//!
//! Sessions live in the database (only the token's hash is stored), so any instance can
//! serve any request and signing out ends the session everywhere. CSRF uses a double
//! submit: a random `satchel_csrf` cookie that every form repeats in a hidden field; a
//! cross-site page can neither read the cookie nor guess the value.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use crate::db::models::{session_queries, User};
use crate::domain::token::{generate_token, hash_token, same_secret};
use crate::error::AppError;
use crate::startup::AppState;

pub const SESSION_COOKIE: &str = "satchel_session";
pub const CSRF_COOKIE: &str = "satchel_csrf";

/// The CSRF token of this browser, as forms must repeat it.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Gives every browser a CSRF cookie on its first request, so the first form it sees can
/// already carry the token.
pub async fn ensure_csrf_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let token = existing.clone().unwrap_or_else(generate_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.behind_https());

    let mut response = next.call(req).await?;

    if existing.is_none() {
        let cookie = private_cookie(CSRF_COOKIE, token, secure, SameSite::Strict);
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// An HttpOnly cookie on the whole site, `Secure` when Satchel is served over https.
pub fn private_cookie(
    name: &'static str,
    value: String,
    secure: bool,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .finish()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal_cookie(name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "").path("/").finish();
    cookie.make_removal();
    cookie.set_max_age(time::Duration::ZERO);
    cookie
}

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = std::future::Ready<Result<CsrfToken, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.extensions().get::<CsrfToken>().cloned();
        std::future::ready(token.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the CSRF middleware is not installed"))
        }))
    }
}

/// Whether a submitted token is this browser's CSRF token. Tokens Satchel issues are 43
/// characters; anything shorter (an empty or attacker-planted cookie) never matches.
pub fn csrf_matches(cookie: Option<&str>, submitted: &str) -> bool {
    cookie.is_some_and(|cookie| cookie.len() >= 32 && same_secret(cookie, submitted))
}

/// A form that carries the CSRF token in a `csrf_token` field.
pub trait CsrfProtected {
    fn csrf_token(&self) -> &str;
}

/// Extracts a urlencoded form and refuses it unless its token matches this browser's.
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest for CsrfForm<T>
where
    T: DeserializeOwned + CsrfProtected + 'static,
{
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<CsrfForm<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let form = form.await.map_err(|e| {
                AppError::bad_request("malformed_form", format!("The form could not be read: {e}"))
            })?;
            if csrf_matches(cookie.as_deref(), form.csrf_token()) {
                Ok(CsrfForm(form.into_inner()))
            } else {
                Err(AppError::Csrf.into())
            }
        })
    }
}

/// The signed-in user; pages that need one redirect to the login page without it.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<CurrentUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = MaybeUser::from_request(req, &mut Payload::None);
        Box::pin(async move {
            user.await?
                .0
                .map(CurrentUser)
                .ok_or(AppError::LoginRequired)
        })
    }
}

/// The signed-in user, if there is one.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Ok(MaybeUser(None));
            };
            let hash = hash_token(&token);
            let now = crate::db::models::now();
            let user = state
                .db
                .run(move |conn| Ok(session_queries::find_user(conn, &hash, now)?))
                .await?;
            Ok(MaybeUser(user))
        })
    }
}
