//! What a re-check of a stored badge changes: the rules that turn a fresh verification (or
//! a failure to reach the issuer, or a passed expiry date) into the badge's new status,
//! its history, its next check and the learner's mail. The worker and the "recheck now"
//! button both go through [`settle`], so a badge follows the same rules however it is
//! re-checked.
//!
//! The rules, in short:
//! - an issuer that answers decides: valid, revoked (410, `revoked: true`, a revocation
//!   list), expired, invalid, unverifiable; failures are forgotten;
//! - an issuer that does not answer (timeout, refused connection, 5xx) never changes what
//!   the badge was: the last good result stands, marked stale, and the next try backs off.
//!   Only after [`MIN_FAILURES`] failures spread over the configured period does the badge
//!   become `unreachable`; revoked and expired badges stay so;
//! - a badge whose expiry date has passed is expired, whether or not the issuer answers.

use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::backpack::{self, Keep};
use crate::config::WorkerSettings;
use crate::db::badges::{
    self as badge_queries, AttemptedBadge, BadgeCopy, BadgeSummary, CheckedBadge,
};
use crate::db::models::email_queries;
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::startup::AppState;
use crate::verify::{Report, Status};
use diesel::QueryResult;

/// Failed attempts in a row before a badge can be called unreachable (with the period).
pub const MIN_FAILURES: i32 = 3;

/// The first retry after a failure; each further failure doubles it, up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(15 * 60);

/// When badges are re-checked and when an unanswering issuer makes them unreachable.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub interval: Duration,
    pub unreachable_after: Duration,
}

impl From<&WorkerSettings> for Policy {
    fn from(settings: &WorkerSettings) -> Policy {
        Policy {
            interval: settings.interval,
            unreachable_after: settings.unreachable_after,
        }
    }
}

/// A stored badge's state before a re-check.
#[derive(Debug, Clone, Copy)]
pub struct Before<'a> {
    pub status: &'a str,
    pub failures: i32,
    pub stale_since: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

impl<'a> From<&'a BadgeSummary> for Before<'a> {
    fn from(badge: &'a BadgeSummary) -> Before<'a> {
        Before {
            status: &badge.status,
            failures: badge.failures,
            stale_since: badge.stale_since,
            expires_at: badge.expires_at,
        }
    }
}

/// What a re-check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// The issuer answered and the pipeline concluded this status.
    Answered(&'a str),
    /// The issuer (or a document the badge needs) could not be reached.
    NoAnswer,
    /// Nothing was fetched: only the badge's expiry date was looked at.
    DateOnly,
}

/// A badge's state after a re-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub status: String,
    pub failures: i32,
    pub stale_since: Option<NaiveDateTime>,
    pub next_check_at: NaiveDateTime,
}

/// Applies the rules in this module's documentation.
pub fn decide(before: Before<'_>, seen: Seen<'_>, now: NaiveDateTime, policy: Policy) -> After {
    let expired = before.expires_at.is_some_and(|at| at <= now);
    let outlived = |status: &str| expired && matches!(status, "valid" | "unverifiable");
    match seen {
        Seen::Answered(status) => After {
            status: if outlived(status) { "expired" } else { status }.to_string(),
            failures: 0,
            stale_since: None,
            next_check_at: next_regular_check(now, policy.interval),
        },
        Seen::DateOnly => After {
            status: if outlived(before.status) || (expired && before.status == "unreachable") {
                "expired"
            } else {
                before.status
            }
            .to_string(),
            failures: before.failures,
            stale_since: before.stale_since,
            next_check_at: next_regular_check(now, policy.interval),
        },
        Seen::NoAnswer => {
            let failures = before.failures.saturating_add(1);
            let since = before.stale_since.unwrap_or(now);
            let waited = (now - since).to_std().unwrap_or_default();
            let status = if outlived(before.status) || (expired && before.status == "unreachable") {
                "expired"
            } else if matches!(before.status, "valid" | "unverifiable" | "invalid")
                && failures >= MIN_FAILURES
                && waited >= policy.unreachable_after
            {
                "unreachable"
            } else {
                before.status
            };
            After {
                status: status.to_string(),
                failures,
                stale_since: Some(since),
                next_check_at: now + retry_delay(failures, policy.interval),
            }
        }
    }
}

