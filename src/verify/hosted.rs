//! Hosted verification (OB 1.x and 2.0 HostedBadge; 0.5 by URL): fetch the assertion from
//! its id, use the issuer's copy, treat 410 and `revoked: true` as revoked, and check the
//! assertion lives where the issuer's verification policy allows (notes §3.2).

use crate::domain::assertion::{parse_badge, Issuer, ParsedBadge, VerificationKind};
use crate::domain::unbake::{classify_payload, unbake, InputKind, PayloadKind};
use crate::fetch::{Accept, FetchError, Fetched};

use super::{host_of, is_web_url, IssuerCopy, Run, Status};

impl Run<'_> {
    /// Fetches the assertion at `url` and reads the issuer's copy. A copy that declares a
    /// different id is re-fetched from that id once. `None` when no copy could be used.
    pub(super) async fn fetch_hosted(
        &mut self,
        url: &str,
        given: Option<&ParsedBadge>,
    ) -> Option<ParsedBadge> {
        let copy = self.fetch_assertion(url).await?;
        let declared = hosted_url(&copy);
        let copy = match declared {
            Some(declared) if !same_url(&declared, url) => {
                let message = format!(
                    "The badge fetched from {url} says its address is {declared}; it was fetched \
                     again from there."
                );
                self.checks
                    .warn("assertion_fetch", "hosted_id_differs", message);
                let again = self.fetch_assertion(&declared).await?;
                if hosted_url(&again).is_some_and(|id| !same_url(&id, &declared)) {
                    let message = "The issuer's copy of the badge does not name its own address.";
                    self.fail(
                        "assertion_fetch",
                        "hosted_id_mismatch",
                        Status::Invalid,
                        message,
                    );
                    return None;
                }
                again
            }
            _ => copy,
        };
        if let Some(given) = given {
            if given.assertion_id != copy.assertion_id {
                let message = "The badge you gave differs in its id from the issuer's copy; the \
                               issuer's copy was used.";
                self.checks
                    .warn("assertion_fetch", "hosted_copy_differs", message);
            }
        }
        Some(copy)
    }

    /// GETs one assertion URL: 410 means revoked, other failures mean unreachable, and
    /// only a JSON or JWS body is read (an image is never unbaked again: a loop guard).
    async fn fetch_assertion(&mut self, url: &str) -> Option<ParsedBadge> {
        let prior = self.prior.filter(|prior| same_url(&prior.url, url));
        let fetched = match self
            .verifier
            .docs
            .fetcher()
            .get_conditional(
                url,
                Accept::Document,
                prior.and_then(|p| p.etag.as_deref()),
                prior.and_then(|p| p.last_modified.as_deref()),
            )
            .await
        {
            Ok(fetched) => fetched,
            Err(error) => {
                let status = fetch_error_status(&error);
                let message = format!("The badge could not be fetched from {url}: {error}");
                self.fail("assertion_fetch", error.code(), status, message);
                return None;
            }
        };
        if fetched.status == 410 {
            return self.gone(url, fetched.text().unwrap_or_default());
        }
        if let (304, Some(prior)) = (fetched.status, prior) {
            return self.unchanged(prior);
        }
        if !fetched.is_success() {
            let message = format!(
                "The issuer's server answered HTTP {} for {url}; the badge could not be checked.",
                fetched.status
            );
            let code = format!("fetch_status_{}", fetched.status);
            self.fail("assertion_fetch", &code, Status::Unreachable, message);
            return None;
        }
        let text = match fetched.kind() {
            InputKind::Json(text) | InputKind::Jws(text) => text,
            InputKind::Png | InputKind::Svg => self.unbake_hosted_image(url, &fetched.body)?,
            _ if looks_like_web_page(&fetched) => {
                let message = format!(
                    "The address {url} returned a web page, not badge data (HTTP {}, from {}); \
                     the issuer's site may want a login or be showing an error.",
                    fetched.status, fetched.url
                );
                self.fail(
                    "assertion_fetch",
                    "fetch_html_page",
                    Status::Unreachable,
                    message,
                );
                return None;
            }
            _ => {
                let message = format!("The address {url} does not serve a badge (it is not JSON).");
                self.fail(
                    "assertion_fetch",
                    "fetch_not_a_badge",
                    Status::Invalid,
                    message,
                );
                return None;
            }
        };
        match parse_badge(&text) {
            Ok(badge) => {
                self.checks.pass(
                    "assertion_fetch",
                    format!("Fetched the issuer's copy from {url}."),
                );
                if fetched.etag.is_some() || fetched.last_modified.is_some() {
                    self.issuer_copy = Some(IssuerCopy {
                        url: url.to_string(),
                        etag: fetched.etag.clone(),
                        last_modified: fetched.last_modified.clone(),
                        text,
                    });
                }
                Some(badge)
            }
            Err(error) => {
                let message = format!("The issuer's copy at {url} could not be read: {error}");
                self.fail("assertion_fetch", error.code(), Status::Invalid, message);
                None
            }
        }
    }

    /// A `304 Not Modified` answer: the issuer's copy from the last check still stands.
    fn unchanged(&mut self, prior: &IssuerCopy) -> Option<ParsedBadge> {
        match parse_badge(&prior.text) {
            Ok(badge) => {
                let message = format!(
                    "The issuer's copy at {} has not changed since the last check.",
                    prior.url
                );
                // The kept copy stays as it is: nothing new to store.
                self.checks.pass("assertion_fetch", message);
                Some(badge)
            }
            Err(error) => {
                let message = format!("The issuer's last copy could not be read: {error}");
                self.fail("assertion_fetch", error.code(), Status::Invalid, message);
                None
            }
        }
    }

    /// An assertion id that serves a baked image (field report 6): the badge inside is read,
    /// but an image that only holds another address is not followed (a loop guard).
    fn unbake_hosted_image(&mut self, url: &str, body: &[u8]) -> Option<String> {
        let unbaked = match unbake(body, &self.verifier.limits) {
            Ok(unbaked) => unbaked,
            Err(error) => {
                let message = format!("The image at {url} holds no readable badge: {error}");
                self.fail("assertion_fetch", error.code(), Status::Invalid, message);
                return None;
            }
        };
        match classify_payload(&unbaked.payload) {
            PayloadKind::Json | PayloadKind::Jws => {
                let message =
                    format!("The address {url} serves a baked image; its badge was read.");
                self.checks
                    .warn("assertion_fetch", "hosted_id_is_image", message);
                Some(unbaked.payload)
            }
            _ => {
                let message = format!(
                    "The image at {url} only points to another address; it was not followed \
                     further, so the badge could not be read."
                );
                self.fail(
                    "assertion_fetch",
                    "hosted_image_loop",
                    Status::Invalid,
                    message,
                );
                None
            }
        }
    }

    /// A 410 Gone answer: revoked, with the reason and the badge when the body has them.
    fn gone(&mut self, url: &str, body: &str) -> Option<ParsedBadge> {
        let json: Option<serde_json::Value> = serde_json::from_str(body.trim()).ok();
        let reason = json
            .as_ref()
            .and_then(|v| v.get("revocationReason"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        self.revoked(
            "The issuer's server says this badge is gone (HTTP 410).",
            url,
            reason,
        );
        parse_badge(body).ok()
    }

    pub(super) fn revoked(&mut self, what: &str, url: &str, reason: Option<String>) {
        let message = match &reason {
            Some(reason) => format!("{what} The issuer gave this reason: {reason}"),
            None => format!("{what} ({url})"),
        };
        self.fail("revocation", "revoked", Status::Revoked, message);
        self.verdict.revocation_reason = reason;
    }

    /// Checks the issuer's copy of a hosted badge: its revocation flag, its badge class
    /// and issuer, and that it lives where the issuer's verification policy allows.
    pub(super) async fn check_hosted(&mut self, badge: ParsedBadge) -> Option<ParsedBadge> {
        if badge.revoked == Some(true) {
            let url = hosted_url(&badge).unwrap_or_default();
            self.revoked(
                "The issuer's copy marks this badge revoked.",
                &url,
                badge.revocation_reason.clone(),
            );
        } else {
            self.checks
                .pass("revocation", "The issuer has not revoked this badge.");
        }
        let Some(class) = self.badge_class(&badge).await else {
            return Some(badge);
        };
        let Some(issuer) = self.issuer(&class, false).await else {
            return Some(badge);
        };
        match hosted_url(&badge) {
            Some(url) => self.check_policy(&url, &issuer),
            None => self
                .checks
                .skip("verification_policy", "The badge names no address."),
        }
        Some(badge)
    }

    /// The issuer's verification policy: `startsWith` prefixes, else `allowedOrigins`
    /// hosts, else the issuer's own host (OB 2.0 `#VerificationObject`). Hosts compare
    /// case-insensitively, without the port.
    fn check_policy(&mut self, assertion_url: &str, issuer: &Issuer) {
        let policy = issuer.verification.clone().unwrap_or_default();
        if !policy.starts_with.is_empty() {
            if policy
                .starts_with
                .iter()
                .any(|prefix| assertion_url.starts_with(prefix.as_str()))
            {
                self.checks.pass(
                    "verification_policy",
                    "The badge lives where its issuer allows.",
                );
            } else {
                let message = format!(
                    "The badge at {assertion_url} is not under any address its issuer allows."
                );
                self.fail(
                    "verification_policy",
                    "hosted_outside_starts_with",
                    Status::Invalid,
                    message,
                );
            }
            return;
        }
        let allowed: Vec<String> = if policy.allowed_origins.is_empty() {
            // The default scope is the host of the issuer's id; a 1.x issuer without an id
            // is anchored at its origin. A non-web id (urn:uuid) sets no scope (OB 2.0).
            let home = match issuer.id.as_deref() {
                Some(id) => Some(id).filter(|id| is_web_url(id)),
                None => issuer.url.as_deref(),
            };
            home.and_then(host_of).into_iter().collect()
        } else {
            policy
                .allowed_origins
                .iter()
                .map(|origin| origin_host(origin))
                .collect()
        };
        let host = host_of(assertion_url);
        if allowed.is_empty() {
            let message = "The issuer's id is not a web address, so where the badge lives \
                           cannot be checked against it.";
            self.checks
                .warn("verification_policy", "issuer_without_host", message);
        } else if host.as_ref().is_some_and(|h| allowed.contains(h)) {
            self.checks.pass(
                "verification_policy",
                "The badge lives on its issuer's site.",
            );
        } else {
            let message = format!(
                "The badge is hosted on {}, which is not its issuer's site ({}).",
                host.unwrap_or_default(),
                allowed.join(", ")
            );
            self.fail(
                "verification_policy",
                "hosted_wrong_origin",
                Status::Invalid,
                message,
            );
        }
    }
}

/// The address a hosted badge declares for itself, if it is a web URL.
pub(super) fn hosted_url(badge: &ParsedBadge) -> Option<String> {
    match &badge.verification {
        VerificationKind::Hosted { url: Some(url) } if is_web_url(url) => Some(url.clone()),
        _ => None,
    }
}

/// Whether two addresses are the same once parsed (an IRI and its percent-encoded URI,
/// letter case of the host, a default port).
pub(super) fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a.trim()), url::Url::parse(b.trim())) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// An HTML page (a login form, a bot check, an error page) rather than badge data.
fn looks_like_web_page(fetched: &Fetched) -> bool {
    let declared = fetched
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let text = fetched.text().unwrap_or_default().trim_start();
    let start = text.get(..15).unwrap_or(text).to_ascii_lowercase();
    declared || start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// `allowedOrigins` entries are hosts, sometimes written as URLs.
fn origin_host(origin: &str) -> String {
    host_of(origin).unwrap_or_else(|| origin.trim().trim_end_matches('/').to_lowercase())
}

/// A refused address is the input's fault; a network failure is nobody's verdict.
fn fetch_error_status(error: &FetchError) -> Status {
    match error {
        FetchError::InvalidUrl(_)
        | FetchError::UnsupportedScheme
        | FetchError::PrivateAddress { .. } => Status::Invalid,
        _ => Status::Unreachable,
    }
}
