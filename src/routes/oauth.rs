//! `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) for issuer
//! clients. The client authenticates with HTTP Basic (§2.3.1) or with `client_id` and
//! `client_secret` form fields, never both, and gets a short-lived access token for the
//! `badges:push` scope. Errors follow RFC 6749 §5.2: `{"error": "...",
//! "error_description": "..."}` with the codes OAuth client libraries expect.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::push::clients::{self, ClientAuth};
use crate::push::tokens::PUSH_SCOPE;
use crate::push::{count_request, Rate};
use crate::startup::AppState;

/// The largest token request body.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The token request's form fields (RFC 6749 §4.4.2).
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// A refused token request, as RFC 6749 §5.2 shapes it.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Whether the client tried HTTP Basic (it then gets a `WWW-Authenticate` challenge).
    basic: bool,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn bad(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic: false,
        }
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED && self.basic {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"satchel\""));
        }
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(ErrorBody {
                error: self.error,
                error_description: &self.description,
            })
    }
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    scope: &'static str,
}

/// `POST /oauth/token`.
pub async fn issue_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match token(&state, &request, &body).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn token(
    state: &AppState,
    request: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, OAuthError> {
    let form = read_form(request, body)?;
    let basic = basic_credentials(request)?;
    let used_basic = basic.is_some();
    let (id, secret) = credentials(basic, &form)?;
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported.",
        ));
    }
    if let Some(scope) = form.scope.as_deref() {
        if scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .any(|s| s != PUSH_SCOPE)
        {
            return Err(OAuthError::bad(
                "invalid_scope",
                format!("The only scope a client can be granted is {PUSH_SCOPE}."),
            ));
        }
    }

    let client_id = id.clone();
    let checked = state
        .db
        .run(move |conn| Ok(clients::authenticate(conn, &client_id, &secret)?))
        .await;
    let client = match checked {
        Ok(ClientAuth::Active(client)) => client,
        Ok(ClientAuth::Refused) => {
            tracing::info!("token request with unknown, wrong or revoked client credentials");
            return Err(OAuthError {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "Unknown client, wrong secret, or a revoked client.".into(),
                basic: used_basic,
            });
        }
        Err(error) => return Err(server_error(&error)),
    };
    match count_request(state, &client.id).await {
        Ok(Rate::Allowed) => {}
        Ok(Rate::Limited(retry)) => return Err(rate_limited(retry)),
        Err(error) => return Err(server_error(&error)),
    }

    let token = state
        .push_tokens
        .issue(&client.id)
        .map_err(|e| server_error(&e))?;
    tracing::info!(client.id = %client.id, "push access token issued");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token: &token,
            token_type: "Bearer",
            expires_in: state.push_tokens.ttl().as_secs(),
            scope: PUSH_SCOPE,
        }))
}

fn server_error(error: &anyhow::Error) -> OAuthError {
    tracing::error!(error.cause_chain = %format!("{error:#}"), "token request failed");
    OAuthError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: "Something went wrong on our side. Please try again.".into(),
        basic: false,
    }
}

fn rate_limited(retry_after: u64) -> OAuthError {
    OAuthError {
        status: StatusCode::TOO_MANY_REQUESTS,
        error: "rate_limited",
        description: format!("Too many requests from this client; retry in {retry_after} s."),
        basic: false,
    }
}

/// The form body, which must be `application/x-www-form-urlencoded` (RFC 6749 §4.4.2).
fn read_form(request: &HttpRequest, body: &[u8]) -> Result<TokenForm, OAuthError> {
    let essence = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::bad(
            "invalid_request",
            "Send the token request as application/x-www-form-urlencoded.",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(OAuthError::bad(
            "invalid_request",
            "The request is too large.",
        ));
    }
    serde_urlencoded_form(body)
}

fn serde_urlencoded_form(body: &[u8]) -> Result<TokenForm, OAuthError> {
    let mut form = TokenForm::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        let slot = match key.as_ref() {
            "grant_type" => &mut form.grant_type,
            "scope" => &mut form.scope,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            _ => continue,
        };
        // RFC 6749 §3.1: a parameter must not be sent more than once.
        if slot.replace(value.into_owned()).is_some() {
            return Err(OAuthError::bad(
                "invalid_request",
                format!("The parameter {key} was sent more than once."),
            ));
        }
    }
    Ok(form)
}

/// The client id and secret of an `Authorization: Basic` header, each form-urlencoded
/// (RFC 6749 §2.3.1). `None` when the request has no `Authorization` header.
fn basic_credentials(request: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = || OAuthError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "The Authorization header must be Basic with client id and secret.".into(),
        basic: true,
    };
    let value = value.to_str().map_err(|_| refused())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(refused)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refused());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| refused())?;
    let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(refused)?;
    let unescape = |text: &str| -> String {
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// The client's credentials from exactly one of the two places they may be sent.
fn credentials(
    basic: Option<(String, String)>,
    form: &TokenForm,
) -> Result<(String, String), OAuthError> {
    let in_form = form.client_id.is_some() || form.client_secret.is_some();
    match (basic, &form.client_id, &form.client_secret) {
        (Some(_), _, _) if in_form => Err(OAuthError::bad(
            "invalid_request",
            "Authenticate with HTTP Basic or with form fields, not both.",
        )),
        (Some(credentials), _, _) => Ok(credentials),
        (None, Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        (None, _, _) => Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Send the client id and secret, with HTTP Basic or as form fields.".into(),
            basic: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_credentials_and_basic_are_not_both_accepted() {
        let form = TokenForm {
            client_id: Some("sic_1".into()),
            client_secret: Some("s".into()),
            ..TokenForm::default()
        };
        let basic = Some(("sic_1".to_string(), "s".to_string()));

        assert!(credentials(basic.clone(), &form).is_err());
        assert!(credentials(basic, &TokenForm::default()).is_ok());
        assert!(credentials(None, &form).is_ok());
        assert!(credentials(None, &TokenForm::default()).is_err());
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        let repeated = serde_urlencoded_form(b"grant_type=client_credentials&grant_type=x");
        let plain = serde_urlencoded_form(b"grant_type=client_credentials&scope=badges%3Apush");

        assert_eq!(repeated.err().map(|e| e.error), Some("invalid_request"));
        assert_eq!(
            plain.ok().and_then(|f| f.scope).as_deref(),
            Some("badges:push")
        );
    }
}
