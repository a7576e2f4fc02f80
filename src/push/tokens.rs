//! Access tokens for the push API (OAuth 2.0 client credentials, RFC 6749 §4.4): short-lived
//! JWTs signed with HMAC-SHA256 (RFC 7519), naming the client and the scope granted.
//!
//! The signing key comes from `SATCHEL_PUSH_SIGNING_KEY`, or else from the database, where
//! the first instance to start stores a random one; every instance on that database then
//! signs and checks with the same key. A token proves only who the client was when it was
//! issued: the API checks on every request that the client is still active.

use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::db::{issuer_clients, Db};
use crate::domain::token::generate_token;

/// The one scope the push API grants.
pub const PUSH_SCOPE: &str = "badges:push";
/// The name the generated signing key is stored under.
const KEY_NAME: &str = "push_token_signing_key";

/// What a push access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// This Satchel (its base URL).
    pub iss: String,
    /// Who the token is for: this Satchel's push API.
    pub aud: String,
    /// The client id.
    pub sub: String,
    /// Space-separated scopes (RFC 8693 §4.2).
    pub scope: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("The access token has expired; request a new one from /oauth/token.")]
    Expired,
    #[error("The access token is not one this Satchel issued, or it was altered.")]
    Invalid,
}

impl TokenError {
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Expired => "token_expired",
            TokenError::Invalid => "invalid_token",
        }
    }
}

/// Issues and checks push access tokens.
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenSigner {
    /// The signer for these settings: the configured key, or the one kept in the database
    /// (generated and stored now when there is none yet).
    pub async fn load(db: &Db, settings: &Settings) -> anyhow::Result<TokenSigner> {
        let key = match &settings.push.signing_key {
            Some(key) => key.clone(),
            None => stored_key(db).await?,
        };
        let issuer = settings.base_url.to_string();
        Ok(TokenSigner {
            encoding: EncodingKey::from_secret(key.as_bytes())
                .context("the push signing key cannot sign")?,
            decoding: DecodingKey::from_secret(key.as_bytes())
                .context("the push signing key cannot check")?,
            audience: format!("{issuer}api/v1/pushes"),
            issuer,
            ttl: settings.push.token_ttl,
        })
    }

    /// How long the tokens this signer issues work.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh token for `client_id` with the push scope.
    pub fn issue(&self, client_id: &str) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: client_id.to_string(),
            scope: PUSH_SCOPE.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("the access token could not be signed")
    }

    /// The claims of a token this Satchel signed and that has not expired. Only HS256 is
    /// accepted (no `none`, no algorithm chosen by the token), with no leeway on expiry.
    pub fn check(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(error) if *error.kind() == ErrorKind::ExpiredSignature => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// The signing key kept in the database, stored first if there is none. Two instances
/// starting together both try to store theirs; the loser reads the winner's.
async fn stored_key(db: &Db) -> anyhow::Result<String> {
    db.run(|conn| {
        if let Some(key) = issuer_clients::service_key(conn, KEY_NAME)? {
            return Ok(key);
        }
        let fresh = generate_token();
        match issuer_clients::insert_service_key(conn, KEY_NAME, &fresh, crate::db::models::now()) {
            Ok(_) => {
                tracing::info!("generated the push token signing key and stored it");
                Ok(fresh)
            }
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => issuer_clients::service_key(conn, KEY_NAME)?
                .context("the push signing key vanished after another instance stored it"),
            Err(error) => Err(error).context("could not store the push signing key"),
        }
    })
    .await
}

/// Whether a space-separated scope list grants pushing.
pub fn grants_push(scope: &str) -> bool {
    scope.split(' ').any(|s| s == PUSH_SCOPE)
}
