//! The one error type of the HTTP layer. Known cases become a 4xx with a stable snake_case
//! code and a message a person can act on; anything unexpected becomes an opaque 500 whose
//! cause chain goes to the log and never to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

/// A failed request, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input was understood but cannot be accepted.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The form did not carry this browser's CSRF token.
    #[error("This form has expired or was sent from another site. Reload the page and try again.")]
    Csrf,
    /// The page needs a signed-in user.
    #[error("Please log in first.")]
    LoginRequired,
    /// Nothing here, or nothing this user may see.
    #[error("There is nothing here.")]
    NotFound,
    /// Too many requests of one kind in a short time.
    #[error("{message}")]
    RateLimited { code: &'static str, message: String },
    /// Anything we did not expect; the details stay in the log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable code clients and tests can rely on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } | AppError::RateLimited { code, .. } => code,
            AppError::Csrf => "csrf_rejected",
            AppError::LoginRequired => "login_required",
            AppError::NotFound => "not_found",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> AppError {
        AppError::Internal(error.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            let chain = format!("{cause:#}");
            tracing::error!(error.cause_chain = %chain, "request failed unexpectedly");
        }
        if let AppError::LoginRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .finish();
        }
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .insert_header(("X-Satchel-Error", self.code()))
            .body(error_page(self.code(), &self.to_string()))
    }
}

/// A minimal page that needs no template engine, so it renders even when tera cannot.
fn error_page(code: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Satchel: \
         error</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>\
         <main><h1>Sorry</h1><p role=\"alert\">{}</p><p class=\"code\">Error code: \
         <code>{}</code></p><p><a href=\"/\">Back to Satchel</a></p></main></body></html>",
        tera::escape_html(message),
        tera::escape_html(code)
    )
}
