//! Account operations shared by the pages and, later, the APIs: registration, sign-in
//! sessions, and the confirmation of email addresses through mailed links.
//!
//! Each operation validates its input, does its database work in one transaction, and
//! mails only after the transaction has committed. Only confirmed addresses ever count
//! as the account's own; an address confirmed by one account cannot be confirmed by
//! another.

use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::models::{
    email_queries, new_id, now, session_queries, token_queries, user_queries, Email, NewEmail,
    NewEmailToken, NewSession, NewUser, User,
};
use crate::db::AnyConnection;
use crate::domain::account::{EmailAddress, Password};
use crate::domain::token::{generate_token, hash_token};
use crate::error::AppError;
use crate::startup::AppState;

/// A hash of a random password nobody knows, verified when the address is unknown so
/// that a failed login takes as long whether or not the account exists.
static DECOY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn decoy_hash() -> anyhow::Result<String> {
    if let Some(hash) = DECOY_HASH.get() {
        return Ok(hash.clone());
    }
    let password = Password::parse(&generate_token()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = hash_password(password).await?;
    Ok(DECOY_HASH.get_or_init(|| hash).clone())
}

/// Hashes a password with argon2id (the crate's recommended parameters) off the async threads.
async fn hash_password(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 could not hash: {e}"))
    })
    .await
    .context("password hashing panicked")?
}

async fn verify_password(password: String, hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("password verification panicked")?
}

/// Creates an account whose primary address is `email` (not yet confirmed) and mails the
/// confirmation link to it.
pub async fn register(
    state: &AppState,
    email: EmailAddress,
    password: Password,
) -> Result<User, AppError> {
    let password_hash = hash_password(password).await?;
    let user = User {
        id: new_id(),
        password_hash,
        created_at: now(),
    };
    let row = user.clone();
    let address = email.clone();
    let since = token_window_start(state);
    let inserted = state
        .db
        .transaction(move |conn| {
            if email_queries::is_taken(conn, &address.lowercased(), since)? {
                return Ok(None);
            }
            user_queries::insert(
                conn,
                &NewUser {
                    id: &row.id,
                    password_hash: &row.password_hash,
                    created_at: row.created_at,
                },
            )?;
            let email_id = new_id();
            insert_email(conn, &email_id, &row.id, &address, true)?;
            Ok(Some(email_id))
        })
        .await;
    let Some(email_id) = unique_as_none(inserted)? else {
        return Err(AppError::bad_request(
            "email_taken",
            "That email address is already registered. Log in instead.",
        ));
    };
    tracing::info!(user.id = %user.id, "account registered");
    send_confirmation(state, &user.id, &email_id).await?;
    Ok(user)
}

/// The start of the window in which an unconfirmed registration still holds its address.
fn token_window_start(state: &AppState) -> NaiveDateTime {
    now() - chrono::Duration::from_std(state.settings.email_token_ttl).unwrap_or_default()
}

