//! `/api/v1/pushes`: issuers push badges to learners by email. The caller is an issuer
//! client with an access token from `/oauth/token` ([`PushClient`]); the handlers parse,
//! call `push`, and shape the answer. Personal access tokens and sessions do not work here,
//! and push tokens work nowhere else.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::badges::{assertion_input, image_input, read_json_body, timestamp, url_input};
use super::error::ApiError;
use crate::db::issuer_clients::{self, IssuerClient};
use crate::db::pushes::{self as push_queries, Push};
use crate::domain::account::EmailAddress;
use crate::push::tokens::grants_push;
use crate::push::{self, public_state, PushError, PushOutcome, PushRequest, Rate};
use crate::startup::AppState;

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The issuer client an access token was issued to, checked active on this request.
#[derive(Debug, Clone)]
pub struct PushClient(pub IssuerClient);

impl FromRequest for PushClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<PushClient, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("the app state is not installed"))?;
            let claims =
                state
                    .push_tokens
                    .check(&token?)
                    .map_err(|error| ApiError::InvalidToken {
                        code: error.code(),
                        message: error.to_string(),
                    })?;
            let id = claims.sub.clone();
            let client = state
                .db
                .run(move |conn| Ok(issuer_clients::find(conn, &id)?))
                .await?;
            let client = match client {
                Some(client) if client.is_active() => client,
                _ => {
                    return Err(ApiError::InvalidToken {
                        code: "client_revoked",
                        message: "The client this token was issued to has been revoked.".into(),
                    })
                }
            };
            if !grants_push(&claims.scope) {
                return Err(ApiError::Forbidden {
                    code: "insufficient_scope".into(),
                    message: "This token does not grant the badges:push scope.".into(),
                });
            }
            Ok(PushClient(client))
        })
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || ApiError::InvalidToken {
        code: "missing_token",
        message: "Send an access token from /oauth/token as `Authorization: Bearer ...`.".into(),
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_string())
}

/// `POST /pushes` body: the learner's email and exactly one form of the badge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    recipient: String,
    url: Option<String>,
    assertion: Option<Value>,
    image: Option<String>,
}

impl PushBody {
    fn input(self) -> Result<(EmailAddress, Vec<u8>), ApiError> {
        let recipient = EmailAddress::parse(&self.recipient).map_err(|_| {
            ApiError::bad_request("invalid_recipient", "`recipient` must be an email address.")
        })?;
        let input = match (self.url, self.assertion, self.image) {
            (Some(url), None, None) => url_input(&url)?,
            (None, Some(assertion), None) => assertion_input(assertion)?,
            (None, None, Some(image)) => image_input(&image)?,
            _ => {
                return Err(ApiError::bad_request(
                    "exactly_one_input",
                    "Send exactly one of `url`, `assertion` or `image`.",
                ))
            }
        };
        Ok((recipient, input))
    }
}

/// A push as its client sees it.
#[derive(Debug, Serialize)]
struct PushItem {
    id: String,
    /// `held`, `delivered` or `expired`.
    state: &'static str,
    recipient: String,
    badge: BadgeItem,
    created_at: String,
    url: String,
}

#[derive(Debug, Serialize)]
struct BadgeItem {
    name: String,
    issuer: String,
}

impl From<Push> for PushItem {
    fn from(push: Push) -> PushItem {
        PushItem {
            url: format!("/api/v1/pushes/{}", push.id),
            state: public_state(&push.state),
            recipient: push.address_lower,
            badge: BadgeItem {
                name: push.name,
                issuer: push.issuer_id,
            },
            created_at: timestamp(push.created_at),
            id: push.id,
        }
    }
}

/// `POST /pushes`: verifies the badge and sends it to the learner's inbox, or holds it.
pub async fn create_push(
    state: web::Data<AppState>,
    client: PushClient,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let client = client.0;
    if let Rate::Limited(retry) = push::count_request(&state, &client.id).await? {
        return Ok(rate_limited(retry));
    }
    let idempotency_key = idempotency_key(&request)?;
    let limit = state.settings.push.max_body_bytes;
    let body = read_json_body(&request, payload, limit).await?;
    let request_hash = hex::encode(Sha256::digest(&body));
    let parsed: PushBody = parse_body(&body)?;
    let (recipient, input) = parsed.input()?;

    let request = PushRequest {
        recipient,
        input,
        idempotency_key,
        request_hash,
    };
    let outcome = push::push(&state, &client, request)
        .await
        .map_err(refusal)?;

    Ok(match outcome {
        PushOutcome::Created(push) => {
            let item = PushItem::from(push);
            HttpResponse::Accepted()
                .insert_header((header::LOCATION, item.url.clone()))
                .json(item)
        }
        PushOutcome::Repeated(push) => HttpResponse::Ok()
            .insert_header((header::LOCATION, format!("/api/v1/pushes/{}", push.id)))
            .json(PushItem::from(push)),
    })
}

fn parse_body(body: &[u8]) -> Result<PushBody, ApiError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::bad_request("invalid_body", format!("The body does not fit: {e}"))
        }
        _ => ApiError::bad_request("malformed_json", format!("The body is not JSON: {e}")),
    })
}

fn rate_limited(retry_after: u64) -> HttpResponse {
    let error = ApiError::RateLimited {
        code: "rate_limited",
        message: format!("Too many requests from this client; retry in {retry_after} s."),
    };
    let mut response = actix_web::ResponseError::error_response(&error);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    response
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    let key = key.trim_matches('"');
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters."),
        ));
    }
    Ok(Some(key.to_string()))
}

fn refusal(error: PushError) -> ApiError {
    match error {
        PushError::ForeignOrigin(message) => ApiError::Forbidden {
            code: "foreign_origin".into(),
            message,
        },
        PushError::RecipientMismatch => ApiError::Unprocessable {
            code: "recipient_mismatch".into(),
            message: error.to_string(),
        },
        PushError::NotAccepted { code, message } => ApiError::Unprocessable { code, message },
        PushError::IdempotencyKeyReused => ApiError::Unprocessable {
            code: "idempotency_key_reused".into(),
            message: error.to_string(),
        },
        PushError::Internal(cause) => ApiError::Internal(cause),
    }
}

/// `GET /pushes/{id}`: a push this client made.
pub async fn get_push(
    state: web::Data<AppState>,
    client: PushClient,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, id) = (client.0.id.clone(), path.into_inner());
    let push = state
        .db
        .run(move |conn| Ok(push_queries::find_for_client(conn, &client_id, &id)?))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(PushItem::from(push)))
}