/// The regular next check: one interval later, with jitter (up to an hour, or a 24th of
/// the interval when shorter) so badges imported together are not re-checked together.
pub fn next_regular_check(now: NaiveDateTime, interval: Duration) -> NaiveDateTime {
    use rand::Rng;
    let spread = (interval.as_secs() / 24).clamp(1, 3600);
    let jitter = rand::thread_rng().gen_range(0..spread);
    now + chrono::Duration::from_std(interval).unwrap_or_else(|_| chrono::Duration::days(1))
        + chrono::Duration::seconds(jitter as i64)
}

/// How long to wait after the `failures`-th failure in a row: 15 minutes, doubling, at most
/// one interval.
pub fn retry_delay(failures: i32, interval: Duration) -> chrono::Duration {
    let doublings = failures.saturating_sub(1).clamp(0, 20) as u32;
    let delay = FIRST_RETRY.saturating_mul(1 << doublings).min(interval);
    chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// What one re-check did to a badge.
#[derive(Debug, Clone, Serialize)]
pub struct Settled {
    pub badge_id: String,
    pub from: String,
    pub to: String,
    /// The issuer did not answer; the status shown is the last good one.
    pub stale: bool,
    /// Nothing was written: another re-check got there first, another worker took the
    /// badge over, or it was deleted.
    pub lease_lost: bool,
}

impl Settled {
    pub fn changed(&self) -> bool {
        !self.lease_lost && self.from != self.to
    }
}

/// What a re-check will write for one badge, worked out before touching the database so
/// that a worker can write a whole batch in one transaction ([`apply`]).
#[derive(Debug)]
pub struct Plan {
    badge: BadgeSummary,
    write: Write,
    events: Vec<(String, String)>,
    copy: Option<BadgeCopy>,
    to: String,
    stale: bool,
    /// The issuer's reason, for the learner's mail.
    revocation_reason: Option<String>,
}

#[derive(Debug)]
enum Write {
    Checked(Box<CheckedBadge>),
    Attempted(AttemptedBadge),
}

/// Plans the outcome of a fresh verification of a stored badge under the rules above: its
/// new status, the issuer's copy for the next conditional fetch, and an event for each
/// change (a renamed badge too).
pub fn plan(
    badge: &BadgeSummary,
    report: &Report,
    now: NaiveDateTime,
    policy: Policy,
) -> Result<Plan, AppError> {
    let answered = match report.status {
        Status::Unreachable => None,
        // A 410 or a revocation list says revoked even when no badge could be read.
        Status::Revoked => Some(Status::Revoked.as_str().to_string()),
        _ => Some(match backpack::classify(report) {
            Keep::Store(status) => status,
            Keep::Refuse(..) => Status::Invalid.as_str().to_string(),
        }),
    };
    let Some(status) = answered else {
        return Ok(plan_attempt(
            badge,
            Seen::NoAnswer,
            Some(report),
            now,
            policy,
        ));
    };
    let described = backpack::describe(report);
    // The issuer's current expiry date decides, not the one stored: a renewed badge is
    // valid again.
    let before = Before {
        expires_at: described
            .as_ref()
            .map_or(badge.expires_at, |d| d.expires_at),
        ..Before::from(badge)
    };
    let after = decide(before, Seen::Answered(&status), now, policy);
    let mut events = Vec::new();
    if after.status != badge.status {
        let reason = if after.status == "expired" && report.status != Status::Expired {
            expired_reason(before.expires_at)
        } else {
            backpack::first_words(report)
        };
        events.push((after.status.clone(), reason));
    }
    if let Some(described) = &described {
        if described.name != badge.name {
            let reason = format!(
                "The issuer renamed this badge from \u{201c}{}\u{201d} to \u{201c}{}\u{201d}.",
                badge.name, described.name
            );
            events.push((after.status.clone(), reason));
        }
    }
    let pending_address = (after.status == "pending").then(|| {
        badge.pending_address.clone().or_else(|| {
            report
                .recipient
                .named_address
                .as_ref()
                .map(|a| a.to_lowercase())
        })
    });
    let changes = CheckedBadge {
        status: after.status.clone(),
        pending_address: pending_address.flatten(),
        name: described
            .as_ref()
            .map_or(badge.name.clone(), |d| d.name.clone()),
        description: described
            .as_ref()
            .map_or(badge.description.clone(), |d| d.description.clone()),
        issuer_name: described
            .as_ref()
            .map_or(badge.issuer_name.clone(), |d| d.issuer_name.clone()),
        issuer_url: described
            .as_ref()
            .map_or(badge.issuer_url.clone(), |d| d.issuer_url.clone()),
        issued_on: described.as_ref().map_or(badge.issued_on, |d| d.issued_on),
        matched_address: report.recipient.address.clone(),
        match_form: report.recipient.form.map(|f| f.as_str().to_string()),
        expires_at: described
            .as_ref()
            .map_or(badge.expires_at, |d| d.expires_at),
        report_json: serde_json::to_string(report).context("report serialises")?,
        checked_at: now,
        next_check_at: after.next_check_at,
        failures: after.failures,
        stale_since: after.stale_since,
        lease_owner: None,
        lease_until: None,
    };
    let copy = report.issuer_copy.as_ref().map(|copy| BadgeCopy {
        badge_id: badge.id.clone(),
        url: copy.url.clone(),
        etag: copy.etag.clone(),
        last_modified: copy.last_modified.clone(),
        body: copy.text.clone(),
        fetched_at: now,
    });
    Ok(Plan {
        badge: badge.clone(),
        write: Write::Checked(Box::new(changes)),
        events,
        copy,
        to: after.status,
        stale: false,
        revocation_reason: report.revocation_reason.clone(),
    })
}

/// Plans a re-check that reached no conclusion: the issuer did not answer (`report` says
/// why), or only the expiry date was looked at. The last good report stays.
pub fn plan_attempt(
    badge: &BadgeSummary,
    seen: Seen<'_>,
    report: Option<&Report>,
    now: NaiveDateTime,
    policy: Policy,
) -> Plan {
    let after = decide(Before::from(badge), seen, now, policy);
    let mut events = Vec::new();
    if after.status != badge.status {
        let reason = match after.status.as_str() {
            "unreachable" => format!(
                "The issuer could not be reached since {} ({} attempts). {}",
                after.stale_since.map_or_else(String::new, |at| at
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()),
                after.failures,
                report.map(backpack::first_words).unwrap_or_default()
            ),
            _ => expired_reason(badge.expires_at),
        };
        events.push((after.status.clone(), reason));
    }
    Plan {
        badge: badge.clone(),
        write: Write::Attempted(AttemptedBadge {
            status: after.status.clone(),
            next_check_at: after.next_check_at,
            failures: after.failures,
            stale_since: after.stale_since,
            lease_owner: None,
            lease_until: None,
        }),
        events,
        copy: None,
        to: after.status,
        stale: seen == Seen::NoAnswer,
        revocation_reason: None,
    }
}

/// Writes a planned re-check: only while the badge still has the status it was read with
/// and, with `owner`, while that worker still holds its lease. Returns whether it was
/// written (not: another re-check got there first, or the badge was deleted). Run it
/// inside a transaction.
pub fn apply(conn: &mut AnyConnection, plan: &Plan, owner: Option<&str>) -> QueryResult<bool> {
    let id = &plan.badge.id;
    let rows = match &plan.write {
        Write::Checked(changes) => {
            badge_queries::update_checked(conn, id, &plan.badge.status, owner, changes)?
        }
        Write::Attempted(attempt) => {
            badge_queries::update_attempted(conn, id, &plan.badge.status, owner, attempt)?
        }
    };
    if rows == 0 {
        return Ok(false);
    }
    if let Some(copy) = &plan.copy {
        badge_queries::save_copy(conn, copy)?;
    }
    for (status, reason) in &plan.events {
        badge_queries::add_event(conn, &backpack::event(id, status, reason))?;
    }
    Ok(true)
}

/// Records a fresh verification of one stored badge ([`plan`], [`apply`], [`finish`]).
pub async fn settle(
    state: &AppState,
    badge: &BadgeSummary,
    report: &Report,
    now: NaiveDateTime,
    owner: Option<&str>,
) -> Result<Settled, AppError> {
    let plan = plan(badge, report, now, Policy::from(&state.settings.worker))?;
    write_one(state, plan, owner).await
}

async fn write_one(state: &AppState, plan: Plan, owner: Option<&str>) -> Result<Settled, AppError> {
    let owner = owner.map(str::to_string);
    let (plan, written) = state
        .db
        .transaction(move |conn| {
            let written = apply(conn, &plan, owner.as_deref())?;
            Ok((plan, written))
        })
        .await?;
    Ok(finish(state, &plan, written).await)
}

fn expired_reason(expires_at: Option<NaiveDateTime>) -> String {
    match expires_at {
        Some(at) => format!("The badge expired on {}.", at.format("%Y-%m-%d")),
        None => "The badge has expired.".to_string(),
    }
}

/// Logs the outcome of a written (or not written) plan, and mails the learner when the
/// badge became revoked or expired.
pub async fn finish(state: &AppState, plan: &Plan, written: bool) -> Settled {
    let badge = &plan.badge;
    let settled = Settled {
        badge_id: badge.id.clone(),
        from: badge.status.clone(),
        to: plan.to.clone(),
        stale: plan.stale,
        lease_lost: !written,
    };
    if !written {
        tracing::info!(badge.id = %badge.id,
            "badge left alone: deleted, or re-checked elsewhere, during its re-check");
        return settled;
    }
    if plan.stale {
        tracing::info!(badge.id = %badge.id, failures = badge.failures + 1,
            "issuer did not answer; the badge's last result stands");
    }
    if settled.changed() {
        tracing::info!(badge.id = %badge.id, from = %settled.from, to = %settled.to,
            "badge status changed");
        let to = settled.to.as_str();
        if matches!(to, "revoked" | "expired") && state.settings.worker.status_mails {
            // A mail that cannot be sent is logged; the status change stands.
            let reason = plan.revocation_reason.as_deref();
            if let Err(error) = mail_status_change(state, badge, to, reason).await {
                tracing::warn!(badge.id = %badge.id, error = %error,
                    "could not mail the learner about a status change");
            }
        }
    }
    settled
}

#[derive(Serialize)]
struct StatusMail<'a> {
    badge_name: &'a str,
    issuer_name: Option<&'a str>,
    status: &'a str,
    reason: Option<&'a str>,
    link: String,
}