/// Turns a unique-constraint violation (two requests racing for one address) into `None`,
/// so the loser gets the same answer as if it had come second.
fn unique_as_none<T>(result: anyhow::Result<Option<T>>) -> anyhow::Result<Option<T>> {
    use diesel::result::{DatabaseErrorKind, Error};
    match result {
        Err(error)
            if matches!(
                error.downcast_ref::<Error>(),
                Some(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
            ) =>
        {
            Ok(None)
        }
        other => other,
    }
}

fn insert_email(
    conn: &mut AnyConnection,
    email_id: &str,
    user_id: &str,
    address: &EmailAddress,
    is_primary: bool,
) -> diesel::QueryResult<usize> {
    email_queries::insert(
        conn,
        &NewEmail {
            id: email_id,
            user_id,
            address: address.as_str(),
            address_lower: &address.lowercased(),
            is_primary,
            confirmed_at: None,
            created_at: now(),
        },
    )
}

/// The account whose primary address is `email` when `password` is right.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<User>, AppError> {
    let address_lower = email.trim().to_lowercase();
    let candidates = state
        .db
        .run(move |conn| Ok(user_queries::find_by_primary(conn, &address_lower)?))
        .await?;
    if candidates.is_empty() {
        verify_password(password, decoy_hash().await?).await?;
        return Ok(None);
    }
    for user in candidates {
        if verify_password(password.clone(), user.password_hash.clone()).await? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// Starts a session for `user_id`; returns the token for the cookie.
pub async fn start_session(state: &AppState, user_id: &str) -> Result<String, AppError> {
    let token = generate_token();
    let token_hash = hash_token(&token);
    let user_id = user_id.to_string();
    let expires_at = later(now(), state.settings.session_ttl);
    state
        .db
        .run(move |conn| {
            session_queries::insert(
                conn,
                &NewSession {
                    token_hash: &token_hash,
                    user_id: &user_id,
                    created_at: now(),
                    expires_at,
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// Ends the session behind a cookie token, if any.
pub async fn end_session(state: &AppState, token: &str) -> Result<(), AppError> {
    let token_hash = hash_token(token);
    state
        .db
        .run(move |conn| Ok(session_queries::delete(conn, &token_hash)?))
        .await?;
    Ok(())
}

fn later(at: NaiveDateTime, by: Duration) -> NaiveDateTime {
    at + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::days(36500))
}

#[derive(Serialize)]
struct ConfirmationMail<'a> {
    address: &'a str,
    link: String,
    hours: u64,
}

/// Mails a fresh confirmation link to one of the account's addresses, within the
/// per-address and per-account hourly limits.
pub async fn send_confirmation(
    state: &AppState,
    user_id: &str,
    email_id: &str,
) -> Result<(), AppError> {
    let token = generate_token();
    let token_hash = hash_token(&token);
    let (user, email) = (user_id.to_string(), email_id.to_string());
    let ttl = state.settings.email_token_ttl;
    let limits = (
        i64::from(state.settings.confirm_mails_per_address_hour),
        i64::from(state.settings.confirm_mails_per_account_hour),
    );
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some(email) = email_queries::find_for_user(conn, &user, &email)? else {
                return Ok(SendOutcome::NoSuchAddress);
            };
            if email.is_confirmed() {
                return Ok(SendOutcome::AlreadyConfirmed);
            }
            let hour_ago = now() - chrono::Duration::hours(1);
            let address = &email.address_lower;
            if token_queries::count_for_address_since(conn, address, hour_ago)? >= limits.0 {
                return Ok(SendOutcome::AddressLimit);
            }
            if token_queries::count_for_user_since(conn, &user, hour_ago)? >= limits.1 {
                return Ok(SendOutcome::AccountLimit);
            }
            token_queries::record_send(conn, address, &user, now())?;
            token_queries::insert(
                conn,
                &NewEmailToken {
                    token_hash: &token_hash,
                    email_id: &email.id,
                    user_id: &user,
                    created_at: now(),
                    expires_at: later(now(), ttl),
                },
            )?;
            Ok(SendOutcome::Send(email))
        })
        .await?;

    let email = match outcome {
        SendOutcome::Send(email) => email,
        SendOutcome::NoSuchAddress => return Err(AppError::NotFound),
        SendOutcome::AlreadyConfirmed => {
            return Err(AppError::bad_request(
                "already_confirmed",
                "That address is confirmed.",
            ))
        }
        SendOutcome::AddressLimit => return Err(rate_limited("this address")),
        SendOutcome::AccountLimit => return Err(rate_limited("your account")),
    };
    let mut link = state
        .settings
        .base_url
        .join("confirm-email")
        .context("bad base URL")?;
    link.query_pairs_mut().append_pair("token", &token);
    let mail = ConfirmationMail {
        address: &email.address,
        link: link.into(),
        hours: ttl.as_secs() / 3600,
    };
    state
        .mailer
        .send(&email.address, "confirm_email", &mail)
        .await?;
    tracing::info!(user.id = %email.user_id, email.id = %email.id, "confirmation link mailed");
    Ok(())
}

enum SendOutcome {
    Send(Email),
    NoSuchAddress,
    AlreadyConfirmed,
    AddressLimit,
    AccountLimit,
}

fn rate_limited(what: &str) -> AppError {
    AppError::RateLimited {
        code: "confirmation_rate_limited",
        message: format!(
            "Too many confirmation mails for {what} in the last hour. Please wait and try again."
        ),
    }
}

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Confirmation {
    Confirmed {
        address: String,
    },
    Expired,
    AlreadyUsed,
    Unknown,
    /// Another account confirmed this address first.
    TakenElsewhere,
}

/// Confirms the address behind a mailed token. Works without a session: the token alone
/// proves the mailbox.
pub async fn confirm_email(state: &AppState, token: &str) -> Result<Confirmation, AppError> {
    let token_hash = hash_token(token.trim());
    let outcome = state
        .db
        .transaction(move |conn| confirm_in_tx(conn, &token_hash))
        .await?;
    if let (Confirmation::Confirmed { .. }, Some((user_id, email_id))) = &outcome {
        tracing::info!(user.id = %user_id, email.id = %email_id, "email address confirmed");
        on_address_confirmed(state, user_id, email_id).await?;
    }
    Ok(outcome.0)
}

type ConfirmedIds = Option<(String, String)>;

fn confirm_in_tx(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> anyhow::Result<(Confirmation, ConfirmedIds)> {
    let Some(token) = token_queries::find(conn, token_hash)? else {
        return Ok((Confirmation::Unknown, None));
    };
    if token.used_at.is_some() {
        return Ok((Confirmation::AlreadyUsed, None));
    }
    if token.expires_at <= now() {
        return Ok((Confirmation::Expired, None));
    }
    let Some(email) = email_queries::find(conn, &token.email_id)? else {
        return Ok((Confirmation::Unknown, None));
    };
    if email_queries::confirmed_elsewhere(conn, &email.address_lower, &email.user_id)? {
        return Ok((Confirmation::TakenElsewhere, None));
    }
    if token_queries::mark_used(conn, token_hash, now())? == 0 {
        return Ok((Confirmation::AlreadyUsed, None));
    }
    email_queries::mark_confirmed(conn, &email.id, now())?;
    let ids = Some((email.user_id, email.id));
    Ok((
        Confirmation::Confirmed {
            address: email.address,
        },
        ids,
    ))
}

/// The one hook run after an address is confirmed: badges waiting for it are re-checked
/// and delivered here, and badges issuers pushed to it reach the account's inbox.
pub async fn on_address_confirmed(
    state: &AppState,
    user_id: &str,
    email_id: &str,
) -> Result<(), AppError> {
    let delivered = crate::backpack::deliver_pending(state, user_id).await?;
    tracing::info!(user.id = %user_id, email.id = %email_id, badges.delivered = delivered,
        "waiting badges re-checked after an address was confirmed");
    crate::push::deliver_held(state, user_id, email_id).await?;
    Ok(())
}

/// Adds an alternative address to the account and mails its confirmation link.
pub async fn add_email(
    state: &AppState,
    user_id: &str,
    address: EmailAddress,
) -> Result<(), AppError> {
    let user = user_id.to_string();
    let email_id = new_id();
    let id = email_id.clone();
    let since = token_window_start(state);
    let added = state
        .db
        .transaction(move |conn| {
            let lower = address.lowercased();
            let own = email_queries::list_for_user(conn, &user)?;
            if own.iter().any(|e| e.address_lower == lower) {
                return Ok(Some(AddOutcome::AlreadyOnAccount));
            }
            if email_queries::is_taken(conn, &lower, since)? {
                return Ok(Some(AddOutcome::Taken));
            }
            insert_email(conn, &id, &user, &address, false)?;
            Ok(Some(AddOutcome::Added))
        })
        .await;
    // A racing duplicate of the same form hits the unique index: it was already added.
    let added = unique_as_none(added)?.unwrap_or(AddOutcome::AlreadyOnAccount);
    match added {
        AddOutcome::Added => send_confirmation(state, user_id, &email_id).await,
        AddOutcome::AlreadyOnAccount => Err(AppError::bad_request(
            "email_already_added",
            "That address is already on your account.",
        )),
        AddOutcome::Taken => Err(AppError::bad_request(
            "email_unavailable",
            "That address cannot be added: it belongs to another account.",
        )),
    }
}

enum AddOutcome {
    Added,
    AlreadyOnAccount,
    Taken,
}

/// Removes an alternative address; the primary address cannot be removed.
pub async fn remove_email(state: &AppState, user_id: &str, email_id: &str) -> Result<(), AppError> {
    let (user, email) = (user_id.to_string(), email_id.to_string());
    let removed = state
        .db
        .transaction(move |conn| {
            let Some(email) = email_queries::find_for_user(conn, &user, &email)? else {
                return Ok(None);
            };
            if email.is_primary {
                return Ok(Some(false));
            }
            email_queries::delete(conn, &email.id)?;
            Ok(Some(true))
        })
        .await?;
    match removed {
        None => Err(AppError::NotFound),
        Some(false) => Err(AppError::bad_request(
            "cannot_remove_primary",
            "Make another confirmed address primary before removing this one.",
        )),
        Some(true) => {
            tracing::info!(user.id = %user_id, email.id = %email_id, "email address removed");
            Ok(())
        }
    }
}

/// Makes a confirmed address the account's primary (the one used to log in).
pub async fn make_primary(state: &AppState, user_id: &str, email_id: &str) -> Result<(), AppError> {
    let (user, email) = (user_id.to_string(), email_id.to_string());
    let changed = state
        .db
        .transaction(move |conn| {
            let Some(email) = email_queries::find_for_user(conn, &user, &email)? else {
                return Ok(None);
            };
            if !email.is_confirmed() {
                return Ok(Some(false));
            }
            email_queries::set_primary(conn, &user, &email.id)?;
            Ok(Some(true))
        })
        .await?;
    match changed {
        None => Err(AppError::NotFound),
        Some(false) => Err(AppError::bad_request(
            "email_not_confirmed",
            "Confirm this address before making it primary.",
        )),
        Some(true) => Ok(()),
    }
}

/// Every address of the account, primary first.
pub async fn list_emails(state: &AppState, user_id: &str) -> Result<Vec<Email>, AppError> {
    let user = user_id.to_string();
    Ok(state
        .db
        .run(move |conn| Ok(email_queries::list_for_user(conn, &user)?))
        .await?)
}
