//! Reading the recipient of every version into [`RecipientIdentity`], without judging it:
//! matching against a user's addresses belongs to `domain::recipient`.
//!
//! `hashed` comes only from the `hashed` flag (1.x, 2.0, 3.0) or, in 0.5, from the `alg$hex`
//! shape of the recipient string; never from whether a salt is present (field report 3).

use serde_json::Value;

use super::fields::{text, Object};
use super::ParseError;
use crate::domain::recipient::{IdentityKind, RecipientIdentity};

/// 0.5: `recipient` is an email or `alg$hex`; the salt sits at the top level (field report 4).
pub fn legacy_recipient(obj: &Object) -> Result<RecipientIdentity, ParseError> {
    let identity = text(obj.get("recipient")).ok_or_else(|| ParseError::missing("recipient"))?;
    Ok(RecipientIdentity {
        kind: IdentityKind::Email,
        hashed: is_hash_shape(&identity),
        identity,
        salt: salt(obj.get("salt")),
    })
}

/// 1.x/2.0 IdentityObject (OB 2.0 `#IdentityObject`).
pub fn identity_object(
    value: Option<&Value>,
    warnings: &mut Vec<String>,
) -> Result<RecipientIdentity, ParseError> {
    let obj = match value {
        None | Some(Value::Null) => return Err(ParseError::missing("recipient")),
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            let reason = "1.0 and later need an identity object {type, identity, hashed}";
            return Err(ParseError::bad_field("recipient", reason));
        }
    };
    let identity =
        text(obj.get("identity")).ok_or_else(|| ParseError::missing("recipient.identity"))?;
    Ok(RecipientIdentity {
        kind: declared_kind(obj, warnings),
        identity,
        hashed: hashed_flag(obj.get("hashed"), "recipient", warnings)?,
        salt: salt(obj.get("salt")),
    })
}

/// 3.0 IdentityObject in `credentialSubject.identifier` (OB 3.0 IdentityObject).
pub fn ob3_identity_object(
    obj: &Object,
    warnings: &mut Vec<String>,
) -> Result<RecipientIdentity, ParseError> {
    let field = "credentialSubject.identifier";
    let identity = text(obj.get("identityHash"))
        .ok_or_else(|| ParseError::missing("credentialSubject.identifier.identityHash"))?;
    let kind = match text(obj.get("identityType")).as_deref() {
        Some(t) if t.eq_ignore_ascii_case("emailAddress") || t.eq_ignore_ascii_case("email") => {
            IdentityKind::Email
        }
        Some(other) => IdentityKind::Other(other.to_owned()),
        None => {
            return Err(ParseError::missing(
                "credentialSubject.identifier.identityType",
            ))
        }
    };
    Ok(RecipientIdentity {
        kind,
        identity,
        hashed: hashed_flag(obj.get("hashed"), field, warnings)?,
        salt: salt(obj.get("salt")),
    })
}

/// 3.0 `credentialSubject.id`: a `mailto:` address, a URL, a telephone URI or a DID.
pub fn subject_id(id: &str) -> RecipientIdentity {
    let (kind, identity) = if let Some(address) = strip_scheme(id, "mailto:") {
        (IdentityKind::Email, address)
    } else if let Some(number) = strip_scheme(id, "tel:") {
        (IdentityKind::Telephone, number)
    } else if strip_scheme(id, "http://")
        .or_else(|| strip_scheme(id, "https://"))
        .is_some()
    {
        (IdentityKind::Url, id)
    } else {
        (IdentityKind::Other("id".to_owned()), id)
    };
    RecipientIdentity {
        kind,
        identity: identity.to_owned(),
        hashed: false,
        salt: None,
    }
}

fn strip_scheme<'a>(id: &'a str, scheme: &str) -> Option<&'a str> {
    let head = id.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &id[scheme.len()..])
}

fn declared_kind(obj: &Object, warnings: &mut Vec<String>) -> IdentityKind {
    let Some(declared) = text(obj.get("type")) else {
        warnings.push("`recipient.type` is missing; the identity was read as an email".into());
        return IdentityKind::Email;
    };
    match declared.to_ascii_lowercase().as_str() {
        "email" => IdentityKind::Email,
        "url" => IdentityKind::Url,
        "telephone" => IdentityKind::Telephone,
        _ => IdentityKind::Other(declared),
    }
}

/// The `hashed` flag: a boolean, or the strings "true"/"false" some issuers write (with a
/// warning). Absent means not hashed.
fn hashed_flag(
    value: Option<&Value>,
    field: &str,
    warnings: &mut Vec<String>,
) -> Result<bool, ParseError> {
    match value {
        Some(Value::Bool(flag)) => Ok(*flag),
        None | Some(Value::Null) => {
            warnings.push(format!("`{field}.hashed` is missing; read as not hashed"));
            Ok(false)
        }
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            warnings.push(format!("`{field}.hashed` is the text {s:?}, not a boolean"));
            Ok(s.eq_ignore_ascii_case("true"))
        }
        Some(_) => Err(ParseError::bad_field(
            format!("{field}.hashed"),
            "expected true or false",
        )),
    }
}

