//! Field reports 1–6 and 12–19 (`shared/docs/field-reports.md`) as regression tests through
//! the real pipeline: each badge is served by the local issuer server from
//! `tests/data/field-reports/<case>/<host>/...`, reached through the fetcher's host rewrites,
//! and checked by `Verifier::verify` for a learner who must own it.
//! Signed badges are signed here with the fixtures' throwaway test keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use satchel::domain::recipient::MatchForm;
use satchel::fetch::{FetchLimits, Fetcher};
use satchel::verify::{Outcome, RecipientRule, Report, Status, Verifier};
use serde_json::{json, Value};

use crate::issuer::{IssuerServer, Route, FIXTURES};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/field-reports");
const HOSTS: [&str; 4] = [
    "issuer.example",
    "www.issuer.example",
    "mirror.example",
    "other.example",
];
const LEARNER: &str = "learner@example.org";
/// sha256("learner@example.org" + "abc123"), from the field reports' conventions.
const H_LEARNER: &str = "sha256$69fd1cd9289493149282fe3cc8597bbec602eea817d91042df7f85e6a5b8bebc";

/// One case folder served on its own issuer server, with a verifier pointed at it.
struct Issuer {
    server: IssuerServer,
    verifier: Verifier,
}

impl Issuer {
    fn start(case: &str, routes: &[(&str, Route)]) -> Issuer {
        Issuer::serve(PathBuf::from(DATA).join(case), routes)
    }

    fn serve(root: PathBuf, routes: &[(&str, Route)]) -> Issuer {
        let routes: HashMap<String, Route> = routes
            .iter()
            .map(|(path, route)| (path.to_string(), route.clone()))
            .collect();
        let server = IssuerServer::start_json(root, routes);
        let verifier = verifier_for(&server.base);
        Issuer { server, verifier }
    }

    async fn verify(&self, input: &[u8], confirmed: &[&str]) -> Report {
        let confirmed: Vec<String> = confirmed.iter().map(|s| s.to_string()).collect();
        self.verifier
            .verify(input, &confirmed, RecipientRule::Required)
            .await
    }

    async fn verify_url(&self, url: &str, confirmed: &[&str]) -> Report {
        self.verify(url.as_bytes(), confirmed).await
    }
}

/// A verifier whose requests for each logical host go to `base/<host>/`.
fn verifier_for(base: &str) -> Verifier {
    let rewrites = HOSTS
        .iter()
        .map(|host| (format!("https://{host}/"), format!("{base}/{host}/")))
        .collect();
    let limits = FetchLimits {
        allow_private: true,
        ..FetchLimits::default()
    };
    let fetcher = Fetcher::with_rewrites(limits, rewrites).expect("fetcher");
    Verifier::new(fetcher, Duration::from_secs(60))
}

fn summary(report: &Report) -> String {
    let checks: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("{}:{}:{:?}", c.check, c.code, c.outcome))
        .collect();
    format!("status {} checks {checks:?}", report.status.as_str())
}

fn assert_status(report: &Report, status: Status, case: &str) {
    assert_eq!(report.status, status, "{case}: {}", summary(report));
}

/// Whether a check with this name came out with this code and outcome.
fn has(report: &Report, check: &str, code: &str, outcome: Outcome) -> bool {
    report
        .checks
        .iter()
        .any(|c| c.check == check && c.code == code && c.outcome == outcome)
}

fn reason_code(report: &Report) -> String {
    report.reason().map(|c| c.code.clone()).unwrap_or_default()
}

// ---- signing -------------------------------------------------------------------------------

fn key_file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("ob-scenarios/_keys/test-rsa-private.pem")).expect("rsa")
}

