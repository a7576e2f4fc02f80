//! Open Badges 0.5 (2011–2012): one object with the badge and issuer embedded, recipient as
//! a string, top-level `salt`, `issued_on` (notes §2.2, field report 4).
//!
//! Relative `image`, `criteria` and `evidence` URLs are resolved against `issuer.origin`,
//! never against the URL the assertion came from. No length limits are imposed.

use serde_json::Value;
use url::Url;

use super::dates::{read_date, DateRules};
use super::fields::{badge_class_object, evidence, opt_text, text, Object, Place};
use super::identity::legacy_recipient;
use super::model::{Issuer, Linked, ObVersion, OriginalBytes, ParsedBadge, VerificationKind};
use super::{ParseError, Received};

const RULES: DateRules = DateRules {
    legacy_forms_allowed: true,
};

/// Reads a 0.5 assertion.
pub fn read(
    obj: &Object,
    received: Received,
    mut warnings: Vec<String>,
) -> Result<ParsedBadge, ParseError> {
    let badge = object_at(obj, "badge", "badge")?;
    let issuer_obj = object_at(badge, "issuer", "badge.issuer")?;
    let origin = origin(issuer_obj)?;
    if text(badge.get("version")).as_deref() != Some("0.5.0") {
        warnings.push("`badge.version` is not \"0.5.0\"; read as a 0.5 badge anyway".into());
    }
    let issuer = Linked::Embedded(issuer(issuer_obj, &origin, &mut warnings));
    let place = Place {
        path: "badge",
        base: Some(&origin),
    };
    let badge_class = badge_class_object(badge, issuer, place, &mut warnings)?;
    let top = Place {
        path: "",
        base: Some(&origin),
    };
    let issued = obj.get("issued_on").or_else(|| obj.get("issuedOn"));

    Ok(ParsedBadge {
        version: ObVersion::V0_5,
        assertion_id: None,
        recipient: legacy_recipient(obj)?,
        other_identities: Vec::new(),
        badge_class: Linked::Embedded(badge_class),
        issued_on: read_date(issued, "issued_on", RULES, &mut warnings)?,
        expires: read_date(obj.get("expires"), "expires", RULES, &mut warnings)?,
        image: None,
        evidence: evidence(obj.get("evidence"), top, &mut warnings),
        narrative: None,
        verification: verification(obj, &received, &mut warnings),
        revoked: None,
        revocation_reason: None,
        original: OriginalBytes::new(received.original),
        warnings,
    })
}

fn object_at<'a>(obj: &'a Object, key: &str, field: &str) -> Result<&'a Object, ParseError> {
    match obj.get(key) {
        Some(Value::Object(inner)) => Ok(inner),
        None | Some(Value::Null) => Err(ParseError::missing(field)),
        Some(_) => Err(ParseError::bad_field(field, "expected an embedded object")),
    }
}

/// `issuer.origin`: `scheme://host[:port]`, the base for every relative URL.
fn origin(issuer: &Object) -> Result<Url, ParseError> {
    let field = "badge.issuer.origin";
    let written = text(issuer.get("origin")).ok_or_else(|| ParseError::missing(field))?;
    match Url::parse(written.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(ParseError::bad_field(
            field,
            format!("{written:?} is not an http(s) origin"),
        )),
    }
}

/// 0.5 issuer, upgraded as validator-core does: `origin` → url, `contact` → email, `org` appended
/// to the name.
fn issuer(obj: &Object, origin: &Url, warnings: &mut Vec<String>) -> Issuer {
    let place = Place {
        path: "badge.issuer",
        base: Some(origin),
    };
    let name = opt_text(obj, "name", place, warnings);
    let name = match (name, text(obj.get("org"))) {
        (Some(name), Some(org)) => Some(format!("{name}: {org}")),
        (name, org) => name.or(org),
    };
    if name.is_none() {
        warnings.push("the issuer has no name (`badge.issuer.name`)".into());
    }
    Issuer {
        id: None,
        name,
        url: text(obj.get("origin")),
        email: opt_text(obj, "contact", place, warnings),
        description: None,
        image: None,
        verification: None,
        public_keys: Vec::new(),
        revocation_list: None,
    }
}

/// 0.5 is hosted only. Some 0.5-shaped assertions carry a `verify.url`; otherwise the only
/// URL is the one the caller fetched the JSON from.
fn verification(obj: &Object, received: &Received, warnings: &mut Vec<String>) -> VerificationKind {
    if received.jws.is_some() {
        warnings.push("0.5 badges are never signed; the JWS wrapper was ignored".into());
    }
    let url = obj.get("verify").and_then(|v| text(v.get("url")));
    if url.is_none() {
        warnings.push(
            "a 0.5 assertion names no URL of its own; it can only be checked against the \
             address it was fetched from"
                .into(),
        );
    }
    VerificationKind::Hosted { url }
}
