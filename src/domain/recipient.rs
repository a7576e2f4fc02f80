//! Recipient identities, and matching them to the email addresses an account has confirmed.
//!
//! This module owns how a badge's recipient is read from every Open Badges version (0.5 bare
//! string, 1.x/2.0 `recipient` IdentityObject, 3.0 `credentialSubject.identifier`), how an
//! `alg$hex` identity hash is parsed, and the ownership check "which of my confirmed
//! addresses does this badge name?". It is pure: it must not depend on actix, diesel, the
//! network, `routes/` or `db/`. Callers pass in the confirmed addresses (primary plus
//! confirmed alternates, as the user typed them) and store the returned match.
//!
//! Decisions (see field reports 1 to 5 and the notes' section 2.7):
//! - `hashed` comes only from the `hashed` flag (or, for 0.5, the `alg$hex` shape), never from
//!   the presence of a salt. An absent or null flag reads as `false`: the flag is required by
//!   1.0 to 3.0, and reading it as plaintext can only miss a match, never invent one.
//! - The strings `"true"` and `"false"` (any letter case) are accepted for `hashed`, because
//!   issuers serialise booleans as text; any other value is an error.
//! - Plain emails compare whole-address case-insensitively; the match says it was a case fold.
//! - Hashes are tried for each address as typed, fully lowercased, and with only the domain
//!   lowercased, so at most three hashes per address. A hash of a casing the user never
//!   confirmed cannot be recovered: the caller should offer to confirm that variant.
//! - Only email identities can match: accounts confirm emails, not URLs or telephone numbers.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};
use sha2::Digest;
use subtle::ConstantTimeEq;

/// What kind of identifier an assertion's recipient is (OB 2.0 `recipient.type`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    Email,
    Url,
    Telephone,
    /// Any other declared type, kept as written.
    #[serde(untagged)]
    Other(String),
}

/// A badge's recipient as the issuer wrote it, normalised across versions.
///
/// `hashed` comes only from the assertion's `hashed` flag (1.x, 2.0) or, for 0.5, from the
/// `alg$hex` shape of the recipient string: never from whether a salt is present.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecipientIdentity {
    pub kind: IdentityKind,
    /// The plain identifier, or the hash written `alg$hex`.
    pub identity: String,
    pub hashed: bool,
    /// Absent, null and empty salts are all `None`.
    pub salt: Option<String>,
}

/// Why a recipient could not be read or checked. Each variant has a stable [`code`].
///
/// Messages never repeat the identity itself, so they are safe to log.
///
/// [`code`]: RecipientError::code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    #[error("the recipient is not a JSON object")]
    NotAnObject,
    #[error("the recipient has no `{field}`")]
    MissingField { field: &'static str },
    #[error("the recipient's `{field}` must be {expected}")]
    WrongFieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("the recipient's `hashed` flag must be true or false")]
    InvalidHashedFlag,
    #[error("the recipient's identity is empty")]
    EmptyIdentity,
    #[error("the recipient is marked as hashed but its identity is not written `algorithm$hex`")]
    MalformedHash,
    #[error(
        "the identity hash algorithm `{algorithm}` is not supported (only md5, sha256, sha512)"
    )]
    UnsupportedAlgorithm { algorithm: String },
    #[error("the identity hash digest is not hexadecimal")]
    InvalidHex,
    #[error("the {algorithm} identity hash has {found} hex digits where {expected} were expected")]
    WrongDigestLength {
        algorithm: HashAlgorithm,
        expected: usize,
        found: usize,
    },
}

impl RecipientError {
    /// A stable snake_case code for API responses and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnObject => "recipient_not_an_object",
            Self::MissingField { .. } => "recipient_field_missing",
            Self::WrongFieldType { .. } => "recipient_field_wrong_type",
            Self::InvalidHashedFlag => "recipient_hashed_flag_invalid",
            Self::EmptyIdentity => "recipient_identity_empty",
            Self::MalformedHash => "identity_hash_malformed",
            Self::UnsupportedAlgorithm { .. } => "identity_hash_algorithm_unsupported",
            Self::InvalidHex => "identity_hash_hex_invalid",
            Self::WrongDigestLength { .. } => "identity_hash_length_wrong",
        }
    }
}

/// A digest algorithm allowed in an identity hash (OB 2.0 `IdentityHash`: md5 and sha256;
/// sha512 as the Mozilla validator accepted it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Md5,
    Sha256,
    Sha512,
}

impl HashAlgorithm {
    /// Reads the part before `$`, in any letter case.
    // TODO: support sha1, because the 0.5 schema allows it; it needs the `sha1` crate.
    pub fn from_name(name: &str) -> Result<Self, RecipientError> {
        [Self::Md5, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| RecipientError::UnsupportedAlgorithm {
                algorithm: name.chars().take(16).collect(),
            })
    }

    /// The lowercase name issuers write before `$`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The digest size in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn digest_equals(self, text: &str, salt: &str, expected: &[u8]) -> bool {
        match self {
            Self::Md5 => digest_equals::<md5::Md5>(text, salt, expected),
            Self::Sha256 => digest_equals::<sha2::Sha256>(text, salt, expected),
            Self::Sha512 => digest_equals::<sha2::Sha512>(text, salt, expected),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
            Self::Sha512 => "SHA-512",
        })
    }
}

/// Hashes `text` followed by `salt` and compares it with `expected` in constant time.
fn digest_equals<D: Digest>(text: &str, salt: &str, expected: &[u8]) -> bool {
    let computed = D::new().chain_update(text).chain_update(salt).finalize();
    computed.as_slice().ct_eq(expected).into()
}