async fn mail_status_change(
    state: &AppState,
    badge: &BadgeSummary,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let user = badge.user_id.clone();
    let primary = state
        .db
        .run(move |conn| {
            Ok(email_queries::list_for_user(conn, &user)?
                .into_iter()
                .find(|e| e.is_primary))
        })
        .await?;
    let Some(primary) = primary else {
        return Ok(());
    };
    let link = state
        .settings
        .base_url
        .join(&format!("badges/{}", badge.id))
        .context("badge link")?;
    let context = StatusMail {
        badge_name: &badge.name,
        issuer_name: badge.issuer_name.as_deref(),
        status,
        reason,
        link: link.to_string(),
    };
    state
        .mailer
        .send(&primary.address, "badge_status", &context)
        .await?;
    tracing::info!(badge.id = %badge.id, user.id = %badge.user_id, status,
        "learner told of a badge status change");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("a valid test date")
    }

    const POLICY: Policy = Policy {
        interval: Duration::from_secs(24 * 3600),
        unreachable_after: Duration::from_secs(72 * 3600),
    };

    fn valid() -> Before<'static> {
        Before {
            status: "valid",
            failures: 0,
            stale_since: None,
            expires_at: None,
        }
    }

    #[test]
    fn an_answer_decides_and_forgets_failures() {
        let before = Before {
            failures: 4,
            stale_since: Some(at(1, 0)),
            ..valid()
        };
        let after = decide(before, Seen::Answered("revoked"), at(3, 0), POLICY);
        assert_eq!(after.status, "revoked");
        assert_eq!((after.failures, after.stale_since), (0, None));
        assert!(after.next_check_at >= at(4, 0) && after.next_check_at <= at(4, 1));
    }

    #[test]
    fn no_answer_keeps_the_last_result_and_backs_off() {
        let first = decide(valid(), Seen::NoAnswer, at(1, 0), POLICY);
        assert_eq!(first.status, "valid");
        assert_eq!(first.stale_since, Some(at(1, 0)));
        assert_eq!(
            first.next_check_at - at(1, 0),
            chrono::Duration::minutes(15)
        );
        let before = Before {
            failures: first.failures,
            stale_since: first.stale_since,
            ..valid()
        };
        let second = decide(before, Seen::NoAnswer, at(1, 1), POLICY);
        assert_eq!(second.status, "valid");
        assert_eq!(
            second.stale_since,
            Some(at(1, 0)),
            "stale since the first failure"
        );
        assert_eq!(
            second.next_check_at - at(1, 1),
            chrono::Duration::minutes(30)
        );
        assert_eq!(
            retry_delay(30, POLICY.interval),
            chrono::Duration::hours(24)
        );
    }

    #[test]
    fn unreachable_needs_both_the_failures_and_the_period() {
        let many_soon = Before {
            failures: 10,
            stale_since: Some(at(1, 0)),
            ..valid()
        };
        assert_eq!(
            decide(many_soon, Seen::NoAnswer, at(2, 0), POLICY).status,
            "valid"
        );
        let few_late = Before {
            failures: 0,
            stale_since: Some(at(1, 0)),
            ..valid()
        };
        assert_eq!(
            decide(few_late, Seen::NoAnswer, at(9, 0), POLICY).status,
            "valid"
        );
        let both = Before {
            failures: 2,
            stale_since: Some(at(1, 0)),
            ..valid()
        };
        let after = decide(both, Seen::NoAnswer, at(4, 0), POLICY);
        assert_eq!(after.status, "unreachable");
        assert_eq!(after.stale_since, Some(at(1, 0)));
    }

    #[test]
    fn a_down_server_never_changes_revoked_or_expired() {
        for status in ["revoked", "expired"] {
            let before = Before {
                status,
                failures: 20,
                stale_since: Some(at(1, 0)),
                expires_at: None,
            };
            assert_eq!(
                decide(before, Seen::NoAnswer, at(20, 0), POLICY).status,
                status
            );
        }
    }

    #[test]
    fn a_passed_expiry_date_expires_the_badge_with_or_without_an_answer() {
        let before = Before {
            expires_at: Some(at(2, 0)),
            ..valid()
        };
        for seen in [Seen::DateOnly, Seen::NoAnswer, Seen::Answered("valid")] {
            assert_eq!(
                decide(before, seen, at(2, 1), POLICY).status,
                "expired",
                "{seen:?}"
            );
            assert_eq!(
                decide(before, seen, at(1, 23), POLICY).status,
                "valid",
                "{seen:?}"
            );
        }
        assert_eq!(
            decide(before, Seen::Answered("revoked"), at(3, 0), POLICY).status,
            "revoked",
            "revoked outranks expired"
        );
    }
}
