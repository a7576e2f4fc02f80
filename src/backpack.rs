//! The learner's backpack: importing badges through the one verification pipeline,
//! keeping a badge pending until the address it names is confirmed, re-checking badges,
//! and the status history every change leaves.
//!
//! Only badges that verify (or cannot be checked right now, or were revoked or expired by
//! their issuer) are kept: an invalid badge is refused with the check that failed. A badge
//! whose only problem is that it names an address the account has not confirmed is kept
//! as `pending`, and delivered when an address of the account is confirmed.

use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use chrono::{NaiveDateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::badges::{self as badge_queries, BadgeEvent, BadgeSummary, NewBadge};
use crate::db::models::{email_queries, new_id, now};
use crate::domain::assertion::{Linked, ParsedBadge};
use crate::domain::unbake::{detect, InputKind};
use crate::error::AppError;
use crate::fetch::Accept;
use crate::intake::Carrier;
use crate::startup::AppState;
use crate::verify::{IssuerCopy, Outcome, RecipientRule, Report, Status};

/// The largest badge image Satchel keeps a copy of.
const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// What became of one imported item.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    /// Kept in the backpack with the status the checks gave.
    Added {
        badge_id: String,
        name: String,
        status: String,
    },
    /// Already in the backpack: nothing was added.
    Duplicate { badge_id: String, name: String },
    /// Kept, waiting for the address it names to be confirmed on this account.
    Pending {
        badge_id: String,
        name: String,
        named_address: Option<String>,
    },
    /// Not kept, and why.
    Refused { code: String, message: String },
}

/// Imports one input (image, URL, JSON or JWS) into the user's backpack.
pub async fn import(
    state: &AppState,
    user_id: &str,
    input: &[u8],
) -> Result<(ImportOutcome, Report), AppError> {
    let confirmed = confirmed_addresses(state, user_id).await?;
    let report = state
        .verifier
        .verify(input, &confirmed, RecipientRule::Required)
        .await;
    let outcome = match classify(&report) {
        Keep::Refuse(code, message) => ImportOutcome::Refused { code, message },
        Keep::Store(status) => store(state, user_id, input, &report, status).await?,
    };
    let kind = match &outcome {
        ImportOutcome::Added { .. } => "added",
        ImportOutcome::Duplicate { .. } => "duplicate",
        ImportOutcome::Pending { .. } => "pending",
        ImportOutcome::Refused { .. } => "refused",
    };
    tracing::info!(user.id = %user_id, import.outcome = kind, status = report.status.as_str(),
        "badge import handled");
    Ok((outcome, report))
}

pub(crate) enum Keep {
    Store(String),
    Refuse(String, String),
}

/// Whether a verification result is kept, and with which stored status.
pub(crate) fn classify(report: &Report) -> Keep {
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .collect();
    let only_recipient = !failed.is_empty()
        && failed
            .iter()
            .all(|c| c.check == "recipient" && c.code == "recipient_mismatch");
    match report.status {
        _ if report.badge.is_none() => refuse(report),
        Status::Invalid if only_recipient => Keep::Store("pending".into()),
        Status::Invalid => refuse(report),
        status => Keep::Store(status.as_str().into()),
    }
}

fn refuse(report: &Report) -> Keep {
    match report.reason() {
        Some(check) => Keep::Refuse(check.code.clone(), check.message.clone()),
        None => Keep::Refuse("invalid".into(), "The badge could not be verified.".into()),
    }
}

async fn store(
    state: &AppState,
    user_id: &str,
    input: &[u8],
    report: &Report,
    status: String,
) -> Result<ImportOutcome, AppError> {
    let carrier = carrier_of(input);
    let image = match carrier {
        Carrier::Png => Some((input.to_vec(), "image/png".to_string())),
        Carrier::Svg => Some((input.to_vec(), "image/svg+xml".to_string())),
        _ => fetch_image(state, report).await,
    };
    let mut row = new_badge(user_id, input, carrier, report, status, image)?;
    row.next_check_at =
        crate::revalidate::next_regular_check(row.checked_at, state.settings.worker.interval);
    let (id, name, status, named) = (
        row.id.clone(),
        row.name.clone(),
        row.status.clone(),
        report.recipient.named_address.clone(),
    );
    let reason = first_words(report);
    let key = row.dedupe_key.clone();
    let user = user_id.to_string();
    let existing = state
        .db
        .transaction(move |conn| {
            if let Some(existing) = badge_queries::find_by_key(conn, &user, &key)? {
                return Ok(Some(existing));
            }
            badge_queries::insert(conn, &row)?;
            badge_queries::add_event(conn, &event(&row.id, &row.status, &reason))?;
            Ok(None)
        })
        .await?;
    Ok(match existing {
        Some(existing) => ImportOutcome::Duplicate {
            badge_id: existing.id,
            name: existing.name,
        },
        None if status == "pending" => ImportOutcome::Pending {
            badge_id: id,
            name,
            named_address: named,
        },
        None => ImportOutcome::Added {
            badge_id: id,
            name,
            status,
        },
    })
}