/// Absent, `null` and empty salts are all `None`; the salt is never trimmed or altered.
fn salt(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `alg$hex`: a short alphanumeric algorithm name, `$`, and hex digits (notes §2.7).
fn is_hash_shape(identity: &str) -> bool {
    let Some((alg, digest)) = identity.split_once('$') else {
        return false;
    };
    let alg_ok =
        !alg.is_empty() && alg.len() <= 10 && alg.chars().all(|c| c.is_ascii_alphanumeric());
    alg_ok && !digest.is_empty() && digest.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_0_5_recipient_is_hashed_only_when_it_has_the_alg_hex_shape() {
        let cases = [
            (
                json!({"recipient": "sha256$69fd1cd9", "salt": "abc123"}),
                true,
                Some("abc123"),
            ),
            (json!({"recipient": "md5$56F99D93"}), true, None),
            (
                json!({"recipient": "learner@example.org", "salt": "abc123"}),
                false,
                Some("abc123"),
            ),
            (json!({"recipient": "learner$example.org"}), false, None),
            (json!({"recipient": "sha256$", "salt": ""}), false, None),
            (json!({"recipient": "sha256$abc", "salt": null}), true, None),
        ];

        for (value, hashed, salt) in cases {
            let read = legacy_recipient(&object(value.clone()));

            let identity = read.unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(identity.hashed, hashed, "{value}");
            assert_eq!(identity.salt.as_deref(), salt, "{value}");
            assert_eq!(identity.kind, IdentityKind::Email, "{value}");
        }
    }

    #[test]
    fn the_hashed_flag_alone_decides_hashing_in_identity_objects() {
        let cases = [
            (
                json!({"type": "email", "identity": "a@b.example", "hashed": true}),
                true,
            ),
            (
                json!({"type": "email", "identity": "sha256$abcd", "hashed": false}),
                false,
            ),
            (
                json!({"type": "email", "identity": "sha256$abcd", "salt": "s"}),
                false,
            ),
            (
                json!({"type": "email", "identity": "sha256$abcd", "hashed": "true"}),
                true,
            ),
        ];

        for (value, hashed) in cases {
            let read = identity_object(Some(&value), &mut Vec::new());

            assert_eq!(read.map(|r| r.hashed), Ok(hashed), "{value}");
        }
    }

    #[test]
    fn declared_recipient_types_map_to_identity_kinds() {
        let cases = [
            ("email", IdentityKind::Email),
            ("EMAIL", IdentityKind::Email),
            ("url", IdentityKind::Url),
            ("telephone", IdentityKind::Telephone),
            ("id", IdentityKind::Other("id".into())),
        ];

        for (declared, kind) in cases {
            let value = json!({"type": declared, "identity": "x", "hashed": false});

            let read = identity_object(Some(&value), &mut Vec::new());

            assert_eq!(read.map(|r| r.kind), Ok(kind), "{declared}");
        }
    }

    #[test]
    fn malformed_identity_objects_are_refused_with_the_field_named() {
        let cases = [
            (json!("a@b.example"), "recipient"),
            (
                json!({"type": "email", "hashed": false}),
                "recipient.identity",
            ),
            (
                json!({"type": "email", "identity": "x", "hashed": 1}),
                "recipient.hashed",
            ),
        ];

        for (value, field) in cases {
            let read = identity_object(Some(&value), &mut Vec::new());

            let error = read.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(&format!("`{field}`")), "{value}: {error}");
        }
    }

    #[test]
    fn credential_subject_ids_keep_their_kind() {
        let cases = [
            (
                "mailto:recipient@example.org",
                IdentityKind::Email,
                "recipient@example.org",
            ),
            ("MAILTO:r@example.org", IdentityKind::Email, "r@example.org"),
            (
                "https://me.example/",
                IdentityKind::Url,
                "https://me.example/",
            ),
            ("tel:+15555550100", IdentityKind::Telephone, "+15555550100"),
            (
                "did:example:ebfeb1f712ebc6f1c276e12ec21",
                IdentityKind::Other("id".into()),
                "did:example:ebfeb1f712ebc6f1c276e12ec21",
            ),
        ];

        for (id, kind, identity) in cases {
            let read = subject_id(id);

            assert_eq!(
                (read.kind, read.identity.as_str()),
                (kind, identity),
                "{id}"
            );
        }
    }
}