/// A parsed identity hash, `alg$hex` (OB 2.0 `IdentityHash`, OB 3.0 `identityHash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHash {
    pub algorithm: HashAlgorithm,
    digest: Vec<u8>,
}

impl IdentityHash {
    /// Splits on the first `$`; the algorithm name and the hex digits may be in any case.
    pub fn parse(text: &str) -> Result<Self, RecipientError> {
        let (name, hex_digits) = text
            .trim()
            .split_once('$')
            .filter(|(name, _)| is_algorithm_name(name))
            .ok_or(RecipientError::MalformedHash)?;
        let algorithm = HashAlgorithm::from_name(name)?;
        let digest = decode_digest(algorithm, hex_digits)?;
        Ok(Self { algorithm, digest })
    }

    /// The digest bytes.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Whether at least a quarter of the digest bytes are `0x3f` (`?`): the mark of a digest
    /// pushed through a text codec before hex encoding (field report 2). A real digest does
    /// this with odds below one in a million. Use it to explain a failed match.
    pub fn looks_mangled(&self) -> bool {
        let question_marks = self.digest.iter().filter(|byte| **byte == b'?').count();
        question_marks * 4 >= self.digest.len()
    }

    fn is_hash_of(&self, text: &str, salt: &str) -> bool {
        self.algorithm.digest_equals(text, salt, &self.digest)
    }
}

fn is_algorithm_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

fn decode_digest(algorithm: HashAlgorithm, hex_digits: &str) -> Result<Vec<u8>, RecipientError> {
    if !hex_digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(RecipientError::InvalidHex);
    }
    let expected = algorithm.digest_len() * 2;
    if hex_digits.len() != expected {
        return Err(RecipientError::WrongDigestLength {
            algorithm,
            expected,
            found: hex_digits.len(),
        });
    }
    hex::decode(hex_digits).map_err(|_| RecipientError::InvalidHex)
}

/// Whether `text` is shaped `alg$hex`: letters or digits, one `$`, then hex digits.
fn has_hash_shape(text: &str) -> bool {
    text.trim()
        .split_once('$')
        .is_some_and(|(name, hex_digits)| {
            is_algorithm_name(name)
                && !hex_digits.is_empty()
                && hex_digits.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

impl IdentityKind {
    /// Reads a 1.x/2.0 `recipient.type` (OB 2.0 `IdentityObject`): `email`, `url` and
    /// `telephone` in any letter case, also as `schema:` terms or schema.org IRIs, which is
    /// how they read after JSON-LD expansion. Anything else is kept as written.
    pub fn from_declared(declared: &str) -> Self {
        let term = ["schema:", "http://schema.org/", "https://schema.org/"]
            .iter()
            .find_map(|prefix| declared.trim().strip_prefix(prefix))
            .unwrap_or(declared.trim());
        match term.to_ascii_lowercase().as_str() {
            "email" => Self::Email,
            "url" => Self::Url,
            "telephone" => Self::Telephone,
            _ => Self::Other(declared.to_owned()),
        }
    }

    /// Reads a 3.0 `identityType` (OB 3.0 `IdentifierTypeEnum`): `emailAddress` is an email;
    /// `email`, used by early 3.0 examples, is read the same way.
    pub fn from_ob3_identity_type(declared: &str) -> Self {
        let term = declared.trim();
        if term.eq_ignore_ascii_case("emailAddress") || term.eq_ignore_ascii_case("email") {
            Self::Email
        } else {
            Self::Other(declared.to_owned())
        }
    }
}

impl RecipientIdentity {
    /// Reads a 1.0, 1.1 or 2.0 `recipient` IdentityObject (OB 2.0 `IdentityObject`:
    /// `type`, `identity`, `hashed`, `salt`). A hashed identity must parse as `alg$hex`.
    pub fn from_object(value: &Value) -> Result<Self, RecipientError> {
        let object = value.as_object().ok_or(RecipientError::NotAnObject)?;
        let kind = IdentityKind::from_declared(required_str(object, "type")?);
        let identity = required_str(object, "identity")?;
        Self::checked(kind, identity, hashed_flag(object)?, salt(object)?)
    }

    /// Reads one 3.0 `credentialSubject.identifier` entry (OB 3.0 `IdentityObject`:
    /// `identityType`, `identityHash`, `hashed`, `salt`). With `hashed` false,
    /// `identityHash` holds the plain identifier. Call it once per array entry.
    pub fn from_ob3_identity_object(value: &Value) -> Result<Self, RecipientError> {
        let object = value.as_object().ok_or(RecipientError::NotAnObject)?;
        let kind = IdentityKind::from_ob3_identity_type(required_str(object, "identityType")?);
        let identity = required_str(object, "identityHash")?;
        Self::checked(kind, identity, hashed_flag(object)?, salt(object)?)
    }

    /// Reads a 0.5 assertion's `recipient` string and top-level `salt` (OB 0.5 schema). It is
    /// hashed exactly when shaped `alg$hex`; a salt alone never makes it hashed. An unknown
    /// algorithm or a wrong digest length is reported by [`match_recipient`].
    pub fn from_legacy(recipient: &str, salt: Option<&str>) -> Self {
        Self {
            kind: IdentityKind::Email,
            identity: recipient.to_owned(),
            hashed: has_hash_shape(recipient),
            salt: salt.filter(|salt| !salt.is_empty()).map(str::to_owned),
        }
    }

    /// The parsed hash of a hashed identity, `None` for a plain one.
    pub fn identity_hash(&self) -> Result<Option<IdentityHash>, RecipientError> {
        if self.hashed {
            IdentityHash::parse(&self.identity).map(Some)
        } else {
            Ok(None)
        }
    }

    fn checked(
        kind: IdentityKind,
        identity: &str,
        hashed: bool,
        salt: Option<String>,
    ) -> Result<Self, RecipientError> {
        let recipient = Self {
            kind,
            identity: identity.to_owned(),
            hashed,
            salt,
        };
        recipient.plain_or_hash()?;
        Ok(recipient)
    }

    /// Validates the identity and returns its parsed hash, if any.
    fn plain_or_hash(&self) -> Result<Option<IdentityHash>, RecipientError> {
        if self.identity.trim().is_empty() {
            return Err(RecipientError::EmptyIdentity);
        }
        self.identity_hash()
    }
}

fn required_str<'v>(
    object: &'v Map<String, Value>,
    field: &'static str,
) -> Result<&'v str, RecipientError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(RecipientError::MissingField { field }),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(RecipientError::WrongFieldType {
            field,
            expected: "a string",
        }),
    }
}

