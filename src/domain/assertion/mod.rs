//! Reading an Open Badges award of any version (0.5, 1.0, 1.1, 2.0, 3.0) into one model,
//! [`ParsedBadge`], keeping the exact input alongside.
//!
//! Input is the text unbaked from an image, fetched from a URL or uploaded: a JSON object or a
//! compact JWS / VC-JWT. The version is decided from `@context`, then from shape (notes §2.1);
//! linked BadgeClass and Issuer documents, fetched later by the caller, are read with
//! [`parse_badge_class`] and [`parse_issuer`]. Nothing is verified here: signatures, dates,
//! revocation and recipient matching belong to the verifier and `domain::recipient`.
//!
//! Pure: depends on serde_json, chrono, url, base64 and [`crate::domain::contexts`] only; no
//! network, no database, no web framework.
//!
//! Terms are read by their compact names as the specifications print them.
//! TODO: no JSON-LD expansion/compaction (which OB 2.0 asks consumers to do), because it
//! needs a JSON-LD processor; documents using other prefixes or aliased terms lose those fields.
//! TODO: endorsements (2.0 `endorsement`, 3.0 `endorsement`/`endorsementJwt`) are not read,
//! because nothing in Satchel shows them yet; they stay in [`ParsedBadge::original`].
//!
//! Layout: `input` (BOM, depth limit, JWS decoding), `detect` (version), `legacy` (0.5),
//! `obi` (1.0–2.0), `ob3` (3.0), with `fields`, `identity` and `dates` shared by them.

mod dates;
mod detect;
mod error;
mod fields;
mod identity;
mod input;
mod legacy;
mod model;
mod ob3;
mod obi;

#[cfg(test)]
mod tests;

use serde_json::Value;
use url::Url;

use detect::Family;
use fields::{has_type, issuer_object, types, Object, Place};
use input::Input;

pub use error::ParseError;
pub use input::MAX_JSON_DEPTH;
pub use model::{
    Alignment, BadgeClass, CredentialStatus, Criteria, EmbeddedProof, Evidence, Issuer, JwtClaims,
    Linked, Ob3Proof, ObVersion, OriginalBytes, ParsedBadge, ParsedDocument, VcDataModel,
    VcDetails, VcJwtForm, VerificationKind, VerificationPolicy,
};

/// What came in, passed to each version's reader.
pub(crate) struct Received<'a> {
    /// The exact text received.
    original: &'a str,
    /// The compact JWS, whitespace removed, when the input was one.
    jws: Option<String>,
}

/// Reads an award of any Open Badges version (OB 2.0 Assertion, OB 3.0
/// AchievementCredential, and their predecessors) from a JSON object or a compact JWS.
///
/// The signature of a JWS is not checked here. Everything read leniently is listed in
/// [`ParsedBadge::warnings`].
pub fn parse_badge(payload: &str) -> Result<ParsedBadge, ParseError> {
    let mut warnings = Vec::new();
    let (object, jws) = match input::read_input(payload, &mut warnings)? {
        Input::Json(object) => (object, None),
        Input::Jws { compact, payload } => (payload, Some(compact)),
    };
    let received = Received {
        original: payload,
        jws,
    };
    if received.jws.is_some() {
        if let Some(Value::Object(credential)) = object.get("vc") {
            let claims = ob3::jwt_claims(&object);
            return read_credential(credential, (claims, VcJwtForm::VcClaim), received, warnings);
        }
    }
    match detect::detect(&object)? {
        Family::Legacy => legacy::read(&object, received, warnings),
        Family::Assertion(version) => obi::read(&object, version, received, warnings),
        Family::Credential(data_model) => {
            let jwt = received
                .jws
                .is_some()
                .then(|| (ob3::jwt_claims(&object), VcJwtForm::Payload));
            let envelope = ob3::Envelope { jwt };
            ob3::read(&object, data_model, envelope, received, warnings)
        }
    }
}

/// A credential found in the `vc` claim of a VC-JWT (VC-DM 1.1 form, notes §3.5).
fn read_credential(
    credential: &Object,
    jwt: (JwtClaims, VcJwtForm),
    received: Received,
    warnings: Vec<String>,
) -> Result<ParsedBadge, ParseError> {
    let Family::Credential(data_model) = detect::detect(credential)? else {
        let reason = "the `vc` claim does not hold a Verifiable Credential";
        return Err(ParseError::BadContext {
            reason: reason.into(),
        });
    };
    let envelope = ob3::Envelope { jwt: Some(jwt) };
    ob3::read(credential, data_model, envelope, received, warnings)
}

/// Reads a BadgeClass document fetched on its own (1.0, 1.1 or 2.0; OB 2.0 `#BadgeClass`).
///
/// `base` is the URL it was fetched from: it becomes the `id` of a 1.0 BadgeClass (which has
/// none) and the base for relative URLs.
pub fn parse_badge_class(
    json: &str,
    base: Option<&Url>,
) -> Result<ParsedDocument<BadgeClass>, ParseError> {
    let object = input::parse_object(input::strip_bom(json).trim())?;
    let mut warnings = Vec::new();
    let place = Place { path: "", base };
    let value = obi::embedded_badge_class(&object, place, &mut warnings)?;
    Ok(ParsedDocument { value, warnings })
}

/// Reads an issuer document fetched on its own: 1.0 IssuerOrganization, 1.1 Issuer, 2.0
/// Profile (OB 2.0 `#Profile`). `base` is the URL it was fetched from.
pub fn parse_issuer(json: &str, base: Option<&Url>) -> Result<ParsedDocument<Issuer>, ParseError> {
    let object = input::parse_object(input::strip_bom(json).trim())?;
    let declared = types(&object);
    if !declared.is_empty() && !has_type(&declared, &["Issuer", "Profile", "IssuerOrg"]) {
        return Err(ParseError::WrongType {
            expected: "Issuer",
            found: declared.join(", "),
        });
    }
    let mut warnings = Vec::new();
    let value = issuer_object(&object, Place { path: "", base }, &mut warnings);
    Ok(ParsedDocument { value, warnings })
}
