//! Open Badges 3.0: an OpenBadgeCredential / AchievementCredential on the VC 1.1 or 2.0 data
//! model, as JSON with embedded proofs or as a VC-JWT (notes §2.6, §3.5). The Achievement
//! becomes the badge class and the credential issuer its issuer.
//!
//! VC-JWT 1.1 lets the `vc` claim leave out what the registered claims carry (`iss`, `jti`,
//! `nbf`, `sub`); those gaps are filled from the claims, with a warning.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::dates::{read_date, DateRules};
use super::detect::OB3_TYPES;
use super::fields::{
    alignments, criteria, evidence, has_type, image, iri, linked_issuer, list, objects, opt_text,
    text, types, Object, Place,
};
use super::identity::{ob3_identity_object, subject_id};
use super::model::{
    BadgeClass, CredentialStatus, EmbeddedProof, Issuer, JwtClaims, Linked, Ob3Proof, ObVersion,
    OriginalBytes, ParsedBadge, VcDataModel, VcDetails, VcJwtForm, VerificationKind,
};
use super::{ParseError, Received};
use crate::domain::contexts::{canonical_context_url, OB_V3P0_CURRENT_URL};
use crate::domain::recipient::RecipientIdentity;

const RULES: DateRules = DateRules {
    legacy_forms_allowed: false,
};

/// How the credential arrived: as JSON, or inside a VC-JWT with its claims.
pub struct Envelope {
    pub jwt: Option<(JwtClaims, VcJwtForm)>,
}

/// Reads an OB 3.0 credential.
pub fn read(
    credential: &Object,
    data_model: VcDataModel,
    envelope: Envelope,
    received: Received,
    mut warnings: Vec<String>,
) -> Result<ParsedBadge, ParseError> {
    check_type(credential, &mut warnings)?;
    check_contexts(credential, data_model, envelope.jwt.as_ref(), &mut warnings);
    let claims = envelope.jwt.as_ref().map(|(claims, _)| claims);
    let top = Place {
        path: "",
        base: None,
    };
    let issuer = issuer(credential, claims, &mut warnings)?;
    let subject = subject(credential)?;
    let (recipient, other_identities) = recipients(subject, claims, &mut warnings)?;
    let dates = Dates::read(credential, claims, &mut warnings)?;
    let subject_place = Place {
        path: "credentialSubject",
        base: None,
    };

    Ok(ParsedBadge {
        version: ObVersion::V3_0,
        assertion_id: text(credential.get("id"))
            .or_else(|| claim_fallback(claims, "jti", &mut warnings)),
        recipient,
        other_identities,
        badge_class: achievement(credential, subject, issuer, &mut warnings)?,
        issued_on: dates.awarded.or(dates.valid_from),
        expires: dates.valid_until,
        image: image(subject, subject_place, &mut warnings),
        evidence: evidence(credential.get("evidence"), top, &mut warnings),
        narrative: text(subject.get("narrative")),
        verification: VerificationKind::Vc(VcDetails {
            data_model,
            proof: proof(credential, envelope, received.jws.clone()),
            valid_from: dates.valid_from,
            status: status(credential).map(Box::new),
        }),
        revoked: None,
        revocation_reason: None,
        original: OriginalBytes::new(received.original),
        warnings,
    })
}

fn check_type(credential: &Object, warnings: &mut Vec<String>) -> Result<(), ParseError> {
    let declared = types(credential);
    if !has_type(&declared, &OB3_TYPES) {
        let found = if declared.is_empty() {
            "no type".into()
        } else {
            declared.join(", ")
        };
        return Err(ParseError::WrongType {
            expected: "OpenBadgeCredential",
            found,
        });
    }
    if !has_type(&declared, &["VerifiableCredential"]) {
        warnings.push("`type` does not include VerifiableCredential".into());
    }
    Ok(())
}