/// Reads `hashed`: absent or null is `false`; a bool, or `"true"`/`"false"` in any case.
fn hashed_flag(object: &Map<String, Value>) -> Result<bool, RecipientError> {
    match object.get("hashed") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(hashed)) => Ok(*hashed),
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(RecipientError::InvalidHashedFlag),
    }
}

/// Reads `salt`: absent, null and empty are `None`; the salt is otherwise kept byte for byte.
fn salt(object: &Map<String, Value>) -> Result<Option<String>, RecipientError> {
    match object.get("salt") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(salt)) if salt.is_empty() => Ok(None),
        Some(Value::String(salt)) => Ok(Some(salt.clone())),
        Some(_) => Err(RecipientError::WrongFieldType {
            field: "salt",
            expected: "a string",
        }),
    }
}

/// How a confirmed address was found to be the badge's recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchForm {
    /// The plain identity equals the address byte for byte.
    Exact,
    /// The plain identity equals the address once both are lowercased.
    CaseFolded,
    /// The hash was made from the address as the user typed it.
    HashOfTyped,
    /// The hash was made from the fully lowercased address.
    HashOfLowercased,
    /// The hash was made from the address with only its domain lowercased.
    HashOfDomainLowercased,
}

impl MatchForm {
    /// A stable snake_case name, for storing which variant matched.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::CaseFolded => "case_folded",
            Self::HashOfTyped => "hash_of_typed",
            Self::HashOfLowercased => "hash_of_lowercased",
            Self::HashOfDomainLowercased => "hash_of_domain_lowercased",
        }
    }
}

/// Which confirmed address a badge names, and how that was found (OB 3.0 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientMatch<'a> {
    /// The confirmed address, as passed in.
    pub address: &'a str,
    pub form: MatchForm,
    /// The hash algorithm, for hashed identities.
    pub algorithm: Option<HashAlgorithm>,
    /// Whether the hash was salted.
    pub salted: bool,
}

impl RecipientMatch<'_> {
    /// A sentence for the account owner, e.g. "matched learner@example.org by a salted
    /// SHA-256 hash of the lowercased address". It names the address: do not log it.
    pub fn describe(&self) -> String {
        let address = self.address;
        let Some(algorithm) = self.algorithm else {
            return match self.form {
                MatchForm::CaseFolded => format!("matched {address}, ignoring letter case"),
                _ => format!("matched {address} exactly"),
            };
        };
        let salting = if self.salted {
            "a salted"
        } else {
            "an unsalted"
        };
        let source = match self.form {
            MatchForm::HashOfLowercased => "the lowercased address",
            MatchForm::HashOfDomainLowercased => "the address with its domain lowercased",
            _ => "the address as typed",
        };
        format!("matched {address} by {salting} {algorithm} hash of {source}")
    }
}

/// The hashed forms, tried in this order, each across every address, so the most literal
/// form of any address wins.
const HASHED_FORMS: [MatchForm; 3] = [
    MatchForm::HashOfTyped,
    MatchForm::HashOfLowercased,
    MatchForm::HashOfDomainLowercased,
];

/// Tells which of the account's `confirmed` addresses the badge's recipient names, if any
/// (OB 3.0 §9.3 "Verify Identifier"; OB 2.0 `IdentityObject`).
///
/// Pass every confirmed address (primary and alternates) as the user typed it, plus any
/// case variants they confirmed; never an unconfirmed one. A malformed hash is an error,
/// not a miss. Identities that are not emails (url, telephone, 3.0 ids) give `Ok(None)`.
pub fn match_recipient<'a, S: AsRef<str>>(
    identity: &RecipientIdentity,
    confirmed: &'a [S],
) -> Result<Option<RecipientMatch<'a>>, RecipientError> {
    let hash = identity.plain_or_hash()?;
    // TODO: match url and telephone identities, because accounts cannot confirm them yet.
    if identity.kind != IdentityKind::Email {
        return Ok(None);
    }
    Ok(match hash {
        Some(hash) => match_hashed(&hash, identity.salt.as_deref(), confirmed),
        None => match_plain(identity.identity.trim(), confirmed),
    })
}

/// The confirmed addresses, skipping blank ones: an empty string names nobody.
fn addresses<S: AsRef<str>>(confirmed: &[S]) -> impl Iterator<Item = &str> {
    confirmed
        .iter()
        .map(AsRef::as_ref)
        .filter(|address| !address.trim().is_empty())
}

