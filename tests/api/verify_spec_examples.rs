//! The public Open Badges samples through the pipeline: the OB 2.0 validator samples
//! (`ob-spec-examples/ob20/validator/`) against the outcomes in `expected-results.json`, on
//! the validator's mock web (`https://example.org/<name>`, `https://www.example.org/<name>`
//! and `http://example.org/<name>` are `assets/<name>`, each input served at its own id),
//! for the samples' recipient `nobody@example.org`; and every OB 3.0 sample
//! (`ob30/`, `ob3-openbadgeslib/`), which must be `unverifiable` until 3.0 proofs are checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use satchel::domain::unbake::unbake_any;
use satchel::fetch::{FetchLimits, Fetcher};
use satchel::verify::{Outcome, RecipientRule, Report, Status, Verifier};

use crate::issuer::{IssuerServer, Route, FIXTURES};

const OB20: &str = "ob-spec-examples/ob20/validator";
const OB20_RECIPIENT: &str = "nobody@example.org";

#[derive(serde::Deserialize)]
struct Results {
    fixtures: Vec<Sample>,
}

#[derive(serde::Deserialize)]
struct Sample {
    path: String,
    expected: String,
}

fn samples() -> Vec<Sample> {
    let path = format!("{FIXTURES}/ob-spec-examples/expected-results.json");
    let text = std::fs::read_to_string(&path).expect("expected-results.json");
    serde_json::from_str::<Results>(&text)
        .expect("expected-results parse")
        .fixtures
}

/// Where Satchel deliberately answers differently from the reference validator, and why.
const SATCHEL_DIFFERS: [(&str, Status, &str); 2] = [
    (
        "assertion-with-data-image.json",
        Status::Valid,
        "an assertion image given as a data: URI is read (ob-scenarios allow either answer); \
         Satchel shows the badge class image",
    ),
    (
        "assertion-with-extension-node-invalid.json",
        Status::Valid,
        "extensions are not checked against their JSON schema (not needed to trust a badge)",
    ),
];

/// What Satchel answers for the validator's verdict: its "INVALID (expired)" is `expired`.
fn satchel_status(name: &str, expected: &str) -> Status {
    if let Some((_, status, _)) = SATCHEL_DIFFERS.iter().find(|(n, _, _)| *n == name) {
        return *status;
    }
    match expected {
        "VALID" | "VALID_WITH_WARNINGS" => Status::Valid,
        "REVOKED" => Status::Revoked,
        "INVALID (expired)" => Status::Expired,
        other if other.starts_with("INVALID") => Status::Invalid,
        other => panic!("{name}: no Satchel reading of {other:?}"),
    }
}

/// The OB 2.0 samples that are awards (assertions and signed badges) given as inputs.
fn ob20_inputs() -> Vec<Sample> {
    samples()
        .into_iter()
        .filter(|s| s.path.starts_with("ob20/validator/"))
        .filter(|s| !s.path.contains("/assets/") && !s.path.contains("/rdf-validation/"))
        .filter(|s| !AWARDLESS.iter().any(|name| s.path.ends_with(name)))
        .collect()
}

/// Samples that are a BadgeClass or an Issuer on their own: nothing a learner can import.
const AWARDLESS: [&str; 2] = [
    "badge-class-with-language.json",
    "issuer-compact-iri-validation.json",
];

/// The validator's mock web, with `input` (unbaked, if an image) also served at its own id.
fn mock_web(input: &Path) -> (IssuerServer, Verifier) {
    let mut routes = HashMap::new();
    if let Some((path, text)) = served_at_own_id(input) {
        routes.insert(path, Route::status(200).body(&text));
    }
    let assets = PathBuf::from(FIXTURES).join(OB20).join("assets");
    let server = IssuerServer::start_json(assets, routes);
    let rewrites = [
        "https://example.org/",
        "https://www.example.org/",
        "http://example.org/",
    ]
    .iter()
    .map(|origin| (origin.to_string(), format!("{}/", server.base)))
    .collect();
    let limits = FetchLimits {
        allow_private: true,
        ..FetchLimits::default()
    };
    let fetcher = Fetcher::with_rewrites(limits, rewrites).expect("fetcher");
    (server, Verifier::new(fetcher, Duration::from_secs(60)))
}

