//! Compact JWS signatures: checking that a signed Open Badge (1.x, 2.0 `SignedBadge`) or an
//! OB 3.0 VC-JWT was signed by one of the issuer's public keys.
//!
//! This module owns splitting a compact JWS, the algorithm policy (field report 17), reading a
//! public key from PEM or JWK, and the signature check itself, always over the exact
//! `header.payload` text received (field report 19). The cryptography is `jsonwebtoken`'s.
//! Finding and trusting the keys (field report 18), claim checks and revocation belong to the
//! callers. It must not depend on actix, diesel, the network or any other Satchel module.
//!
//! Policy, in one place:
//! - accepted: RS256/384/512, PS256/384/512, ES256, ES384 and EdDSA (also spelled `Ed25519`,
//!   RFC 9864). PS* are accepted because any third party can check them with the same RSA key
//!   as RS*; nothing in the Open Badges specifications forbids them.
//! - refused with their own codes: `none` and HS* (no third party can check them), an
//!   algorithm name in the wrong letter case, and anything else.
//! - tolerated with a warning: `=` padding on a part, and a DER-encoded ECDSA signature
//!   (RFC 7518 §3.4 asks for raw `R||S`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde_json::{Map, Value};

/// The algorithm names Satchel checks, exactly as RFC 7518 §3.1 (and RFC 9864) spell them.
const ACCEPTED: [(&str, Algorithm); 10] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
    ("Ed25519", Algorithm::EdDSA),
];

const HMAC_NAMES: [&str; 3] = ["HS256", "HS384", "HS512"];

const PADDING_WARNING: &str = "the signed badge has '=' padding on a base64url part, which \
     RFC 7515 forbids; it was read anyway, but other verifiers may refuse it";

const DER_WARNING: &str = "the ECDSA signature is DER-encoded, but RFC 7518 §3.4 asks for \
     the raw R||S form; it was converted and checked, but other verifiers may refuse it";

/// Why a signed badge could not be checked or did not verify. Each variant names the step that
/// failed and has a stable [`code`].
///
/// [`code`]: JwsError::code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the signed badge is not a compact JWS (three base64url parts joined by dots): {0}")]
    Malformed(String),
    #[error("the signed badge's JWS header is unusable: {0}")]
    BadHeader(String),
    #[error(
        "the signed badge declares the algorithm \"none\": it carries no signature, so nobody \
         can check who issued it"
    )]
    AlgNone,
    #[error(
        "the signed badge uses {alg}, a shared-secret (HMAC) algorithm: only the issuer holds \
         the secret, so no third party such as Satchel can check the signature"
    )]
    AlgHmac { alg: String },
    #[error(
        "the signed badge names its algorithm \"{found}\", but algorithm names are \
         case-sensitive (RFC 7518 §3.1): the issuer must write \"{expected}\""
    )]
    AlgCase {
        found: String,
        expected: &'static str,
    },
    #[error(
        "the signed badge uses the algorithm \"{0}\", which Satchel does not check (accepted: \
         RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
    )]
    AlgUnsupported(String),
    #[error("the issuer's public key cannot be used: {0}")]
    KeyUnusable(String),
    #[error("no issuer key fits the signature: {alg} needs {needed}, but the issuer gave {found}")]
    KeyAlgMismatch {
        alg: String,
        needed: &'static str,
        found: String,
    },
    #[error("no public key was given to check the signature with")]
    NoKey,
    #[error(
        "the signature does not match ({tried} key(s) tried): the badge was changed after it \
         was signed, or it was signed with a key the issuer does not publish"
    )]
    SignatureInvalid { tried: usize },
    #[error("the signed badge's content (JWS payload) is not a JSON object: {0}")]
    PayloadNotJson(String),
    #[error("this build of Satchel has no signature backend configured")]
    NoBackend,
}

impl JwsError {
    /// A stable snake_case code for the HTTP layer and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            JwsError::Malformed(_) => "jws_malformed",
            JwsError::BadHeader(_) => "jws_bad_header",
            JwsError::AlgNone => "jws_alg_none",
            JwsError::AlgHmac { .. } => "jws_alg_hmac",
            JwsError::AlgCase { .. } => "jws_alg_case",
            JwsError::AlgUnsupported(_) => "jws_alg_unsupported",
            JwsError::KeyUnusable(_) => "jws_key_unusable",
            JwsError::KeyAlgMismatch { .. } => "jws_key_alg_mismatch",
            JwsError::NoKey => "jws_no_key",
            JwsError::SignatureInvalid { .. } => "jws_signature_invalid",
            JwsError::PayloadNotJson(_) => "jws_payload_not_json",
            JwsError::NoBackend => "jws_no_backend",
        }
    }
}

/// The JOSE header of a compact JWS (RFC 7515 §4; OB 3.0 §8.2 `#jwt-proof` for VC-JWT).
#[derive(Debug, Clone, PartialEq)]
pub struct JwsHeader {
    /// The `alg` member exactly as written; judged by [`JwsHeader::algorithm`].
    pub alg: String,
    /// `kid`: for VC-JWT, a URI that dereferences to the signer's JWK.
    pub kid: Option<String>,
    /// `jwk`: the signer's public key inline. Never trust it on its own: it proves only that
    /// the token is self-consistent, not who made it.
    pub jwk: Option<Value>,
    /// `typ`, if present (usually `JWT`).
    pub typ: Option<String>,
    /// The whole header object, for checks made elsewhere (OB 3.0 allows no other members).
    pub members: Map<String, Value>,
}

impl JwsHeader {
    /// The algorithm, if Satchel's policy accepts it (field report 17; OB 2.0 `#SignedBadge`
    /// refuses `none` and HS*).
    pub fn algorithm(&self) -> Result<Algorithm, JwsError> {
        accepted_algorithm(&self.alg)
    }
}

/// A compact JWS split into its parts, with the header and payload decoded but the signature
/// not yet checked (RFC 7515 §7.1).
#[derive(Debug, Clone, PartialEq)]
pub struct CompactJws<'a> {
    pub header: JwsHeader,
    /// The payload bytes exactly as signed: keep them, never re-serialise (field report 19).
    pub payload: Vec<u8>,
    /// The payload parsed: the assertion (OB 2.0) or the JWT claims set (OB 3.0 VC-JWT).
    pub payload_json: Map<String, Value>,
    /// Things worth telling the user that did not stop the parse (padding).
    pub warnings: Vec<String>,
    /// `header.payload` as received: the bytes the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// A key type, as far as the signature algorithms care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyKind {
    fn describe(self) -> &'static str {
        match self {
            KeyKind::Rsa => "an RSA key",
            KeyKind::EcP256 => "an EC P-256 key",
            KeyKind::EcP384 => "an EC P-384 key",
            KeyKind::Ed25519 => "an Ed25519 key",
        }
    }

    fn fits(self, algorithm: Algorithm) -> bool {
        key_needed(algorithm) == Some(self)
    }

    /// An algorithm this key can check, used to try the key out when it is read.
    fn probe_algorithm(self) -> Algorithm {
        match self {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::EcP256 => Algorithm::ES256,
            KeyKind::EcP384 => Algorithm::ES384,
            KeyKind::Ed25519 => Algorithm::EdDSA,
        }
    }
}