fn match_plain<'a, S: AsRef<str>>(claimed: &str, confirmed: &'a [S]) -> Option<RecipientMatch<'a>> {
    let plain = |address, form| RecipientMatch {
        address,
        form,
        algorithm: None,
        salted: false,
    };
    let exact = addresses(confirmed).find(|address| *address == claimed);
    exact
        .map(|address| plain(address, MatchForm::Exact))
        .or_else(|| {
            addresses(confirmed)
                .find(|address| same_ignoring_case(address, claimed))
                .map(|address| plain(address, MatchForm::CaseFolded))
        })
}

fn same_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn match_hashed<'a, S: AsRef<str>>(
    hash: &IdentityHash,
    salt: Option<&str>,
    confirmed: &'a [S],
) -> Option<RecipientMatch<'a>> {
    let salt_text = salt.unwrap_or("");
    HASHED_FORMS.into_iter().find_map(|form| {
        let address = addresses(confirmed).find(|address| {
            hashed_text(form, address).is_some_and(|text| hash.is_hash_of(&text, salt_text))
        })?;
        Some(RecipientMatch {
            address,
            form,
            algorithm: Some(hash.algorithm),
            salted: salt.is_some(),
        })
    })
}

/// The text an issuer would have hashed for `form`, or `None` when it is the same text as an
/// earlier form (so no digest is computed twice).
fn hashed_text(form: MatchForm, address: &str) -> Option<Cow<'_, str>> {
    match form {
        MatchForm::HashOfTyped => Some(Cow::Borrowed(address)),
        MatchForm::HashOfLowercased => {
            changes_when_lowercased(address).then(|| Cow::Owned(address.to_lowercase()))
        }
        MatchForm::HashOfDomainLowercased => {
            let (local, domain) = address.rsplit_once('@')?;
            let differs = changes_when_lowercased(local) && changes_when_lowercased(domain);
            differs.then(|| Cow::Owned(format!("{local}@{}", domain.to_lowercase())))
        }
        MatchForm::Exact | MatchForm::CaseFolded => None,
    }
}

