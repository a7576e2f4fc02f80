//! The one verification pipeline every path uses (upload, URL, issuer push, revalidation):
//! it decides whether a badge is genuine, current and the learner's, and says why.
//!
//! Steps, in order: read the input (unbake an image, detect URL / JSON / JWS); obtain the
//! issuer's copy (hosted: fetch the assertion by its id and use the fetched copy; signed:
//! decode the JWS); resolve the badge class and issuer profile; check the issuer's
//! verification policy (hosted) or the signature with a key the issuer's profile links,
//! and its revocation list (signed); check dates; match the recipient against the
//! account's confirmed addresses. Every step records a [`Check`]; the status follows from
//! them. A server that cannot be reached makes a badge `unreachable`, never `invalid` or
//! `revoked`. Open Badges 3.0 credentials are read and reported `unverifiable`: their
//! proofs are not checked yet, and nothing is `valid` without a checked proof.

mod documents;
mod hosted;
mod report;
mod signed;
mod status_list;

use std::time::Duration;

use chrono::Utc;

pub use documents::{DocumentMemory, Documents, LinkError};
pub use report::{Check, IssuerCopy, Outcome, RecipientOutcome, Report, Status};

use crate::domain::assertion::{
    parse_badge, parse_badge_class, parse_issuer, BadgeClass, Issuer, Linked, ParsedBadge,
    VerificationKind,
};
use crate::domain::recipient::{match_recipient, IdentityKind};
use crate::domain::unbake::{classify_payload, detect, unbake, InputKind, Limits, PayloadKind};
use crate::fetch::Fetcher;
use hosted::same_url;
use report::Checks;

/// How much clock difference with an issuer is tolerated for "issued in the future".
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Whether a recipient match is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientRule {
    /// A learner's import or an issuer's push: no confirmed match means `invalid`
    /// (fails closed, even with no addresses at all).
    Required,
    /// The command-line tool: checked only when addresses are given.
    IfGiven,
}

/// Runs the pipeline. Cheap to clone; share one so linked documents are fetched once.
#[derive(Clone)]
pub struct Verifier {
    docs: Documents,
    limits: Limits,
}

impl Verifier {
    /// A verifier whose linked-document cache keeps entries for `cache_ttl`.
    pub fn new(fetcher: Fetcher, cache_ttl: Duration) -> Verifier {
        Verifier {
            docs: Documents::new(fetcher, cache_ttl, 10_000),
            limits: Limits::default(),
        }
    }

    /// A verifier for one revalidation run: a cache of its own (each linked document is
    /// fetched once per run, and fresh at its start), at most `per_host` requests in flight
    /// to one host, and conditional requests for documents remembered from earlier runs.
    pub fn for_run(&self, per_host: usize, memory: DocumentMemory) -> Verifier {
        let fetcher = self.docs.fetcher().with_host_limit(per_host);
        Verifier {
            docs: Documents::remembering(fetcher, Duration::from_secs(3600), 100_000, memory),
            limits: self.limits,
        }
    }

    /// The fetcher the pipeline uses, for fetching badge images with the same limits.
    pub fn fetcher(&self) -> &Fetcher {
        self.docs.fetcher()
    }

    /// Verifies any supported input (baked PNG/SVG, URL, JSON, compact JWS) for an account
    /// whose confirmed addresses are `confirmed`.
    pub async fn verify(&self, input: &[u8], confirmed: &[String], rule: RecipientRule) -> Report {
        self.verify_stored(input, confirmed, rule, None).await
    }

    /// [`Verifier::verify`] for a badge already held: when `prior` is the issuer's copy from
    /// the last check, the assertion is fetched conditionally and a `304 Not Modified`
    /// reuses that copy.
    pub async fn verify_stored(
        &self,
        input: &[u8],
        confirmed: &[String],
        rule: RecipientRule,
        prior: Option<&IssuerCopy>,
    ) -> Report {
        let mut run = Run {
            verifier: self,
            prior,
            issuer_copy: None,
            checks: Checks::default(),
            verdict: Verdict::default(),
            badge_class: None,
            issuer: None,
        };
        let badge = run.obtain(input).await;
        let mut recipient = RecipientOutcome::default();
        if let Some(badge) = &badge {
            run.check_dates(badge);
            recipient = run.check_recipient(badge, confirmed, rule);
        }
        let status = run.verdict.status();
        tracing::debug!(
            status = status.as_str(),
            checks = run.checks.0.len(),
            "badge verified"
        );
        Report {
            status,
            version: badge.as_ref().map(|b| b.version),
            recipient,
            checks: run.checks.0,
            revocation_reason: run.verdict.revocation_reason,
            badge,
            badge_class: run.badge_class,
            issuer: run.issuer,
            issuer_copy: run.issuer_copy,
            checked_at: Utc::now(),
        }
    }
}