/// A public key that can check signatures: read from an OB 2.0 `CryptographicKey`'s
/// `publicKeyPem` (OB 2.0 `#SignedBadge`) or from a JWK (OB 3.0 §8.2, RFC 7517).
#[derive(Debug, Clone)]
pub struct PublicKey {
    kind: KeyKind,
    key: DecodingKey,
    /// A JWK's `alg` member: when present the key may check only that algorithm.
    declared_alg: Option<String>,
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SPKI: RSA, EC P-256/P-384, Ed25519) or `RSA PUBLIC KEY`.
    /// Private keys and certificates are refused.
    pub fn from_pem(pem: &str) -> Result<Self, JwsError> {
        let pem = pem.trim();
        check_pem_label(pem)?;
        let (kind, key) = decode_pem(pem.as_bytes())?;
        PublicKey::checked(kind, key, None)
    }

    /// Reads a public JWK (RSA, EC P-256/P-384 or OKP Ed25519). A JWK holding private
    /// members (`d`) or a shared secret (`kty` `oct`) is refused (OB 3.0 §8.2 `#jwt-proof`),
    /// as is one whose `use` or `key_ops` rule out verifying.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwsError> {
        let members = jwk
            .as_object()
            .ok_or_else(|| unusable("the JWK is not a JSON object"))?;
        check_jwk_members(members)?;
        let parsed: Jwk = serde_json::from_value(jwk.clone())
            .map_err(|err| unusable(format!("the JWK is not valid: {err}")))?;
        let kind = jwk_kind(&parsed)?;
        let key = DecodingKey::from_jwk(&parsed)
            .map_err(|err| unusable(format!("the JWK's numbers do not decode: {err}")))?;
        let declared_alg = members
            .get("alg")
            .and_then(Value::as_str)
            .map(str::to_owned);
        PublicKey::checked(kind, key, declared_alg)
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    fn checked(
        kind: KeyKind,
        key: DecodingKey,
        declared_alg: Option<String>,
    ) -> Result<Self, JwsError> {
        check_key_material(kind, &key)?;
        Ok(PublicKey {
            kind,
            key,
            declared_alg,
        })
    }

    fn fits(&self, algorithm: Algorithm, alg_name: &str) -> bool {
        let declared_ok = self
            .declared_alg
            .as_deref()
            .is_none_or(|alg| alg == alg_name);
        self.kind.fits(algorithm) && declared_ok
    }
}

/// Which key verified a signature, and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWith {
    /// Index, in the slice given to [`verify_with_keys`], of the key that verified.
    pub key_index: usize,
    pub algorithm: Algorithm,
    /// Tolerated deviations from RFC 7515/7518 (padding, DER-encoded ECDSA signature).
    pub warnings: Vec<String>,
}

/// Splits a compact JWS (RFC 7515 §7.1) and decodes its header and payload; OB 2.0
/// `#SignedBadge` step 1. Surrounding whitespace is trimmed and trailing `=` on a part is
/// tolerated (field report 17). The algorithm is judged later, by [`verify_with_keys`] or
/// [`JwsHeader::algorithm`], so that even a refused token can be shown.
pub fn parse_compact(token: &str) -> Result<CompactJws<'_>, JwsError> {
    let token = token.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let [header_b64, payload_b64, signature_b64] = split_parts(token)?;

    let mut padded = false;
    let header_bytes = decode_part("header", header_b64, &mut padded)?;
    let payload = decode_part("payload", payload_b64, &mut padded)?;
    let signature = decode_part("signature", signature_b64, &mut padded)?;

    let header = parse_header(&header_bytes)?;
    let payload_json = parse_payload(&payload)?;
    let warnings = if padded {
        vec![PADDING_WARNING.to_owned()]
    } else {
        Vec::new()
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(CompactJws {
        header,
        payload,
        payload_json,
        warnings,
        signing_input,
        signature,
    })
}

/// Checks the signature with each candidate key in turn until one verifies (OB 2.0
/// `#SignedBadge` step 5, field report 18); OB 3.0 §8.2 `#jwt-verify` step 3. Only keys whose
/// type fits the algorithm are tried. Choosing which keys to trust is the caller's job.
pub fn verify_with_keys(jws: &CompactJws, keys: &[PublicKey]) -> Result<VerifiedWith, JwsError> {
    let algorithm = jws.header.algorithm()?;
    if keys.is_empty() {
        return Err(JwsError::NoKey);
    }
    let mut tried = 0;
    for (key_index, key) in keys.iter().enumerate() {
        if !key.fits(algorithm, &jws.header.alg) {
            continue;
        }
        tried += 1;
        if let Some(signature_warnings) = check_with_key(jws, key, algorithm)? {
            let mut warnings = jws.warnings.clone();
            warnings.extend(signature_warnings);
            return Ok(VerifiedWith {
                key_index,
                algorithm,
                warnings,
            });
        }
    }
    if tried == 0 {
        return Err(mismatch(&jws.header.alg, algorithm, keys));
    }
    Err(JwsError::SignatureInvalid { tried })
}

// ---------------------------------------------------------------------------------------------
// Algorithm policy

fn accepted_algorithm(name: &str) -> Result<Algorithm, JwsError> {
    let same_letters = |known: &&str| known.eq_ignore_ascii_case(name);
    if let Some((_, algorithm)) = ACCEPTED.iter().find(|(known, _)| *known == name) {
        return Ok(*algorithm);
    }
    if same_letters(&"none") {
        return Err(JwsError::AlgNone);
    }
    if HMAC_NAMES.iter().any(same_letters) {
        let alg = name.to_owned();
        return Err(JwsError::AlgHmac { alg });
    }
    match ACCEPTED.iter().find(|(known, _)| same_letters(known)) {
        Some((expected, _)) => Err(JwsError::AlgCase {
            found: name.to_owned(),
            expected,
        }),
        None => Err(JwsError::AlgUnsupported(name.to_owned())),
    }
}

fn key_needed(algorithm: Algorithm) -> Option<KeyKind> {
    match algorithm {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Some(KeyKind::Rsa),
        Algorithm::ES256 => Some(KeyKind::EcP256),
        Algorithm::ES384 => Some(KeyKind::EcP384),
        Algorithm::EdDSA => Some(KeyKind::Ed25519),
        _ => None,
    }
}

