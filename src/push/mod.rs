//! The issuer push API's logic: an issuer client names a learner's email and hands over a
//! badge; the badge goes through the one verification pipeline with that email as the only
//! address, must live on the client's registered origins, and then goes to the account that
//! has confirmed the address (its inbox) or is held until one does.
//!
//! Held badges are delivered from [`deliver_held`], which the accounts hook calls when an
//! address is confirmed, and dropped by [`drop_expired_held`] after the configured time.
//! The learner accepts (into the backpack, through `backpack::import`, so an accepted badge
//! already there stays one badge) or declines each delivered badge, or accepts an issuer's
//! badges automatically. The issuer only ever learns `held`, `delivered` or `expired`:
//! never which account, and never the learner's decision.

pub mod clients;
pub mod tokens;

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;

use crate::backpack::{self, ImportOutcome};
use crate::db::issuer_clients::IssuerClient;
use crate::db::models::{email_queries, new_id, now};
use crate::db::pushes::{self as push_queries, AutoAccept, NewPush, Push};
use crate::db::{AnyConnection, Backend};
use crate::domain::account::EmailAddress;
use crate::domain::assertion::{Linked, VerificationKind};
use crate::domain::origin::on_origins;
use crate::domain::unbake::{detect, InputKind};
use crate::error::AppError;
use crate::startup::AppState;
use crate::verify::{Outcome, RecipientRule, Report, Status};

/// One push as the client sent it.
#[derive(Debug)]
pub struct PushRequest {
    pub recipient: EmailAddress,
    /// The badge: a URL, JSON, a compact JWS, or a baked image.
    pub input: Vec<u8>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body, to tell a replay from a reused idempotency key.
    pub request_hash: String,
}

/// What a push did.
#[derive(Debug)]
pub enum PushOutcome {
    /// A new push, delivered or held.
    Created(Push),
    /// The same badge (or the same idempotency key) was pushed before: that push.
    Repeated(Push),
}

/// Why a push was refused. Nothing is kept.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    ForeignOrigin(String),
    #[error("The badge's recipient is not the email address named in the push.")]
    RecipientMismatch,
    #[error("{message}")]
    NotAccepted { code: String, message: String },
    #[error("This Idempotency-Key was used before with a different request body.")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The state of a push as the issuer may see it: the learner's decision stays private.
pub fn public_state(state: &str) -> &'static str {
    match state {
        "held" => "held",
        "expired" => "expired",
        _ => "delivered",
    }
}

/// Verifies and routes one push.
pub async fn push(
    state: &AppState,
    client: &IssuerClient,
    request: PushRequest,
) -> Result<PushOutcome, PushError> {
    if let Some(repeat) = replay(state, client, &request).await? {
        return Ok(PushOutcome::Repeated(repeat));
    }
    let origins = client.origin_list();
    if let InputKind::Url(url) = detect(&request.input) {
        // Refused before anything is fetched: a client cannot make Satchel fetch elsewhere.
        if !on_origins(&url, &origins) {
            return Err(foreign(&url));
        }
    }

    let recipient = recipient_forms(state, &request.recipient).await?;
    let report = state
        .verifier
        .verify(&request.input, &recipient, RecipientRule::Required)
        .await;
    check_origins(&report, &origins)?;
    accept_report(&report)?;
    let badge = report
        .badge
        .as_ref()
        .context("an accepted badge was read")?;
    let issuer_id =
        issuer_id(&report).context("an accepted badge has an issuer on the client's origins")?;

    let address_lower = request.recipient.lowercased();
    let row = NewPush {
        id: new_id(),
        client_id: client.id.clone(),
        dedupe_key: backpack::dedupe_key(badge),
        idempotency_key: request.idempotency_key.clone(),
        request_hash: request.request_hash.clone(),
        address_lower: address_lower.clone(),
        state: "held".into(),
        user_id: None,
        input: request.input,
        name: badge_name(&report),
        description: report
            .badge_class
            .as_ref()
            .and_then(|c| c.description.clone()),
        issuer_id,
        issuer_name: report.issuer.as_ref().and_then(|i| i.name.clone()),
        issued_on: badge.issued_on.map(|d| d.naive_utc()),
        created_at: now(),
        delivered_at: None,
    };
    let (push, owner) = match insert(state, row).await? {
        Inserted::New(push, owner) => (push, owner),
        Inserted::Existing(push) => return Ok(PushOutcome::Repeated(push)),
    };
    tracing::info!(push.id = %push.id, client.id = %client.id, push.state = %push.state,
        "badge pushed");
    if let Some((user_id, address)) = owner {
        after_delivery(state, &push, &user_id, &address).await;
    }
    sweep_expired_held(state).await;
    Ok(PushOutcome::Created(push))
}