/// The statuses found so far; the most serious wins.
#[derive(Debug, Default)]
struct Verdict {
    found: Vec<Status>,
    revocation_reason: Option<String>,
}

impl Verdict {
    fn add(&mut self, status: Status) {
        self.found.push(status);
    }

    fn status(&self) -> Status {
        const ORDER: [Status; 5] = [
            Status::Invalid,
            Status::Revoked,
            Status::Expired,
            Status::Unreachable,
            Status::Unverifiable,
        ];
        ORDER
            .into_iter()
            .find(|s| self.found.contains(s))
            .unwrap_or(Status::Valid)
    }
}

/// What an input turned out to hold before anything was fetched.
enum Source {
    /// A hosted assertion URL (typed, or baked into an image).
    Url(String),
    /// JSON or a compact JWS.
    Text(String),
}

/// One verification in progress.
struct Run<'a> {
    verifier: &'a Verifier,
    /// The issuer's copy from the last check, for a conditional fetch.
    prior: Option<&'a IssuerCopy>,
    /// The issuer's copy fetched in this run, when its server gave validators.
    issuer_copy: Option<IssuerCopy>,
    checks: Checks,
    verdict: Verdict,
    /// The badge class and issuer as resolved, kept for the report.
    badge_class: Option<BadgeClass>,
    issuer: Option<Issuer>,
}