fn mismatch(alg_name: &str, algorithm: Algorithm, keys: &[PublicKey]) -> JwsError {
    let mut found: Vec<String> = Vec::new();
    for key in keys {
        let described = match &key.declared_alg {
            Some(declared) => format!("{} limited to {declared}", key.kind.describe()),
            None => key.kind.describe().to_owned(),
        };
        if !found.contains(&described) {
            found.push(described);
        }
    }
    JwsError::KeyAlgMismatch {
        alg: alg_name.to_owned(),
        needed: key_needed(algorithm).map_or("a key type Satchel does not read", KeyKind::describe),
        found: found.join(", "),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn split_parts(token: &str) -> Result<[&str; 3], JwsError> {
    if token.is_empty() {
        return Err(JwsError::Malformed("it is empty".to_owned()));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.as_slice() {
        [header, payload, signature] => Ok([header, payload, signature]),
        [_, _, _, _, _] => Err(JwsError::Malformed(
            "it has five parts: an encrypted JWE, not a signed JWS".to_owned(),
        )),
        _ => Err(JwsError::Malformed(format!(
            "it has {} part(s) where three are expected",
            parts.len()
        ))),
    }
}

/// Decodes one base64url part, tolerating up to two trailing `=` (and noting them).
fn decode_part(name: &str, text: &str, padded: &mut bool) -> Result<Vec<u8>, JwsError> {
    let unpadded = text.trim_end_matches('=');
    let padding = text.len() - unpadded.len();
    if padding > 2 {
        return Err(JwsError::Malformed(format!(
            "the {name} part ends in too many '='"
        )));
    }
    *padded |= padding > 0;
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .map_err(|err| JwsError::Malformed(format!("the {name} part is not base64url: {err}")))
}

fn parse_header(bytes: &[u8]) -> Result<JwsHeader, JwsError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| JwsError::BadHeader(format!("it is not JSON: {err}")))?;
    let Value::Object(members) = value else {
        return Err(JwsError::BadHeader("it is not a JSON object".to_owned()));
    };
    if members.contains_key("crit") {
        return Err(JwsError::BadHeader(
            "it lists critical extensions (\"crit\") that Satchel does not implement".to_owned(),
        ));
    }
    let alg = match members.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        Some(_) => return Err(JwsError::BadHeader("\"alg\" is not a string".to_owned())),
        None => return Err(JwsError::BadHeader("it has no \"alg\" member".to_owned())),
    };
    Ok(JwsHeader {
        alg,
        kid: optional_string(&members, "kid")?,
        jwk: optional_object(&members, "jwk")?,
        typ: optional_string(&members, "typ")?,
        members,
    })
}

fn optional_string(members: &Map<String, Value>, name: &str) -> Result<Option<String>, JwsError> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(JwsError::BadHeader(format!("\"{name}\" is not a string"))),
    }
}

fn optional_object(members: &Map<String, Value>, name: &str) -> Result<Option<Value>, JwsError> {
    match members.get(name) {
        None => Ok(None),
        Some(object @ Value::Object(_)) => Ok(Some(object.clone())),
        Some(_) => Err(JwsError::BadHeader(format!(
            "\"{name}\" is not a JSON object"
        ))),
    }
}

fn parse_payload(bytes: &[u8]) -> Result<Map<String, Value>, JwsError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(members)) => Ok(members),
        Ok(_) => Err(JwsError::PayloadNotJson(
            "it is JSON, but not an object".to_owned(),
        )),
        Err(err) => Err(JwsError::PayloadNotJson(err.to_string())),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

fn unusable(reason: impl Into<String>) -> JwsError {
    JwsError::KeyUnusable(reason.into())
}

fn check_pem_label(pem: &str) -> Result<(), JwsError> {
    let label = pem
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label)
        .ok_or_else(|| unusable("it is not a PEM document (no \"-----BEGIN\" line)"))?;
    match label {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Ok(()),
        _ if label.contains("PRIVATE") => Err(unusable(
            "the issuer published a PRIVATE key: anyone can sign in its name, so it proves nothing",
        )),
        // TODO: read the key out of an X.509 certificate, because some issuers may publish one;
        // none of the fixtures or field reports does.
        _ => Err(unusable(format!(
            "a PEM \"{label}\" is not read; a \"PUBLIC KEY\" is expected"
        ))),
    }
}

fn decode_pem(pem: &[u8]) -> Result<(KeyKind, DecodingKey), JwsError> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((KeyKind::Rsa, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Ok((ec_kind_from_point(&key)?, key));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Ok((KeyKind::Ed25519, key));
    }
    Err(unusable(
        "the PEM is not an RSA, EC P-256/P-384 or Ed25519 public key Satchel can read",
    ))
}

/// Tells P-256 from P-384 by the length of the SEC1 point (uncompressed or compressed).
fn ec_kind_from_point(key: &DecodingKey) -> Result<KeyKind, JwsError> {
    match key_bytes(key).map(<[u8]>::len) {
        Some(65 | 33) => Ok(KeyKind::EcP256),
        Some(97 | 49) => Ok(KeyKind::EcP384),
        _ => Err(unusable(
            "the EC key is on a curve other than P-256 or P-384",
        )),
    }
}

fn key_bytes(key: &DecodingKey) -> Option<&[u8]> {
    match key.kind() {
        DecodingKeyKind::SecretOrDer(bytes) => Some(bytes),
        DecodingKeyKind::RsaModulusExponent { .. } => None,
    }
}

fn check_jwk_members(members: &Map<String, Value>) -> Result<(), JwsError> {
    if members.contains_key("d") {
        return Err(unusable(
            "the JWK contains its private part (\"d\"), which a published key must never do",
        ));
    }
    if members.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(unusable(
            "the JWK is a shared secret (\"oct\"), not a public key",
        ));
    }
    if let Some(usage) = members.get("use") {
        if usage.as_str() != Some("sig") {
            return Err(unusable(
                "the JWK's \"use\" is not \"sig\": it is not for signatures",
            ));
        }
    }
    if let Some(operations) = members.get("key_ops") {
        let verifies = operations
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(unusable("the JWK's \"key_ops\" do not include \"verify\""));
        }
    }
    Ok(())
}

fn jwk_kind(jwk: &Jwk) -> Result<KeyKind, JwsError> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Ok(KeyKind::Rsa),
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => Ok(KeyKind::EcP256),
            EllipticCurve::P384 => Ok(KeyKind::EcP384),
            _ => Err(unusable(
                "the JWK is an EC key on a curve other than P-256 or P-384",
            )),
        },
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            Ok(KeyKind::Ed25519)
        }
        _ => Err(unusable(
            "the JWK is not an RSA, EC P-256/P-384 or Ed25519 public key",
        )),
    }
}

/// Checks the numbers of a key before any signature meets it, so that a broken key is reported
/// as such rather than as a bad signature.
fn check_key_material(kind: KeyKind, key: &DecodingKey) -> Result<(), JwsError> {
    match kind {
        KeyKind::Rsa => check_rsa_numbers(key)?,
        KeyKind::EcP256 => check_point_length(key, &[65, 33], "P-256")?,
        KeyKind::EcP384 => check_point_length(key, &[97, 49], "P-384")?,
        // The backend slices the first 32 bytes without checking, so this must come first.
        KeyKind::Ed25519 => check_point_length(key, &[32], "Ed25519")?,
    }
    let backend = CryptoProvider::try_get_default().ok_or(JwsError::NoBackend)?;
    (backend.verifier_factory)(&kind.probe_algorithm(), key)
        .map(drop)
        .map_err(|err| unusable(format!("{} was refused: {err}", kind.describe())))
}

fn check_point_length(key: &DecodingKey, lengths: &[usize], curve: &str) -> Result<(), JwsError> {
    match key_bytes(key) {
        Some(bytes) if lengths.contains(&bytes.len()) => Ok(()),
        _ => Err(unusable(format!(
            "the {curve} public key has the wrong length"
        ))),
    }
}

