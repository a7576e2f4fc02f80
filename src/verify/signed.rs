//! Signed verification (OB 2.0 SignedBadge, 1.x signed): the signature is checked with a
//! key the issuer's own profile links (`verification.creator` only when the profile lists
//! it, else every `publicKey`), whose `owner` is that issuer; then the issuer's revocation
//! list. Legacy 1.x keys at `verify.url` are accepted and marked weaker (notes §3.1, §3.3).

use crate::domain::assertion::{Issuer, ParsedBadge, VerificationKind};
use crate::domain::jws::{parse_compact, verify_with_keys, JwsError, PublicKey};

use super::{Run, Status};

/// The keys fetched for one signature: those that can be used, and why the others cannot.
#[derive(Default)]
struct Keys {
    usable: Vec<PublicKey>,
    problems: Vec<KeyProblem>,
}

struct KeyProblem {
    code: &'static str,
    status: Status,
    message: String,
}

impl Keys {
    fn problem(&mut self, code: &'static str, status: Status, message: String) {
        self.problems.push(KeyProblem {
            code,
            status,
            message,
        });
    }
}

impl Run<'_> {
    pub(super) async fn check_signed(&mut self, badge: ParsedBadge) -> Option<ParsedBadge> {
        let (compact, creator, legacy_key) = match &badge.verification {
            VerificationKind::Signed {
                jws: Some(jws),
                creator,
            } => (jws.clone(), creator.clone(), None),
            VerificationKind::LegacySigned {
                jws: Some(jws),
                key_url,
            } => (jws.clone(), None, key_url.clone()),
            _ => return Some(badge),
        };
        // An algorithm no third party can check is refused before anything is fetched.
        if let Err(error) = parse_compact(&compact).and_then(|jws| jws.header.algorithm()) {
            self.fail(
                "signature",
                error.code(),
                Status::Invalid,
                error.to_string(),
            );
            return Some(badge);
        }
        let class = self.badge_class(&badge).await;
        let issuer = match &class {
            Some(class) => self.issuer(class, true).await,
            None => None,
        };
        let key_urls = match (&issuer, legacy_key) {
            (_, Some(key_url)) => {
                let message = "This older badge's key is published beside the badge, not in its \
                               issuer's profile: a weaker proof of who signed it.";
                self.checks.warn("key", "legacy_key_location", message);
                vec![key_url]
            }
            (Some(issuer), None) => match self.declared_keys(issuer, creator.as_deref()) {
                Some(keys) => keys,
                None => return Some(badge),
            },
            (None, None) => return Some(badge),
        };
        let owner = issuer.as_ref().and_then(|i| i.id.clone());
        if self
            .check_signature(&compact, &key_urls, owner.as_deref())
            .await
        {
            if let Some(issuer) = &issuer {
                self.check_revocation_list(&badge, issuer).await;
            }
        }
        Some(badge)
    }

    /// The key URLs the issuer's profile vouches for; a `creator` it does not list is refused.
    fn declared_keys(&mut self, issuer: &Issuer, creator: Option<&str>) -> Option<Vec<String>> {
        match creator {
            Some(creator) if issuer.public_keys.iter().any(|k| k == creator) => {
                Some(vec![creator.to_string()])
            }
            Some(creator) => {
                let message = format!(
                    "The badge was signed with the key {creator}, which its issuer's profile does \
                     not list, so it cannot be trusted."
                );
                self.fail(
                    "key",
                    "key_not_declared_by_issuer",
                    Status::Invalid,
                    message,
                );
                None
            }
            None if issuer.public_keys.is_empty() => {
                let message = "The issuer's profile lists no public key to check the signature.";
                self.fail("key", "issuer_has_no_key", Status::Invalid, message);
                None
            }
            None => Some(issuer.public_keys.clone()),
        }
    }

    /// Checks the signature with every usable key. Keys are cached: when none verifies, they
    /// are fetched again once, since the issuer may have rotated a key at the same address.
    /// `true` when the signature is genuine.
    async fn check_signature(
        &mut self,
        compact: &str,
        key_urls: &[String],
        owner: Option<&str>,
    ) -> bool {
        let jws = match parse_compact(compact) {
            Ok(jws) => jws,
            Err(error) => {
                let message = error.to_string();
                self.fail("signature", error.code(), Status::Invalid, message);
                return false;
            }
        };
        let mut keys = self.fetch_keys(key_urls, owner).await;
        let mut verified = verify_with_keys(&jws, &keys.usable);
        if matches!(verified, Err(JwsError::SignatureInvalid { .. })) {
            for url in key_urls {
                self.verifier.docs.forget(url).await;
            }
            keys = self.fetch_keys(key_urls, owner).await;
            verified = verify_with_keys(&jws, &keys.usable);
        }
        if !self.record_keys(&keys) {
            return false;
        }
        match verified {
            Ok(verified) => {
                for warning in verified.warnings {
                    self.checks.warn("signature", "signature_warning", warning);
                }
                self.checks
                    .pass("signature", "The issuer's signature is genuine.");
                true
            }
            Err(error) => {
                // A key that could not be fetched might have been the right one.
                let status = if keys
                    .problems
                    .iter()
                    .any(|p| p.status == Status::Unreachable)
                {
                    Status::Unreachable
                } else {
                    Status::Invalid
                };
                self.fail("signature", error.code(), status, error.to_string());
                false
            }
        }
    }

    /// Records what became of the keys: their problems are failures when no key is usable,
    /// else warnings. `false` when no key is usable.
    fn record_keys(&mut self, keys: &Keys) -> bool {
        if keys.usable.is_empty() {
            for problem in &keys.problems {
                let message = problem.message.clone();
                self.fail("key", problem.code, problem.status, message);
            }
            return false;
        }
        for problem in &keys.problems {
            let message = format!("{} Another key of the issuer was used.", problem.message);
            self.checks.warn("key", problem.code, message);
        }
        let message = format!(
            "Fetched {} key(s) the issuer vouches for.",
            keys.usable.len()
        );
        self.checks.pass("key", message);
        true
    }

    /// Fetches each key (a CryptographicKey document, or a bare PEM for 1.x). A key whose
    /// `owner` names another issuer is refused.
    async fn fetch_keys(&mut self, urls: &[String], issuer_id: Option<&str>) -> Keys {
        let mut keys = Keys::default();
        for url in urls {
            let fetched = match self.verifier.docs.get(url).await {
                Ok(fetched) => fetched,
                Err(error) => {
                    let message = format!("The signing key could not be fetched: {error}");
                    keys.problem(error.code(), Status::Unreachable, message);
                    continue;
                }
            };
            let text = fetched.text().unwrap_or_default().trim().to_string();
            match read_key_document(&text, issuer_id) {
                Ok(pem) => match PublicKey::from_pem(&pem) {
                    Ok(key) => keys.usable.push(key),
                    Err(error) => keys.problem(error.code(), Status::Invalid, error.to_string()),
                },
                Err((code, message)) => keys.problem(code, Status::Invalid, message),
            }
        }
        keys
    }

    /// Looks the badge up in the issuer's revocation list (by `id`, or a 1.x `uid`).
    async fn check_revocation_list(&mut self, badge: &ParsedBadge, issuer: &Issuer) {
        let Some(url) = issuer.revocation_list.clone() else {
            self.checks
                .skip("revocation", "The issuer publishes no revocation list.");
            return;
        };
        let fetched = match self.verifier.docs.get(&url).await {
            Ok(fetched) => fetched,
            Err(error) => {
                let message = format!(
                    "The issuer's revocation list could not be fetched ({error}), so whether the \
                     badge is revoked is unknown."
                );
                self.fail("revocation", error.code(), Status::Unreachable, message);
                return;
            }
        };
        let list: serde_json::Value =
            serde_json::from_str(fetched.text().unwrap_or_default().trim()).unwrap_or_default();
        let Some(id) = badge.assertion_id.as_deref() else {
            self.checks
                .skip("revocation", "The badge has no id to look up.");
            return;
        };
        match find_revocation(&list, id) {
            Some(reason) => {
                let message = match &reason {
                    Some(reason) => format!("The issuer has revoked this badge: {reason}"),
                    None => "The issuer has revoked this badge.".to_string(),
                };
                self.fail("revocation", "revoked", Status::Revoked, message);
                self.verdict.revocation_reason = reason;
            }
            None => self.checks.pass(
                "revocation",
                "The badge is not on the issuer's revocation list.",
            ),
        }
    }
}

