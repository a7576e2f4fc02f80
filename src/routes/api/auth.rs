//! Who is calling the API: a personal access token (`Authorization: Bearer satchel_pat_...`)
//! or the browser's session cookie. A token needs nothing more; a session-authenticated
//! request that changes something must also repeat the CSRF cookie in `X-CSRF-Token`,
//! since a cookie alone is sent by any site the browser visits.
//!
//! This module reads credentials and finds the account; what the account may do is the
//! handlers' business.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::db::api_tokens;
use crate::db::models::{now, session_queries, User};
use crate::domain::token::{hash_token, same_secret};
use crate::routes::session::{CSRF_COOKIE, SESSION_COOKIE};
use crate::startup::AppState;

/// What every personal access token starts with, so leaked tokens are easy to recognise
/// (and to search for in code).
pub const TOKEN_PREFIX: &str = "satchel_pat_";
/// The header that must repeat the CSRF cookie on session-authenticated changes.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// How often at most a token's `last_used_at` is written.
const TOUCH_GRANULARITY_SECONDS: i64 = 60;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session,
    /// A personal access token, by its row id (never the token itself).
    Token {
        token_id: String,
    },
}

/// The account an API request acts for.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: User,
    pub credential: Credential,
}

impl ApiUser {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

/// What the request carried, read before any await.
struct Presented {
    bearer: Option<String>,
    session: Option<String>,
    csrf_ok: bool,
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let presented = presented?;
            let state = state.ok_or_else(|| anyhow::anyhow!("the app state is not installed"))?;
            match presented.bearer {
                Some(token) => by_token(&state, token).await,
                None => by_session(&state, presented.session, presented.csrf_ok).await,
            }
        })
    }
}

fn presented(req: &HttpRequest) -> Result<Presented, ApiError> {
    let bearer = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => Some(bearer_token(value.to_str().unwrap_or_default())?),
        None => None,
    };
    let csrf_cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let csrf_header = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let csrf_ok = is_safe(req.method())
        || matches!((&csrf_cookie, csrf_header), (Some(c), Some(h)) if same_secret(c, h));
    Ok(Presented {
        bearer,
        session: req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()),
        csrf_ok,
    })
}

/// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1; the scheme is
/// case-insensitive). Any other scheme is refused rather than ignored.
fn bearer_token(value: &str) -> Result<String, ApiError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || !token.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::Unauthorized);
    }
    Ok(token.to_string())
}

/// Methods that change nothing, so need no CSRF proof (RFC 9110 §9.2.1).
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn by_token(state: &AppState, token: String) -> Result<ApiUser, ApiError> {
    let hash = hash_token(&token);
    let found = state
        .db
        .run(move |conn| {
            let found = api_tokens::find_active(conn, &hash)?;
            if let Some((token, _)) = &found {
                let granularity = chrono::Duration::seconds(TOUCH_GRANULARITY_SECONDS);
                api_tokens::touch(conn, &token.id, now(), granularity)?;
            }
            Ok(found)
        })
        .await?;
    let (token, user) = found.ok_or(ApiError::Unauthorized)?;
    tracing::debug!(user.id = %user.id, token.id = %token.id, "API call with a token");
    Ok(ApiUser {
        user,
        credential: Credential::Token { token_id: token.id },
    })
}

async fn by_session(
    state: &AppState,
    session: Option<String>,
    csrf_ok: bool,
) -> Result<ApiUser, ApiError> {
    let session = session.ok_or(ApiError::Unauthorized)?;
    let hash = hash_token(&session);
    let at = now();
    let user = state
        .db
        .run(move |conn| Ok(session_queries::find_user(conn, &hash, at)?))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !csrf_ok {
        return Err(ApiError::CsrfRejected);
    }
    Ok(ApiUser {
        user,
        credential: Credential::Session,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_in_any_letter_case_of_the_scheme() {
        let cases = [
            ("Bearer satchel_pat_abc", Some("satchel_pat_abc")),
            ("bearer  satchel_pat_abc ", Some("satchel_pat_abc")),
            ("BEARER satchel_pat_abc", Some("satchel_pat_abc")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer someone_elses_token", None),
            ("Bearer", None),
            ("", None),
        ];

        for (header, expected) in cases {
            let read = bearer_token(header).ok();
            assert_eq!(read.as_deref(), expected, "case {header:?}");
        }
    }
}