pub(crate) fn event(badge_id: &str, status: &str, reason: &str) -> BadgeEvent {
    BadgeEvent {
        id: new_id(),
        badge_id: badge_id.to_string(),
        at: now(),
        status: status.to_string(),
        reason: reason.to_string(),
    }
}

/// The sentence that best explains a report: its first failure, else its last pass.
pub(crate) fn first_words(report: &Report) -> String {
    match report.reason() {
        Some(check) => check.message.clone(),
        None => format!("Verified: {}.", report.status.as_str()),
    }
}

fn carrier_of(input: &[u8]) -> Carrier {
    match detect(input) {
        InputKind::Png => Carrier::Png,
        InputKind::Svg => Carrier::Svg,
        InputKind::Url(_) => Carrier::Url,
        InputKind::Jws(_) => Carrier::Jws,
        _ => Carrier::Json,
    }
}

fn carrier_name(carrier: Carrier) -> &'static str {
    match carrier {
        Carrier::Png => "png",
        Carrier::Svg => "svg",
        Carrier::Url => "url",
        Carrier::Json => "json",
        Carrier::Jws => "jws",
    }
}

/// The key that makes the same assertion one badge: its id when that is a URL or URN,
/// else a hash of the issuer's text.
pub fn dedupe_key(badge: &ParsedBadge) -> String {
    match badge.assertion_id.as_deref() {
        Some(id) if id.contains(':') => id.to_string(),
        _ => format!(
            "sha256:{}",
            hex::encode(Sha256::digest(badge.original.as_str().as_bytes()))
        ),
    }
}

fn new_badge(
    user_id: &str,
    input: &[u8],
    carrier: Carrier,
    report: &Report,
    status: String,
    image: Option<(Vec<u8>, String)>,
) -> Result<NewBadge, AppError> {
    let badge = report
        .badge
        .as_ref()
        .context("a stored badge has been read")?;
    let described = describe(report).context("a stored badge has been read")?;
    let pending = (status == "pending").then(|| {
        report
            .recipient
            .named_address
            .clone()
            .map(|a| a.to_lowercase())
            .unwrap_or_default()
    });
    let (image, image_type) = image.map_or((None, None), |(b, t)| (Some(b), Some(t)));
    let checked = now();
    Ok(NewBadge {
        id: new_id(),
        user_id: user_id.to_string(),
        dedupe_key: dedupe_key(badge),
        status,
        pending_address: pending,
        version: Some(badge.version.as_str().to_string()),
        name: described.name,
        description: described.description,
        issuer_name: described.issuer_name,
        issuer_url: described.issuer_url,
        issued_on: described.issued_on,
        expires_at: described.expires_at,
        matched_address: report.recipient.address.clone(),
        match_form: report.recipient.form.map(|f| f.as_str().to_string()),
        carrier: carrier_name(carrier).to_string(),
        original: input.to_vec(),
        payload: badge.original.as_str().to_string(),
        badge_json: serde_json::to_string(badge).context("badge serialises")?,
        report_json: serde_json::to_string(report).context("report serialises")?,
        image,
        image_type,
        checked_at: checked,
        next_check_at: checked,
        created_at: checked,
    })
}

