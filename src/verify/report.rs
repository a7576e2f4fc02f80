//! The verification report: one status, the recipient outcome, and every check made, each
//! with a stable code, an outcome and a message a learner can read.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::assertion::{BadgeClass, Issuer, ObVersion, ParsedBadge};
use crate::domain::recipient::MatchForm;

/// The verdict on a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Genuine, current, and (when checked) the learner's.
    Valid,
    /// Something about the badge is wrong: a bad signature, a forged origin, not the
    /// learner's, unreadable.
    Invalid,
    /// The issuer has withdrawn it.
    Revoked,
    /// Its expiry date has passed.
    Expired,
    /// The issuer's server could not be reached or did not answer usefully; nothing is
    /// known to be wrong with the badge.
    Unreachable,
    /// Satchel cannot check this kind of badge (yet), or it carries nothing to check.
    Unverifiable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Invalid => "invalid",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
            Status::Unreachable => "unreachable",
            Status::Unverifiable => "unverifiable",
        }
    }

    /// Parses the stored form written by [`Status::as_str`].
    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Valid,
            Status::Invalid,
            Status::Revoked,
            Status::Expired,
            Status::Unreachable,
            Status::Unverifiable,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Passed, but with something the learner or issuer should know.
    Warning,
    /// Not run, because it does not apply or an earlier step failed.
    Skipped,
}

/// One check the pipeline made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `signature` or `recipient`; stable across releases.
    pub check: &'static str,
    /// Why it came out as it did, e.g. `jws_signature_invalid`; stable across releases.
    pub code: String,
    pub outcome: Outcome,
    pub message: String,
}

/// Who the badge was found to be for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipientOutcome {
    pub matched: bool,
    /// The confirmed address the badge names, as the account holds it.
    pub address: Option<String>,
    pub form: Option<MatchForm>,
    /// The plain address the badge names, when it is not hashed (to offer adding it).
    pub named_address: Option<String>,
}

/// Everything the pipeline concluded about one badge.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub status: Status,
    pub version: Option<ObVersion>,
    pub recipient: RecipientOutcome,
    pub checks: Vec<Check>,
    /// The badge as read (from the issuer's copy when it was fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge: Option<ParsedBadge>,
    /// The badge class as resolved (embedded, or fetched from its URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge_class: Option<BadgeClass>,
    /// The issuer profile as resolved (embedded, or fetched from its URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Issuer>,
    /// The issuer's withdrawal reason, when revoked.
    pub revocation_reason: Option<String>,
    /// The hosted assertion as fetched in full, when its server gave an `ETag` or
    /// `Last-Modified` (kept so that the next check can ask whether it changed). `None`
    /// after a `304`: the copy kept from before still holds.
    #[serde(skip)]
    pub issuer_copy: Option<IssuerCopy>,
    pub checked_at: DateTime<Utc>,
}

/// The text of a hosted assertion as fetched, with the validators its server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerCopy {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub text: String,
}

impl Report {
    /// The first failed check, which explains a non-valid status.
    pub fn reason(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.outcome == Outcome::Failed)
    }

    /// The outcome of a named check, if it was made.
    pub fn check(&self, check: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == check)
    }
}

/// Collects checks while the pipeline runs.
#[derive(Debug, Default)]
pub(crate) struct Checks(pub Vec<Check>);

impl Checks {
    pub fn record(&mut self, check: &'static str, outcome: Outcome, code: &str, message: String) {
        self.0.push(Check {
            check,
            code: code.to_string(),
            outcome,
            message,
        });
    }

    pub fn pass(&mut self, check: &'static str, message: impl Into<String>) {
        self.record(check, Outcome::Passed, "ok", message.into());
    }

    pub fn warn(&mut self, check: &'static str, code: &str, message: impl Into<String>) {
        self.record(check, Outcome::Warning, code, message.into());
    }

    pub fn fail(&mut self, check: &'static str, code: &str, message: impl Into<String>) {
        self.record(check, Outcome::Failed, code, message.into());
    }

    pub fn skip(&mut self, check: &'static str, message: impl Into<String>) {
        self.record(check, Outcome::Skipped, "not_applicable", message.into());
    }
}
