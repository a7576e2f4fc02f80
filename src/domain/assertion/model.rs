//! The one internal model every Open Badges version is normalised into.
//!
//! Plain data with serde derives so it can be stored and shown; no parsing logic lives here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::recipient::RecipientIdentity;

/// The Open Badges version an input was written in (notes §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObVersion {
    /// 2011–2012: one object, badge and issuer embedded, recipient a string.
    #[serde(rename = "0.5")]
    V0_5,
    /// Mozilla OBI 2013: `uid`, `verify`, no `@context`.
    #[serde(rename = "1.0")]
    V1_0,
    /// 1.0 as JSON-LD, `@context` `https://w3id.org/openbadges/v1`.
    #[serde(rename = "1.1")]
    V1_1,
    /// IMS 2.0, `@context` `https://w3id.org/openbadges/v2`.
    #[serde(rename = "2.0")]
    V2_0,
    /// OpenBadgeCredential / AchievementCredential on the VC 1.1 or 2.0 data model.
    #[serde(rename = "3.0")]
    V3_0,
}

impl ObVersion {
    /// The version as people write it: `"0.5"`, `"1.0"`, `"1.1"`, `"2.0"`, `"3.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_5 => "0.5",
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V2_0 => "2.0",
            Self::V3_0 => "3.0",
        }
    }
}

impl std::fmt::Display for ObVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A related document that is either written inline or named by its URL (OB 2.0 "every
/// property may be an IRI string or an embedded object"). URLs are fetched by the caller and
/// read with [`super::parse_badge_class`] or [`super::parse_issuer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linked<T> {
    /// Written inline in the document that names it.
    Embedded(T),
    /// Only named: the caller fetches and reads it.
    Url(String),
}

impl<T> Linked<T> {
    /// The inline document, if it was embedded.
    pub fn embedded(&self) -> Option<&T> {
        match self {
            Self::Embedded(value) => Some(value),
            Self::Url(_) => None,
        }
    }

    /// The URL to fetch, if the document was only named.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Embedded(_) => None,
            Self::Url(url) => Some(url),
        }
    }
}

/// The exact text Satchel received, kept untouched (byte order mark included) so exports and
/// signature checks never work on a re-encoded copy (field reports 10 and 19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OriginalBytes(String);

impl OriginalBytes {
    pub(crate) fn new(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// The input exactly as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The input exactly as received, for storage.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A badge award of any version, normalised.
///
/// Fields needed to *show* a badge (recipient, badge class, its name) are required: without
/// them parsing fails. Fields needed only to *verify* it may be missing; each gap is named in
/// `warnings` and the verifier reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedBadge {
    pub version: ObVersion,
    /// 2.0/1.1 `id`, 1.0 `uid`, 3.0 credential `id`. 0.5 assertions have none.
    pub assertion_id: Option<String>,
    /// Who the badge was awarded to. For 3.0 this is `credentialSubject.id` when present,
    /// otherwise the first `identifier` entry.
    pub recipient: RecipientIdentity,
    /// 3.0 only: the remaining `credentialSubject.identifier` entries; any one may match
    /// (OB 3.0 §9.3).
    pub other_identities: Vec<RecipientIdentity>,
    /// The BadgeClass (3.0: the Achievement, with the credential issuer as its issuer).
    pub badge_class: Linked<BadgeClass>,
    /// 0.5 `issued_on`, 1.x/2.0 `issuedOn`, 3.0 `awardedDate`, else `validFrom`/`issuanceDate`.
    pub issued_on: Option<DateTime<Utc>>,
    /// `expires`, 3.0 `validUntil`/`expirationDate`.
    pub expires: Option<DateTime<Utc>>,
    /// The image of this award (1.0+ assertion `image`, 3.0 `credentialSubject.image`).
    pub image: Option<String>,
    pub evidence: Vec<Evidence>,
    /// 2.0 assertion `narrative`, 3.0 `credentialSubject.narrative` (Markdown).
    pub narrative: Option<String>,
    pub verification: VerificationKind,
    /// 2.0 `revoked` as the issuer wrote it in the hosted copy.
    pub revoked: Option<bool>,
    pub revocation_reason: Option<String>,
    pub original: OriginalBytes,
    /// Everything that was read leniently, in words a user can follow.
    pub warnings: Vec<String>,
}

/// What a badge is awarded for: 0.5 `badge`, 1.x/2.0 BadgeClass, 3.0 Achievement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeClass {
    pub id: Option<String>,
    pub name: String,
    /// Required by every version, but some issuers omit it: `None` with a warning.
    pub description: Option<String>,
    /// URL or `data:` URI (OB 2.0 Image, OB 3.0 `image.id`).
    pub image: Option<String>,
    pub criteria: Option<Criteria>,
    pub issuer: Linked<Issuer>,
    pub alignments: Vec<Alignment>,
    /// 1.x/2.0 `tags`, 3.0 `tag`.
    pub tags: Vec<String>,
}

/// OB 2.0 Criteria: a page URL, a Markdown narrative, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    pub url: Option<String>,
    pub narrative: Option<String>,
}