/// The forms of the named email a badge may be issued to: as the client wrote it, and as
/// the account that confirmed it typed it. A hashed identity is of one exact spelling, and
/// the issuer may have hashed the learner's own while lowercasing the address it names.
async fn recipient_forms(state: &AppState, named: &EmailAddress) -> anyhow::Result<Vec<String>> {
    let address_lower = named.lowercased();
    let owner = state
        .db
        .run(move |conn| Ok(push_queries::confirmed_owner(conn, &address_lower)?))
        .await?;
    let mut forms = vec![named.as_str().to_string()];
    forms.extend(
        owner
            .map(|(_, typed)| typed)
            .filter(|t| t != named.as_str()),
    );
    Ok(forms)
}

/// The earlier push with this request's idempotency key, if any.
async fn replay(
    state: &AppState,
    client: &IssuerClient,
    request: &PushRequest,
) -> Result<Option<Push>, PushError> {
    let Some(key) = request.idempotency_key.clone() else {
        return Ok(None);
    };
    let client_id = client.id.clone();
    let earlier = state
        .db
        .run(move |conn| {
            Ok(push_queries::find_by_idempotency_key(
                conn, &client_id, &key,
            )?)
        })
        .await?;
    match earlier {
        Some(push) if push.request_hash == request.request_hash => Ok(Some(push)),
        Some(_) => Err(PushError::IdempotencyKeyReused),
        None => Ok(None),
    }
}

fn foreign(url: &str) -> PushError {
    PushError::ForeignOrigin(format!(
        "{url} is not on an origin registered for this client."
    ))
}

/// Every web address the badge was found at, and its issuer's, must be on the client's
/// origins: the assertion's id, its hosted copy, the issuer link of its badge class and the
/// issuer's id. A badge whose issuer has no web id at all cannot be pushed.
fn check_origins(report: &Report, origins: &[&str]) -> Result<(), PushError> {
    let mut urls: Vec<&str> = Vec::new();
    if let Some(badge) = &report.badge {
        urls.extend(badge.assertion_id.as_deref().filter(|id| is_web(id)));
        if let VerificationKind::Hosted { url: Some(url) } = &badge.verification {
            urls.push(url);
        }
        if let Linked::Embedded(class) = &badge.badge_class {
            urls.extend(class.issuer.url());
        }
    }
    if let Some(class) = &report.badge_class {
        urls.extend(class.issuer.url());
    }
    if let Some(id) = report.issuer.as_ref().and_then(|i| i.id.as_deref()) {
        urls.push(id);
    }
    if let Some(url) = urls.into_iter().find(|url| !on_origins(url, origins)) {
        return Err(foreign(url));
    }
    if report.badge.is_some() && report.issuer.is_some() && issuer_id(report).is_none() {
        return Err(PushError::ForeignOrigin(
            "The badge's issuer is not identified by a URL on an origin registered for this \
             client."
                .into(),
        ));
    }
    Ok(())
}

