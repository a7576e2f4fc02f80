//! Open Badges 1.0, 1.1 and 2.0 assertions (notes §2.3–2.5): an Assertion whose BadgeClass
//! and issuer are embedded or named by URL. 1.1 is 1.0 as JSON-LD; 2.0 renames `verify` to
//! `verification` and drops Unix dates. The three share one reader with version switches.

use serde_json::Value;

use super::dates::{read_date, DateRules};
use super::fields::{
    badge_class_object, evidence, has_type, iri, linked_issuer, text, types, Object, Place,
};
use super::identity::identity_object;
use super::model::{BadgeClass, Linked, ObVersion, OriginalBytes, ParsedBadge, VerificationKind};
use super::{ParseError, Received};

/// Reads a 1.0, 1.1 or 2.0 assertion.
pub fn read(
    obj: &Object,
    version: ObVersion,
    received: Received,
    mut warnings: Vec<String>,
) -> Result<ParsedBadge, ParseError> {
    check_type(obj, version, &mut warnings)?;
    let recipient = identity_object(obj.get("recipient"), &mut warnings)?;
    let badge_class = linked_badge_class(obj.get("badge"), &mut warnings)?;
    let assertion_id = assertion_id(obj, version, &mut warnings);
    let rules = DateRules {
        legacy_forms_allowed: version != ObVersion::V2_0,
    };
    let issued_on = read_date(obj.get("issuedOn"), "issuedOn", rules, &mut warnings)?;
    if issued_on.is_none() {
        warnings.push("`issuedOn` is missing".into());
    }
    let top = Place {
        path: "",
        base: None,
    };

    Ok(ParsedBadge {
        version,
        recipient,
        badge_class,
        issued_on,
        expires: read_date(obj.get("expires"), "expires", rules, &mut warnings)?,
        image: assertion_image(obj, &mut warnings),
        evidence: evidence(obj.get("evidence"), top, &mut warnings),
        narrative: text(obj.get("narrative")),
        verification: verification(
            obj,
            version,
            assertion_id.as_deref(),
            &received,
            &mut warnings,
        )?,
        revoked: revoked_flag(obj.get("revoked")),
        revocation_reason: text(obj.get("revocationReason")),
        assertion_id,
        other_identities: Vec::new(),
        original: OriginalBytes::new(received.original),
        warnings,
    })
}

fn check_type(
    obj: &Object,
    version: ObVersion,
    warnings: &mut Vec<String>,
) -> Result<(), ParseError> {
    let declared = types(obj);
    if declared.is_empty() {
        if version != ObVersion::V1_0 {
            warnings.push("the assertion has no `type`; read as an Assertion".into());
        }
        return Ok(());
    }
    if has_type(&declared, &["Assertion"]) {
        return Ok(());
    }
    Err(ParseError::WrongType {
        expected: "Assertion",
        found: declared.join(", "),
    })
}

/// 1.1/2.0 `id`, falling back to the deprecated `uid`; 1.0 `uid`.
fn assertion_id(obj: &Object, version: ObVersion, warnings: &mut Vec<String>) -> Option<String> {
    let uid = || text(obj.get("uid")).or_else(|| obj.get("uid").and_then(number_text));
    if version == ObVersion::V1_0 {
        return uid().or_else(|| text(obj.get("id")));
    }
    let id = text(obj.get("id"));
    if id.is_none() && version == ObVersion::V2_0 {
        warnings.push("the assertion has no `id`".into());
    }
    id.or_else(uid)
}

fn number_text(value: &Value) -> Option<String> {
    value.as_number().map(ToString::to_string)
}

fn linked_badge_class(
    value: Option<&Value>,
    warnings: &mut Vec<String>,
) -> Result<Linked<BadgeClass>, ParseError> {
    let obj = match value {
        None | Some(Value::Null) => return Err(ParseError::missing("badge")),
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            let url = text(Some(other))
                .ok_or_else(|| ParseError::bad_field("badge", "expected a URL or an object"))?;
            return Ok(Linked::Url(url));
        }
    };
    let place = Place {
        path: "badge",
        base: None,
    };
    embedded_badge_class(obj, place, warnings).map(Linked::Embedded)
}