/// Warnings the 1EdTech validator also gives: an older OB context, a VC 1.1 credential, and
/// a JWT whose claim form does not match its data model (notes §2.1 step 5).
fn check_contexts(
    credential: &Object,
    data_model: VcDataModel,
    jwt: Option<&(JwtClaims, VcJwtForm)>,
    warnings: &mut Vec<String>,
) {
    let contexts = list(credential.get("@context"));
    let names_current = contexts
        .iter()
        .any(|c| canonical_context_url(c) == Some(OB_V3P0_CURRENT_URL));
    if !names_current {
        warnings.push(format!(
            "the credential does not use the current OB context {OB_V3P0_CURRENT_URL}"
        ));
    }
    if data_model == VcDataModel::V1_1 {
        warnings.push("the credential uses the outdated VC 1.1 data model".into());
    }
    let expected_form = match data_model {
        VcDataModel::V1_1 => VcJwtForm::VcClaim,
        VcDataModel::V2_0 => VcJwtForm::Payload,
    };
    if jwt.is_some_and(|(_, form)| *form != expected_form) {
        warnings.push("the VC-JWT keeps the credential where its data model does not".into());
    }
}

fn issuer(
    credential: &Object,
    claims: Option<&JwtClaims>,
    warnings: &mut Vec<String>,
) -> Result<Linked<Issuer>, ParseError> {
    let place = Place {
        path: "issuer",
        base: None,
    };
    if credential.get("issuer").is_none() {
        if let Some(iss) = claim_fallback(claims, "iss", warnings) {
            return Ok(Linked::Url(iss));
        }
    }
    linked_issuer(credential.get("issuer"), place, warnings)
}

fn subject(credential: &Object) -> Result<&Object, ParseError> {
    let field = "credentialSubject";
    match credential.get(field) {
        Some(Value::Object(subject)) => Ok(subject),
        Some(Value::Array(items)) => items
            .iter()
            .find_map(Value::as_object)
            .ok_or_else(|| ParseError::bad_field(field, "expected an object")),
        None | Some(Value::Null) => Err(ParseError::missing(field)),
        Some(_) => Err(ParseError::bad_field(field, "expected an object")),
    }
}

/// `credentialSubject.id` and every `identifier` entry; at least one is required (OB 3.0
/// §9.1 step 1). The id comes first when present.
fn recipients(
    subject: &Object,
    claims: Option<&JwtClaims>,
    warnings: &mut Vec<String>,
) -> Result<(RecipientIdentity, Vec<RecipientIdentity>), ParseError> {
    let mut found: Vec<RecipientIdentity> = Vec::new();
    let id = text(subject.get("id"));
    let id = id.or_else(|| claims.and_then(|c| c.sub.clone()));
    found.extend(id.as_deref().map(subject_id));
    for entry in objects(subject.get("identifier")) {
        found.push(ob3_identity_object(entry, warnings)?);
    }
    if found.is_empty() {
        return Err(ParseError::missing("credentialSubject.id"));
    }
    let first = found.remove(0);
    Ok((first, found))
}

/// The Achievement as a badge class. Without one (seen in early drafts), the credential's
/// own `name`, `description` and `image` stand in, with a warning.
fn achievement(
    credential: &Object,
    subject: &Object,
    issuer: Linked<Issuer>,
    warnings: &mut Vec<String>,
) -> Result<Linked<BadgeClass>, ParseError> {
    let field = "credentialSubject.achievement";
    let (source, path) = match subject.get("achievement") {
        Some(Value::Object(achievement)) => (achievement, field),
        Some(Value::String(url)) => {
            warnings.push(format!("`{field}` is a URL, not an embedded Achievement"));
            return Ok(Linked::Url(url.clone()));
        }
        None | Some(Value::Null) => {
            warnings.push(format!(
                "`{field}` is missing; the credential's name is shown"
            ));
            (credential, "")
        }
        Some(_) => return Err(ParseError::bad_field(field, "expected an object")),
    };
    let place = Place { path, base: None };
    let name = opt_text(source, "name", place, warnings)
        .or_else(|| text(credential.get("name")))
        .ok_or_else(|| ParseError::missing(place.field("name")))?;
    let description = opt_text(source, "description", place, warnings);
    if description.is_none() {
        warnings.push(format!(
            "the badge has no description (`{}`)",
            place.field("description")
        ));
    }
    Ok(Linked::Embedded(BadgeClass {
        id: iri(source.get("id")),
        name,
        description,
        image: ob3_image(source, place, warnings),
        criteria: criteria(source, place, warnings),
        issuer,
        alignments: alignments(source.get("alignment")),
        tags: list(source.get("tag")),
    }))
}