fn other_rsa_key() -> EncodingKey {
    let pem = key_file("ob3-openbadgeslib/_keys/rsa-other-private.pem");
    EncodingKey::from_rsa_pem(&pem).expect("other rsa")
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&key_file("ob3-openbadgeslib/_keys/ec-p256-private.pem")).expect("ec")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload` with both encoded from exactly these JSON texts.
fn signing_input(header: &Value, payload: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

/// A compact JWS of `payload` under a header `{"alg": alg_name}`, signed with `algorithm`.
fn sign_as(alg_name: &str, algorithm: Algorithm, key: &EncodingKey, payload: &Value) -> String {
    let input = signing_input(&json!({ "alg": alg_name }), payload);
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm).expect("signs");
    format!("{input}.{signature}")
}

fn sign_rs256(payload: &Value, key: &EncodingKey) -> String {
    sign_as("RS256", Algorithm::RS256, key, payload)
}

/// A signed 2.0 assertion for the learner; `creator` is left out when `None`.
fn signed_assertion(id: &str, badge: &str, creator: Option<&str>) -> Value {
    let mut verification = json!({ "type": "SignedBadge" });
    if let Some(creator) = creator {
        verification["creator"] = json!(creator);
    }
    json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": id,
        "badge": badge,
        "verification": verification,
        "issuedOn": "2024-01-01T00:00:00Z",
        "recipient": {"type": "email", "hashed": true, "salt": "abc123", "identity": H_LEARNER}
    })
}

/// An ECDSA raw `R||S` signature re-encoded as an ASN.1 DER `SEQUENCE { r, s }`.
fn der_from_raw(raw: &[u8]) -> Vec<u8> {
    let integer = |bytes: &[u8]| {
        let mut value: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if value.first().is_none_or(|b| b & 0x80 != 0) {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, value.len() as u8];
        out.extend(value);
        out
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

// ---- 1. recipient email letter case ---------------------------------------------------------

#[tokio::test]
async fn case_1_a_plain_recipient_differing_only_in_letter_case_is_still_the_learners() {
    let issuer = Issuer::start("01-email-case", &[]);

    let report = issuer
        .verify_url("https://issuer.example/a/plain", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 1 plain");
    assert!(report.recipient.matched);
    assert_eq!(report.recipient.form, Some(MatchForm::CaseFolded));
    assert_eq!(report.recipient.address.as_deref(), Some(LEARNER));
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_1_hashes_of_case_variants_match_only_variants_the_learner_confirmed() {
    let issuer = Issuer::start("01-email-case", &[]);
    let cases: [(&str, &[&str], Option<MatchForm>); 3] = [
        ("hashed-mixed-case", &[LEARNER], None),
        (
            "hashed-mixed-case",
            &[LEARNER, "Learner@Example.org"],
            Some(MatchForm::HashOfTyped),
        ),
        (
            "hashed-lowercase",
            &["Learner@Example.org"],
            Some(MatchForm::HashOfLowercased),
        ),
    ];

    for (path, confirmed, form) in cases {
        let url = format!("https://issuer.example/a/{path}");
        let report = issuer.verify_url(&url, confirmed).await;

        let case = format!("case 1 {path} for {confirmed:?}");
        assert_eq!(report.recipient.form, form, "{case}: {}", summary(&report));
        let expected = if form.is_some() {
            Status::Valid
        } else {
            Status::Invalid
        };
        assert_status(&report, expected, &case);
        if form.is_none() {
            assert_eq!(reason_code(&report), "recipient_mismatch", "{case}");
        }
    }
    issuer.server.stop().await;
}

// ---- 2. identity hash format ----------------------------------------------------------------

#[tokio::test]
async fn case_2_upper_case_hex_upper_case_algorithm_and_md5_hashes_all_match() {
    let issuer = Issuer::start("02-hash-format", &[]);

    for path in ["upper-hex", "upper-alg", "md5"] {
        let url = format!("https://issuer.example/a/{path}");
        let report = issuer.verify_url(&url, &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 2 {path}"));
        assert!(report.recipient.matched, "case 2 {path}");
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_2_unknown_algorithms_and_wrong_lengths_get_their_own_error_not_not_yours() {
    let issuer = Issuer::start("02-hash-format", &[]);
    let cases = [
        ("unknown-alg", "identity_hash_algorithm_unsupported"),
        ("short-digest", "identity_hash_length_wrong"),
        ("mangled", "recipient_mismatch"),
    ];

    for (path, code) in cases {
        let url = format!("https://issuer.example/a/{path}");
        let report = issuer.verify_url(&url, &[LEARNER]).await;

        assert_status(&report, Status::Invalid, &format!("case 2 {path}"));
        assert!(!report.recipient.matched, "case 2 {path}");
        assert_eq!(
            reason_code(&report),
            code,
            "case 2 {path}: {}",
            summary(&report)
        );
    }
    issuer.server.stop().await;
}

// ---- 3. no salt ----------------------------------------------------------------------------

#[tokio::test]
async fn case_3_an_absent_null_or_empty_salt_means_the_hash_of_the_address_alone() {
    let issuer = Issuer::start("03-missing-salt", &[]);

    for path in ["absent", "null", "empty"] {
        let url = format!("https://issuer.example/a/{path}");
        let report = issuer.verify_url(&url, &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 3 salt {path}"));
        assert!(report.recipient.matched, "case 3 salt {path}");
    }
    issuer.server.stop().await;
}

// ---- 4. legacy 0.5 -------------------------------------------------------------------------

#[tokio::test]
async fn case_4_a_hosted_0_5_badge_with_a_top_level_salt_and_relative_urls_is_verified() {
    let issuer = Issuer::start("04-legacy-0.5", &[]);

    let report = issuer
        .verify_url("https://issuer.example/a/1", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 4");
    assert!(report.recipient.matched);
    let badge = report.badge.expect("the badge is kept");
    let class = badge.badge_class.embedded().expect("0.5 embeds its badge");
    assert_eq!(
        class.image.as_deref(),
        Some("https://issuer.example/img/b.png"),
        "relative 0.5 URLs resolve against issuer.origin"
    );
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_4_a_300_character_description_is_not_refused() {
    let issuer = Issuer::start("04-legacy-0.5", &[]);

    let report = issuer
        .verify_url("https://issuer.example/a/long", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 4 long description");
    let badge = report.badge.expect("the badge is kept");
    let class = badge.badge_class.embedded().expect("embedded");
    assert_eq!(class.description.as_deref().map(str::len), Some(300));
    issuer.server.stop().await;
}

// ---- 5. secondary addresses ----------------------------------------------------------------

#[tokio::test]
async fn case_5_a_badge_for_a_confirmed_secondary_address_is_matched_to_that_address() {
    let issuer = Issuer::start("05-alternate-email", &[]);

    let report = issuer
        .verify_url(
            "https://issuer.example/a/1",
            &[LEARNER, "learner.alt@example.net"],
        )
        .await;

    assert_status(&report, Status::Valid, "case 5");
    assert_eq!(
        report.recipient.address.as_deref(),
        Some("learner.alt@example.net")
    );
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_5_a_badge_for_an_unconfirmed_secondary_address_is_not_the_learners_yet() {
    let issuer = Issuer::start("05-alternate-email", &[]);

    // The caller passes confirmed addresses only: the unconfirmed alternate is absent.
    let report = issuer
        .verify_url("https://issuer.example/a/1", &[LEARNER])
        .await;

    assert_status(&report, Status::Invalid, "case 5 unconfirmed");
    assert_eq!(reason_code(&report), "recipient_mismatch");
    issuer.server.stop().await;
}

// ---- 6. recipient fail-open through an SVG --------------------------------------------------

fn svg_badge() -> Vec<u8> {
    std::fs::read(format!("{DATA}/06-svg-fail-open/issuer.example/a/1.svg")).expect("svg")
}

#[tokio::test]
async fn case_6_the_wrong_email_is_refused_for_every_input_path_of_a_self_hosted_svg() {
    let issuer = Issuer::start("06-svg-fail-open", &[]);
    let inputs: [(&str, Vec<u8>); 2] = [
        ("baked svg", svg_badge()),
        ("url", b"https://issuer.example/a/1.svg".to_vec()),
    ];

    for (path, input) in inputs {
        let wrong = issuer.verify(&input, &["someone.else@example.org"]).await;
        let nobody = issuer.verify(&input, &[]).await;

        assert_status(
            &wrong,
            Status::Invalid,
            &format!("case 6 {path}, wrong email"),
        );
        assert!(!wrong.recipient.matched, "case 6 {path}");
        assert_status(
            &nobody,
            Status::Invalid,
            &format!("case 6 {path}, no email"),
        );
        assert!(!nobody.recipient.matched, "case 6 {path}");
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_6_an_assertion_id_serving_the_baked_image_is_unbaked_once_and_checked() {
    let issuer = Issuer::start("06-svg-fail-open", &[]);

    let report = issuer.verify(&svg_badge(), &[LEARNER]).await;

    assert_status(&report, Status::Valid, "case 6 owner");
    assert!(report.recipient.matched);
    assert!(
        issuer.server.requests() <= 3,
        "the id → image → id loop stops after one hop ({} requests)",
        issuer.server.requests()
    );
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_6_an_image_that_only_points_back_at_itself_stops_after_one_hop() {
    let looping = concat!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">"#,
        r#"<openbadges:assertion verify="https://issuer.example/a/loop.svg"/></svg>"#
    );
    let route = Route::status(200)
        .body(looping)
        .content_type("image/svg+xml");
    let issuer = Issuer::start("06-svg-fail-open", &[("/issuer.example/a/loop.svg", route)]);

    let report = issuer
        .verify_url("https://issuer.example/a/loop.svg", &[LEARNER])
        .await;

    assert_ne!(report.status, Status::Valid, "{}", summary(&report));
    assert_eq!(issuer.server.requests(), 1, "fetched once, never again");
    issuer.server.stop().await;
}

// ---- 12. content types and bodies -----------------------------------------------------------

#[tokio::test]
async fn case_12_json_is_read_whatever_content_type_it_is_served_with_and_through_a_bom() {
    let rows = [
        ("text/plain", "issuer.example/a/1"),
        ("application/json; charset=UTF-8", "issuer.example/a/1"),
        ("APPLICATION/LD+JSON", "issuer.example/a/1"),
        ("text/html", "issuer.example/a/1"),
        ("application/json", "issuer.example/a/bom"),
    ];

    for (content_type, file) in rows {
        let route = Route::status(200).file(file).content_type(content_type);
        let issuer = Issuer::start("12-content-type", &[("/issuer.example/a/1", route)]);

        let report = issuer
            .verify_url("https://issuer.example/a/1", &[LEARNER])
            .await;

        assert_status(
            &report,
            Status::Valid,
            &format!("case 12 {file} as {content_type}"),
        );
        issuer.server.stop().await;
    }
}

#[tokio::test]
async fn case_12_a_web_page_instead_of_badge_data_is_named_as_such_and_never_valid() {
    let login = Route::status(200)
        .file("issuer.example/login.html")
        .content_type("text/html; charset=utf-8");
    let rows = [
        (
            "a 200 login page",
            vec![("/issuer.example/a/1", login.clone())],
        ),
        (
            "a 302 to a login page",
            vec![
                (
                    "/issuer.example/a/1",
                    Route::redirect(302, "/issuer.example/login"),
                ),
                ("/issuer.example/login", login.clone()),
            ],
        ),
    ];

    for (case, routes) in rows {
        let issuer = Issuer::start("12-content-type", &routes);

        let report = issuer
            .verify_url("https://issuer.example/a/1", &[LEARNER])
            .await;

        let reason = report.reason().expect("a failed check");
        assert_eq!(
            report.status,
            Status::Unreachable,
            "case 12 {case}: {}",
            summary(&report)
        );
        assert_eq!(reason.code, "fetch_html_page", "case 12 {case}");
        assert!(
            reason.message.contains("web page"),
            "case 12 {case}: {}",
            reason.message
        );
        issuer.server.stop().await;
    }
}

#[tokio::test]
async fn case_12_a_server_that_answers_json_only_when_asked_for_it_is_asked_for_it() {
    let route = Route {
        only_for_accept: Some("application/ld+json".into()),
        ..Route::status(200).file("issuer.example/a/1")
    };
    let issuer = Issuer::start("12-content-type", &[("/issuer.example/a/1", route)]);

    let report = issuer
        .verify_url("https://issuer.example/a/1", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 12 (g)");
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_12_an_error_status_is_never_read_as_content_even_with_a_json_body() {
    let rows = [
        ("/issuer.example/a/1", 500, "the assertion"),
        ("/issuer.example/bc/1", 404, "the badge class"),
    ];

    for (path, status, what) in rows {
        let route = Route::status(status).file("issuer.example/a/1");
        let issuer = Issuer::start("12-content-type", &[(path, route)]);

        let report = issuer
            .verify_url("https://issuer.example/a/1", &[LEARNER])
            .await;

        assert_status(
            &report,
            Status::Unreachable,
            &format!("case 12 {what} {status}"),
        );
        issuer.server.stop().await;
    }
}

// ---- 14. URL identity and origin ------------------------------------------------------------

#[tokio::test]
async fn case_14_a_mirror_copy_is_replaced_by_the_copy_at_its_declared_id() {
    let issuer = Issuer::start("14-url-identity", &[]);

    let report = issuer
        .verify_url("https://mirror.example/a/1", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 14 (a)");
    assert!(has(
        &report,
        "assertion_fetch",
        "hosted_id_differs",
        Outcome::Warning
    ));
    let badge = report.badge.expect("badge");
    assert_eq!(
        badge.assertion_id.as_deref(),
        Some("https://issuer.example/a/1")
    );
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_14_a_mirror_copy_whose_declared_id_is_gone_is_not_valid() {
    let issuer = Issuer::start("14-url-identity", &[]);

    let report = issuer
        .verify_url("https://mirror.example/a/2", &[LEARNER])
        .await;

    assert_status(&report, Status::Unreachable, "case 14 (a) issuer 404");
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_14_an_assertion_off_the_issuers_host_needs_the_issuers_allowed_origins() {
    let issuer = Issuer::start("14-url-identity", &[]);

    let bare = issuer
        .verify_url("https://issuer.example/a/www", &[LEARNER])
        .await;
    let allowed = issuer
        .verify_url("https://issuer.example/a/www-allowed", &[LEARNER])
        .await;

    assert_status(&bare, Status::Invalid, "case 14 (c) no policy");
    assert_eq!(reason_code(&bare), "hosted_wrong_origin");
    assert_status(&allowed, Status::Valid, "case 14 (c) allowedOrigins");
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_14_a_redirect_that_ends_in_the_badge_is_followed() {
    let route = Route::redirect(301, "/issuer.example/a/moved");
    let moved = Route::status(200).file("issuer.example/a/1");
    let issuer = Issuer::start(
        "14-url-identity",
        &[
            ("/issuer.example/a/1", route),
            ("/issuer.example/a/moved", moved),
        ],
    );

    let report = issuer
        .verify_url("https://issuer.example/a/1", &[LEARNER])
        .await;

    assert_status(&report, Status::Valid, "case 14 redirect");
    issuer.server.stop().await;
}

// ---- 15. revoked hosted badges --------------------------------------------------------------

#[tokio::test]
async fn case_15_gone_or_flagged_revoked_is_revoked_with_the_issuers_reason() {
    let gone = Route::status(410).file("issuer.example/a/gone");
    let gone_empty = Route::status(410);
    let issuer = Issuer::start(
        "15-revocation",
        &[
            ("/issuer.example/a/gone", gone),
            ("/issuer.example/a/gone-empty", gone_empty),
        ],
    );
    let rows = [
        ("gone", Some("Issued in error")),
        ("gone-empty", None),
        ("revoked-true", Some("Issued in error")),
        ("revoked-string", None),
    ];

    for (path, reason) in rows {
        let url = format!("https://issuer.example/a/{path}");
        let report = issuer.verify_url(&url, &[LEARNER]).await;

        assert_status(&report, Status::Revoked, &format!("case 15 {path}"));
        assert_eq!(
            report.revocation_reason.as_deref(),
            reason,
            "case 15 {path}"
        );
    }
    issuer.server.stop().await;
}

// ---- 16. unreachable is never revoked -------------------------------------------------------

#[tokio::test]
async fn case_16_a_missing_failing_or_unknown_host_makes_a_badge_unreachable_never_revoked() {
    let issuer = Issuer::start(
        "16-revalidation",
        &[
            ("/issuer.example/a/1", Route::status(404).body("Not Found")),
            ("/issuer.example/a/busy", Route::status(503).body("busy")),
        ],
    );
    let rows = [
        ("404", "https://issuer.example/a/1"),
        ("503", "https://issuer.example/a/busy"),
        ("unknown host", "https://no-such-issuer.invalid/a/1"),
    ];

    for (case, url) in rows {
        let report = issuer.verify_url(url, &[LEARNER]).await;

        assert_status(&report, Status::Unreachable, &format!("case 16 {case}"));
        assert_eq!(report.revocation_reason, None, "case 16 {case}");
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_16_an_expiry_moved_into_the_past_by_the_issuer_makes_the_badge_expired() {
    let issuer = Issuer::start("16-revalidation", &[]);

    let before = issuer
        .verify_url("https://issuer.example/a/1", &[LEARNER])
        .await;
    let after = issuer
        .verify_url("https://issuer.example/a/expired", &[LEARNER])
        .await;

    assert_status(&before, Status::Valid, "case 16 before");
    assert_status(&after, Status::Expired, "case 16 expired");
    issuer.server.stop().await;
}

// ---- 17. JWS algorithms and encodings -------------------------------------------------------

fn case_17_payload(creator: &str) -> Value {
    signed_assertion(
        "https://issuer.example/a/signed",
        "https://issuer.example/bc/1",
        Some(creator),
    )
}

const RSA_KEY: &str = "https://issuer.example/keys/rsa";
const EC_KEY: &str = "https://issuer.example/keys/ec";

#[tokio::test]
async fn case_17_asymmetric_signatures_verify_in_every_tolerated_encoding() {
    let rsa = sign_rs256(&case_17_payload(RSA_KEY), &rsa_key());
    let es256 = sign_as(
        "ES256",
        Algorithm::ES256,
        &ec_key(),
        &case_17_payload(EC_KEY),
    );
    let (es_input, es_signature) = es256.rsplit_once('.').expect("three parts");
    let raw = URL_SAFE_NO_PAD.decode(es_signature).expect("base64url");
    let es256_der = format!("{es_input}.{}", b64(&der_from_raw(&raw)));
    let rows = [
        ("(b) ES256 raw R||S", es256.clone(), false),
        ("(c) ES256 DER", es256_der, true),
        ("RS256", rsa.clone(), false),
        ("(d) RS256 with = padding", format!("{rsa}=="), true),
        (
            "(e) RS256 with a trailing newline",
            format!("{rsa}\n"),
            false,
        ),
    ];
    let issuer = Issuer::start("17-jws-algorithms", &[]);

    for (case, token, warned) in rows {
        let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 17 {case}"));
        let warning = has(&report, "signature", "signature_warning", Outcome::Warning);
        assert_eq!(warning, warned, "case 17 {case}: {}", summary(&report));
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_17_hmac_none_and_miscased_algorithms_are_refused_with_their_own_codes() {
    let payload = case_17_payload(RSA_KEY);
    let secret = EncodingKey::from_secret(b"issuer-secret").expect("secret");
    let none_input = signing_input(&json!({"alg": "none"}), &payload);
    let rows = [
        (
            "(a) HS256",
            sign_as("HS256", Algorithm::HS256, &secret, &payload),
            "jws_alg_hmac",
        ),
        (
            "(f) rs256",
            sign_as("rs256", Algorithm::RS256, &rsa_key(), &payload),
            "jws_alg_case",
        ),
        (
            "(g) none",
            format!("{none_input}.c2lnbmF0dXJl"),
            "jws_alg_none",
        ),
    ];
    let issuer = Issuer::start("17-jws-algorithms", &[]);

    for (case, token, code) in rows {
        let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

        assert_status(&report, Status::Invalid, &format!("case 17 {case}"));
        assert!(
            has(&report, "signature", code, Outcome::Failed),
            "case 17 {case}: {}",
            summary(&report)
        );
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_17_an_unsigned_none_token_is_never_valid() {
    let payload = case_17_payload(RSA_KEY);
    let token = format!("{}.", signing_input(&json!({"alg": "none"}), &payload));
    let issuer = Issuer::start("17-jws-algorithms", &[]);

    let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

    assert_status(&report, Status::Invalid, "case 17 (g) empty signature");
    issuer.server.stop().await;
}

// ---- 18. finding the key --------------------------------------------------------------------

fn case_18_token(id: &str, badge: &str, creator: Option<&str>, key: &EncodingKey) -> String {
    sign_rs256(&signed_assertion(id, badge, creator), key)
}

#[tokio::test]
async fn case_18_without_creator_every_key_in_the_issuers_public_key_array_is_tried() {
    let issuer = Issuer::start("18-key-discovery", &[]);
    let badge = "https://issuer.example/bc/1";
    let rows = [("new key", rsa_key()), ("old key", other_rsa_key())];

    for (case, key) in rows {
        let token = case_18_token("https://issuer.example/a/kept", badge, None, &key);

        let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 18 {case}"));
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_18_a_creator_key_the_issuer_does_not_vouch_for_is_refused() {
    let issuer = Issuer::start("18-key-discovery", &[]);
    let foreign = "https://issuer.example/keys/foreign";
    let rows = [
        (
            "creator not in publicKey",
            "https://issuer.example/bc/1",
            Some(foreign),
            "key_not_declared_by_issuer",
        ),
        (
            "key owned by another profile",
            "https://issuer.example/bc/foreign",
            None,
            "key_owner_mismatch",
        ),
    ];

    for (case, badge, creator, code) in rows {
        let token = case_18_token("https://issuer.example/a/kept", badge, creator, &rsa_key());

        let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

        assert_status(&report, Status::Invalid, &format!("case 18 {case}"));
        assert_eq!(reason_code(&report), code, "case 18 {case}");
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_18_one_unusable_key_does_not_spoil_a_signature_made_with_a_good_one() {
    let issuer = Issuer::start("18-key-discovery", &[]);
    let rows = [
        (
            "a listed key is gone (404)",
            "https://issuer.example/bc/dead-key",
        ),
        (
            "a listed key names another owner",
            "https://issuer.example/bc/other-owner",
        ),
    ];

    for (case, badge) in rows {
        let token = case_18_token("https://issuer.example/a/kept", badge, None, &rsa_key());

        let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 18 {case}"));
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.check == "key" && c.outcome == Outcome::Warning),
            "case 18 {case}: the unusable key is mentioned: {}",
            summary(&report)
        );
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_18_the_revocation_list_is_read_from_its_own_property() {
    let issuer = Issuer::start("18-key-discovery", &[]);
    let badge = "https://issuer.example/bc/1";
    let revoked = case_18_token("https://issuer.example/a/revoked", badge, None, &rsa_key());
    let kept = case_18_token("https://issuer.example/a/kept", badge, None, &rsa_key());

    let revoked = issuer.verify(revoked.as_bytes(), &[LEARNER]).await;
    let kept = issuer.verify(kept.as_bytes(), &[LEARNER]).await;

    assert_status(&revoked, Status::Revoked, "case 18 listed");
    assert_eq!(
        revoked.revocation_reason.as_deref(),
        Some("Awarded by mistake")
    );
    assert_status(&kept, Status::Valid, "case 18 not listed");
    assert!(has(&kept, "revocation", "ok", Outcome::Passed));
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_18_an_unreachable_revocation_list_leaves_the_badge_unreachable_not_revoked() {
    let issuer = Issuer::start(
        "18-key-discovery",
        &[("/issuer.example/revocations", Route::status(503))],
    );
    let badge = "https://issuer.example/bc/1";
    let token = case_18_token("https://issuer.example/a/revoked", badge, None, &rsa_key());

    let report = issuer.verify(token.as_bytes(), &[LEARNER]).await;

    assert_status(&report, Status::Unreachable, "case 18 list 503");
    issuer.server.stop().await;
}

/// Copies a fixture folder so a test can change what the issuer serves.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn case_18_a_rotated_key_is_fetched_again_when_the_cached_one_fails() {
    let root = tempfile::tempdir().expect("temp dir");
    copy_dir(&PathBuf::from(DATA).join("18-key-discovery"), root.path());
    let issuer = Issuer::serve(root.path().to_path_buf(), &[]);
    let badge = "https://issuer.example/bc/rotating";
    let before = case_18_token("https://issuer.example/a/1", badge, None, &other_rsa_key());
    let after = case_18_token("https://issuer.example/a/2", badge, None, &rsa_key());
    let first = issuer.verify(before.as_bytes(), &[LEARNER]).await;
    let key_path = root.path().join("issuer.example/keys/rotating");
    let mut key: Value =
        serde_json::from_slice(&std::fs::read(&key_path).expect("key")).expect("json");
    key["publicKeyPem"] = json!(String::from_utf8(key_file(
        "ob-scenarios/_keys/test-rsa-public.pem"
    ))
    .expect("utf-8"));
    std::fs::write(&key_path, key.to_string()).expect("rotate the key");

    let second = issuer.verify(after.as_bytes(), &[LEARNER]).await;

    assert_status(&first, Status::Valid, "case 18 before rotation");
    assert_status(&second, Status::Valid, "case 18 after rotation");
    issuer.server.stop().await;
}

// ---- 19. non-ASCII text and IRIs ------------------------------------------------------------

#[tokio::test]
async fn case_19_an_assertion_under_a_cyrillic_path_verifies_raw_or_percent_encoded() {
    let issuer = Issuer::start("19-non-ascii", &[]);
    let rows = [
        ("raw IRI", "https://issuer.example/опис/значка.json"),
        (
            "percent-encoded",
            "https://issuer.example/%D0%BE%D0%BF%D0%B8%D1%81/\
             %D0%B7%D0%BD%D0%B0%D1%87%D0%BA%D0%B0.json",
        ),
    ];

    for (case, url) in rows {
        let report = issuer.verify_url(url, &[LEARNER]).await;

        assert_status(&report, Status::Valid, &format!("case 19 {case}"));
        assert!(
            !has(
                &report,
                "assertion_fetch",
                "hosted_id_differs",
                Outcome::Warning
            ),
            "case 19 {case}: the same address written two ways is one address"
        );
        let badge = report.badge.expect("badge");
        assert_eq!(
            badge.narrative.as_deref(),
            Some("Participó en el taller de señales ®’"),
            "case 19 {case}: text arrives intact"
        );
    }
    issuer.server.stop().await;
}

#[tokio::test]
async fn case_19_a_signed_badge_with_non_ascii_text_baked_in_a_png_verifies_over_its_bytes() {
    let mut payload = signed_assertion(
        "https://issuer.example/a/signed",
        "https://issuer.example/bc/signed",
        None,
    );
    payload["narrative"] = json!("Insignia de participación: SAFe® world’s");
    let token = sign_rs256(&payload, &rsa_key());
    let image = key_file("ob-scenarios/signed-valid/issuer.example/badge.png");
    let baked =
        satchel::domain::bake::bake(&image, &token, satchel::domain::unbake::Keyword::OpenBadges)
            .expect("bakes");
    let issuer = Issuer::start("19-non-ascii", &[]);

    let report = issuer.verify(&baked, &[LEARNER]).await;

    assert_status(&report, Status::Valid, "case 19 (c)");
    let badge = report.badge.expect("badge");
    assert_eq!(
        badge.narrative.as_deref(),
        Some("Insignia de participación: SAFe® world’s")
    );
    issuer.server.stop().await;
}

/// Field report 17(g): an unsigned token (`alg: none`, empty signature) is recognised as a
/// JWS and refused for its algorithm, before anything is fetched from its issuer.
#[tokio::test]
async fn case_17_an_unsigned_token_is_refused_for_its_algorithm_without_fetching() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        serde_json::json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
            "id": "urn:uuid:1", "badge": "https://127.0.0.1:9/badgeclass.json",
            "recipient": {"type": "email", "hashed": false, "identity": "a@example.org"},
            "issuedOn": "2024-01-01T00:00:00Z", "verification": {"type": "SignedBadge"},
        })
        .to_string(),
    );
    let token = format!("{header}.{payload}.");
    let limits = satchel::fetch::FetchLimits {
        allow_private: true,
        ..Default::default()
    };
    let verifier = satchel::verify::Verifier::new(
        satchel::fetch::Fetcher::new(limits).expect("fetcher"),
        std::time::Duration::from_secs(60),
    );

    let report = verifier
        .verify(
            token.as_bytes(),
            &["a@example.org".to_string()],
            satchel::verify::RecipientRule::Required,
        )
        .await;

    assert_eq!(report.status.as_str(), "invalid");
    let reason = report.reason().expect("a failed check");
    assert_eq!(
        (reason.check, reason.code.as_str()),
        ("signature", "jws_alg_none")
    );
    assert!(report.check("badge_class").is_none(), "nothing was fetched");
}
