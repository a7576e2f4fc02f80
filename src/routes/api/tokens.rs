//! The personal access token page, `/account/tokens`: list the account's tokens, create
//! one with a name (its secret is shown once, on the answer to the form, and never again),
//! and revoke one. Forms are CSRF-protected like every other page; the API itself never
//! manages tokens, so a leaked token cannot mint more.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::TOKEN_PREFIX;
use crate::db::api_tokens::{self, NewApiToken};
use crate::db::models::{new_id, now};
use crate::domain::token::{generate_token, hash_token};
use crate::error::AppError;
use crate::routes::auth::PlainForm;
use crate::routes::session::{CsrfForm, CsrfProtected, CsrfToken, CurrentUser};
use crate::routes::{render_page, see_other, Page};
use crate::startup::AppState;

/// The longest token name, in characters.
const MAX_NAME_CHARS: usize = 80;
/// How many working tokens one account may hold.
const MAX_ACTIVE_TOKENS: i64 = 50;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn list_tokens(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = match query.notice.as_deref() {
        Some("revoked") => Some("The token was revoked; it no longer works.".to_string()),
        _ => None,
    };
    show_tokens(&state, &user, &csrf, notice, None, None).await
}

/// Renders the page; `new_token` is the secret of a token just created, shown this once.
async fn show_tokens(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
) -> Result<HttpResponse, AppError> {
    let owner = user.0.id.clone();
    let tokens = state
        .db
        .run(move |conn| Ok(api_tokens::list_for_user(conn, &owner)?))
        .await?;
    let page = Page {
        title: "Personal access tokens",
        csrf_token: &csrf.0,
        signed_in: true,
        notice,
        error,
    };
    let context = json!({ "tokens": tokens, "new_token": new_token });
    let mut response = render_page(state, "pages/tokens.html", &page, &context)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CreateTokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
}

impl CsrfProtected for CreateTokenForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A token name: trimmed, not empty, at most [`MAX_NAME_CHARS`], no control characters.
fn token_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_request(
            "invalid_token_name",
            format!("Give the token a name of 1 to {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_token_name",
            "A token name cannot contain control characters.",
        ));
    }
    Ok(name.to_string())
}

pub async fn create_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: CsrfForm<CreateTokenForm>,
) -> Result<HttpResponse, AppError> {
    match issue_token(&state, &user.0.id, &form.0.name).await {
        Ok(secret) => show_tokens(&state, &user, &csrf, None, None, Some(secret)).await,
        Err(AppError::BadRequest { code, message }) => {
            let mut page = show_tokens(&state, &user, &csrf, None, Some(message), None).await?;
            *page.status_mut() = StatusCode::BAD_REQUEST;
            page.headers_mut().insert(
                header::HeaderName::from_static("x-satchel-error"),
                header::HeaderValue::from_static(code),
            );
            Ok(page)
        }
        Err(error) => Err(error),
    }
}

/// Creates a token for the account and returns its secret; only its hash is stored.
async fn issue_token(state: &AppState, user_id: &str, name: &str) -> Result<String, AppError> {
    let name = token_name(name)?;
    let secret = format!("{TOKEN_PREFIX}{}", generate_token());
    let (owner, hash, id) = (user_id.to_string(), hash_token(&secret), new_id());
    let created = state
        .db
        .transaction(move |conn| {
            if api_tokens::count_active(conn, &owner)? >= MAX_ACTIVE_TOKENS {
                return Ok(false);
            }
            let row = NewApiToken {
                id: &id,
                user_id: &owner,
                name: &name,
                token_hash: &hash,
                created_at: now(),
            };
            api_tokens::insert(conn, &row)?;
            Ok(true)
        })
        .await?;
    if !created {
        return Err(AppError::bad_request(
            "too_many_tokens",
            format!("An account can hold {MAX_ACTIVE_TOKENS} tokens; revoke one first."),
        ));
    }
    tracing::info!(user.id = %user_id, "personal access token created");
    Ok(secret)
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let (owner, id) = (user.0.id.clone(), path.into_inner());
    let revoked = state
        .db
        .run(move |conn| Ok(api_tokens::revoke(conn, &owner, &id, now())?))
        .await?;
    if revoked == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(user.id = %user.0.id, "personal access token revoked");
    Ok(see_other("/account/tokens?notice=revoked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_trimmed_and_bounded() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let widest = "é".repeat(MAX_NAME_CHARS);
        let cases = [
            ("  laptop script ", Some("laptop script")),
            (widest.as_str(), Some(widest.as_str())),
            ("", None),
            ("   ", None),
            (long.as_str(), None),
            ("tab\there", None),
        ];

        for (input, expected) in cases {
            let name = token_name(input).ok();
            assert_eq!(name.as_deref(), expected, "case {input:?}");
        }
    }
}