/// The PEM of a key document, checking its owner when the document names one.
fn read_key_document(
    text: &str,
    issuer_id: Option<&str>,
) -> Result<String, (&'static str, String)> {
    if text.starts_with("-----BEGIN") {
        return Ok(text.to_string());
    }
    let json: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        (
            "key_unreadable",
            "The signing key document is not JSON or PEM.".to_string(),
        )
    })?;
    let owner = json.get("owner").and_then(|v| v.as_str());
    if let (Some(owner), Some(issuer)) = (owner, issuer_id) {
        if owner != issuer {
            let message = format!("The signing key belongs to {owner}, not to the badge's issuer.");
            return Err(("key_owner_mismatch", message));
        }
    }
    json.get("publicKeyPem")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or((
            "key_unreadable",
            "The signing key document has no publicKeyPem.".to_string(),
        ))
}

/// `Some(reason)` when `id` is on the list (entries are ids, or objects with `id`/`uid`).
fn find_revocation(list: &serde_json::Value, id: &str) -> Option<Option<String>> {
    let entries = list.get("revokedAssertions")?;
    let entries: Vec<&serde_json::Value> = match entries {
        serde_json::Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    entries.into_iter().find_map(|entry| match entry {
        serde_json::Value::String(entry_id) if entry_id == id => Some(None),
        serde_json::Value::Object(object) => {
            let named = ["id", "uid"]
                .iter()
                .any(|k| object.get(*k).and_then(|v| v.as_str()) == Some(id));
            named.then(|| {
                object
                    .get("revocationReason")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
        }
        _ => None,
    })
}