fn is_web(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// The issuer's web id, the key for "always accept from this issuer".
fn issuer_id(report: &Report) -> Option<String> {
    report.issuer.as_ref()?.id.clone().filter(|id| is_web(id))
}

/// Whether a verified badge may be pushed: it must verify (or be of a kind Satchel cannot
/// check yet) and name the email the push names.
fn accept_report(report: &Report) -> Result<(), PushError> {
    let recipient = report.check("recipient");
    if recipient.is_some_and(|c| c.outcome == Outcome::Failed && c.code == "recipient_mismatch") {
        return Err(PushError::RecipientMismatch);
    }
    let refuse = |code: &str, fallback: &str| {
        let message = report
            .reason()
            .map_or_else(|| fallback.to_string(), |check| check.message.clone());
        Err(PushError::NotAccepted {
            code: code.to_string(),
            message,
        })
    };
    match report.status {
        _ if report.badge.is_none() => refuse("badge_invalid", "The badge could not be read."),
        Status::Valid | Status::Unverifiable => Ok(()),
        Status::Revoked => refuse("badge_revoked", "The issuer has revoked this badge."),
        Status::Expired => refuse("badge_expired", "This badge has expired."),
        Status::Unreachable => refuse(
            "issuer_unreachable",
            "The issuer's server could not be reached to check the badge.",
        ),
        Status::Invalid => refuse("badge_invalid", "The badge did not verify."),
    }
}

fn badge_name(report: &Report) -> String {
    let embedded = report.badge.as_ref().and_then(|b| b.badge_class.embedded());
    report
        .badge_class
        .as_ref()
        .or(embedded)
        .map_or_else(|| "Unnamed badge".to_string(), |c| c.name.clone())
}

enum Inserted {
    /// Stored; with the owner of the address (user id, address) when it was delivered.
    New(Push, Option<(String, String)>),
    Existing(Push),
}

/// Stores a push as delivered (when an account has confirmed its address) or held. A push
/// of a badge this client pushed before, or racing one with the same idempotency key,
/// gives the existing push instead.
async fn insert(state: &AppState, mut row: NewPush) -> anyhow::Result<Inserted> {
    let (client_id, dedupe, key) = (
        row.client_id.clone(),
        row.dedupe_key.clone(),
        row.idempotency_key.clone(),
    );
    let stored = state
        .db
        .transaction(move |conn| {
            if let Some(existing) =
                push_queries::find_by_dedupe_key(conn, &row.client_id, &row.dedupe_key)?
            {
                return Ok(Inserted::Existing(existing));
            }
            let owner = push_queries::confirmed_owner(conn, &row.address_lower)?;
            if let Some((user_id, _)) = &owner {
                row.state = "delivered".into();
                row.user_id = Some(user_id.clone());
                row.delivered_at = Some(row.created_at);
            }
            push_queries::insert(conn, &row)?;
            let push = push_queries::find_for_client(conn, &row.client_id, &row.id)?
                .context("the push just stored")?;
            Ok(Inserted::New(push, owner))
        })
        .await;
    match stored {
        Err(error) if is_unique_violation(&error) => {
            let existing = state
                .db
                .run(move |conn| {
                    if let Some(key) = key {
                        if let Some(push) =
                            push_queries::find_by_idempotency_key(conn, &client_id, &key)?
                        {
                            return Ok(Some(push));
                        }
                    }
                    Ok(push_queries::find_by_dedupe_key(conn, &client_id, &dedupe)?)
                })
                .await?;
            Ok(Inserted::Existing(
                existing.context("a racing push of the same badge vanished")?,
            ))
        }
        other => other,
    }
}

fn is_unique_violation(error: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error.downcast_ref::<Error>(),
        Some(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
    )
}

#[derive(Serialize)]
struct PushedMail<'a> {
    badge: &'a str,
    issuer: &'a str,
    inbox_link: String,
    backpack_link: String,
    added: bool,
}

/// After a push reached an inbox: accept it at once when the learner accepts this issuer's
/// badges automatically, then mail the learner. Failures are logged, not returned: the
/// push is stored and the learner will find it in the inbox.
async fn after_delivery(state: &AppState, push: &Push, user_id: &str, address: &str) {
    let (user, issuer) = (user_id.to_string(), push.issuer_id.clone());
    let automatic = state
        .db
        .run(move |conn| Ok(push_queries::auto_accepts(conn, &user, &issuer)?))
        .await;
    let added = match automatic {
        Ok(true) => match accept(state, user_id, &push.id, false).await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(push.id = %push.id, user.id = %user_id, error = %error,
                    "automatic acceptance failed; the badge stays in the inbox");
                false
            }
        },
        Ok(false) => false,
        Err(error) => {
            tracing::warn!(push.id = %push.id, error = %format!("{error:#}"),
                "could not read the automatic acceptance setting");
            false
        }
    };
    if let Err(error) = mail_learner(state, push, address, added).await {
        tracing::error!(push.id = %push.id, user.id = %user_id,
            error.cause_chain = %format!("{error:#}"), "the pushed-badge mail was not sent");
    }
}

async fn mail_learner(
    state: &AppState,
    push: &Push,
    address: &str,
    added: bool,
) -> anyhow::Result<()> {
    let base = &state.settings.base_url;
    let mail = PushedMail {
        badge: &push.name,
        issuer: push.issuer_name.as_deref().unwrap_or(&push.issuer_id),
        inbox_link: base.join("inbox").context("bad base URL")?.into(),
        backpack_link: base.join("backpack").context("bad base URL")?.into(),
        added,
    };
    state.mailer.send(address, "badge_pushed", &mail).await?;
    tracing::info!(push.id = %push.id, added, "pushed-badge mail sent");
    Ok(())
}