impl Run<'_> {
    /// Records a failed check and the status it implies.
    fn fail(
        &mut self,
        check: &'static str,
        code: &str,
        status: Status,
        message: impl Into<String>,
    ) {
        self.checks.fail(check, code, message);
        self.verdict.add(status);
    }

    /// Reads the input and obtains the issuer's copy of the badge, checking its origin
    /// or signature. `None` when no badge could be read at all.
    async fn obtain(&mut self, input: &[u8]) -> Option<ParsedBadge> {
        let source = self.read_source(input)?;
        let (badge, fetched) = match source {
            Source::Url(url) => (self.fetch_hosted(&url, None).await?, true),
            Source::Text(text) => match parse_badge(&text) {
                Ok(badge) => (badge, false),
                Err(error) => {
                    let message = format!("The badge could not be read: {error}");
                    self.fail("parse", error.code(), Status::Invalid, message);
                    return None;
                }
            },
        };
        self.checks.pass(
            "parse",
            format!("Read an Open Badges {} badge.", badge.version),
        );
        self.examine(badge, fetched).await
    }

    fn read_source(&mut self, input: &[u8]) -> Option<Source> {
        let limits = &self.verifier.limits;
        if input.len() > limits.max_input_bytes {
            let message = format!("The input is larger than {} bytes.", limits.max_input_bytes);
            self.fail("input", "input_too_large", Status::Invalid, message);
            return None;
        }
        let payload = match detect(input) {
            InputKind::Png | InputKind::Svg => match unbake(input, limits) {
                Ok(unbaked) => {
                    for warning in &unbaked.warnings {
                        self.checks
                            .warn("unbake", "unbake_warning", warning.clone());
                    }
                    self.checks.pass(
                        "unbake",
                        format!("Found the badge in the image's {}.", unbaked.chunk),
                    );
                    unbaked.payload
                }
                Err(error) => {
                    self.fail("unbake", error.code(), Status::Invalid, error.to_string());
                    return None;
                }
            },
            InputKind::Url(url) => return Some(Source::Url(url)),
            InputKind::Json(text) | InputKind::Jws(text) => return Some(Source::Text(text)),
            InputKind::Unknown => {
                let message = "This is not a badge: expected a baked PNG or SVG, a URL, JSON \
                               or a signed badge.";
                self.fail("input", "unrecognised_input", Status::Invalid, message);
                return None;
            }
        };
        match classify_payload(&payload) {
            PayloadKind::Url => Some(Source::Url(payload.trim().to_string())),
            PayloadKind::Json | PayloadKind::Jws => Some(Source::Text(payload)),
            PayloadKind::Unknown => {
                let message = "The text baked into the image is not a URL, JSON or a signed badge.";
                self.fail("unbake", "unreadable_payload", Status::Invalid, message);
                None
            }
        }
    }

    /// Checks a badge according to how its issuer said it is to be verified.
    async fn examine(&mut self, badge: ParsedBadge, fetched: bool) -> Option<ParsedBadge> {
        match &badge.verification {
            VerificationKind::Hosted { url } if !fetched => match url.clone() {
                Some(url) => {
                    let copy = self.fetch_hosted(&url, Some(&badge)).await?;
                    self.check_hosted(copy).await
                }
                None => {
                    let message = "This badge names no web address to check it against, so \
                                   it cannot be verified.";
                    self.fail("hosted", "no_hosted_url", Status::Unverifiable, message);
                    Some(badge)
                }
            },
            VerificationKind::Hosted { .. } => self.check_hosted(badge).await,
            VerificationKind::Signed { jws: Some(_), .. }
            | VerificationKind::LegacySigned { jws: Some(_), .. } => self.check_signed(badge).await,
            VerificationKind::Signed { jws: None, .. }
            | VerificationKind::LegacySigned { jws: None, .. } => {
                let message = "This is a signed badge given without its signature; upload the \
                               baked image or the signed text instead.";
                self.fail(
                    "signature",
                    "signature_missing",
                    Status::Unverifiable,
                    message,
                );
                Some(badge)
            }
            VerificationKind::Vc(details) => {
                let message = "Open Badges 3.0 credentials are read but their proofs are not \
                               checked yet, so this one cannot be called valid.";
                self.fail(
                    "proof",
                    "ob3_proof_not_checked",
                    Status::Unverifiable,
                    message,
                );
                if let Some(status) = details.status.as_deref().cloned() {
                    self.check_status_list(&status).await;
                }
                Some(badge)
            }
        }
    }

    /// Resolves the badge class (embedded or by URL). `None` when it cannot be used.
    async fn badge_class(&mut self, badge: &ParsedBadge) -> Option<BadgeClass> {
        let url = match &badge.badge_class {
            Linked::Embedded(class) => {
                self.badge_class = Some(class.clone());
                return Some(class.clone());
            }
            Linked::Url(url) => url.clone(),
        };
        let fetched = match self.verifier.docs.get(&url).await {
            Ok(fetched) => fetched,
            Err(error) => {
                let message = format!("The badge's description could not be fetched: {error}");
                self.fail("badge_class", error.code(), Status::Unreachable, message);
                return None;
            }
        };
        let base = url::Url::parse(&url).ok();
        match parse_badge_class(fetched.text().unwrap_or_default(), base.as_ref()) {
            Ok(class) => {
                if let Some(id) = class.value.id.as_deref().filter(|id| !same_url(id, &url)) {
                    let message = format!(
                        "The badge class fetched from {url} says its address is {id}; the copy \
                         at {url} was used."
                    );
                    self.checks
                        .warn("badge_class", "badge_class_id_differs", message);
                }
                self.checks
                    .pass("badge_class", format!("Read the badge class {url}."));
                self.badge_class = Some(class.value.clone());
                Some(class.value)
            }
            Err(error) => {
                let message = format!("The badge class at {url} is not valid: {error}");
                self.fail("badge_class", error.code(), Status::Invalid, message);
                None
            }
        }
    }

    /// Resolves the issuer profile. With `authoritative`, an embedded profile with a web
    /// id is replaced by the copy its id serves (keys must come from the issuer itself).
    async fn issuer(&mut self, class: &BadgeClass, authoritative: bool) -> Option<Issuer> {
        let url = match &class.issuer {
            Linked::Embedded(issuer) => match &issuer.id {
                Some(id) if authoritative && is_web_url(id) => id.clone(),
                _ => {
                    self.issuer = Some(issuer.clone());
                    return Some(issuer.clone());
                }
            },
            Linked::Url(url) => url.clone(),
        };
        let fetched = match self.verifier.docs.get(&url).await {
            Ok(fetched) => fetched,
            Err(error) => {
                let message = format!("The issuer's profile could not be fetched: {error}");
                self.fail("issuer", error.code(), Status::Unreachable, message);
                return None;
            }
        };
        let base = url::Url::parse(&url).ok();
        match parse_issuer(fetched.text().unwrap_or_default(), base.as_ref()) {
            Ok(issuer) => {
                self.checks
                    .pass("issuer", format!("Read the issuer profile {url}."));
                self.issuer = Some(issuer.value.clone());
                Some(issuer.value)
            }
            Err(error) => {
                let message = format!("The issuer profile at {url} is not valid: {error}");
                self.fail("issuer", error.code(), Status::Invalid, message);
                None
            }
        }
    }

    fn check_dates(&mut self, badge: &ParsedBadge) {
        let now = Utc::now();
        match badge.issued_on {
            Some(issued) if issued > now + CLOCK_SKEW => {
                let message = format!("The badge says it was issued on {issued}, in the future.");
                let status = date_verdict(badge, Status::Invalid);
                self.fail("issued_on", "issued_in_future", status, message);
            }
            Some(_) => self
                .checks
                .pass("issued_on", "The issue date is in the past."),
            None => self
                .checks
                .skip("issued_on", "The badge has no issue date."),
        }
        let Some(expires) = badge.expires else {
            self.checks.skip("expires", "The badge does not expire.");
            return;
        };
        if badge.issued_on.is_some_and(|issued| expires < issued) {
            let message = "The badge expires before it was issued.";
            let status = date_verdict(badge, Status::Invalid);
            self.fail("expires", "expires_before_issued", status, message);
        } else if expires <= now {
            let message = format!("The badge expired on {expires}.");
            let status = date_verdict(badge, Status::Expired);
            self.fail("expires", "expired", status, message);
        } else {
            self.checks
                .pass("expires", format!("The badge is valid until {expires}."));
        }
    }

    fn check_recipient(
        &mut self,
        badge: &ParsedBadge,
        confirmed: &[String],
        rule: RecipientRule,
    ) -> RecipientOutcome {
        let named_address = (!badge.recipient.hashed
            && badge.recipient.kind == IdentityKind::Email)
            .then(|| badge.recipient.identity.clone());
        let mut outcome = RecipientOutcome {
            named_address,
            ..RecipientOutcome::default()
        };
        if confirmed.is_empty() && rule == RecipientRule::IfGiven {
            self.checks.skip(
                "recipient",
                "No address was given to match the recipient against.",
            );
            return outcome;
        }
        let identities = std::iter::once(&badge.recipient).chain(&badge.other_identities);
        let mut first_error = None;
        for identity in identities {
            match match_recipient(identity, confirmed) {
                Ok(Some(found)) => {
                    self.checks.pass(
                        "recipient",
                        format!("This badge was issued to you ({}).", found.form.as_str()),
                    );
                    outcome.matched = true;
                    outcome.address = Some(found.address.to_string());
                    outcome.form = Some(found.form);
                    return outcome;
                }
                Ok(None) => {}
                Err(error) => first_error = first_error.or(Some(error)),
            }
        }
        match first_error {
            Some(error) => {
                let message = format!("The badge's recipient cannot be read: {error}");
                self.fail("recipient", error.code(), Status::Invalid, message);
            }
            None => {
                let message = "This badge names someone else: none of your confirmed email \
                               addresses matches its recipient.";
                self.fail("recipient", "recipient_mismatch", Status::Invalid, message);
            }
        }
        outcome
    }
}

/// A date found wrong on a credential whose proof is not checked proves nothing (the dates
/// may be forged): such a badge stays `unverifiable` rather than `expired` or `invalid`.
fn date_verdict(badge: &ParsedBadge, status: Status) -> Status {
    match badge.verification {
        VerificationKind::Vc(_) => Status::Unverifiable,
        _ => status,
    }
}

fn is_web_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// The host of a URL, lowercased.
fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(str::to_lowercase)
}
