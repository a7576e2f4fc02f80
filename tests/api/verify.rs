//! The verification pipeline against every `ob-scenarios` case, served by a local issuer
//! server: each case's status and recipient outcome must be among those its `satchel`
//! field allows.

use std::time::Duration;

use satchel::fetch::{FetchLimits, Fetcher};
use satchel::verify::{RecipientRule, Report, Verifier};

use crate::issuer::{IssuerServer, FIXTURES};

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    scenario: String,
    input: String,
    emails: Vec<String>,
    maps: Vec<String>,
    satchel: Expected,
}

#[derive(serde::Deserialize)]
struct Expected {
    status: Vec<String>,
    recipient_matched: Option<bool>,
}

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(format!("{FIXTURES}/ob-scenarios/cases.json")).expect("cases.json");
    serde_json::from_str(&text).expect("cases parse")
}

/// A verifier whose requests for a case's logical origins go to its folder on `server`.
fn verifier_for(server: &IssuerServer, case: &Case) -> Verifier {
    let rewrites = case
        .maps
        .iter()
        .map(|origin| {
            let host = origin.trim_start_matches("https://").trim_end_matches('/');
            (
                origin.clone(),
                format!("{}/{}/{host}/", server.base, case.scenario),
            )
        })
        .collect();
    let limits = FetchLimits {
        allow_private: true,
        ..FetchLimits::default()
    };
    let fetcher = Fetcher::with_rewrites(limits, rewrites).expect("fetcher");
    Verifier::new(fetcher, Duration::from_secs(60))
}

async fn run_case(server: &IssuerServer, case: &Case) -> Report {
    let input = if case.input.starts_with("https://") {
        case.input.clone().into_bytes()
    } else {
        let path = format!("{FIXTURES}/ob-scenarios/{}/{}", case.scenario, case.input);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    verifier_for(server, case)
        .verify(&input, &case.emails, RecipientRule::IfGiven)
        .await
}

#[tokio::test]
async fn every_scenario_gets_the_status_and_recipient_outcome_expected_of_satchel() {
    let server = IssuerServer::scenarios();
    let mut failures = Vec::new();

    for case in cases() {
        let report = run_case(&server, &case).await;

        let status_ok = case
            .satchel
            .status
            .iter()
            .any(|s| s == report.status.as_str());
        let recipient_ok = case
            .satchel
            .recipient_matched
            .is_none_or(|want| want == report.recipient.matched);
        if !(status_ok && recipient_ok) {
            let checks: Vec<String> = report
                .checks
                .iter()
                .map(|c| format!("{}:{}:{:?}", c.check, c.code, c.outcome))
                .collect();
            failures.push(format!(
                "{}: got {} (recipient matched {}), expected {:?} / {:?}; checks {checks:?}",
                case.id,
                report.status.as_str(),
                report.recipient.matched,
                case.satchel.status,
                case.satchel.recipient_matched
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        server.requests() >= 66,
        "the cases were fetched from the local issuer server"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_non_valid_report_names_the_check_that_decided_it() {
    let server = IssuerServer::scenarios();

    for case in cases() {
        let report = run_case(&server, &case).await;

        if report.status.as_str() != "valid" {
            let reason = report
                .reason()
                .unwrap_or_else(|| panic!("{}: no failed check", case.id));
            assert!(
                !reason.message.is_empty() && !reason.code.is_empty(),
                "{}",
                case.id
            );
        }
    }
    server.stop().await;
}