/// A JSON input's text and the path of its `id` on the mock web (`https://example.org/x`
/// is `/x`); a baked image's embedded JSON likewise.
fn served_at_own_id(input: &Path) -> Option<(String, String)> {
    let bytes = std::fs::read(input).ok()?;
    let text = match unbake_any(&bytes) {
        Ok(unbaked) => unbaked.payload,
        Err(_) => String::from_utf8(bytes).ok()?,
    };
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let id = url::Url::parse(json.get("id")?.as_str()?).ok()?;
    Some((id.path().to_string(), text))
}

fn summary(report: &Report) -> String {
    let checks: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("{}:{}:{:?}", c.check, c.code, c.outcome))
        .collect();
    format!("{} {checks:?}", report.status.as_str())
}

#[tokio::test]
async fn every_ob20_validator_sample_gets_the_validators_verdict_in_satchels_terms() {
    let mut differences = Vec::new();
    let inputs = ob20_inputs();

    for sample in &inputs {
        let file = PathBuf::from(FIXTURES)
            .join("ob-spec-examples")
            .join(&sample.path);
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (server, verifier) = mock_web(&file);
        let input = std::fs::read(&file).expect("sample");

        let report = verifier
            .verify(
                &input,
                &[OB20_RECIPIENT.to_string()],
                RecipientRule::Required,
            )
            .await;

        let wanted = satchel_status(&name, &sample.expected);
        if report.status != wanted {
            differences.push(format!(
                "{name}: expected {} ({}), got {}",
                wanted.as_str(),
                sample.expected,
                summary(&report)
            ));
        } else if wanted == Status::Valid && !report.recipient.matched {
            differences.push(format!("{name}: valid without a recipient match"));
        }
        server.stop().await;
    }

    assert!(
        inputs.len() >= 20,
        "only {} OB 2.0 samples found",
        inputs.len()
    );
    assert!(
        differences.is_empty(),
        "{} samples differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[tokio::test]
async fn a_badge_class_or_issuer_on_its_own_is_refused_as_not_a_badge() {
    let (server, verifier) = mock_web(Path::new("/nonexistent"));

    for name in AWARDLESS {
        let input = std::fs::read(PathBuf::from(FIXTURES).join(OB20).join(name)).expect("sample");

        let report = verifier
            .verify(
                &input,
                &[OB20_RECIPIENT.to_string()],
                RecipientRule::Required,
            )
            .await;

        assert_eq!(
            report.status,
            Status::Invalid,
            "{name}: {}",
            summary(&report)
        );
        let reason = report.reason().expect("a failed check");
        assert_eq!(reason.check, "parse", "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_redirected_badge_class_and_a_non_http_issuer_are_valid_with_a_warning_named() {
    let rows = [
        ("warning-issuer-non-http.json", "verification_policy"),
        ("warning-with-redirection.json", "badge_class"),
    ];

    for (name, check) in rows {
        let file = PathBuf::from(FIXTURES).join(OB20).join(name);
        let (server, verifier) = mock_web(&file);

        let report = verifier
            .verify(
                &std::fs::read(&file).expect("sample"),
                &[OB20_RECIPIENT.to_string()],
                RecipientRule::Required,
            )
            .await;

        assert_eq!(report.status, Status::Valid, "{name}: {}", summary(&report));
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.check == check && c.outcome == Outcome::Warning),
            "{name}: a warning on {check}: {}",
            summary(&report)
        );
        server.stop().await;
    }
}

/// Every OB 3.0 sample file: credentials as JSON, JWT and baked PNG/SVG.
fn ob3_samples() -> Vec<PathBuf> {
    let folders = [
        "ob-spec-examples/ob30/validator",
        "ob-spec-examples/ob30/validator/bit-string-list",
        "ob-spec-examples/ob30/validator/sd",
        "ob3-openbadgeslib",
    ];
    let mut files: Vec<PathBuf> = folders
        .iter()
        .flat_map(|folder| std::fs::read_dir(PathBuf::from(FIXTURES).join(folder)).expect("folder"))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file() && !path.ends_with("README.md"))
        .filter(|path| !path.ends_with("cases.json") && !path.ends_with("testlist"))
        .filter(|path| !path.ends_with("ob2-baked-not-ob3.png"))
        .collect();
    files.push(
        PathBuf::from(FIXTURES)
            .join("ob-spec-examples/ob30/impl-guide-vector/signed-credential.json"),
    );
    files.sort();
    files
}

/// The reference verdict for a sample file, from `expected-results.json`.
fn reference_verdict(file: &Path) -> Option<String> {
    let relative = file
        .strip_prefix(PathBuf::from(FIXTURES).join("ob-spec-examples"))
        .ok()?
        .to_string_lossy()
        .into_owned();
    samples()
        .into_iter()
        .find(|s| s.path == relative)
        .map(|s| s.expected)
}

/// Where the bit-string-list samples say their status list is published.
const STATUS_LIST_FOLDER: &str = "https://raw.githubusercontent.com/1EdTech/\
     digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/\
     bit-string-list/";

#[tokio::test]
async fn every_ob30_sample_is_unverifiable_or_revoked_by_its_status_list_and_never_valid() {
    // The status list the bit-string-list samples name is served here, as the reference
    // validator's tests serve it.
    let lists = IssuerServer::start_json(
        PathBuf::from(FIXTURES).join("ob-spec-examples/ob30/validator/bit-string-list"),
        HashMap::new(),
    );
    let limits = FetchLimits {
        allow_private: true,
        ..FetchLimits::default()
    };
    let rewrite = (STATUS_LIST_FOLDER.to_string(), format!("{}/", lists.base));
    let verifier = Verifier::new(
        Fetcher::with_rewrites(limits, vec![rewrite]).expect("fetcher"),
        Duration::from_secs(60),
    );
    let mut differences = Vec::new();
    let files = ob3_samples();

    for file in &files {
        let input = std::fs::read(file).expect("sample");

        let report = verifier.verify(&input, &[], RecipientRule::IfGiven).await;

        // A document that is not a readable award (an endorsement, a broken context, a
        // missing issuer) is refused when read; the reference calls each invalid, except an
        // endorsement, which it checks as an endorsement (not something a learner imports).
        let unreadable = report
            .checks
            .iter()
            .any(|c| c.check == "parse" && c.outcome == Outcome::Failed);
        let reference = reference_verdict(file).unwrap_or_default();
        let fine = if unreadable {
            report.status == Status::Invalid
                && (reference.starts_with("INVALID") || reference.contains("EndorsementCredential"))
        } else if reference == "REVOKED" {
            report.status == Status::Revoked
        } else {
            report.status == Status::Unverifiable
        };
        if !fine {
            let name = file.display();
            differences.push(format!(
                "{name} (reference {reference}): {}",
                summary(&report)
            ));
        }
    }

    assert!(
        files.len() >= 50,
        "only {} OB 3.0 samples found",
        files.len()
    );
    assert!(
        differences.is_empty(),
        "{} samples differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert_eq!(
        lists.hits("/testlist"),
        1,
        "the list is fetched once and shared"
    );
    lists.stop().await;
}

#[tokio::test]
async fn an_ob20_badge_among_the_ob30_samples_is_read_as_2_0_not_as_a_credential() {
    let file = PathBuf::from(FIXTURES).join("ob3-openbadgeslib/ob2-baked-not-ob3.png");
    let verifier = Verifier::new(
        Fetcher::new(FetchLimits::default()).expect("fetcher"),
        Duration::from_secs(60),
    );

    let report = verifier
        .verify(
            &std::fs::read(&file).expect("png"),
            &[],
            RecipientRule::IfGiven,
        )
        .await;

    // Offline, its hosted copy cannot be fetched: it is checked as a hosted 2.0 badge.
    assert_eq!(report.status, Status::Unreachable, "{}", summary(&report));
    assert!(
        report.check("assertion_fetch").is_some(),
        "{}",
        summary(&report)
    );
    assert!(report.check("proof").is_none(), "{}", summary(&report));
}