/// RustCrypto checks RSA keys only when verifying; these are its limits (1024 to 8192 bits,
/// an exponent from 3 to 2^33 - 1), checked here so that the error names the key.
fn check_rsa_numbers(key: &DecodingKey) -> Result<(), JwsError> {
    let (modulus, exponent) = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => (n.as_slice(), e.as_slice()),
        DecodingKeyKind::SecretOrDer(der) => der_integer_pair(der)
            .ok_or_else(|| unusable("the RSA public key is not a valid PKCS#1 structure"))?,
    };
    let bits = bit_length(modulus);
    if !(1024..=8192).contains(&bits) {
        return Err(unusable(format!(
            "the RSA key is {bits} bits long; 1024 to 8192 bits are accepted"
        )));
    }
    let exponent = strip_leading_zeros(exponent);
    let small_enough = exponent.len() < 5 || (exponent.len() == 5 && exponent[0] < 2);
    let odd = exponent.last().is_some_and(|last| last & 1 == 1);
    if !small_enough || !odd || exponent == [1] {
        return Err(unusable("the RSA key's public exponent is not usable"));
    }
    Ok(())
}

fn bit_length(big_endian: &[u8]) -> usize {
    match strip_leading_zeros(big_endian) {
        [] => 0,
        [first, rest @ ..] => rest.len() * 8 + (8 - first.leading_zeros() as usize),
    }
}

// ---------------------------------------------------------------------------------------------
// Signature

/// `Ok(Some(warnings))` if `key` verifies the signature, `Ok(None)` if it does not.
fn check_with_key(
    jws: &CompactJws,
    key: &PublicKey,
    algorithm: Algorithm,
) -> Result<Option<Vec<String>>, JwsError> {
    CryptoProvider::try_get_default().ok_or(JwsError::NoBackend)?;
    for (signature, warning) in signature_forms(&jws.signature, algorithm) {
        let signature_b64 = URL_SAFE_NO_PAD.encode(&signature);
        let message = jws.signing_input.as_bytes();
        // An error here means the backend refused the key for this algorithm, which the type
        // and material checks already rule out; it counts as "does not verify".
        if jsonwebtoken::crypto::verify(&signature_b64, message, &key.key, algorithm)
            .unwrap_or(false)
        {
            return Ok(Some(warning.map(str::to_owned).into_iter().collect()));
        }
    }
    Ok(None)
}

/// The signature as received, and for ECDSA its raw `R||S` form if it arrived DER-encoded.
fn signature_forms(signature: &[u8], algorithm: Algorithm) -> Vec<(Vec<u8>, Option<&str>)> {
    let half = match algorithm {
        Algorithm::ES256 => 32,
        Algorithm::ES384 => 48,
        _ => return vec![(signature.to_vec(), None)],
    };
    let mut forms = Vec::with_capacity(2);
    if signature.len() == 2 * half {
        forms.push((signature.to_vec(), None));
    }
    if let Some(raw) = der_ecdsa_to_raw(signature, half) {
        forms.push((raw, Some(DER_WARNING)));
    }
    forms
}

/// Converts a DER `ECDSA-Sig-Value` (SEQUENCE of INTEGER r, INTEGER s; RFC 3279 §2.2.3) into
/// the fixed-width `R||S` of RFC 7518 §3.4, each half `half` bytes. `None` if it is not one.
fn der_ecdsa_to_raw(der: &[u8], half: usize) -> Option<Vec<u8>> {
    let (r, s) = der_integer_pair(der)?;
    let mut raw = left_pad(r, half)?;
    raw.extend(left_pad(s, half)?);
    Some(raw)
}

/// Reads `SEQUENCE { INTEGER, INTEGER }` filling all of `der`; both must be non-negative.
fn der_integer_pair(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (body, rest) = der_element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (first, body) = der_element(body, 0x02)?;
    let (second, body) = der_element(body, 0x02)?;
    let non_negative = |value: &[u8]| value.first().is_some_and(|byte| byte & 0x80 == 0);
    (body.is_empty() && non_negative(first) && non_negative(second)).then_some((first, second))
}

