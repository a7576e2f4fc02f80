//! `parse_badge` against the shared fixtures (their READMEs and expected-results files say
//! what each document is), crafted inputs for every version and error, and property tests.
//!
//! Fixtures are read from `../shared/fixtures` next to the crate, or from `$SATCHEL_FIXTURES`.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

use super::*;
use crate::domain::recipient::{IdentityKind, RecipientIdentity};

fn fixtures() -> PathBuf {
    std::env::var_os("SATCHEL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"))
}

fn fixture_bytes(relative: &str) -> Vec<u8> {
    let path = fixtures().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn fixture(relative: &str) -> String {
    String::from_utf8(fixture_bytes(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn fixture_json(relative: &str) -> Value {
    serde_json::from_str(&fixture(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn parse_ok(relative: &str) -> ParsedBadge {
    parse_badge(&fixture(relative)).unwrap_or_else(|e| panic!("{relative}: {} {e}", e.code()))
}

fn utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn embedded_class(badge: &ParsedBadge) -> &BadgeClass {
    badge
        .badge_class
        .embedded()
        .unwrap_or_else(|| panic!("badge class not embedded"))
}

fn embedded_issuer(class: &BadgeClass) -> &Issuer {
    class
        .issuer
        .embedded()
        .unwrap_or_else(|| panic!("issuer not embedded"))
}

fn vc(badge: &ParsedBadge) -> &VcDetails {
    match &badge.verification {
        VerificationKind::Vc(details) => details,
        other => panic!("not a VC: {other:?}"),
    }
}

fn has_warning(badge: &ParsedBadge, words: &str) -> bool {
    badge.warnings.iter().any(|w| w.contains(words))
}

/// The baked text of a PNG (`iTXt`/`tEXt` with an Open Badges keyword) or SVG (`verify`
/// attribute), enough to reach the fixtures' payloads; the real unbaker lives elsewhere.
fn baked_payload(relative: &str, keyword: &str) -> Option<String> {
    let bytes = fixture_bytes(relative);
    if relative.ends_with(".svg") {
        let text = String::from_utf8(bytes).ok()?;
        let start = text.find("verify=\"")? + "verify=\"".len();
        return text[start..].split('"').next().map(str::to_owned);
    }
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = bytes.get(at + 8..at + 8 + length)?;
        if kind == b"iTXt" && data.starts_with(format!("{keyword}\0").as_bytes()) {
            let fields: Vec<&[u8]> = data.splitn(6, |b| *b == 0).collect();
            let text = fields.last().map(|t| &t[..])?;
            return String::from_utf8(text.to_vec()).ok();
        }
        at += 12 + length;
    }
    None
}

// ---------------------------------------------------------------------------------------
// ob-spec-examples: every JSON/JWT fixture listed in expected-results.json
// ---------------------------------------------------------------------------------------

/// Fixtures `parse_badge` must refuse, with the reason given in expected-results.json.
const SPEC_REFUSED: &[(&str, &str)] = &[
    ("ob30/validator/simple-err-context.json", "bad_context"),
    ("ob30/validator/simple-err-type.json", "wrong_type"),
    ("ob30/validator/simple-err-issuer.json", "missing_field"),
    ("ob30/validator/endorsement-valid.json", "wrong_type"),
    (
        "ob30/validator/endorsement-err-schema-status-refresh.json",
        "wrong_type",
    ),
    ("ob30/validator/bit-string-list/testlist", "wrong_type"),
    (
        "ob20/validator/basic-assertion-invalid-context.json",
        "unknown_context",
    ),
    (
        "ob20/validator/basic-assertion-invalid-type.json",
        "wrong_type",
    ),
    (
        "legacy/ob10-assertion-recipient-as-string-INVALID.json",
        "bad_field",
    ),
];

fn version_named(ob_version: &str) -> Option<ObVersion> {
    [
        ObVersion::V0_5,
        ObVersion::V1_0,
        ObVersion::V1_1,
        ObVersion::V2_0,
        ObVersion::V3_0,
    ]
    .into_iter()
    .find(|v| ob_version.starts_with(v.as_str()))
}

#[test]
fn every_spec_example_document_parses_to_its_listed_version_or_is_refused_for_its_reason() {
    let expected = fixture_json("ob-spec-examples/expected-results.json");
    let entries = expected["fixtures"].as_array().cloned().unwrap_or_default();
    let mut checked = 0;

    for entry in entries {
        let path = entry["path"].as_str().unwrap_or_default();
        let format = entry["format"].as_str().unwrap_or_default();
        let ob_version = entry["ob_version"].as_str().unwrap_or_default();
        let is_image = path.ends_with(".png") || path.ends_with(".svg");
        if is_image || path.contains("rdf-validation/") {
            continue; // images belong to the unbaker; rdf-validation holds JSON-LD class checks
        }
        let text = fixture(&format!("ob-spec-examples/{path}"));
        checked += 1;

        if let Some((_, code)) = SPEC_REFUSED.iter().find(|(p, _)| *p == path) {
            let result = parse_badge(&text);
            assert_eq!(
                result.as_ref().err().map(ParseError::code),
                Some(*code),
                "{path}"
            );
        } else if format.starts_with("BadgeClass") {
            let result = parse_badge_class(&text, None);
            assert!(result.is_ok(), "{path}: {result:?}");
        } else if format.starts_with("Issuer") {
            let result = parse_issuer(&text, None);
            assert!(result.is_ok(), "{path}: {result:?}");
        } else {
            let badge = parse_badge(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(Some(badge.version), version_named(ob_version), "{path}");
            assert!(!embedded_name(&badge).is_some_and(str::is_empty), "{path}");
            assert!(!badge.recipient.identity.is_empty(), "{path}");
            assert_eq!(badge.original.as_str(), text, "{path}");
        }
    }

    assert!(checked > 80, "only {checked} fixtures were checked");
}

fn embedded_name(badge: &ParsedBadge) -> Option<&str> {
    badge
        .badge_class
        .embedded()
        .map(|class| class.name.as_str())
}

#[test]
fn ob05_hashed_example_keeps_its_top_level_salt_and_embedded_issuer() {
    let badge = parse_ok("ob-spec-examples/legacy/ob05-assertion-hashed.json");

    let class = embedded_class(&badge);
    assert_eq!(badge.version, ObVersion::V0_5);
    assert_eq!(
        badge.recipient,
        RecipientIdentity {
            kind: IdentityKind::Email,
            identity: "sha256$85c4196c5516561cef673642157499b70066cb1070852b2a37fdbf3cc599b087"
                .into(),
            hashed: true,
            salt: Some("sel gris".into()),
        }
    );
    assert_eq!(badge.issued_on, utc("2011-06-01T00:00:00Z"));
    assert_eq!(class.name, "Basic McBadge");
    assert_eq!(class.image.as_deref(), Some("http://oldstyle.com/images/2"));
    assert_eq!(
        embedded_issuer(class).url.as_deref(),
        Some("http://oldstyle.com")
    );
    assert_eq!(embedded_issuer(class).name.as_deref(), Some("Basic Issuer"));
    assert_eq!(badge.verification, VerificationKind::Hosted { url: None });
}

#[test]
fn ob05_plain_email_example_is_an_unhashed_email_without_salt() {
    let badge = parse_ok("ob-spec-examples/legacy/ob05-assertion-plain-email.json");

    assert_eq!(badge.version, ObVersion::V0_5);
    assert_eq!(badge.recipient.identity, "test@example.com");
    assert!(!badge.recipient.hashed);
    assert_eq!(badge.recipient.salt, None);
    assert_eq!(badge.issued_on, None);
}

#[test]
fn ob10_example_links_its_badge_class_and_is_hosted_at_verify_url() {
    let badge = parse_ok("ob-spec-examples/legacy/ob10-assertion.json");

    assert_eq!(badge.version, ObVersion::V1_0);
    assert_eq!(badge.assertion_id.as_deref(), Some("123abc"));
    assert_eq!(
        badge.badge_class,
        Linked::Url("http://a.com/badgeclass".into())
    );
    assert_eq!(badge.issued_on, utc("2015-04-30T00:00:00Z"));
    assert_eq!(
        badge.verification,
        VerificationKind::Hosted {
            url: Some("http://a.com/instance".into())
        }
    );
}

#[test]
fn ob10_badge_class_takes_its_id_from_the_url_it_was_fetched_from() {
    let base = Url::parse("http://a.com/badgeclass").ok();
    let text = fixture("ob-spec-examples/legacy/ob10-badgeclass.json");

    let parsed = parse_badge_class(&text, base.as_ref());

    let class = parsed
        .map(|doc| doc.value)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(class.id.as_deref(), Some("http://a.com/badgeclass"));
    assert_eq!(class.issuer, Linked::Url("http://a.com/issuer".into()));
    assert_eq!(
        class.criteria.and_then(|c| c.url).as_deref(),
        Some("http://a.com/badgeclass_criteria")
    );
}

#[test]
fn ob11_example_using_the_2_0_verification_term_is_read_with_a_warning() {
    let badge = parse_ok("ob-spec-examples/legacy/ob11-assertion.json");

    assert_eq!(badge.version, ObVersion::V1_1);
    assert!(
        has_warning(&badge, "`verification` was read"),
        "{:?}",
        badge.warnings
    );
    assert_eq!(
        badge.verification,
        VerificationKind::Hosted {
            url: Some("https://example.org/beths-robotics-badge.json".into())
        }
    );
}

#[test]
fn ob20_signed_jws_keeps_the_compact_form_and_names_its_key() {
    let text = fixture("ob-spec-examples/ob20/validator/simple.jwt");

    let badge = parse_badge(&text).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(badge.version, ObVersion::V2_0);
    assert_eq!(
        badge.verification,
        VerificationKind::Signed {
            creator: Some("http://example.org/key1.json".into()),
            jws: Some(text.trim().to_owned()),
        }
    );
    assert_eq!(badge.recipient.salt.as_deref(), Some("deadsea"));
}

#[test]
fn ob30_simple_credential_reads_achievement_issuer_subject_and_proof() {
    let badge = parse_ok("ob-spec-examples/ob30/validator/simple.json");

    let class = embedded_class(&badge);
    let details = vc(&badge);
    assert_eq!(badge.version, ObVersion::V3_0);
    assert_eq!(
        badge.assertion_id.as_deref(),
        Some("http://example.com/credentials/3527")
    );
    assert_eq!(
        badge.recipient.identity,
        "did:example:ebfeb1f712ebc6f1c276e12ec21"
    );
    assert_eq!(badge.recipient.kind, IdentityKind::Other("id".into()));
    assert_eq!(class.name, "Teamwork");
    assert!(class
        .criteria
        .as_ref()
        .and_then(|c| c.narrative.as_ref())
        .is_some());
    assert_eq!(embedded_issuer(class).name.as_deref(), Some("Example Corp"));
    assert_eq!(badge.issued_on, utc("2010-01-01T00:00:00Z"));
    assert_eq!(details.data_model, VcDataModel::V2_0);
    assert_eq!(
        details.proof,
        Ob3Proof::Embedded {
            proofs: vec![EmbeddedProof {
                proof_type: Some("DataIntegrityProof".into()),
                cryptosuite: Some("eddsa-rdfc-2022".into()),
                verification_method: Some(format!(
                    "https://example.com/issuers/876543#{}",
                    "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
                )),
            }]
        }
    );
}

#[test]
fn ob30_complete_credential_lists_every_identifier_and_its_expiry() {
    let badge = parse_ok("ob-spec-examples/ob30/validator/complete.json");

    let others: Vec<&str> = badge
        .other_identities
        .iter()
        .map(|r| r.identity.as_str())
        .collect();
    assert_eq!(
        badge.recipient.identity,
        "did:example:ebfeb1f712ebc6f1c276e12ec21"
    );
    assert_eq!(others, ["student@1edtech.edu", "somebody@gmail.com"]);
    assert!(badge
        .other_identities
        .iter()
        .all(|r| r.kind == IdentityKind::Email && !r.hashed));
    assert_eq!(badge.expires, utc("2030-01-01T00:00:00Z"));
    assert_eq!(embedded_class(&badge).alignments.len(), 2);
}

#[test]
fn ob30_vc_1_1_jwt_reads_the_vc_claim_and_falls_back_to_the_credential_name() {
    let badge = parse_ok("ob-spec-examples/ob30/validator/simple.jwt");

    let details = vc(&badge);
    assert_eq!(details.data_model, VcDataModel::V1_1);
    assert_eq!(embedded_class(&badge).name, "Example University Degree");
    assert!(
        has_warning(&badge, "achievement` is missing"),
        "{:?}",
        badge.warnings
    );
    let Ob3Proof::VcJwt { claims, form, .. } = &details.proof else {
        panic!("not a VC-JWT: {:?}", details.proof);
    };
    assert_eq!(*form, VcJwtForm::VcClaim);
    assert_eq!(claims.nbf, Some(1_262_304_000));
    assert_eq!(
        claims.iss.as_deref(),
        Some("https://example.edu/issuers/565049")
    );
}

#[test]
fn ob30_baked_jwts_are_read_in_both_claim_forms() {
    let cases = [
        (
            "ob-spec-examples/ob30/validator/simple-jwt.png",
            VcJwtForm::Payload,
            VcDataModel::V2_0,
        ),
        (
            "ob-spec-examples/ob30/validator/simple-jwt.svg",
            VcJwtForm::Payload,
            VcDataModel::V2_0,
        ),
        (
            "ob-spec-examples/ob30/validator/simple-jwt_v1.png",
            VcJwtForm::VcClaim,
            VcDataModel::V1_1,
        ),
        (
            "ob-spec-examples/ob30/validator/simple-jwt_v1.svg",
            VcJwtForm::VcClaim,
            VcDataModel::V1_1,
        ),
    ];

    for (path, expected_form, expected_model) in cases {
        let token = baked_payload(path, "openbadgecredential").unwrap_or_default();

        let badge = parse_badge(&token).unwrap_or_else(|e| panic!("{path}: {e}"));

        let details = vc(&badge);
        assert_eq!(details.data_model, expected_model, "{path}");
        match &details.proof {
            Ob3Proof::VcJwt { form, jws, .. } => {
                assert_eq!(
                    (*form, jws.as_str()),
                    (expected_form, token.trim()),
                    "{path}"
                )
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn ob30_proof_and_status_variants_are_reported_as_written() {
    let no_proof = parse_ok("ob-spec-examples/ob30/validator/simple-noproof.json");
    let two_proofs = parse_ok("ob-spec-examples/ob30/validator/simple-multiple-proofs.json");
    let revocation = parse_ok("ob-spec-examples/ob30/validator/credential-status-revoked.json");
    let bitstring =
        parse_ok("ob-spec-examples/ob30/validator/bit-string-list/credential-status-revoked.json");

    assert_eq!(vc(&no_proof).proof, Ob3Proof::None);
    assert!(matches!(&vc(&two_proofs).proof, Ob3Proof::Embedded { proofs } if proofs.len() == 2));
    let status_type = |b: &ParsedBadge| vc(b).status.as_ref().and_then(|s| s.status_type.clone());
    assert_eq!(
        status_type(&revocation).as_deref(),
        Some("1EdTechRevocationList")
    );
    assert_eq!(
        status_type(&bitstring).as_deref(),
        Some("BitstringStatusListEntry")
    );
}

#[test]
fn ob30_older_contexts_and_data_models_are_warned_about() {
    let old_context = parse_ok("ob-spec-examples/ob30/validator/simple-context-version.json");
    let vc_1_1 = parse_ok("ob-spec-examples/ob30/validator/simple_v1.json");
    let current = parse_ok("ob-spec-examples/ob30/validator/simple.json");

    assert!(
        has_warning(&old_context, "current OB context"),
        "{:?}",
        old_context.warnings
    );
    assert!(has_warning(&vc_1_1, "VC 1.1"), "{:?}", vc_1_1.warnings);
    assert!(current.warnings.is_empty(), "{:?}", current.warnings);
}

// ---------------------------------------------------------------------------------------
// ob-validator-core components (README table)
// ---------------------------------------------------------------------------------------

#[test]
fn validator_core_components_parse_as_their_readme_describes() {
    let assertions = [
        ("0_5_assertion.json", ObVersion::V0_5),
        ("0_5_1_assertion.json", ObVersion::V0_5),
        ("1_0_basic_assertion.json", ObVersion::V1_0),
        (
            "1_0_basic_assertion_with_extra_properties.json",
            ObVersion::V1_0,
        ),
        ("1_1_basic_assertion.json", ObVersion::V1_1),
        ("2_0_basic_assertion.json", ObVersion::V2_0),
        ("utf8pr169__2_0_basic_utf8_assertion.json", ObVersion::V2_0),
    ];
    let classes = [
        "1_0_basic_badgeclass.json",
        "1_1_basic_badgeclass.json",
        "2_0_basic_badgeclass.json",
        "utf8pr169__2_0_basic_utf8_badgeclass.json",
    ];
    let issuers = [
        "1_0_basic_issuer.json",
        "1_1_basic_issuer.json",
        "2_0_basic_issuer.json",
    ];
    let refused = [
        ("1_0_assertion_with_errors.json", "bad_field"),
        ("2_0_basic_endorsement.json", "wrong_type"),
    ];

    for (file, version) in assertions {
        let badge = parse_ok(&format!("ob-validator-core/components/{file}"));
        assert_eq!(badge.version, version, "{file}");
    }
    for file in classes {
        let parsed = parse_badge_class(
            &fixture(&format!("ob-validator-core/components/{file}")),
            None,
        );
        assert!(parsed.is_ok(), "{file}: {parsed:?}");
    }
    for file in issuers {
        let parsed = parse_issuer(
            &fixture(&format!("ob-validator-core/components/{file}")),
            None,
        );
        assert!(parsed.is_ok_and(|doc| doc.value.name.is_some()), "{file}");
    }
    for (file, code) in refused {
        let parsed = parse_badge(&fixture(&format!("ob-validator-core/components/{file}")));
        assert_eq!(parsed.err().map(|e| e.code()), Some(code), "{file}");
    }
}

#[test]
fn a_cyrillic_assertion_id_is_kept_exactly() {
    let badge = parse_ok("ob-validator-core/components/utf8pr169__2_0_basic_utf8_assertion.json");

    assert_eq!(
        badge.assertion_id.as_deref(),
        Some("https://example.org/Краљ_Петар.json")
    );
}

// ---------------------------------------------------------------------------------------
// ob-scenarios (cases.json)
// ---------------------------------------------------------------------------------------

/// Cases whose document is not an assertion at all, and the refusal expected.
const SCENARIO_REFUSED: &[(&str, &str)] = &[("assertion-typed-as-badgeclass", "wrong_type")];

/// Cases where the reference gives no version because it could not verify (no URL, or the
/// fixture server answers 404); the stored document's own version is known from the scenario.
const SCENARIO_VERSION_WITHOUT_VERDICT: &[(&str, ObVersion)] = &[
    ("hosted-404-html", ObVersion::V2_0),
    ("json-input-without-url-id", ObVersion::V2_0),
    ("ob05-json-without-url", ObVersion::V0_5),
];

fn scenario_document(case: &Value) -> Option<String> {
    let scenario = case["scenario"].as_str()?;
    let input = case["input"].as_str()?;
    let local = if let Some(path) = input.strip_prefix("https://issuer.example/") {
        format!("{scenario}/issuer.example/{path}")
    } else if let Some(path) = input.strip_prefix("https://other.example/") {
        format!("{scenario}/other.example/{path}")
    } else {
        format!("{scenario}/{input}")
    };
    let is_document = !(local.ends_with(".png") || local.ends_with(".svg"));
    let path = fixtures().join("ob-scenarios").join(&local);
    (is_document && path.exists()).then_some(local)
}

#[test]
fn every_scenario_document_parses_to_the_version_the_reference_reported() {
    let cases = fixture_json("ob-scenarios/cases.json");
    let mut checked = 0;

    for case in cases.as_array().cloned().unwrap_or_default() {
        let id = case["id"].as_str().unwrap_or_default();
        let Some(local) = scenario_document(&case) else {
            continue;
        };
        let result = parse_badge(&fixture(&format!("ob-scenarios/{local}")));
        checked += 1;

        if let Some((_, code)) = SCENARIO_REFUSED.iter().find(|(c, _)| *c == id) {
            assert_eq!(result.err().map(|e| e.code()), Some(*code), "{id}");
            continue;
        }
        let badge = result.unwrap_or_else(|e| panic!("{id} ({local}): {e}"));
        let expected = case["expected"]["openBadgesVersion"]
            .as_str()
            .and_then(version_named)
            .or_else(|| {
                SCENARIO_VERSION_WITHOUT_VERDICT
                    .iter()
                    .find(|(c, _)| *c == id)
                    .map(|(_, v)| *v)
            });
        assert_eq!(Some(badge.version), expected, "{id}");
        check_scenario_fields(id, &badge);
    }

    assert!(
        checked >= 40,
        "only {checked} scenario documents were checked"
    );
}

/// The fields each scenario is about, as its note in cases.json describes them.
fn check_scenario_fields(id: &str, badge: &ParsedBadge) {
    let r = &badge.recipient;
    match id {
        "plain-email-match" => assert_eq!(
            (r.hashed, r.identity.as_str()),
            (false, "recipient@example.org")
        ),
        "sha256-unsalted-match" | "sha256-empty-salt-match" => {
            assert_eq!((r.hashed, r.salt.as_deref()), (true, None), "{id}")
        }
        "md5-salted-match" => assert!(r.hashed && r.identity.starts_with("md5$"), "{id}"),
        "hashed-true-plain-identity" => assert!(r.hashed, "{id}: the flag decides"),
        "url-identity-vs-email-profile" => assert_eq!(r.kind, IdentityKind::Url),
        "issuedOn-without-timezone" => {
            assert_eq!(badge.issued_on, utc("2016-12-31T23:59:59Z"));
            assert!(has_warning(badge, "time zone"), "{:?}", badge.warnings);
        }
        "ob11-epoch-seconds-issuedOn" => {
            assert_eq!(badge.issued_on, DateTime::from_timestamp(1_500_423_730, 0))
        }
        "hosted-body-revoked-true" => {
            assert_eq!(badge.revoked, Some(true));
            assert_eq!(badge.revocation_reason.as_deref(), Some("Issued in error"));
        }
        "json-input-without-url-id" | "ob05-json-without-url" => {
            assert_eq!(
                badge.verification,
                VerificationKind::Hosted { url: None },
                "{id}"
            )
        }
        "assertion-with-embedded-badgeclass" => {
            assert_eq!(
                embedded_class(badge).id.as_deref(),
                Some("https://issuer.example/badgeclass.json")
            )
        }
        "signed-valid" => assert!(matches!(
            &badge.verification,
            VerificationKind::Signed { creator: Some(c), jws: Some(_) }
                if c == "https://issuer.example/key.json"
        )),
        "ob05-hosted-hashed" => {
            assert_eq!((r.hashed, r.salt.as_deref()), (true, Some("deadsea")));
            let issuer = embedded_issuer(embedded_class(badge));
            assert_eq!(issuer.email.as_deref(), Some("issuer@issuer.example"));
        }
        "ob11-with-2.0-verification-property" => {
            assert!(
                has_warning(badge, "`verification` was read"),
                "{:?}",
                badge.warnings
            )
        }
        _ => {}
    }
}

#[test]
fn every_scenario_badge_class_and_issuer_document_parses() {
    let root = fixtures().join("ob-scenarios");
    let scenarios = std::fs::read_dir(&root).map(|d| d.flatten().collect::<Vec<_>>());
    let mut checked = 0;

    for scenario in scenarios.unwrap_or_default() {
        let name = scenario.file_name().to_string_lossy().into_owned();
        for host in ["issuer.example", "other.example"] {
            let class_path = format!("ob-scenarios/{name}/{host}/badgeclass.json");
            let issuer_path = format!("ob-scenarios/{name}/{host}/issuer.json");
            if fixtures().join(&class_path).exists() {
                let parsed = parse_badge_class(&fixture(&class_path), None);
                assert!(parsed.is_ok(), "{class_path}: {parsed:?}");
                checked += 1;
            }
            if fixtures().join(&issuer_path).exists() {
                let parsed = parse_issuer(&fixture(&issuer_path), None);
                assert!(parsed.is_ok(), "{issuer_path}: {parsed:?}");
            }
        }
    }

    assert!(checked >= 40, "only {checked} badge classes were checked");
}

#[test]
fn scenario_documents_expose_what_the_verifier_checks() {
    let missing_description = parse_badge_class(
        &fixture(
            "ob-scenarios/struct-badgeclass-missing-description/issuer.example/badgeclass.json",
        ),
        None,
    );
    let allowed = parse_issuer(
        &fixture("ob-scenarios/hosted-allowed-origins/issuer.example/issuer.json"),
        None,
    );
    let keyed = parse_issuer(
        &fixture("ob-scenarios/signed-valid/issuer.example/issuer.json"),
        None,
    );

    let missing_description = missing_description.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing_description.value.description, None);
    assert!(missing_description
        .warnings
        .iter()
        .any(|w| w.contains("no description")));
    let policy = allowed
        .ok()
        .and_then(|doc| doc.value.verification)
        .unwrap_or_default();
    assert_eq!(policy.allowed_origins, ["other.example"]);
    let keys = keyed.map(|doc| doc.value.public_keys).unwrap_or_default();
    assert_eq!(keys, ["https://issuer.example/key.json"]);
}

// ---------------------------------------------------------------------------------------
// ob3-openbadgeslib (cases.json)
// ---------------------------------------------------------------------------------------

#[test]
fn openbadgeslib_credentials_match_their_recorded_subjects() {
    let cases = fixture_json("ob3-openbadgeslib/cases.json");

    for case in cases.as_array().cloned().unwrap_or_default() {
        let id = case["id"].as_str().unwrap_or_default();
        let file = format!(
            "ob3-openbadgeslib/{}",
            case["file"].as_str().unwrap_or_default()
        );
        let Some(token) = baked_payload(&file, "openbadgecredential") else {
            assert!(
                case["expected"]["proof_format"].is_null(),
                "{id}: no OB 3.0 payload found"
            );
            continue;
        };

        let badge = parse_badge(&token).unwrap_or_else(|e| panic!("{id}: {e}"));

        assert_eq!(badge.version, ObVersion::V3_0, "{id}");
        assert!(
            matches!(
                vc(&badge).proof,
                Ob3Proof::VcJwt {
                    form: VcJwtForm::Payload,
                    ..
                }
            ),
            "{id}"
        );
        let subject = &case["expected"]["credentialSubject"];
        if !subject.is_null() {
            check_subject(id, &badge, subject);
        }
    }
}

fn check_subject(id: &str, badge: &ParsedBadge, subject: &Value) {
    let achievement = &subject["achievement"];
    let class = embedded_class(badge);
    assert_eq!(class.id.as_deref(), achievement["id"].as_str(), "{id}");
    assert_eq!(
        Some(class.name.as_str()),
        achievement["name"].as_str(),
        "{id}"
    );
    assert_eq!(
        class.description.as_deref(),
        achievement["description"].as_str(),
        "{id}"
    );
    assert_eq!(
        class.image.as_deref(),
        achievement["image"]["id"].as_str(),
        "{id}"
    );
    let narrative = class.criteria.as_ref().and_then(|c| c.narrative.as_deref());
    assert_eq!(
        narrative,
        achievement["criteria"]["narrative"].as_str(),
        "{id}"
    );
    match subject["id"].as_str() {
        Some(mailto) => {
            assert_eq!(badge.recipient.kind, IdentityKind::Email, "{id}");
            assert_eq!(
                Some(badge.recipient.identity.as_str()),
                mailto.strip_prefix("mailto:")
            );
        }
        None => {
            let entry = &subject["identifier"][0];
            assert_eq!(
                Some(badge.recipient.identity.as_str()),
                entry["identityHash"].as_str()
            );
            assert_eq!(
                badge.recipient.salt.as_deref(),
                entry["salt"].as_str(),
                "{id}"
            );
            assert!(badge.recipient.hashed, "{id}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Crafted inputs
// ---------------------------------------------------------------------------------------

fn sign_free_jws(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    format!(
        "{header}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[test]
fn field_report_4_legacy_badge_resolves_relative_urls_against_the_issuer_origin() {
    let description = "D".repeat(300);
    let input = json!({
        "recipient": "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc",
        "salt": "abc123", "issued_on": "2012-12-28", "evidence": "/work/1",
        "badge": {"version": "0.5.0", "name": "N", "description": description,
                  "image": "/img/b.png", "criteria": "/c",
                  "issuer": {"origin": "https://issuer.example", "name": "I", "org": "Org"}},
        "verify": {"type": "hosted", "url": "https://issuer.example/a/1"}
    })
    .to_string();

    let badge = parse_badge(&input).unwrap_or_else(|e| panic!("{e}"));

    let class = embedded_class(&badge);
    assert_eq!(
        class.image.as_deref(),
        Some("https://issuer.example/img/b.png")
    );
    assert_eq!(
        class.criteria.as_ref().and_then(|c| c.url.as_deref()),
        Some("https://issuer.example/c")
    );
    assert_eq!(class.description.as_deref().map(str::len), Some(300));
    assert_eq!(
        badge.evidence[0].id.as_deref(),
        Some("https://issuer.example/work/1")
    );
    assert_eq!(embedded_issuer(class).name.as_deref(), Some("I: Org"));
    assert_eq!(
        badge.verification,
        VerificationKind::Hosted {
            url: Some("https://issuer.example/a/1".into())
        }
    );
    assert!(badge.recipient.hashed);
}

#[test]
fn field_report_19_non_ascii_text_and_a_byte_order_mark_survive_untouched() {
    let input = format!(
        "\u{feff}{}",
        json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
            "id": "https://issuer.example/опис/значка.json",
            "recipient": {"type": "email", "hashed": false, "identity": "learner@example.org"},
            "badge": {"type": "BadgeClass", "id": "https://issuer.example/bc",
                      "name": "Insignia de participación", "description": "SAFe® — worldʼs",
                      "image": "https://issuer.example/b.png", "criteria": {"narrative": "Ünïcödé"},
                      "issuer": {"id": "https://issuer.example/i", "type": "Profile",
                                 "name": "Émetteur"}},
            "issuedOn": "2024-01-01T00:00:00Z", "verification": {"type": "HostedBadge"}
        })
    );

    let badge = parse_badge(&input).unwrap_or_else(|e| panic!("{e}"));

    let class = embedded_class(&badge);
    assert_eq!(class.name, "Insignia de participación");
    assert_eq!(class.description.as_deref(), Some("SAFe® — worldʼs"));
    assert_eq!(embedded_issuer(class).name.as_deref(), Some("Émetteur"));
    assert_eq!(badge.original.as_str(), input);
    assert_eq!(
        badge.verification,
        VerificationKind::Hosted {
            url: Some("https://issuer.example/опис/значка.json".into())
        }
    );
}

#[test]
fn a_1_0_signed_jws_points_at_its_pem_key() {
    let payload = json!({
        "uid": "42", "recipient": {"type": "email", "hashed": false, "identity": "a@b.example"},
        "badge": "https://issuer.example/bc", "issuedOn": 1_500_000_000,
        "verify": {"type": "signed", "url": "https://issuer.example/public.pem"}
    });
    let token = sign_free_jws(&payload);

    let badge = parse_badge(&format!("{token}\n")).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(badge.version, ObVersion::V1_0);
    assert_eq!(
        badge.verification,
        VerificationKind::LegacySigned {
            key_url: Some("https://issuer.example/public.pem".into()),
            jws: Some(token),
        }
    );
    assert!(badge.warnings.is_empty(), "{:?}", badge.warnings);
}

#[test]
fn a_signed_2_0_assertion_given_as_plain_json_is_read_but_flagged() {
    let input = json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "urn:uuid:1",
        "recipient": {"type": "email", "hashed": false, "identity": "a@b.example"},
        "badge": "https://issuer.example/bc", "issuedOn": "2024-01-01T00:00:00Z",
        "verification": {"type": "SignedBadge", "creator": "https://issuer.example/k"}
    });

    let badge = parse_badge(&input.to_string()).unwrap_or_else(|e| panic!("{e}"));

    assert!(matches!(
        badge.verification,
        VerificationKind::Signed { jws: None, .. }
    ));
    assert!(
        has_warning(&badge, "no signature came"),
        "{:?}",
        badge.warnings
    );
}

#[test]
fn a_vc_1_1_jwt_fills_gaps_in_the_vc_claim_from_registered_claims() {
    let payload = json!({
        "vc": {"@context": ["https://www.w3.org/2018/credentials/v1",
                            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
               "type": ["VerifiableCredential", "OpenBadgeCredential"],
               "credentialSubject": {"type": ["AchievementSubject"],
                   "achievement": {"id": "urn:a", "type": ["Achievement"], "name": "A",
                                   "description": "D", "criteria": {"narrative": "N"}}}},
        "iss": "https://issuer.example/i", "sub": "mailto:learner@example.org",
        "jti": "urn:uuid:9", "nbf": 1_704_067_200, "exp": 1_893_456_000
    });

    let badge = parse_badge(&sign_free_jws(&payload)).unwrap_or_else(|e| panic!("{e}"));

    let class = embedded_class(&badge);
    assert_eq!(class.issuer, Linked::Url("https://issuer.example/i".into()));
    assert_eq!(badge.assertion_id.as_deref(), Some("urn:uuid:9"));
    assert_eq!(badge.recipient.identity, "learner@example.org");
    assert_eq!(badge.issued_on, utc("2024-01-01T00:00:00Z"));
    assert!(has_warning(&badge, "`iss` claim"), "{:?}", badge.warnings);
}

#[test]
fn a_vc_2_0_credential_prefers_awarded_date_and_reads_vc_1_1_date_names() {
    let credential = |dates: Value| {
        let mut base = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:c",
            "type": ["VerifiableCredential", "AchievementCredential"],
            "issuer": "https://i.example",
            "credentialSubject": {"identifier": [{"type": "IdentityObject", "hashed": true,
                "identityHash": "sha256$abcd", "identityType": "emailAddress", "salt": ""}],
                "achievement": {"name": "A", "description": "D"}}
        });
        if let (Some(target), Some(extra)) = (base.as_object_mut(), dates.as_object()) {
            target.extend(extra.clone());
        }
        base.to_string()
    };
    let cases = [
        (
            json!({"validFrom": "2024-01-01T00:00:00Z", "awardedDate": "2023-06-01T00:00:00Z"}),
            "2023-06-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
        ),
        (
            json!({"issuanceDate": "2022-02-02T00:00:00Z"}),
            "2022-02-02T00:00:00Z",
            "2022-02-02T00:00:00Z",
        ),
    ];

    for (dates, issued, valid_from) in cases {
        let badge = parse_badge(&credential(dates.clone())).unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(badge.issued_on, utc(issued), "{dates}");
        assert_eq!(vc(&badge).valid_from, utc(valid_from), "{dates}");
        assert_eq!(badge.recipient.salt, None, "{dates}");
        assert!(badge.recipient.hashed, "{dates}");
    }
}

#[test]
fn each_kind_of_bad_input_gets_its_own_error_code() {
    let deep = format!(
        "{}{}",
        "[".repeat(MAX_JSON_DEPTH + 1),
        "]".repeat(MAX_JSON_DEPTH + 1)
    );
    let deep_object = format!(r#"{{"recipient":{}1{}}}"#, "[".repeat(70), "]".repeat(70));
    let assertion = |patch: Value| {
        let mut base = json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
            "id": "https://i.example/a",
            "recipient": {"type": "email", "hashed": false, "identity": "a@b.example"},
            "badge": "https://i.example/bc", "issuedOn": "2024-01-01T00:00:00Z",
            "verification": {"type": "hosted"}
        });
        if let (Some(target), Some(patch)) = (base.as_object_mut(), patch.as_object()) {
            target.extend(patch.clone());
        }
        base.to_string()
    };
    let cases = [
        ("   \n".to_owned(), "empty"),
        (
            "https://issuer.example/assertion.json".to_owned(),
            "url_not_document",
        ),
        ("{\"recipient\": ".to_owned(), "not_json"),
        ("not a badge".to_owned(), "not_json"),
        (deep, "too_deep"),
        (deep_object.clone(), "too_deep"),
        ("[1, 2]".to_owned(), "not_an_object"),
        ("e30.e30.e30".to_owned(), "bad_jws"),
        ("{}".to_owned(), "unknown_version"),
        (
            assertion(json!({"@context": "https://w3id.org/openbadges/v9"})),
            "unknown_context",
        ),
        (
            assertion(json!({"@context": ["https://w3id.org/openbadges/v2",
                                       "https://www.w3.org/ns/credentials/v2"]})),
            "bad_context",
        ),
        (assertion(json!({"type": "BadgeClass"})), "wrong_type"),
        (
            assertion(json!({"badge": {"type": "Issuer", "name": "x"}})),
            "wrong_type",
        ),
        (assertion(json!({"recipient": null})), "missing_field"),
        (
            assertion(json!({"badge": {"name": "N", "description": "D"}})),
            "missing_field",
        ),
        (
            assertion(json!({"badge": {"issuer": "https://i.example/i"}})),
            "missing_field",
        ),
        (assertion(json!({"recipient": "a@b.example"})), "bad_field"),
        (
            assertion(json!({"verification": {"type": "carrier-pigeon"}})),
            "bad_field",
        ),
        (assertion(json!({"issuedOn": "last Tuesday"})), "bad_date"),
        (assertion(json!({"expires": false})), "bad_date"),
        (
            r#"{"recipient": "a@b.example", "badge": {"name": "N", "issuer": {"name": "I"}}}"#
                .to_owned(),
            "missing_field",
        ),
        (
            r#"{"recipient": "a@b.example", "badge": {"name": "N",
             "issuer": {"origin": "not a url", "name": "I"}}}"#
                .to_owned(),
            "bad_field",
        ),
    ];

    for (input, code) in cases {
        let result = parse_badge(&input);

        let short: String = input.chars().take(90).collect();
        assert_eq!(
            result.as_ref().err().map(ParseError::code),
            Some(code),
            "{short}: {result:?}"
        );
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.len() > 10, "{short}: unhelpful message {message:?}");
    }
}

#[test]
fn a_too_deep_jws_payload_is_reported_as_too_deep() {
    let payload = format!(r#"{{"a":{}1{}}}"#, "[".repeat(70), "]".repeat(70));
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
    let token = format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(payload));

    let result = parse_badge(&token);

    assert_eq!(result.err().map(|e| e.code()), Some("too_deep"));
}

#[test]
fn parsed_badges_serialise_with_dotted_version_names() {
    let badge = parse_ok("ob-spec-examples/legacy/ob20-assertion.json");

    let value = serde_json::to_value(&badge).unwrap_or_default();

    assert_eq!(value["version"], json!("2.0"));
    assert_eq!(
        value["badge_class"],
        json!({"url": "https://example.org/robotics-badge.json"})
    );
    assert_eq!(value["verification"]["kind"], json!("hosted"));
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "@context",
    "type",
    "id",
    "uid",
    "recipient",
    "identity",
    "hashed",
    "salt",
    "badge",
    "issuer",
    "origin",
    "name",
    "description",
    "image",
    "criteria",
    "issuedOn",
    "issued_on",
    "expires",
    "verification",
    "verify",
    "url",
    "creator",
    "evidence",
    "credentialSubject",
    "achievement",
    "identifier",
    "identityHash",
    "identityType",
    "validFrom",
    "issuanceDate",
    "proof",
    "vc",
];

const STRINGS: &[&str] = &[
    "https://w3id.org/openbadges/v2",
    "https://w3id.org/openbadges/v1",
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/2018/credentials/v1",
    "Assertion",
    "BadgeClass",
    "OpenBadgeCredential",
    "VerifiableCredential",
    "hosted",
    "signed",
    "email",
    "sha256$abcd",
    "a@b.example",
    "mailto:a@b.example",
    "2016-12-31T23:59:59Z",
    "2015-04-30",
    "1500423730",
    "/relative",
    "https://issuer.example",
    "",
    "ü$€",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..8).prop_map(
                |entries| Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )
            ),
        ]
    })
}

proptest! {
    #[test]
    fn parse_badge_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = parse_badge(&text);
    }

    #[test]
    fn parse_badge_never_panics_on_arbitrary_json(value in json_value()) {
        let text = value.to_string();

        let _ = parse_badge(&text);
        let _ = parse_badge(&sign_free_jws(&value));
        let _ = parse_badge_class(&text, None);
        let _ = parse_issuer(&text, None);
    }

    #[test]
    fn a_successful_parse_keeps_the_input_exactly(value in json_value()) {
        let text = value.to_string();

        if let Ok(badge) = parse_badge(&text) {
            prop_assert_eq!(badge.original.as_str(), text.as_str());
        }
    }
}

#[test]
fn a_revoked_flag_written_as_a_string_is_read_as_a_flag() {
    let assertion = |flag: &str| {
        format!(
            "{{\"@context\":\"https://w3id.org/openbadges/v2\",\"type\":\"Assertion\",\
             \"id\":\"https://issuer.example/a/1\",\"badge\":\"https://issuer.example/bc/1\",\
             \"verification\":{{\"type\":\"HostedBadge\"}},\"issuedOn\":\"2024-01-01T00:00:00Z\",\
             \"recipient\":{{\"type\":\"email\",\"hashed\":false,\"identity\":\"a@example.org\"}},\
             \"revoked\":{flag}}}"
        )
    };
    let cases = [
        ("true", Some(true)),
        ("\"true\"", Some(true)),
        ("\" TRUE \"", Some(true)),
        ("\"false\"", Some(false)),
        ("false", Some(false)),
        ("\"maybe\"", None),
        ("1", None),
    ];

    for (flag, expected) in cases {
        let badge = parse_badge(&assertion(flag)).expect("parses");

        assert_eq!(badge.revoked, expected, "revoked: {flag}");
    }
}