/// OB 3.0 images are objects `{id, type: "Image"}`; a bare string is read with a warning.
fn ob3_image(obj: &Object, place: Place, warnings: &mut Vec<String>) -> Option<String> {
    if obj.get("image").is_some_and(Value::is_string) {
        warnings.push(format!(
            "`{}` is a bare string, not an Image object",
            place.field("image")
        ));
    }
    image(obj, place, warnings)
}

/// The dates of a credential, with VC 1.1 names as fallbacks.
struct Dates {
    awarded: Option<DateTime<Utc>>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

impl Dates {
    fn read(
        credential: &Object,
        claims: Option<&JwtClaims>,
        warnings: &mut Vec<String>,
    ) -> Result<Self, ParseError> {
        let mut date = |field: &str| read_date(credential.get(field), field, RULES, warnings);
        let awarded = date("awardedDate")?;
        let valid_from = date("validFrom")?.or(date("issuanceDate")?);
        let valid_until = date("validUntil")?.or(date("expirationDate")?);
        let valid_from = valid_from.or_else(|| from_claim(claims.and_then(|c| c.nbf), warnings));
        if valid_from.is_none() {
            warnings.push("the credential has no `validFrom` (or `issuanceDate`)".into());
        }
        Ok(Self {
            awarded,
            valid_from,
            valid_until,
        })
    }
}

fn from_claim(seconds: Option<i64>, warnings: &mut Vec<String>) -> Option<DateTime<Utc>> {
    let instant = DateTime::from_timestamp(seconds?, 0)?;
    warnings.push("`validFrom` was taken from the JWT `nbf` claim".into());
    Some(instant)
}

fn claim_fallback(
    claims: Option<&JwtClaims>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let claims = claims?;
    let value = match name {
        "iss" => claims.iss.clone(),
        "jti" => claims.jti.clone(),
        _ => None,
    }?;
    warnings.push(format!(
        "the credential leaves out a field; the JWT `{name}` claim was used"
    ));
    Some(value)
}

fn proof(credential: &Object, envelope: Envelope, jws: Option<String>) -> Ob3Proof {
    if let (Some(jws), Some((claims, form))) = (jws, envelope.jwt) {
        return Ob3Proof::VcJwt { jws, claims, form };
    }
    let proofs: Vec<EmbeddedProof> = objects(credential.get("proof"))
        .into_iter()
        .map(|p| EmbeddedProof {
            proof_type: text(p.get("type")),
            cryptosuite: text(p.get("cryptosuite")),
            verification_method: iri(p.get("verificationMethod")),
        })
        .collect();
    if proofs.is_empty() {
        Ob3Proof::None
    } else {
        Ob3Proof::Embedded { proofs }
    }
}

/// The credential's status entry: the first one for revocation, else the first one.
fn status(credential: &Object) -> Option<CredentialStatus> {
    let entries = objects(credential.get("credentialStatus"));
    let entry = entries
        .iter()
        .find(|e| text(e.get("statusPurpose")).as_deref() == Some("revocation"))
        .or(entries.first())?;
    let index = entry.get("statusListIndex").and_then(|v| match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_u64(),
    });
    Some(CredentialStatus {
        id: text(entry.get("id")),
        status_type: text(entry.get("type")),
        purpose: text(entry.get("statusPurpose")),
        list_index: index,
        list_credential: iri(entry.get("statusListCredential")),
    })
}

/// The registered claims of a VC-JWT payload (OB 3.0 §8.2, RFC 7519 §4.1).
pub fn jwt_claims(payload: &Object) -> JwtClaims {
    let number = |name: &str| payload.get(name).and_then(Value::as_i64);
    JwtClaims {
        iss: text(payload.get("iss")),
        sub: text(payload.get("sub")),
        jti: text(payload.get("jti")),
        nbf: number("nbf"),
        exp: number("exp"),
        iat: number("iat"),
    }
}
