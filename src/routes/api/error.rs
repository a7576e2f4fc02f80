//! The API's one error type. Every failure under `/api/` answers
//! `{"error":{"code":"...","message":"..."}}` with a stable snake_case code and a fitting
//! status, never an HTML page; anything unexpected is an opaque 500 whose cause chain goes
//! to the log only. The page layer's [`AppError`] converts into it.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::AppError;

/// A failed API request, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or a session or token that is unknown, expired or revoked.
    #[error("Sign in, or send a valid personal access token as `Authorization: Bearer ...`.")]
    Unauthorized,
    /// A session-authenticated change without the `X-CSRF-Token` header of this browser.
    #[error(
        "Requests signed in with the session cookie must repeat the CSRF cookie in the \
             X-CSRF-Token header."
    )]
    CsrfRejected,
    /// Nothing here, or nothing this user may see.
    #[error("There is nothing here.")]
    NotFound,
    #[error("This path does not accept that method.")]
    MethodNotAllowed,
    /// The request was understood but is not acceptable as sent.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The body (or something in it) is larger than Satchel accepts.
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    #[error("Send the body as JSON with `Content-Type: application/json`.")]
    UnsupportedMediaType,
    /// Too many requests of one kind in a short time.
    #[error("{message}")]
    RateLimited { code: &'static str, message: String },
    /// A push access token that is missing, malformed, expired, or whose client was revoked.
    #[error("{message}")]
    InvalidToken { code: &'static str, message: String },
    /// Authenticated, but not allowed to do this.
    #[error("{message}")]
    Forbidden { code: String, message: String },
    /// Well-formed, but refused for what it holds.
    #[error("{message}")]
    Unprocessable { code: String, message: String },
    /// Anything we did not expect; the details stay in the log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable code clients can rely on.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BadRequest { code, .. }
            | ApiError::TooLarge { code, .. }
            | ApiError::RateLimited { code, .. }
            | ApiError::InvalidToken { code, .. } => code,
            ApiError::Forbidden { code, .. } | ApiError::Unprocessable { code, .. } => code,
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        match error {
            AppError::BadRequest { code, message } => ApiError::BadRequest { code, message },
            AppError::Csrf => ApiError::CsrfRejected,
            AppError::LoginRequired => ApiError::Unauthorized,
            AppError::NotFound => ApiError::NotFound,
            AppError::RateLimited { code, message } => ApiError::RateLimited { code, message },
            AppError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> ApiError {
        ApiError::Internal(error.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::CsrfRejected => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error.cause_chain = %format!("{cause:#}"), "API request failed");
        }
        let message = self.to_string();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: &message,
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::Unauthorized = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"satchel\""));
        }
        if let ApiError::InvalidToken { .. } = self {
            // RFC 6750 §3: the scheme, and why the token was refused.
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"satchel\", error=\"invalid_token\"",
            ));
        }
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body)
    }
}

/// The answer for any path under `/api/` that names no endpoint.
pub async fn no_such_endpoint() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The answer for a known path asked with a method it does not take.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