/// Delivers the badges held for a newly confirmed address to its account's inbox: called
/// from the accounts hook. Returns how many were delivered.
pub async fn deliver_held(
    state: &AppState,
    user_id: &str,
    email_id: &str,
) -> anyhow::Result<usize> {
    let (user, email) = (user_id.to_string(), email_id.to_string());
    let delivered = state
        .db
        .transaction(move |conn| {
            let Some(email) = email_queries::find(conn, &email)? else {
                return Ok(Vec::new());
            };
            if email.user_id != user || !email.is_confirmed() {
                return Ok(Vec::new());
            }
            let mut delivered = Vec::new();
            for push in push_queries::held_for_address(conn, &email.address_lower)? {
                if push_queries::deliver(conn, &push.id, &user, now())? > 0 {
                    delivered.push(push);
                }
            }
            Ok(delivered
                .into_iter()
                .map(|p| (p, email.address.clone()))
                .collect())
        })
        .await?;
    for (push, address) in &delivered {
        tracing::info!(push.id = %push.id, user.id = %user_id, "held badge delivered");
        after_delivery(state, push, user_id, address).await;
    }
    Ok(delivered.len())
}

/// Delivers pushes still held for addresses that are confirmed. On PostgreSQL a push stored
/// while its address was being confirmed can miss that confirmation's delivery (each saw
/// the other's transaction uncommitted); this pass catches it.
async fn deliver_confirmed_held(state: &AppState) -> anyhow::Result<usize> {
    let confirmed = state
        .db
        .run(|conn| Ok(push_queries::held_for_confirmed(conn)?))
        .await?;
    let mut delivered = 0;
    for (user_id, email_id) in confirmed {
        delivered += deliver_held(state, &user_id, &email_id).await?;
    }
    Ok(delivered)
}

/// What a learner's inbox shows: the pushes waiting for a decision, newest first, and the
/// issuers accepted automatically. Expired held pushes are swept first, so none is listed.
pub async fn inbox(
    state: &AppState,
    user_id: &str,
) -> anyhow::Result<(Vec<Push>, Vec<AutoAccept>)> {
    sweep_expired_held(state).await;
    let owner = user_id.to_string();
    state
        .db
        .run(move |conn| {
            Ok((
                push_queries::inbox(conn, &owner)?,
                push_queries::list_auto_accepts(conn, &owner)?,
            ))
        })
        .await
}

/// What accepting a pushed badge did.
#[derive(Debug)]
pub enum Accepted {
    /// In the backpack now (added, or already there), by badge id.
    InBackpack(String),
    /// Kept, waiting for an address to be confirmed (its address was removed meanwhile).
    Pending(String),
}

/// Accepts a badge from the inbox into the backpack, through the same import as every other
/// badge (verified again now; an accepted badge already in the backpack stays one badge).
/// With `always`, this issuer's later badges are accepted without asking.
pub async fn accept(
    state: &AppState,
    user_id: &str,
    push_id: &str,
    always: bool,
) -> Result<Accepted, AppError> {
    let (user, id) = (user_id.to_string(), push_id.to_string());
    let found = state
        .db
        .run(move |conn| {
            let Some(push) = push_queries::find_in_inbox(conn, &user, &id)? else {
                return Ok(None);
            };
            let input = push_queries::input(conn, &push.id)?;
            Ok(Some((push, input)))
        })
        .await?;
    let (push, input) = found.ok_or(AppError::NotFound)?;

    let (outcome, _) = backpack::import(state, user_id, &input).await?;
    let accepted = match outcome {
        ImportOutcome::Added { badge_id, .. } | ImportOutcome::Duplicate { badge_id, .. } => {
            Accepted::InBackpack(badge_id)
        }
        ImportOutcome::Pending { badge_id, .. } => Accepted::Pending(badge_id),
        ImportOutcome::Refused { code, message } => {
            tracing::info!(push.id = %push.id, user.id = %user_id, code = %code,
                "a pushed badge no longer verifies; left in the inbox");
            return Err(AppError::bad_request(
                "push_no_longer_verifies",
                format!("This badge no longer verifies, so it was not added: {message}"),
            ));
        }
    };

    let (user, id, issuer, name) = (
        user_id.to_string(),
        push.id.clone(),
        push.issuer_id.clone(),
        push.issuer_name.clone(),
    );
    state
        .db
        .transaction(move |conn| {
            push_queries::decide(conn, &user, &id, "accepted", now())?;
            if always {
                push_queries::add_auto_accept(conn, &user, &issuer, name.as_deref(), now())?;
            }
            Ok(())
        })
        .await?;
    tracing::info!(push.id = %push.id, user.id = %user_id, always, "pushed badge accepted");
    Ok(accepted)
}