/// What the backpack shows of a badge, from a verification report.
pub(crate) struct Described {
    pub name: String,
    pub description: Option<String>,
    pub issuer_name: Option<String>,
    pub issuer_url: Option<String>,
    pub issued_on: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

/// The name, issuer and dates a report gives a badge; `None` when no badge was read.
pub(crate) fn describe(report: &Report) -> Option<Described> {
    let badge = report.badge.as_ref()?;
    let class = report.badge_class.as_ref().or(match &badge.badge_class {
        Linked::Embedded(class) => Some(class),
        Linked::Url(_) => None,
    });
    let issuer = report.issuer.as_ref();
    Some(Described {
        name: class.map_or_else(|| "Unnamed badge".to_string(), |c| c.name.clone()),
        description: class.and_then(|c| c.description.clone()),
        issuer_name: issuer.and_then(|i| i.name.clone()),
        issuer_url: issuer.and_then(|i| i.url.clone().or_else(|| i.id.clone())),
        issued_on: badge.issued_on.map(|d| d.naive_utc()),
        expires_at: badge.expires.map(|d| d.naive_utc()),
    })
}

/// A copy of the badge class image for badges that did not come as an image: a `data:`
/// URI or a bounded fetch, kept only when its bytes are a PNG or an SVG.
async fn fetch_image(state: &AppState, report: &Report) -> Option<(Vec<u8>, String)> {
    let url = report.badge_class.as_ref()?.image.clone()?;
    let bytes = if let Some(data) = url.strip_prefix("data:") {
        let (_, encoded) = data.split_once(";base64,")?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?
    } else {
        let fetched = state
            .verifier
            .fetcher()
            .get(&url, Accept::Image)
            .await
            .ok()?;
        fetched.is_success().then_some(fetched.body)?
    };
    if bytes.len() > MAX_IMAGE_BYTES {
        return None;
    }
    match detect(&bytes) {
        InputKind::Png => Some((bytes, "image/png".into())),
        InputKind::Svg => Some((bytes, "image/svg+xml".into())),
        _ => None,
    }
}

pub async fn confirmed_addresses(state: &AppState, user_id: &str) -> Result<Vec<String>, AppError> {
    let user = user_id.to_string();
    Ok(state
        .db
        .run(move |conn| Ok(email_queries::confirmed_addresses(conn, &user)?))
        .await?)
}

/// Verifies a stored badge again now ("recheck now") and records what changed, under the
/// same rules as the revalidation worker ([`crate::revalidate`]). Returns the new status.
pub async fn recheck(state: &AppState, badge: &BadgeSummary) -> Result<String, AppError> {
    let confirmed = confirmed_addresses(state, &badge.user_id).await?;
    recheck_for(state, badge, &confirmed).await
}

/// [`recheck`] against addresses already looked up (one look-up for many badges).
async fn recheck_for(
    state: &AppState,
    badge: &BadgeSummary,
    confirmed: &[String],
) -> Result<String, AppError> {
    let id = badge.id.clone();
    let (payload, prior) = state
        .db
        .run(move |conn| {
            let docs = badge_queries::documents(conn, &id)?;
            let copy = badge_queries::copies(conn, std::slice::from_ref(&id))?.pop();
            Ok((docs.payload, copy))
        })
        .await?;
    let prior = prior.map(IssuerCopy::from);
    let report = state
        .verifier
        .verify_stored(
            payload.as_bytes(),
            confirmed,
            RecipientRule::Required,
            prior.as_ref(),
        )
        .await;
    let settled = crate::revalidate::settle(state, badge, &report, now(), None).await?;
    Ok(settled.to)
}

/// Re-checks every pending badge of the account: called when one of its addresses is
/// confirmed. Returns how many were delivered.
pub async fn deliver_pending(state: &AppState, user_id: &str) -> Result<usize, AppError> {
    let user = user_id.to_string();
    let pending = state
        .db
        .run(move |conn| Ok(badge_queries::pending_for_user(conn, &user)?))
        .await?;
    let confirmed = confirmed_addresses(state, user_id).await?;
    let mut delivered = 0;
    for badge in &pending {
        if recheck_for(state, badge, &confirmed).await? != "pending" {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// When the pending-badge sweep last ran in this process (Unix seconds).
static LAST_SWEEP: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Drops expired pending badges at most once a minute per process, so page views do not
/// each run a site-wide delete.
pub async fn sweep_expired_pending(state: &AppState) -> Result<(), AppError> {
    if once_a_minute(&LAST_SWEEP) {
        drop_expired_pending(state, state.settings.pending_ttl).await?;
    }
    Ok(())
}

/// Whether a minute has passed since `last` (Unix seconds) said yes; when it has, `last`
/// is moved to now, so among concurrent callers only one gets the yes.
pub(crate) fn once_a_minute(last: &std::sync::atomic::AtomicI64) -> bool {
    use std::sync::atomic::Ordering;
    let now = Utc::now().timestamp();
    let before = last.load(Ordering::Relaxed);
    now - before >= 60
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// Drops pending badges older than the configured waiting time.
pub async fn drop_expired_pending(state: &AppState, ttl: Duration) -> Result<usize, AppError> {
    let cutoff = (Utc::now() - chrono::Duration::from_std(ttl).unwrap_or_default()).naive_utc();
    Ok(state
        .db
        .run(move |conn| Ok(badge_queries::drop_expired_pending(conn, cutoff)?))
        .await?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    #[test]
    fn once_a_minute_says_yes_once_then_no_until_a_minute_has_passed() {
        let last = AtomicI64::new(0);

        assert!(once_a_minute(&last), "never ran");
        assert!(!once_a_minute(&last), "just ran");
        last.store(Utc::now().timestamp() - 59, Ordering::Relaxed);
        assert!(!once_a_minute(&last), "59 s ago");
        last.store(Utc::now().timestamp() - 61, Ordering::Relaxed);
        assert!(once_a_minute(&last), "61 s ago");
    }
}