/// Splits one DER element with tag `tag` off the front of `bytes`: (contents, what follows).
/// Lengths up to 65 535 bytes (short form, or long form with one or two bytes).
fn der_element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = bytes.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81 => {
            let (&length, rest) = rest.split_first()?;
            (usize::from(length), rest)
        }
        0x82 => {
            let (length, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*length)), rest)
        }
        _ => return None,
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&byte| byte != 0)
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn left_pad(value: &[u8], width: usize) -> Option<Vec<u8>> {
    let value = strip_leading_zeros(value);
    let padding = width.checked_sub(value.len())?;
    let mut out = vec![0; padding];
    out.extend_from_slice(value);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::unbake::unbake_any;
    use base64::engine::general_purpose::URL_SAFE;
    use jsonwebtoken::EncodingKey;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::Path;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");
    const RSA_PRIVATE: &str = "ob-scenarios/_keys/test-rsa-private.pem";
    const RSA_PUBLIC: &str = "ob-scenarios/_keys/test-rsa-public.pem";
    const OB3_RSA_PUBLIC: &str = "ob3-openbadgeslib/_keys/rsa-public.pem";
    const OTHER_RSA_PUBLIC: &str = "ob3-openbadgeslib/_keys/rsa-other-public.pem";
    const EC_PRIVATE: &str = "ob3-openbadgeslib/_keys/ec-p256-private.pem";
    const EC_PUBLIC: &str = "ob3-openbadgeslib/_keys/ec-p256-public.pem";

    /// Throwaway keys made with `openssl genpkey` for these tests only.
    const ED25519_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEvBi0kSlAP1TxhSofuNY6qW1vWu9uwqDkwXUNTwnxHO
-----END PRIVATE KEY-----";
    const ED25519_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEARrbq1Wp24iiwvuROg4v75jsbgZcZdQj1XVHSEWxuuCo=
-----END PUBLIC KEY-----";
    const P384_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDtg6YYOOQqCwAyt1ob
/exdPbQtIUKWh6rrXZTHpXmr0TO2x8AJP9acZ1QAgLkep02hZANiAASKmuocqM65
ZVPD88fUFZh77cD842bM1N/CyBYVUd/DuVEs05dtwSjVNNxyzIA7QsPIuYTtjJdR
H1c5bWKO45dRB0yCpD1r4R//Gltp90OsLfnctRKPOH6LnJb9qpOGgvY=
-----END PRIVATE KEY-----";
    const P384_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEiprqHKjOuWVTw/PH1BWYe+3A/ONmzNTf
wsgWFVHfw7lRLNOXbcEo1TTccsyAO0LDyLmE7YyXUR9XOW1ijuOXUQdMgqQ9a+Ef
/xpbafdDrC353LUSjzh+i5yW/aqThoL2
-----END PUBLIC KEY-----";

    /// ES256 tokens signed with `EC_PRIVATE` by `openssl dgst -sha256 -sign`, which writes DER
    /// signatures: one whose integers both need a leading 0x00, one with a 31-byte `s`.
    const OPENSSL_DER_TOKENS: [&str; 2] = [
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXBlIjoiQXNzZXJ0aW9uIiwibm90ZSI6InNpZ25lZC\
         BieSBvcGVuc3NsIGRnc3QsIERFUiBzaWduYXR1cmUifQ.MEYCIQDUZvBx51h77KOZNLNhI7XWPSX7gzfQ9sbEQn\
         ewF5YnfQIhANawzLJyusb4MhOikcXq8KW3fySkqclVZ6ep9E28IjS9",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXBlIjoiQXNzZXJ0aW9uIiwibm90ZSI6InNpZ25lZC\
         BieSBvcGVuc3NsIGRnc3QsIERFUiBzaWduYXR1cmUifQ.MEMCIHC8b0J1slp8EknhMODXwEXZsc3HI76TeO9BFt\
         Lro6UvAh8jHNBwmwcDMDxYUtwnwTShajHLGR02aNsNll-OQUjV",
    ];

    const ASSERTION: &str = r#"{"type":"Assertion","id":"urn:uuid:1","badge":"b"}"#;

    fn fixture(path: &str) -> Vec<u8> {
        let full = Path::new(FIXTURES).join(path);
        std::fs::read(&full).unwrap_or_else(|err| panic!("cannot read {}: {err}", full.display()))
    }

    fn fixture_text(path: &str) -> String {
        String::from_utf8(fixture(path)).expect("fixture is UTF-8")
    }

    fn pem_key(path: &str) -> PublicKey {
        PublicKey::from_pem(&fixture_text(path)).expect("fixture key reads")
    }

    fn p384_public() -> PublicKey {
        PublicKey::from_pem(P384_PUBLIC).expect("P-384 key reads")
    }

    fn ed25519_public() -> PublicKey {
        PublicKey::from_pem(ED25519_PUBLIC).expect("Ed25519 key reads")
    }

    /// The `publicKeyPem` of an OB 2.0 `CryptographicKey` document.
    fn key_document(path: &str) -> PublicKey {
        let document: Value = serde_json::from_slice(&fixture(path)).expect("key document");
        let pem = document["publicKeyPem"].as_str().expect("publicKeyPem");
        PublicKey::from_pem(pem).expect("published key reads")
    }

    /// The compact JWS in a `.jws` file, or baked into a PNG or SVG.
    fn token_in(path: &str) -> String {
        let bytes = fixture(path);
        if path.ends_with(".jws") {
            return String::from_utf8(bytes).expect("JWS file is UTF-8");
        }
        unbake_any(&bytes).expect("fixture unbakes").payload
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn header(alg: &str) -> String {
        json!({ "alg": alg }).to_string()
    }

    /// Signs `header.payload` exactly as given (no re-serialisation), with jsonwebtoken.
    fn sign(header: &str, payload: &str, key: &EncodingKey, algorithm: Algorithm) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm)
            .expect("test signing works");
        format!("{input}.{signature}")
    }

    /// A token whose signature part is given rather than computed.
    fn unsigned(header: &str, payload: &str, signature_b64: &str) -> String {
        format!("{}.{}.{signature_b64}", b64(header), b64(payload))
    }

    fn rsa_signer() -> EncodingKey {
        EncodingKey::from_rsa_pem(&fixture(RSA_PRIVATE)).expect("RSA private key")
    }

    fn hmac_signer() -> EncodingKey {
        EncodingKey::from_secret(b"issuer secret").expect("HMAC key")
    }

    fn rs256_token(payload: &str) -> String {
        sign(&header("RS256"), payload, &rsa_signer(), Algorithm::RS256)
    }

    fn es256_token(payload: &str) -> String {
        let signer = EncodingKey::from_ec_pem(&fixture(EC_PRIVATE)).expect("EC private key");
        sign(&header("ES256"), payload, &signer, Algorithm::ES256)
    }

    /// "ok:<key index>" or the error code, so that a failing case prints both sides.
    fn outcome(token: &str, keys: &[PublicKey]) -> String {
        match parse_compact(token).and_then(|jws| verify_with_keys(&jws, keys)) {
            Ok(verified) => format!("ok:{}", verified.key_index),
            Err(err) => err.code().to_owned(),
        }
    }

    fn verified(token: &str, keys: &[PublicKey]) -> VerifiedWith {
        let jws = parse_compact(token).expect("token parses");
        verify_with_keys(&jws, keys).expect("token verifies")
    }

    fn error(token: &str, keys: &[PublicKey]) -> JwsError {
        match parse_compact(token).and_then(|jws| verify_with_keys(&jws, keys)) {
            Ok(verified) => panic!("expected an error, got {verified:?}"),
            Err(err) => err,
        }
    }

    /// DER-encodes a raw `R||S` ECDSA signature, the way OpenSSL and Java write them.
    fn raw_to_der(raw: &[u8]) -> Vec<u8> {
        let (r, s) = raw.split_at(raw.len() / 2);
        let integer = |value: &[u8]| {
            let mut value = strip_leading_zeros(value).to_vec();
            if value.first().is_none_or(|byte| byte & 0x80 != 0) {
                value.insert(0, 0);
            }
            [vec![0x02, u8::try_from(value.len()).expect("short")], value].concat()
        };
        let body = [integer(r), integer(s)].concat();
        let mut der = vec![0x30];
        if body.len() >= 0x80 {
            der.push(0x81);
        }
        der.push(u8::try_from(body.len()).expect("short"));
        [der, body].concat()
    }

    /// The public JWK of `OB3_RSA_PUBLIC` as openbadgeslib embeds it, plus `extra` members.
    fn rsa_jwk_with(extra: &[(&str, &str)]) -> Value {
        let token = token_in("ob3-openbadgeslib/rs256-valid.png");
        let jwk = parse_compact(&token)
            .expect("parses")
            .header
            .jwk
            .expect("jwk");
        let mut jwk = jwk.as_object().expect("object").clone();
        for (name, value) in extra {
            jwk.insert((*name).to_owned(), Value::from(*value));
        }
        Value::Object(jwk)
    }

    // -----------------------------------------------------------------------------------------
    // Real fixtures

    #[test]
    fn ob2_signed_scenarios_check_against_the_published_key() {
        let cases = [
            ("signed-valid", "assertion.jws", "key.json", "ok:0"),
            ("signed-valid-baked-png", "baked.png", "key.json", "ok:0"),
            ("signed-valid-baked-svg", "baked.svg", "key.json", "ok:0"),
            ("signed-revoked", "assertion.jws", "key.json", "ok:0"),
            (
                "signed-key-not-in-issuer",
                "assertion.jws",
                "key.json",
                "ok:0",
            ),
            (
                "signed-key-not-in-issuer",
                "assertion.jws",
                "other-key.json",
                "jws_signature_invalid",
            ),
            (
                "signed-tampered",
                "assertion.jws",
                "key.json",
                "jws_signature_invalid",
            ),
            (
                "signed-wrong-key",
                "assertion.jws",
                "key.json",
                "jws_signature_invalid",
            ),
            ("signed-hs256", "assertion.jws", "key.json", "jws_alg_hmac"),
        ];

        for (scenario, input, key, expected) in cases {
            let token = token_in(&format!("ob-scenarios/{scenario}/{input}"));
            let key = key_document(&format!("ob-scenarios/{scenario}/issuer.example/{key}"));

            let got = outcome(&token, &[key]);

            assert_eq!(got, expected, "scenario {scenario} with {input}");
        }
    }

    #[test]
    fn ob2_signed_payload_is_the_assertion_as_signed() {
        let token = token_in("ob-scenarios/signed-valid/assertion.jws");

        let jws = parse_compact(&token).expect("parses");

        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.payload_json["type"], "Assertion");
        let payload_b64 = token.split('.').nth(1).expect("payload part");
        assert_eq!(b64(&jws.payload), payload_b64);
    }

    #[test]
    fn ob3_vc_jwts_check_against_the_supplied_key() {
        let cases = [
            ("rs256-valid.png", OB3_RSA_PUBLIC, "ok:0"),
            ("rs256-valid.svg", OB3_RSA_PUBLIC, "ok:0"),
            ("rs256-expired.png", OB3_RSA_PUBLIC, "ok:0"),
            ("rs256-future.png", OB3_RSA_PUBLIC, "ok:0"),
            ("rs256-hashed-identifier.png", OB3_RSA_PUBLIC, "ok:0"),
            ("es256-valid.png", EC_PUBLIC, "ok:0"),
            ("rs256-valid.png", OTHER_RSA_PUBLIC, "jws_signature_invalid"),
            ("es256-valid.png", OB3_RSA_PUBLIC, "jws_key_alg_mismatch"),
            ("rs256-valid.png", EC_PUBLIC, "jws_key_alg_mismatch"),
        ];

        for (file, key, expected) in cases {
            let token = token_in(&format!("ob3-openbadgeslib/{file}"));

            let got = outcome(&token, &[pem_key(key)]);

            assert_eq!(got, expected, "{file} with {key}");
        }
    }

    #[test]
    fn ob3_vc_jwt_verifies_with_the_second_of_two_rsa_keys() {
        let token = token_in("ob3-openbadgeslib/rs256-valid.png");
        let keys = [pem_key(OTHER_RSA_PUBLIC), pem_key(OB3_RSA_PUBLIC)];

        let verified = verified(&token, &keys);

        assert_eq!(verified.key_index, 1);
        assert_eq!(verified.algorithm, Algorithm::RS256);
        assert!(verified.warnings.is_empty(), "{:?}", verified.warnings);
    }

    #[test]
    fn ob3_header_jwk_reads_as_a_key_that_verifies() {
        for file in ["rs256-valid.png", "es256-valid.png", "es256-didkey.png"] {
            let token = token_in(&format!("ob3-openbadgeslib/{file}"));
            let jws = parse_compact(&token).expect("parses");
            let jwk = jws
                .header
                .jwk
                .clone()
                .expect("openbadgeslib embeds the jwk");

            let key = PublicKey::from_jwk(&jwk).expect("header jwk reads");

            assert_eq!(
                verify_with_keys(&jws, &[key]).map(|v| v.key_index),
                Ok(0),
                "{file}"
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Generated tokens: algorithms

    #[test]
    fn every_accepted_algorithm_verifies_with_its_key_type() {
        let ed = EncodingKey::from_ed_pem(ED25519_PRIVATE.as_bytes()).expect("Ed25519 key");
        let p384 = EncodingKey::from_ec_pem(P384_PRIVATE.as_bytes()).expect("P-384 key");
        let rsa = rsa_signer();
        let cases = [
            ("RS256", Algorithm::RS256, &rsa, pem_key(RSA_PUBLIC)),
            ("RS384", Algorithm::RS384, &rsa, pem_key(RSA_PUBLIC)),
            ("RS512", Algorithm::RS512, &rsa, pem_key(RSA_PUBLIC)),
            ("PS256", Algorithm::PS256, &rsa, pem_key(RSA_PUBLIC)),
            ("PS512", Algorithm::PS512, &rsa, pem_key(RSA_PUBLIC)),
            ("ES384", Algorithm::ES384, &p384, p384_public()),
            ("EdDSA", Algorithm::EdDSA, &ed, ed25519_public()),
            ("Ed25519", Algorithm::EdDSA, &ed, ed25519_public()),
        ];

        for (name, algorithm, signer, key) in cases {
            let token = sign(&header(name), ASSERTION, signer, algorithm);

            let got = outcome(&token, &[key]);

            assert_eq!(got, "ok:0", "algorithm {name}");
        }
    }

    #[test]
    fn es256_raw_signature_verifies_without_warning() {
        let token = es256_token(ASSERTION);
        let jws = parse_compact(&token).expect("parses");

        let verified = verify_with_keys(&jws, &[pem_key(EC_PUBLIC)]).expect("verifies");

        assert_eq!(jws.signature.len(), 64, "jsonwebtoken signs raw R||S");
        assert!(verified.warnings.is_empty(), "{:?}", verified.warnings);
    }

    #[test]
    fn es256_der_signature_from_openssl_is_accepted_with_a_warning() {
        for (case, token) in OPENSSL_DER_TOKENS.iter().enumerate() {
            let verified = verified(token, &[pem_key(EC_PUBLIC)]);

            assert_eq!(verified.warnings, [DER_WARNING], "openssl token {case}");
        }
    }

    #[test]
    fn es256_der_signature_made_from_a_raw_one_is_accepted_with_a_warning() {
        let raw_token = es256_token(ASSERTION);
        let (input, raw_b64) = raw_token.rsplit_once('.').expect("three parts");
        let raw = URL_SAFE_NO_PAD.decode(raw_b64).expect("base64url");
        let der_token = format!("{input}.{}", b64(raw_to_der(&raw)));

        let verified = verified(&der_token, &[pem_key(EC_PUBLIC)]);

        assert_eq!(verified.warnings, [DER_WARNING]);
    }

    #[test]
    fn lower_case_alg_is_refused_with_a_message_about_case() {
        let token = sign(&header("rs256"), ASSERTION, &rsa_signer(), Algorithm::RS256);

        let err = error(&token, &[pem_key(RSA_PUBLIC)]);

        assert_eq!(err.code(), "jws_alg_case");
        let message = err.to_string();
        assert!(message.contains("case-sensitive"), "{message}");
        assert!(message.contains("\"RS256\""), "{message}");
    }

    #[test]
    fn unsigned_and_shared_secret_algorithms_are_refused_with_their_own_codes() {
        let hmac = hmac_signer();
        let cases = [
            (
                "none, empty signature",
                unsigned(&header("none"), ASSERTION, ""),
                "jws_alg_none",
            ),
            (
                "NONE, some signature",
                unsigned(&header("NONE"), ASSERTION, "AAAA"),
                "jws_alg_none",
            ),
            (
                "HS256",
                sign(&header("HS256"), ASSERTION, &hmac, Algorithm::HS256),
                "jws_alg_hmac",
            ),
            (
                "HS512",
                sign(&header("HS512"), ASSERTION, &hmac, Algorithm::HS512),
                "jws_alg_hmac",
            ),
            (
                "ES512",
                unsigned(&header("ES512"), ASSERTION, "AAAA"),
                "jws_alg_unsupported",
            ),
        ];

        for (case, token, expected) in cases {
            assert_eq!(outcome(&token, &[pem_key(RSA_PUBLIC)]), expected, "{case}");
        }
    }

    #[test]
    fn hmac_refusal_says_a_third_party_cannot_check_it() {
        let token = sign(
            &header("HS256"),
            ASSERTION,
            &hmac_signer(),
            Algorithm::HS256,
        );

        let message = error(&token, &[pem_key(RSA_PUBLIC)]).to_string();

        assert!(message.contains("no third party"), "{message}");
    }

    // -----------------------------------------------------------------------------------------
    // Generated tokens: encoding quirks (field report 17) and exact bytes (field report 19)

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let token = rs256_token(ASSERTION);

        for wrapped in [
            format!("{token}\n"),
            format!("{token}\r\n"),
            format!("  {token}\t"),
        ] {
            assert_eq!(
                outcome(&wrapped, &[pem_key(RSA_PUBLIC)]),
                "ok:0",
                "{wrapped:?}"
            );
        }
    }

    #[test]
    fn padding_on_the_signature_is_tolerated_with_a_warning() {
        let token = rs256_token(ASSERTION);
        let (input, signature) = token.rsplit_once('.').expect("three parts");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        let padded = format!("{input}.{}", URL_SAFE.encode(signature));

        let verified = verified(&padded, &[pem_key(RSA_PUBLIC)]);

        assert!(
            padded.ends_with('='),
            "a 2048-bit signature needs padding: {padded}"
        );
        assert_eq!(verified.warnings, [PADDING_WARNING]);
    }

    #[test]
    fn padded_header_and_payload_are_checked_as_received() {
        let header = r#"{"alg":"RS256","kid":"k"}"#;
        let input = format!("{}.{}", URL_SAFE.encode(header), URL_SAFE.encode(ASSERTION));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &rsa_signer(), Algorithm::RS256)
                .expect("test signing works");
        let token = format!("{input}.{signature}");

        let verified = verified(&token, &[pem_key(RSA_PUBLIC)]);

        assert!(
            input.contains("=."),
            "the header part must carry padding: {input}"
        );
        assert_eq!(verified.warnings, [PADDING_WARNING]);
    }

    #[test]
    fn non_ascii_payload_verifies_over_the_exact_bytes() {
        let payload = r#"{"type":"Assertion","name":"Insignia de participación ® ’"}"#;
        let token = rs256_token(payload);

        let jws = parse_compact(&token).expect("parses");

        assert_eq!(jws.payload, payload.as_bytes());
        let key_index = verify_with_keys(&jws, &[pem_key(RSA_PUBLIC)]).map(|v| v.key_index);
        assert_eq!(key_index, Ok(0));
    }

    #[test]
    fn tampered_payload_does_not_verify() {
        let token = rs256_token(ASSERTION);
        let [header, _, signature] = split_parts(&token).expect("three parts");
        let forged = ASSERTION.replace("urn:uuid:1", "urn:uuid:2");
        let tampered = format!("{header}.{}.{signature}", b64(forged));

        let err = error(&tampered, &[pem_key(RSA_PUBLIC)]);

        assert_eq!(err, JwsError::SignatureInvalid { tried: 1 });
    }

    #[test]
    fn reserialised_header_does_not_verify() {
        let token = rs256_token(ASSERTION);
        let [_, payload, signature] = split_parts(&token).expect("three parts");
        let spaced = format!("{}.{payload}.{signature}", b64(r#"{ "alg": "RS256" }"#));

        assert_eq!(
            outcome(&spaced, &[pem_key(RSA_PUBLIC)]),
            "jws_signature_invalid"
        );
    }

    // -----------------------------------------------------------------------------------------
    // Generated tokens: keys

    #[test]
    fn wrong_key_does_not_verify() {
        let token = rs256_token(ASSERTION);

        let err = error(&token, &[pem_key(OTHER_RSA_PUBLIC)]);

        assert_eq!(err.code(), "jws_signature_invalid");
    }

    #[test]
    fn only_the_second_key_verifies_so_index_one_is_reported() {
        let token = rs256_token(ASSERTION);
        let cases = [
            ("other RSA key first", pem_key(OTHER_RSA_PUBLIC)),
            ("EC key first", pem_key(EC_PUBLIC)),
        ];

        for (case, first) in cases {
            let got = outcome(&token, &[first, pem_key(RSA_PUBLIC)]);

            assert_eq!(got, "ok:1", "{case}");
        }
    }

    #[test]
    fn key_of_the_wrong_type_is_named_in_the_error() {
        let token = es256_token(ASSERTION);

        let err = error(&token, &[p384_public()]);

        let expected = JwsError::KeyAlgMismatch {
            alg: "ES256".to_owned(),
            needed: "an EC P-256 key",
            found: "an EC P-384 key".to_owned(),
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn jwk_limited_to_another_algorithm_is_not_used() {
        let token = token_in("ob3-openbadgeslib/rs256-valid.png");
        let cases = [("RS256", "ok:0"), ("RS512", "jws_key_alg_mismatch")];

        for (alg, expected) in cases {
            let key = PublicKey::from_jwk(&rsa_jwk_with(&[("alg", alg)])).expect("jwk reads");

            assert_eq!(outcome(&token, &[key]), expected, "JWK alg {alg}");
        }
    }

    #[test]
    fn no_keys_is_its_own_error() {
        assert_eq!(outcome(&rs256_token(ASSERTION), &[]), "jws_no_key");
    }

    #[test]
    fn unusable_keys_are_refused_when_read() {
        let pem = |label: &str| format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----");
        let off_curve = json!({"kty": "EC", "crv": "P-256", "x": b64([1; 32]), "y": b64([2; 32])});
        let cases = [
            (
                "private PEM",
                PublicKey::from_pem(&fixture_text(EC_PRIVATE)),
            ),
            (
                "no PEM armour",
                PublicKey::from_pem("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            ),
            ("garbage PEM", PublicKey::from_pem(&pem("PUBLIC KEY"))),
            ("certificate", PublicKey::from_pem(&pem("CERTIFICATE"))),
            (
                "JWK with d",
                PublicKey::from_jwk(&rsa_jwk_with(&[("d", "AQAB")])),
            ),
            (
                "JWK for encryption",
                PublicKey::from_jwk(&rsa_jwk_with(&[("use", "enc")])),
            ),
            (
                "oct JWK",
                PublicKey::from_jwk(&json!({"kty": "oct", "k": "c2VjcmV0"})),
            ),
            ("JWK not an object", PublicKey::from_jwk(&json!("RSA"))),
            (
                "short Ed25519",
                PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"})),
            ),
            (
                "P-521",
                PublicKey::from_jwk(&json!({"kty": "EC", "crv": "P-521", "x": "", "y": ""})),
            ),
            ("P-256 point off the curve", PublicKey::from_jwk(&off_curve)),
            (
                "512-bit RSA",
                PublicKey::from_jwk(&json!({"kty": "RSA", "n": b64([0xC5; 64]), "e": "AQAB"})),
            ),
        ];

        for (case, result) in cases {
            let got = result.map_or_else(|err| err.code().to_owned(), |key| format!("{key:?}"));

            assert_eq!(got, "jws_key_unusable", "{case}");
        }
    }

    #[test]
    fn private_key_refusal_explains_why() {
        let err = PublicKey::from_pem(&fixture_text(EC_PRIVATE)).expect_err("refused");

        assert!(err.to_string().contains("PRIVATE key"), "{err}");
    }

    #[test]
    fn keys_read_as_the_right_kind() {
        let cases = [
            ("RSA", pem_key(RSA_PUBLIC), KeyKind::Rsa),
            ("P-256", pem_key(EC_PUBLIC), KeyKind::EcP256),
            ("P-384", p384_public(), KeyKind::EcP384),
            ("Ed25519", ed25519_public(), KeyKind::Ed25519),
        ];

        for (case, key, kind) in cases {
            assert_eq!(key.kind(), kind, "{case}");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Structure

    #[test]
    fn malformed_tokens_name_the_failing_step() {
        let rs256 = header("RS256");
        let (h, p) = (b64(&rs256), b64(ASSERTION));
        let cases = [
            ("blank", "   \n".to_owned(), "jws_malformed"),
            ("two parts", format!("{h}.{p}"), "jws_malformed"),
            ("JWE", format!("{h}.a.b.c.d"), "jws_malformed"),
            ("standard base64", format!("{h}.{p}.ab+/"), "jws_malformed"),
            ("three '='", format!("{h}.{p}.AAAA==="), "jws_malformed"),
            ("inner newline", format!("{h}.{p}\n.AAAA"), "jws_malformed"),
            (
                "header not JSON",
                unsigned("alg", ASSERTION, "AAAA"),
                "jws_bad_header",
            ),
            (
                "header an array",
                unsigned("[]", ASSERTION, "AAAA"),
                "jws_bad_header",
            ),
            (
                "header without alg",
                unsigned("{}", ASSERTION, "AAAA"),
                "jws_bad_header",
            ),
            (
                "alg a number",
                unsigned(r#"{"alg":256}"#, ASSERTION, ""),
                "jws_bad_header",
            ),
            (
                "kid a number",
                unsigned(r#"{"alg":"RS256","kid":1}"#, "{}", ""),
                "jws_bad_header",
            ),
            (
                "crit",
                unsigned(r#"{"alg":"RS256","crit":["b64"]}"#, "{}", ""),
                "jws_bad_header",
            ),
            (
                "payload not JSON",
                unsigned(&rs256, "hello", "AAAA"),
                "jws_payload_not_json",
            ),
            (
                "payload an array",
                unsigned(&rs256, "[1]", "AAAA"),
                "jws_payload_not_json",
            ),
            (
                "payload empty",
                unsigned(&rs256, "", "AAAA"),
                "jws_payload_not_json",
            ),
            (
                "payload Latin-1",
                format!("{h}.{}.AAAA", b64(b"{\"n\":\"\xe9\"}")),
                "jws_payload_not_json",
            ),
        ];

        for (case, token, expected) in cases {
            let got = parse_compact(&token).map_or_else(|err| err.code(), |_| "parsed");

            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn error_codes_are_distinct_snake_case() {
        let text = String::new;
        let errors = [
            JwsError::Malformed(text()),
            JwsError::BadHeader(text()),
            JwsError::AlgNone,
            JwsError::AlgHmac { alg: text() },
            JwsError::AlgCase {
                found: text(),
                expected: "",
            },
            JwsError::AlgUnsupported(text()),
            JwsError::KeyUnusable(text()),
            JwsError::KeyAlgMismatch {
                alg: text(),
                needed: "",
                found: text(),
            },
            JwsError::NoKey,
            JwsError::SignatureInvalid { tried: 0 },
            JwsError::PayloadNotJson(text()),
            JwsError::NoBackend,
        ];
        let mut codes: Vec<&str> = errors.iter().map(JwsError::code).collect();

        for code in &codes {
            let snake = code.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(code.starts_with("jws_") && snake, "{code}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
    }

    // -----------------------------------------------------------------------------------------
    // DER conversion

    #[test]
    fn der_signatures_convert_or_are_refused() {
        let high_r = [[0x81; 32], [0x01; 32]].concat();
        let short_s = [[0x7F; 32], [0x00; 32]].concat();
        let good = raw_to_der(&high_r);
        let mut overrun = good.clone();
        overrun[3] = 0x50; // r claims 80 bytes: past the end of the sequence
        let wide = [
            &[0x30, 0x25, 0x02, 0x21, 0x01][..],
            &[0xAA; 32],
            &[0x02, 0x01, 0x01],
        ];
        let cases = [
            ("high-bit r with 0x00 pad", good.clone(), Some(high_r)),
            ("short s", raw_to_der(&short_s), Some(short_s)),
            ("trailing byte", [&good[..], &[0]].concat(), None),
            ("cut short", good[..good.len() - 1].to_vec(), None),
            ("not a sequence", [&[0x31], &good[1..]].concat(), None),
            (
                "negative r",
                vec![0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01],
                None,
            ),
            ("length overrun", overrun, None),
            ("r wider than the curve", wide.concat(), None),
        ];

        for (case, der, expected) in cases {
            assert_eq!(der_ecdsa_to_raw(&der, 32), expected, "{case}");
        }
    }

    fn all_key_kinds() -> [PublicKey; 4] {
        [
            pem_key(RSA_PUBLIC),
            pem_key(EC_PUBLIC),
            p384_public(),
            ed25519_public(),
        ]
    }

    proptest! {
        #[test]
        fn parse_and_verify_never_panic_on_arbitrary_text(text in "\\PC*") {
            if let Ok(jws) = parse_compact(&text) {
                let _ = verify_with_keys(&jws, &all_key_kinds());
            }
        }

        #[test]
        fn random_signatures_never_verify_nor_panic(
            alg in prop::sample::select(vec!["RS256", "PS384", "ES256", "ES384", "EdDSA"]),
            note in "[ -~]{0,40}",
            mut signature in prop::collection::vec(any::<u8>(), 0..120),
            der_prefix in any::<bool>(),
        ) {
            if der_prefix && !signature.is_empty() {
                signature[0] = 0x30;
            }
            let payload = json!({ "note": note }).to_string();
            let token = unsigned(&header(alg), &payload, &b64(signature));

            let jws = parse_compact(&token).expect("well-formed token parses");
            let result = verify_with_keys(&jws, &all_key_kinds());

            prop_assert_eq!(result.map_err(|err| err.code()), Err("jws_signature_invalid"));
        }

        #[test]
        fn arbitrary_jwks_never_panic(
            kty in prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "x"]),
            crv in prop::sample::select(vec!["P-256", "P-384", "P-521", "Ed25519", "X25519"]),
            a in prop::collection::vec(any::<u8>(), 0..80),
            b in prop::collection::vec(any::<u8>(), 0..80),
        ) {
            let (a, b) = (b64(a), b64(b));
            let jwk = json!({ "kty": kty, "crv": crv, "n": a, "e": b, "x": a, "y": b });

            let _ = PublicKey::from_jwk(&jwk);
        }

        #[test]
        fn der_conversion_round_trips_any_raw_signature(
            r in prop::array::uniform32(any::<u8>()),
            s in prop::array::uniform32(any::<u8>()),
        ) {
            let raw = [r, s].concat();

            prop_assert_eq!(der_ecdsa_to_raw(&raw_to_der(&raw), 32), Some(raw));
        }

        #[test]
        fn der_conversion_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Some(raw) = der_ecdsa_to_raw(&bytes, 48) {
                prop_assert_eq!(raw.len(), 96);
            }
        }
    }
}