/// Declines a badge in the inbox: it leaves the inbox and is not kept.
pub async fn decline(state: &AppState, user_id: &str, push_id: &str) -> Result<(), AppError> {
    let (user, id) = (user_id.to_string(), push_id.to_string());
    let declined = state
        .db
        .transaction(move |conn| Ok(push_queries::decide(conn, &user, &id, "declined", now())?))
        .await?;
    if declined == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(push.id = %push_id, user.id = %user_id, "pushed badge declined");
    Ok(())
}

/// Stops accepting an issuer's badges automatically: they wait in the inbox again.
pub async fn forget_issuer(
    state: &AppState,
    user_id: &str,
    issuer_id: &str,
) -> Result<(), AppError> {
    let (owner, issuer) = (user_id.to_string(), issuer_id.to_string());
    let removed = state
        .db
        .run(move |conn| Ok(push_queries::remove_auto_accept(conn, &owner, &issuer)?))
        .await?;
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(user.id = %user_id, "automatic acceptance of an issuer stopped");
    Ok(())
}

/// When the held-push sweep last ran in this process (Unix seconds).
static LAST_SWEEP: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Drops expired held pushes at most once a minute per process (called on pushes and inbox
/// views; the background worker can call [`drop_expired_held`] directly).
pub async fn sweep_expired_held(state: &AppState) {
    if !backpack::once_a_minute(&LAST_SWEEP) {
        return;
    }
    if let Err(error) = drop_expired_held(state, state.settings.push.held_ttl).await {
        tracing::warn!(error.cause_chain = %format!("{error:#}"), "held-push sweep failed");
    }
}

/// Drops the badges of pushes held longer than `ttl` (the push stays, as `expired`, so the
/// issuer can see what became of it), and forgets rate windows older than an hour. Pushes
/// held for an address an account has confirmed meanwhile are delivered first, never
/// dropped.
pub async fn drop_expired_held(state: &AppState, ttl: Duration) -> anyhow::Result<usize> {
    deliver_confirmed_held(state).await?;
    let cutoff = (Utc::now() - chrono::Duration::from_std(ttl).unwrap_or_default()).naive_utc();
    let hour_ago = now() - chrono::Duration::hours(1);
    let expired = state
        .db
        .transaction(move |conn| {
            let expired = push_queries::expire_held(conn, cutoff)?;
            push_queries::drop_rate_windows(conn, hour_ago)?;
            Ok(expired)
        })
        .await?;
    if expired > 0 {
        tracing::info!(pushes.expired = expired, "held pushes expired");
    }
    Ok(expired)
}

/// How a client's request fits its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Allowed,
    /// Over the limit; retry after this many seconds.
    Limited(u64),
}

/// Counts one request of a client (token requests and pushes alike) in the current
/// one-minute window, kept in the database so every instance counts together.
pub async fn count_request(state: &AppState, client_id: &str) -> anyhow::Result<Rate> {
    let at = Utc::now();
    let window_start = at.timestamp() - at.timestamp() % 60;
    let start = chrono::DateTime::from_timestamp(window_start, 0)
        .context("a valid window start")?
        .naive_utc();
    let client = client_id.to_string();
    let count =
        move |conn: &mut AnyConnection| Ok(push_queries::count_request(conn, &client, start)?);
    // SQLite writes go through the writer lock, so a transaction that has read cannot find
    // the database changed under it; on PostgreSQL each statement commits on its own, so a
    // lost race to create the window's row can be retried.
    let count = match state.db.backend() {
        Backend::Sqlite => state.db.transaction(count).await?,
        Backend::Postgres => state.db.run(count).await?,
    };
    if i64::from(count) > i64::from(state.settings.push.rate_per_minute) {
        let retry = 60 - (at.timestamp() - window_start);
        return Ok(Rate::Limited(retry.max(1) as u64));
    }
    Ok(Rate::Allowed)
}