/// A BadgeClass object, embedded in an assertion or fetched on its own.
pub fn embedded_badge_class(
    obj: &Object,
    place: Place,
    warnings: &mut Vec<String>,
) -> Result<BadgeClass, ParseError> {
    let declared = types(obj);
    if !declared.is_empty() && !has_type(&declared, &["BadgeClass"]) {
        return Err(ParseError::WrongType {
            expected: "BadgeClass",
            found: declared.join(", "),
        });
    }
    let issuer_field = place.field("issuer");
    let issuer_place = Place {
        path: &issuer_field,
        base: place.base,
    };
    let issuer = linked_issuer(obj.get("issuer"), issuer_place, warnings)?;
    badge_class_object(obj, issuer, place, warnings)
}

/// The assertion's own (baked) image. OB 2.0 expects a URL here; a `data:` URI is kept with
/// a warning (the 1EdTech validator refuses it).
fn assertion_image(obj: &Object, warnings: &mut Vec<String>) -> Option<String> {
    let image = iri(obj.get("image"))?;
    if image
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("data:"))
    {
        warnings.push("the assertion `image` is a data: URI; 2.0 expects a URL".into());
    }
    Some(image)
}

/// What the issuer declared in `verify` (1.x) or `verification` (2.0, alias `verify`).
fn verification(
    obj: &Object,
    version: ObVersion,
    id: Option<&str>,
    received: &Received,
    warnings: &mut Vec<String>,
) -> Result<VerificationKind, ParseError> {
    let Some(declared) = declared_verification(obj, version, warnings)? else {
        warnings.push("the assertion declares no verification; inferred from its form".into());
        return Ok(inferred(id, received, warnings));
    };
    let kind = text(declared.get("type"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let url = text(declared.get("url"));
    match kind.as_str() {
        "hosted" | "hostedbadge" => Ok(hosted(url.as_deref().or(id), received, warnings)),
        "signed" | "signedbadge" => Ok(signed(declared, version, received, warnings)),
        "" => {
            warnings.push("the verification has no `type`; inferred from the input form".into());
            Ok(inferred(url.as_deref().or(id), received, warnings))
        }
        _ => Err(ParseError::bad_field(
            "verification.type",
            format!("unknown type {kind:?}"),
        )),
    }
}

fn declared_verification<'a>(
    obj: &'a Object,
    version: ObVersion,
    warnings: &mut Vec<String>,
) -> Result<Option<&'a Object>, ParseError> {
    let (preferred, other) = match version {
        ObVersion::V2_0 => ("verification", "verify"),
        _ => ("verify", "verification"),
    };
    let value = match (obj.get(preferred), obj.get(other)) {
        (Some(value), _) => value,
        (None, Some(value)) => {
            let message = format!("version {version} names `{preferred}`; `{other}` was read");
            warnings.push(message);
            value
        }
        (None, None) => return Ok(None),
    };
    match value {
        Value::Object(declared) => Ok(Some(declared)),
        Value::Null => Ok(None),
        _ => Err(ParseError::bad_field(preferred, "expected an object")),
    }
}

fn inferred(
    url: Option<&str>,
    received: &Received,
    warnings: &mut Vec<String>,
) -> VerificationKind {
    match &received.jws {
        Some(jws) => VerificationKind::Signed {
            creator: None,
            jws: Some(jws.clone()),
        },
        None => hosted(url, received, warnings),
    }
}

fn hosted(url: Option<&str>, received: &Received, warnings: &mut Vec<String>) -> VerificationKind {
    if received.jws.is_some() {
        warnings.push("the assertion arrived signed but declares hosted verification".into());
    }
    let url = url.filter(|u| is_http(u)).map(str::to_owned);
    if url.is_none() {
        warnings.push("the hosted assertion has no http(s) URL to check it against".into());
    }
    VerificationKind::Hosted { url }
}

fn signed(
    declared: &Object,
    version: ObVersion,
    received: &Received,
    warnings: &mut Vec<String>,
) -> VerificationKind {
    let jws = received.jws.clone();
    if jws.is_none() {
        warnings.push("the assertion declares signed verification but no signature came".into());
    }
    let creator = iri(declared.get("creator"));
    match version {
        ObVersion::V2_0 => VerificationKind::Signed { creator, jws },
        _ => VerificationKind::LegacySigned {
            key_url: text(declared.get("url")).or(creator),
            jws,
        },
    }
}

fn is_http(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The `revoked` flag: a JSON boolean, or the strings `"true"` / `"false"` some issuers
/// write (field report 15); anything else is no flag.
fn revoked_flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}