/// OB 2.0 AlignmentObject (1.x `name`/`url`/`description` are read into the 2.0 names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alignment {
    pub target_name: Option<String>,
    pub target_url: Option<String>,
    pub target_description: Option<String>,
    pub target_framework: Option<String>,
    pub target_code: Option<String>,
}

/// The issuing organisation: 0.5 `badge.issuer`, 1.x IssuerOrganization, 2.0 Profile, 3.0
/// Profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    pub id: Option<String>,
    pub name: Option<String>,
    /// Homepage (0.5 `origin`).
    pub url: Option<String>,
    /// Contact address (0.5 `contact`).
    pub email: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    /// OB 2.0 Profile `verification`: which hosted assertion URLs the issuer vouches for.
    pub verification: Option<VerificationPolicy>,
    /// OB 2.0 `publicKey`: ids of the CryptographicKeys the issuer declares.
    pub public_keys: Vec<String>,
    /// OB 1.0/OB 2.0 `revocationList` URL.
    pub revocation_list: Option<String>,
}

/// OB 2.0 VerificationObject on an issuer Profile. Empty lists mean "not restricted that way".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VerificationPolicy {
    pub starts_with: Vec<String>,
    pub allowed_origins: Vec<String>,
}

/// OB 2.0 Evidence; 0.5/1.x evidence is a bare URL, read into `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub narrative: Option<String>,
}

/// How the issuer said the award is to be checked. Nothing here has been checked yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VerificationKind {
    /// Fetch `url` and compare (OB 2.0 HostedBadge, 1.x `verify.type` hosted, 0.5).
    /// `None` when the award names no HTTP(S) location (0.5 JSON, `urn:uuid` ids).
    Hosted { url: Option<String> },
    /// OB 2.0 SignedBadge. `jws` is the compact form received (whitespace removed), or
    /// `None` when only the decoded JSON was given.
    Signed {
        creator: Option<String>,
        jws: Option<String>,
    },
    /// 1.0/1.1 signed: the PEM key is at `key_url` (OB 1.0 `verify.url`).
    LegacySigned {
        key_url: Option<String>,
        jws: Option<String>,
    },
    /// An OB 3.0 Verifiable Credential.
    Vc(VcDetails),
}

/// The parts of an OB 3.0 credential the verifier needs besides the display fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcDetails {
    pub data_model: VcDataModel,
    pub proof: Ob3Proof,
    /// `validFrom` (VC 2.0) or `issuanceDate` (VC 1.1); compared with `nbf` (notes §3.5).
    pub valid_from: Option<DateTime<Utc>>,
    pub status: Option<Box<CredentialStatus>>,
}

/// Which W3C VC data model the first `@context` entry names (notes §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VcDataModel {
    /// `https://www.w3.org/2018/credentials/v1`: `issuanceDate`, JWT `vc` claim.
    #[serde(rename = "1.1")]
    V1_1,
    /// `https://www.w3.org/ns/credentials/v2`: `validFrom`, JWT payload is the credential.
    #[serde(rename = "2.0")]
    V2_0,
}

/// How an OB 3.0 credential is secured (OB 3.0 §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Ob3Proof {
    /// A VC-JWT: the compact JWS as received (whitespace removed), its registered claims,
    /// and whether the credential sat in the `vc` claim or was the payload itself.
    VcJwt {
        jws: String,
        claims: JwtClaims,
        form: VcJwtForm,
    },
    /// One or more embedded `proof` objects (Data Integrity, Ed25519Signature2020, ...).
    Embedded { proofs: Vec<EmbeddedProof> },
    /// No proof at all: the credential cannot be verified.
    None,
}

/// Where a VC-JWT keeps the credential: VC-DM 1.1 uses the `vc` claim, VC-DM 2.0 JOSE
/// makes the payload the credential (notes §3.5 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VcJwtForm {
    VcClaim,
    Payload,
}

/// The registered JWT claims the verifier compares with the credential (OB 3.0 §8.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JwtClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub jti: Option<String>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
}

/// One embedded proof object, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedProof {
    /// `type`, e.g. `DataIntegrityProof` or `Ed25519Signature2020`.
    pub proof_type: Option<String>,
    /// `cryptosuite`, e.g. `eddsa-rdfc-2022`.
    pub cryptosuite: Option<String>,
    pub verification_method: Option<String>,
}

/// A 3.0 `credentialStatus` entry (OB 3.0 §3.6 of the notes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialStatus {
    pub id: Option<String>,
    pub status_type: Option<String>,
    /// `statusPurpose` of a status list entry, e.g. `revocation`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// `statusListIndex`: which bit of the list is this credential's.
    #[serde(default)]
    pub list_index: Option<u64>,
    /// `statusListCredential`: where the list is published.
    #[serde(default)]
    pub list_credential: Option<String>,
}

/// A linked document read on its own ([`super::parse_badge_class`], [`super::parse_issuer`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedDocument<T> {
    pub value: T,
    pub warnings: Vec<String>,
}