fn changes_when_lowercased(text: &str) -> bool {
    text.chars()
        .any(|c| !c.to_lowercase().eq(std::iter::once(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const USER: &str = "learner@example.org";
    const USER_TYPED: &str = "Learner@Example.org";
    const ALT: &str = "learner.alt@example.net";

    /// Where a table row's recipient comes from.
    enum Source {
        /// A 1.x/2.0 `recipient` object.
        Object(&'static str),
        /// A whole 0.5 assertion: `recipient` string plus top-level `salt`.
        Legacy05(&'static str),
    }

    struct Row {
        case: &'static str,
        source: Source,
        confirmed: &'static [&'static str],
        expected: Option<(&'static str, MatchForm, Option<HashAlgorithm>)>,
    }

    fn identity_from(case: &str, source: &Source) -> RecipientIdentity {
        match source {
            Source::Object(text) => {
                let value = serde_json::from_str(text).expect(case);
                RecipientIdentity::from_object(&value).expect(case)
            }
            Source::Legacy05(text) => {
                let assertion: Value = serde_json::from_str(text).expect(case);
                let recipient = assertion["recipient"].as_str().expect(case);
                RecipientIdentity::from_legacy(recipient, assertion["salt"].as_str())
            }
        }
    }

    fn field_report_rows() -> Vec<Row> {
        use HashAlgorithm::{Md5, Sha256};
        use MatchForm::*;
        vec![
            Row {
                case: "1: plain identity in upper case, account in lower case",
                source: Source::Object(
                    r#"{"type":"email","hashed":false,"identity":"Learner@Example.org"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, CaseFolded, None)),
            },
            Row {
                case: "1: plain identity spelled as confirmed",
                source: Source::Object(
                    r#"{"type":"email","hashed":false,"identity":"learner@example.org"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, Exact, None)),
            },
            Row {
                case: "1 reverse: plain lower-case identity, account typed in mixed case",
                source: Source::Object(
                    r#"{"type":"email","hashed":false,"identity":"learner@example.org"}"#,
                ),
                confirmed: &[USER_TYPED],
                expected: Some((USER_TYPED, CaseFolded, None)),
            },
            Row {
                case: "1: hash of the upper-case spelling, which the user typed",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$58066eb6273b5131fa61784ce8e316595e8911a9fd4b40cdb6c60bf3d202c8f7"}"#,
                ),
                confirmed: &[USER_TYPED],
                expected: Some((USER_TYPED, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "1: hash of an upper-case spelling the user never confirmed",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$58066eb6273b5131fa61784ce8e316595e8911a9fd4b40cdb6c60bf3d202c8f7"}"#,
                ),
                confirmed: &[USER],
                expected: None,
            },
            Row {
                case: "1 reverse: lower-case hash, account typed in mixed case",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc"}"#,
                ),
                confirmed: &[USER_TYPED],
                expected: Some((USER_TYPED, HashOfLowercased, Some(Sha256))),
            },
            Row {
                case: "1: hash with only the domain lowercased, account typed in mixed case",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$d1e87438b4e9ce06cb125087d8984122bbfc9a2de72360eff5470668ed32351e"}"#,
                ),
                confirmed: &[USER_TYPED],
                expected: Some((USER_TYPED, HashOfDomainLowercased, Some(Sha256))),
            },
            Row {
                case: "2: digest in upper-case hex",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$69FD1CD9289493149282FE3CC8597BBEC602EEA817D91042DF7F85E6A5B8BEBC"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "2: upper-case SHA256$ prefix",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "SHA256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "2: md5 digest",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123",
                    "identity":"md5$56f99d9338ae56b56d25827abbf86f48"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Md5))),
            },
            Row {
                case: "2: digest of mostly 0x3f bytes",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f0123456789abcdef0123456789abcd"}"#,
                ),
                confirmed: &[USER],
                expected: None,
            },
            Row {
                case: "3: hashed identity without a salt key",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"identity":
                    "sha256$0c0e00b8fd07431a3369510af66fb89be4f3d10911a6e29afe8a058518f39aa3"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "3: hashed identity with a null salt",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":null,"identity":
                    "sha256$0c0e00b8fd07431a3369510af66fb89be4f3d10911a6e29afe8a058518f39aa3"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "3: hashed identity with an empty salt",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"","identity":
                    "sha256$0c0e00b8fd07431a3369510af66fb89be4f3d10911a6e29afe8a058518f39aa3"}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "4: 0.5 bare hash string with a top-level salt",
                source: Source::Legacy05(
                    r#"{"recipient":
                    "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc",
                    "salt":"abc123","issued_on":"2012-12-28","badge":{"version":"0.5.0",
                    "name":"N","description":"D","image":"/img/b.png","criteria":"/c",
                    "issuer":{"origin":"https://issuer.example","name":"I"}},
                    "verify":{"type":"hosted","url":"https://issuer.example/a/1"}}"#,
                ),
                confirmed: &[USER],
                expected: Some((USER, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "5: hash of the confirmed alternative address",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$6af09cf63a33443d747aacbb365f8265190594924a03d8fbd364cc6ab7d8ca1a"}"#,
                ),
                confirmed: &[USER, ALT],
                expected: Some((ALT, HashOfTyped, Some(Sha256))),
            },
            Row {
                case: "5 negative: alternative address not confirmed, so not passed in",
                source: Source::Object(
                    r#"{"type":"email","hashed":true,"salt":"abc123","identity":
                    "sha256$6af09cf63a33443d747aacbb365f8265190594924a03d8fbd364cc6ab7d8ca1a"}"#,
                ),
                confirmed: &[USER],
                expected: None,
            },
        ]
    }

    #[test]
    fn field_report_cases_match_the_expected_address_and_form() {
        for row in field_report_rows() {
            let identity = identity_from(row.case, &row.source);

            let found = match_recipient(&identity, row.confirmed).expect(row.case);

            let found = found.map(|hit| (hit.address, hit.form, hit.algorithm));
            assert_eq!(found, row.expected, "field report case {}", row.case);
        }
    }

    #[test]
    fn unreadable_recipients_fail_with_a_specific_code() {
        let rows = [
            (
                "sha1, which we do not support yet",
                "identity_hash_algorithm_unsupported",
                json!({"type": "email", "hashed": true, "salt": "deadsea",
                    "identity": "sha1$f290298bcdcec652d71ad8c84215d6659b52bbbf"}),
            ),
            (
                "hashed flag on a plain email",
                "identity_hash_malformed",
                json!({"type": "email", "hashed": true, "identity": "learner@example.org"}),
            ),
            (
                "empty algorithm name",
                "identity_hash_malformed",
                json!({"type": "email", "hashed": true, "identity": "$0c0e00b8fd07"}),
            ),
            (
                "non-hex digest",
                "identity_hash_hex_invalid",
                json!({"type": "email", "hashed": true, "identity": "sha256$zz0e00b8fd07"}),
            ),
            (
                "sha256 digest cut short",
                "identity_hash_length_wrong",
                json!({"type": "email", "hashed": true, "identity": "sha256$0c0e00b8fd07"}),
            ),
            (
                "md5 prefix on a sha256 digest",
                "identity_hash_length_wrong",
                json!({"type": "email", "hashed": true, "identity":
                    "md5$0c0e00b8fd07431a3369510af66fb89be4f3d10911a6e29afe8a058518f39aa3"}),
            ),
            (
                "hashed written as yes",
                "recipient_hashed_flag_invalid",
                json!({"type": "email", "hashed": "yes", "identity": "learner@example.org"}),
            ),
            (
                "hashed written as 1",
                "recipient_hashed_flag_invalid",
                json!({"type": "email", "hashed": 1, "identity": "learner@example.org"}),
            ),
            (
                "no identity",
                "recipient_field_missing",
                json!({"type": "email", "hashed": false}),
            ),
            (
                "no type",
                "recipient_field_missing",
                json!({"hashed": false, "identity": "learner@example.org"}),
            ),
            (
                "identity is a number",
                "recipient_field_wrong_type",
                json!({"type": "email", "hashed": false, "identity": 42}),
            ),
            (
                "salt is a number",
                "recipient_field_wrong_type",
                json!({"type": "email", "hashed": false, "identity": USER, "salt": 7}),
            ),
            (
                "blank identity",
                "recipient_identity_empty",
                json!({"type": "email", "hashed": false, "identity": "  "}),
            ),
            (
                "recipient is a bare string",
                "recipient_not_an_object",
                json!(USER),
            ),
        ];

        for (case, code, recipient) in rows {
            let error = RecipientIdentity::from_object(&recipient).expect_err(case);

            assert_eq!(error.code(), code, "case: {case} ({error})");
        }
    }

    #[test]
    fn matching_a_malformed_hash_is_an_error_not_a_miss() {
        let rows = [
            (
                "sha1$f290298bcdcec652d71ad8c84215d6659b52bbbf",
                "identity_hash_algorithm_unsupported",
            ),
            ("sha256$abc", "identity_hash_length_wrong"),
            ("SHA512$69fd", "identity_hash_length_wrong"),
        ];

        for (recipient, code) in rows {
            let identity = RecipientIdentity::from_legacy(recipient, Some("deadsea"));
            let outcome = match_recipient(&identity, &[USER]);

            assert_eq!(
                outcome.map_err(|error| error.code()),
                Err(code),
                "{recipient}"
            );
        }
    }

    #[test]
    fn hashed_flag_reads_booleans_text_and_absence() {
        let rows = [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("TRUE"), true),
            (json!(" False "), false),
            (json!(null), false),
        ];
        let hash = "sha256$0c0e00b8fd07431a3369510af66fb89be4f3d10911a6e29afe8a058518f39aa3";

        for (flag, hashed) in rows {
            let recipient = json!({"type": "email", "identity": hash, "hashed": flag});
            let identity = RecipientIdentity::from_object(&recipient).expect("readable flag");

            assert_eq!(identity.hashed, hashed, "hashed: {flag}");
        }
        let absent = json!({"type": "email", "identity": USER});
        let identity = RecipientIdentity::from_object(&absent).expect("flag may be absent");
        assert!(!identity.hashed);
    }

    #[test]
    fn a_salt_alone_never_makes_an_identity_hashed() {
        let recipient = json!({"type": "email", "identity": USER, "salt": "abc123"});

        let identity = RecipientIdentity::from_object(&recipient).expect("plain with salt");
        let found = match_recipient(&identity, &[USER]).expect("plain identity");

        assert!(!identity.hashed);
        assert_eq!(found.map(|hit| hit.form), Some(MatchForm::Exact));
    }

    #[test]
    fn a_hashed_url_identity_parses_but_never_matches_an_email_account() {
        let recipient = json!({"type": "url", "hashed": true, "salt": "abc123", "identity":
            "sha256$5a2e53b5351954ee4fff87329117c4defb166611c2b43d547c5f3c17a9ee238d"});

        let identity = RecipientIdentity::from_object(&recipient).expect("hashed url");
        let found = match_recipient(&identity, &[USER, "https://me.example/"]);

        assert_eq!(identity.kind, IdentityKind::Url);
        assert_eq!(found, Ok(None));
    }

    #[test]
    fn a_plain_telephone_identity_never_matches() {
        let recipient = json!({"type": "telephone", "hashed": false, "identity": USER});

        let identity = RecipientIdentity::from_object(&recipient).expect("telephone");

        assert_eq!(match_recipient(&identity, &[USER]), Ok(None));
    }

    #[test]
    fn declared_types_are_read_in_any_spelling_json_ld_gives() {
        let rows = [
            ("email", IdentityKind::Email),
            ("Email", IdentityKind::Email),
            ("schema:email", IdentityKind::Email),
            ("http://schema.org/email", IdentityKind::Email),
            ("url", IdentityKind::Url),
            ("https://schema.org/telephone", IdentityKind::Telephone),
            ("id", IdentityKind::Other("id".to_owned())),
        ];

        for (declared, kind) in rows {
            assert_eq!(
                IdentityKind::from_declared(declared),
                kind,
                "type {declared}"
            );
        }
    }

    #[test]
    fn an_ob3_hashed_identity_object_matches_its_address() {
        let identifier = json!({"type": "IdentityObject", "hashed": true,
            "identityType": "emailAddress", "salt": "deadsea", "identityHash":
            "sha256$cfb2aa268faf6e76155c3694c51d031bf8e310efcd150c0215c1877f79b76b52"});

        let identity = RecipientIdentity::from_ob3_identity_object(&identifier).expect("3.0");
        let found = match_recipient(&identity, &[USER, "recipient@example.org"]);

        let found = found
            .expect("well-formed")
            .map(|hit| (hit.address, hit.form));
        assert_eq!(
            found,
            Some(("recipient@example.org", MatchForm::HashOfTyped))
        );
    }

    #[test]
    fn an_ob3_plain_identity_object_ignores_its_unused_salt() {
        let identifier = json!({"type": "IdentityObject", "hashed": false,
            "identityType": "email", "salt": "not-used", "identityHash": "Student@1EdTech.edu"});

        let identity = RecipientIdentity::from_ob3_identity_object(&identifier).expect("3.0");
        let found = match_recipient(&identity, &["student@1edtech.edu"]).expect("plain");

        assert_eq!(identity.kind, IdentityKind::Email);
        assert_eq!(found.map(|hit| hit.form), Some(MatchForm::CaseFolded));
    }

    #[test]
    fn an_ob3_identifier_of_another_type_never_matches() {
        let identifier = json!({"type": "IdentityObject", "hashed": false,
            "identityType": "sisSourcedId", "identityHash": USER});

        let identity = RecipientIdentity::from_ob3_identity_object(&identifier).expect("3.0");

        assert_eq!(
            identity.kind,
            IdentityKind::Other("sisSourcedId".to_owned())
        );
        assert_eq!(match_recipient(&identity, &[USER]), Ok(None));
    }

    #[test]
    fn an_ob3_identity_object_without_its_hash_names_the_missing_field() {
        let identifier = json!({"type": "IdentityObject", "hashed": false,
            "identityType": "emailAddress"});

        let error = RecipientIdentity::from_ob3_identity_object(&identifier);

        assert_eq!(
            error,
            Err(RecipientError::MissingField {
                field: "identityHash"
            })
        );
    }

    #[test]
    fn the_address_spelled_as_hashed_wins_over_a_case_variant() {
        let identity = RecipientIdentity::from_legacy(
            "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc",
            Some("abc123"),
        );

        let found = match_recipient(&identity, &[USER_TYPED, USER]).expect("well-formed");

        let found = found.map(|hit| (hit.address, hit.form));
        assert_eq!(found, Some((USER, MatchForm::HashOfTyped)));
    }

    #[test]
    fn an_exact_plain_address_wins_over_a_case_variant() {
        let identity = RecipientIdentity::from_legacy(USER, None);

        let found = match_recipient(&identity, &["LEARNER@example.org", USER]).expect("plain");

        let found = found.map(|hit| (hit.address, hit.form));
        assert_eq!(found, Some((USER, MatchForm::Exact)));
    }

    #[test]
    fn blank_confirmed_addresses_never_match_a_hash_of_the_bare_salt() {
        let identity = RecipientIdentity::from_legacy(
            "sha256$6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090",
            Some("abc123"),
        );

        assert_eq!(match_recipient(&identity, &["", "  "]), Ok(None));
    }

    #[test]
    fn a_digest_of_mostly_question_marks_is_flagged_as_mangled() {
        let mangled = "sha256$3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f0123456789abcdef0123456789abcd";
        let genuine = "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc";

        let mangled = IdentityHash::parse(mangled).expect("well-formed");
        let genuine = IdentityHash::parse(genuine).expect("well-formed");

        assert!(mangled.looks_mangled());
        assert!(!genuine.looks_mangled());
    }

    #[test]
    fn a_match_describes_itself_in_a_sentence() {
        let hashed = |form, salted| RecipientMatch {
            address: USER,
            form,
            algorithm: Some(HashAlgorithm::Sha256),
            salted,
        };
        let plain = |form| RecipientMatch {
            address: USER,
            form,
            algorithm: None,
            salted: false,
        };
        let rows = [
            (
                hashed(MatchForm::HashOfLowercased, true),
                "matched learner@example.org by a salted SHA-256 hash of the lowercased address",
            ),
            (
                hashed(MatchForm::HashOfTyped, false),
                "matched learner@example.org by an unsalted SHA-256 hash of the address as typed",
            ),
            (
                hashed(MatchForm::HashOfDomainLowercased, true),
                "matched learner@example.org by a salted SHA-256 hash of the address with its \
                 domain lowercased",
            ),
            (
                plain(MatchForm::Exact),
                "matched learner@example.org exactly",
            ),
            (
                plain(MatchForm::CaseFolded),
                "matched learner@example.org, ignoring letter case",
            ),
        ];

        for (found, sentence) in rows {
            assert_eq!(found.describe(), sentence, "{:?}", found.form);
        }
    }

    #[test]
    fn error_codes_are_distinct_snake_case() {
        let errors = [
            RecipientError::NotAnObject,
            RecipientError::MissingField { field: "type" },
            RecipientError::WrongFieldType {
                field: "salt",
                expected: "a string",
            },
            RecipientError::InvalidHashedFlag,
            RecipientError::EmptyIdentity,
            RecipientError::MalformedHash,
            RecipientError::UnsupportedAlgorithm {
                algorithm: "sha1".to_owned(),
            },
            RecipientError::InvalidHex,
            RecipientError::WrongDigestLength {
                algorithm: HashAlgorithm::Md5,
                expected: 32,
                found: 4,
            },
        ];

        let mut codes: Vec<_> = errors.iter().map(RecipientError::code).collect();
        codes.sort_unstable();
        codes.dedup();

        assert_eq!(codes.len(), errors.len());
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn stored_match_forms_serialise_as_their_stable_names() {
        let forms = [
            MatchForm::Exact,
            MatchForm::CaseFolded,
            MatchForm::HashOfDomainLowercased,
        ];

        for form in forms {
            let stored = serde_json::to_string(&form).expect("serialisable");

            assert_eq!(stored, format!("\"{}\"", form.as_str()));
        }
    }

    // Property tests. The reference hashes below concatenate address and salt into one
    // string, independently of the matcher's incremental hashing.

    const ALGORITHMS: [HashAlgorithm; 3] = [
        HashAlgorithm::Md5,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha512,
    ];

    fn reference_hex(algorithm: HashAlgorithm, text: &str, salt: &str) -> String {
        let input = format!("{text}{salt}");
        match algorithm {
            HashAlgorithm::Md5 => hex::encode(md5::Md5::digest(&input)),
            HashAlgorithm::Sha256 => hex::encode(sha2::Sha256::digest(&input)),
            HashAlgorithm::Sha512 => hex::encode(sha2::Sha512::digest(&input)),
        }
    }

    /// An address whose local part and domain each hold an upper-case letter, so its three
    /// hashed forms are three different strings.
    fn mixed_case_address() -> impl Strategy<Value = String> {
        let local = "[a-z0-9._à-ö]{0,6}[A-ZÀ-Ö][a-zA-Z0-9._à-öÀ-Ö]{0,6}";
        let domain = "[a-zà-ö]{0,5}[A-ZÀ-Ö][a-zA-Zà-öÀ-Ö]{0,5}\\.[a-zA-Z]{2,4}";
        (local, domain).prop_map(|(local, domain)| format!("{local}@{domain}"))
    }

    /// The three texts an issuer may have hashed, spelled out by hand.
    fn issuer_forms(address: &str) -> Vec<(MatchForm, String)> {
        let at = address.rfind('@').expect("an address");
        let (local, domain) = address.split_at(at);
        vec![
            (MatchForm::HashOfTyped, address.to_owned()),
            (MatchForm::HashOfLowercased, address.to_lowercase()),
            (
                MatchForm::HashOfDomainLowercased,
                format!("{local}{}", domain.to_lowercase()),
            ),
        ]
    }

    fn hashed_recipient(name: &str, hex_digits: &str, salt: &str) -> RecipientIdentity {
        let recipient = json!({"type": "email", "hashed": true, "salt": salt,
            "identity": format!("{name}${hex_digits}")});
        RecipientIdentity::from_object(&recipient).expect("a well-formed hash")
    }

    fn flip_case(text: &str, flips: &[bool]) -> String {
        let flip = |(c, flip): (char, &bool)| -> String {
            match (*flip, c.is_uppercase()) {
                (false, _) => c.to_string(),
                (true, true) => c.to_lowercase().collect(),
                (true, false) => c.to_uppercase().collect(),
            }
        };
        text.chars()
            .zip(flips.iter().chain(std::iter::repeat(&false)))
            .map(flip)
            .collect()
    }

    proptest! {
        #[test]
        fn a_hash_of_any_form_matches_and_reports_that_form(
            address in mixed_case_address(),
            decoy in mixed_case_address(),
            salt in "\\PC{0,12}",
            upper_hex: bool,
            upper_name: bool,
        ) {
            prop_assume!(decoy.to_lowercase() != address.to_lowercase());
            let confirmed = [decoy.as_str(), address.as_str()];

            for algorithm in ALGORITHMS {
                for (form, text) in issuer_forms(&address) {
                    let hex_digits = reference_hex(algorithm, &text, &salt);
                    let hex_digits =
                        if upper_hex { hex_digits.to_uppercase() } else { hex_digits };
                    let name = algorithm.as_str();
                    let name = if upper_name { name.to_uppercase() } else { name.to_owned() };
                    let identity = hashed_recipient(&name, &hex_digits, &salt);

                    let found = match_recipient(&identity, &confirmed);

                    let found = found.map(|hit| hit.map(|h| (h.address, h.form, h.algorithm)));
                    prop_assert_eq!(
                        found,
                        Ok(Some((address.as_str(), form, Some(algorithm)))),
                        "{} of {:?} salted {:?}", algorithm, text, salt
                    );
                }
            }
        }

        #[test]
        fn a_hash_of_a_different_address_never_matches(
            address in mixed_case_address(),
            other in mixed_case_address(),
            salt in "\\PC{0,12}",
        ) {
            prop_assume!(other.to_lowercase() != address.to_lowercase());

            for algorithm in ALGORITHMS {
                for (_, text) in issuer_forms(&other) {
                    let hex_digits = reference_hex(algorithm, &text, &salt);
                    let identity = hashed_recipient(algorithm.as_str(), &hex_digits, &salt);

                    let confirmed = [address.as_str()];
                    let found = match_recipient(&identity, &confirmed);

                    prop_assert_eq!(found, Ok(None), "{} of {:?}", algorithm, text);
                }
            }
        }

        #[test]
        fn a_plain_identity_matches_in_any_letter_case(
            address in mixed_case_address(),
            decoy in mixed_case_address(),
            flips in proptest::collection::vec(any::<bool>(), 0..24),
        ) {
            prop_assume!(decoy.to_lowercase() != address.to_lowercase());
            let written = flip_case(&address, &flips);
            let recipient = json!({"type": "email", "hashed": false, "identity": written});
            let identity = RecipientIdentity::from_object(&recipient).expect("plain");
            let form = if written == address { MatchForm::Exact } else { MatchForm::CaseFolded };

            let confirmed = [decoy.as_str(), address.as_str()];
            let found = match_recipient(&identity, &confirmed);

            let found = found.map(|hit| hit.map(|h| (h.address, h.form)));
            prop_assert_eq!(found, Ok(Some((address.as_str(), form))), "written {}", written);
        }

        #[test]
        fn from_legacy_never_marks_a_string_without_the_hash_shape_hashed(
            recipient in prop_oneof![
                "[a-zA-Z0-9._%+-]{1,12}@[a-zA-Z0-9.-]{1,12}",
                "[a-z0-9]{1,6}\\$[0-9a-f]{0,6}[g-zG-Z@.:/][0-9a-f]{0,6}",
                "\\$[0-9a-f]{1,64}",
                "[a-z0-9]{1,6}\\$",
                "[a-z0-9]{0,3}[^a-zA-Z0-9$\\s][a-z0-9]{0,3}\\$[0-9a-f]{1,64}",
                "[^$]{0,40}",
            ],
            salt in "\\PC{1,12}",
        ) {
            let identity = RecipientIdentity::from_legacy(&recipient, Some(&salt));

            prop_assert!(!identity.hashed, "{:?} was read as hashed", recipient);
            prop_assert_eq!(identity.salt.as_deref(), Some(salt.as_str()));
        }

        #[test]
        fn from_legacy_marks_every_hash_shaped_string_hashed(
            recipient in "[a-zA-Z0-9]{1,8}\\$[0-9a-fA-F]{1,80}",
            salt in proptest::option::of("\\PC{0,12}"),
        ) {
            let identity = RecipientIdentity::from_legacy(&recipient, salt.as_deref());

            prop_assert!(identity.hashed, "{:?} was read as plain", recipient);
        }
    }
}
