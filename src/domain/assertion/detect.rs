//! Deciding which version an input is written in, from `@context` first and then from its
//! shape (notes §2.1). A plain substring test ("v1" somewhere) is not enough: the URL is
//! matched against the bundled contexts and their aliases.

use serde_json::Value;

use super::fields::{has_type, types, Object};
use super::model::{ObVersion, VcDataModel};
use super::ParseError;
use crate::domain::contexts::{canonical_context_url, OB_V1_URL, OB_V2_URL, VC_V1_URL, VC_V2_URL};

/// The three families of documents, each with its own reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 0.5: one object, recipient string.
    Legacy,
    /// 1.0, 1.1 and 2.0: Assertion, BadgeClass, Issuer.
    Assertion(ObVersion),
    /// 3.0: a Verifiable Credential.
    Credential(VcDataModel),
}

/// The `type` names of an OB 3.0 badge credential; the two are aliases (OB 3.0).
pub const OB3_TYPES: [&str; 2] = ["OpenBadgeCredential", "AchievementCredential"];

/// Detects the family of `obj`, or says why it is none of them.
pub fn detect(obj: &Object) -> Result<Family, ParseError> {
    match obj.get("@context") {
        Some(context) => from_context(context, obj),
        None => from_shape(obj),
    }
}

fn from_context(context: &Value, obj: &Object) -> Result<Family, ParseError> {
    let written = context_urls(context);
    let known: Vec<Option<&str>> = written
        .iter()
        .map(|url| canonical_context_url(url))
        .collect();
    let first = known.first().copied().flatten();
    let any = |wanted: &str| known.contains(&Some(wanted));

    if first == Some(VC_V2_URL) {
        return Ok(Family::Credential(VcDataModel::V2_0));
    }
    if first == Some(VC_V1_URL) {
        return Ok(Family::Credential(VcDataModel::V1_1));
    }
    if any(VC_V2_URL) || any(VC_V1_URL) {
        return Err(bad_context(
            "the Verifiable Credentials context must be listed first",
        ));
    }
    if any(OB_V2_URL) {
        return Ok(Family::Assertion(ObVersion::V2_0));
    }
    if any(OB_V1_URL) {
        return Ok(Family::Assertion(ObVersion::V1_1));
    }
    if has_type(&types(obj), &OB3_TYPES) {
        return Err(bad_context(
            "an Open Badges 3.0 credential needs the VC context first",
        ));
    }
    let context = written
        .first()
        .cloned()
        .unwrap_or_else(|| "(an inline context)".into());
    Err(ParseError::UnknownContext { context })
}

fn from_shape(obj: &Object) -> Result<Family, ParseError> {
    if has_type(&types(obj), &OB3_TYPES) {
        return Err(bad_context(
            "an Open Badges 3.0 credential needs an @context",
        ));
    }
    let recipient_is_text = obj.get("recipient").is_some_and(Value::is_string);
    let badge_is_object = obj.get("badge").is_some_and(Value::is_object);
    if recipient_is_text && badge_is_object {
        return Ok(Family::Legacy);
    }
    let assertion_keys = ["recipient", "badge", "uid", "verify"];
    if assertion_keys.iter().any(|key| obj.contains_key(*key)) {
        return Ok(Family::Assertion(ObVersion::V1_0));
    }
    Err(ParseError::UnknownVersion)
}

/// The URL entries of `@context`, which may be one string or a list mixing strings and
/// inline objects.
fn context_urls(context: &Value) -> Vec<String> {
    match context {
        Value::String(url) => vec![url.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn bad_context(reason: &str) -> ParseError {
    ParseError::BadContext {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detect_json(value: Value) -> Result<Family, ParseError> {
        detect(value.as_object().unwrap_or(&Object::new()))
    }

    #[test]
    fn each_version_is_recognised_from_its_context_or_shape() {
        let cases = [
            (
                json!({"recipient": "a@b.example", "badge": {}}),
                Family::Legacy,
            ),
            (
                json!({"uid": "1", "recipient": {}}),
                Family::Assertion(ObVersion::V1_0),
            ),
            (
                json!({"@context": "http://w3id.org/openbadges/v1/", "type": "Assertion"}),
                Family::Assertion(ObVersion::V1_1),
            ),
            (
                json!({"@context": ["https://openbadgespec.org/v2/context.json", {"x": "y"}]}),
                Family::Assertion(ObVersion::V2_0),
            ),
            (
                json!({"@context": ["https://w3id.org/openbadges/v2", "https://x.example/ext"]}),
                Family::Assertion(ObVersion::V2_0),
            ),
            (
                json!({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
                Family::Credential(VcDataModel::V2_0),
            ),
            (
                json!({"@context": ["https://www.w3.org/2018/credentials/v1"]}),
                Family::Credential(VcDataModel::V1_1),
            ),
        ];

        for (value, expected) in cases {
            assert_eq!(detect_json(value.clone()), Ok(expected), "{value}");
        }
    }

    #[test]
    fn a_context_that_merely_contains_v2_is_not_open_badges() {
        let value = json!({"@context": "https://evil.example/openbadges/v2", "type": "Assertion"});

        let detected = detect_json(value);

        assert!(
            matches!(detected, Err(ParseError::UnknownContext { .. })),
            "{detected:?}"
        );
    }

    #[test]
    fn a_3_0_credential_without_the_vc_context_first_is_refused() {
        let cases = [
            json!({"@context": ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
                   "type": ["VerifiableCredential", "OpenBadgeCredential"]}),
            json!({"@context": ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                                "https://www.w3.org/ns/credentials/v2"]}),
            json!({"type": "AchievementCredential"}),
        ];

        for value in cases {
            let detected = detect_json(value.clone());

            assert!(
                matches!(detected, Err(ParseError::BadContext { .. })),
                "{value}"
            );
        }
    }

    #[test]
    fn an_object_with_no_badge_shape_has_no_version() {
        assert_eq!(
            detect_json(json!({"name": "x"})),
            Err(ParseError::UnknownVersion)
        );
    }
}
