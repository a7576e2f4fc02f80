//! The revalidation worker, one step at a time, against a real local issuer: badges that
//! turn revoked (410, flag, revocation list) or expire, an issuer that fails or times out
//! (stale, then unreachable after the period, then valid again), changed content,
//! conditional re-fetches, shared documents, leases and two workers on one database.

use chrono::{Duration, NaiveDateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey};
use satchel::config::Settings;
use satchel::db::badges as badge_queries;
use satchel::worker::Worker;
use serde_json::json;

use crate::helpers::{confirmation_path, mail_bodies, spawn_app_with, ImportPart, TestApp};
use crate::issuer::{Route, FIXTURES};
use crate::local_issuer::{LocalIssuer, ORIGIN};

const PASSWORD: &str = "correct horse battery";
const LEARNER: &str = "learner@example.org";

async fn learner_with_issuer_and(adjust: impl FnOnce(&mut Settings)) -> (LocalIssuer, TestApp) {
    let issuer = LocalIssuer::start();
    let rewrite = issuer.rewrite();
    let app = spawn_app_with(move |s| {
        s.fetch_allow_private = true;
        s.fetch_rewrites = vec![rewrite];
        adjust(s);
    })
    .await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    (issuer, app)
}

async fn learner_with_issuer() -> (LocalIssuer, TestApp) {
    learner_with_issuer_and(|_| {}).await
}

/// Imports the badge at `url` and returns its id.
async fn import_url(app: &TestApp, url: &str) -> String {
    let response = app.import(vec![ImportPart::Url(url)]).await;
    let html = response.text().await.expect("text");
    let start = html.find("added <a href=\"/badges/").expect("added") + 23;
    html[start..start + 36].to_string()
}

/// The time now, to the second (PostgreSQL keeps microseconds, Rust nanoseconds).
fn now() -> NaiveDateTime {
    use chrono::Timelike;
    let now = Utc::now().naive_utc();
    now.with_nanosecond(0).unwrap_or(now)
}

/// A moment when every badge imported now is due (a day, plus the jitter).
fn a_day_later() -> NaiveDateTime {
    now() + Duration::hours(26)
}

async fn badge(app: &TestApp, id: &str) -> badge_queries::BadgeSummary {
    let (id, db) = (id.to_string(), app.state.db.clone());
    db.run(move |conn| Ok(badge_queries::find_any(conn, &id)?.expect("the badge exists")))
        .await
        .expect("query")
}

async fn history(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let (id, db) = (id.to_string(), app.state.db.clone());
    db.run(move |conn| Ok(badge_queries::events(conn, &id)?))
        .await
        .expect("query")
        .into_iter()
        .map(|e| (e.status, e.reason))
        .collect()
}

async fn step(app: &TestApp, at: NaiveDateTime) -> satchel::worker::StepReport {
    Worker::new(app.state.clone())
        .step(at, 1000)
        .await
        .expect("the step runs")
}

async fn status_mails(app: &TestApp) -> Vec<String> {
    app.mails()
        .await
        .iter()
        .map(|m| mail_bodies(m).text)
        .filter(|text| text.contains("stays in your backpack"))
        .collect()
}

#[tokio::test]
async fn a_badge_is_not_checked_before_it_is_due_and_stays_valid_when_nothing_changed() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("steady", "Steady", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;

    let early = step(&app, now() + Duration::hours(23)).await;
    let due = step(&app, a_day_later()).await;

    assert_eq!(early.claimed, 0, "not due for a day");
    assert_eq!(due.claimed, 1);
    assert_eq!(due.changed().count(), 0);
    let after = badge(&app, &id).await;
    assert_eq!(after.status, "valid");
    assert!(
        after.checked_at > now() + Duration::hours(25),
        "checked at the step's time"
    );
    let next = step(&app, a_day_later() + Duration::hours(1)).await;
    assert_eq!(next.claimed, 0, "the next check is a day after the last");
}

#[tokio::test]
async fn a_410_revokes_the_badge_mails_the_learner_once_and_takes_it_off_public_pages() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("gone", "Gone Badge", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    app.post_form(&format!("/badges/{id}/publish"), &[]).await;
    let html = app.get_text(&format!("/badges/{id}")).await;
    let start = html
        .find("id=\"public-link\" href=\"")
        .expect("a public link")
        + 23;
    let link = html[start..start + html[start..].find('"').expect("end")].replace("&#x2F;", "/");
    let visitor = app.other_browser();
    assert_eq!(visitor.get(&link).await.status(), 200);
    issuer
        .server
        .set_route("/gone.json", Route::status(410).body("{}"));

    let first = step(&app, a_day_later()).await;
    let second = step(&app, a_day_later() + Duration::hours(26)).await;

    assert_eq!(first.changed().count(), 1);
    assert_eq!(badge(&app, &id).await.status, "revoked");
    assert_eq!(second.changed().count(), 0, "still revoked, nothing new");
    let events = history(&app, &id).await;
    assert_eq!(events.last().expect("an event").0, "revoked");
    assert!(
        events.last().expect("event").1.contains("410"),
        "{events:?}"
    );
    let mails = status_mails(&app).await;
    assert_eq!(mails.len(), 1, "one mail for one change");
    assert!(
        mails[0].contains("has revoked your badge \"Gone Badge\""),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&format!("http://satchel.test/badges/{id}")));
    assert_eq!(
        visitor.get(&link).await.status(),
        404,
        "off the public page"
    );
}

#[tokio::test]
async fn a_revoked_flag_revokes_the_badge_with_the_issuers_reason() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("flag", "Flagged", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    issuer.edit_assertion("flag", |a| {
        a["revoked"] = true.into();
        a["revocationReason"] = "Awarded by mistake".into();
    });

    let done = step(&app, a_day_later()).await;

    assert_eq!(done.changed().count(), 1);
    assert_eq!(badge(&app, &id).await.status, "revoked");
    let mails = status_mails(&app).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Awarded by mistake"), "{}", mails[0]);
}

#[tokio::test]
async fn no_mail_when_status_mails_are_turned_off() {
    let (issuer, app) = learner_with_issuer_and(|s| s.worker.status_mails = false).await;
    let url = issuer.award("quiet", "Quiet", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    issuer.server.set_route("/quiet.json", Route::status(410));

    step(&app, a_day_later()).await;

    assert_eq!(badge(&app, &id).await.status, "revoked");
    assert!(status_mails(&app).await.is_empty());
}

/// A signed badge whose issuer profile links a key and a revocation list.
fn publish_signed_issuer(issuer: &LocalIssuer, revoked: &[&str]) {
    let public =
        std::fs::read_to_string(format!("{FIXTURES}/ob-scenarios/_keys/test-rsa-public.pem"))
            .expect("public key");
    issuer.publish(
        "signer.json",
        &json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Issuer",
            "id": format!("{ORIGIN}signer.json"), "name": "Signing Issuer",
            "url": "https://issuer.example", "email": "issuer@issuer.example",
            "publicKey": format!("{ORIGIN}key.json"),
            "revocationList": format!("{ORIGIN}revocations.json"),
        }),
    );
    issuer.publish(
        "key.json",
        &json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "CryptographicKey",
            "id": format!("{ORIGIN}key.json"), "owner": format!("{ORIGIN}signer.json"),
            "publicKeyPem": public,
        }),
    );
    issuer.publish(
        "signed-class.json",
        &json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass",
            "id": format!("{ORIGIN}signed-class.json"), "name": "Signed Badge",
            "description": "Signed.", "image": format!("{ORIGIN}badge.png"),
            "criteria": {"narrative": "Sign."}, "issuer": format!("{ORIGIN}signer.json"),
        }),
    );
    let entries: Vec<_> = revoked
        .iter()
        .map(|id| json!({"id": id, "revocationReason": "Withdrawn by the issuer"}))
        .collect();
    issuer.publish(
        "revocations.json",
        &json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "RevocationList",
            "id": format!("{ORIGIN}revocations.json"), "issuer": format!("{ORIGIN}signer.json"),
            "revokedAssertions": entries,
        }),
    );
}

fn signed_badge(id: &str) -> String {
    let pem = std::fs::read(format!(
        "{FIXTURES}/ob-scenarios/_keys/test-rsa-private.pem"
    ))
    .expect("private key");
    let key = EncodingKey::from_rsa_pem(&pem).expect("rsa key");
    let assertion = json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": id,
        "badge": format!("{ORIGIN}signed-class.json"),
        "verification": {"type": "SignedBadge", "creator": format!("{ORIGIN}key.json")},
        "issuedOn": "2024-01-01T00:00:00Z",
        "recipient": {"type": "email", "hashed": false, "identity": LEARNER},
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::RS256),
        &assertion,
        &key,
    )
    .expect("signs")
}

#[tokio::test]
async fn a_signed_badge_on_the_issuers_revocation_list_becomes_revoked() {
    let (issuer, app) = learner_with_issuer().await;
    publish_signed_issuer(&issuer, &[]);
    let assertion_id = "urn:uuid:7f3c1a9e-2b1d-4c55-9a0e-0c8f1e2d3b4a";
    let response = app
        .import(vec![ImportPart::Text(&signed_badge(assertion_id))])
        .await;
    let html = response.text().await.expect("text");
    assert!(html.contains("Signed Badge</a> (valid)"), "{html}");
    let id = app.backpack_ids("").await[0].clone();
    publish_signed_issuer(&issuer, &[assertion_id]);

    let done = step(&app, a_day_later()).await;

    assert_eq!(done.changed().count(), 1);
    assert_eq!(badge(&app, &id).await.status, "revoked");
    let mails = status_mails(&app).await;
    assert!(mails[0].contains("Withdrawn by the issuer"), "{}", mails[0]);
}

#[tokio::test]
async fn a_badge_expires_on_its_date_without_asking_the_issuer() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("short", "Short Lived", LEARNER, "2024-01-01T00:00:00Z");
    let expires = Utc::now() + Duration::hours(30);
    issuer.edit_assertion("short", |a| a["expires"] = expires.to_rfc3339().into());
    let id = import_url(&app, &url).await;
    let fetched_before = issuer.server.hits("/short.json");
    // The issuer is down: the date alone decides.
    issuer.server.set_route("/short.json", Route::status(503));

    let before_the_date = step(&app, a_day_later()).await;
    let after_the_date = step(&app, now() + Duration::hours(60)).await;

    assert_eq!(before_the_date.changed().count(), 0);
    assert_eq!(after_the_date.changed().count(), 1);
    let stored = badge(&app, &id).await;
    assert_eq!(stored.status, "expired");
    assert_eq!(
        issuer.server.hits("/short.json"),
        fetched_before + 1,
        "only the check before the date asked the issuer"
    );
    let events = history(&app, &id).await;
    let expected = format!("The badge expired on {}.", expires.format("%Y-%m-%d"));
    assert_eq!(
        events.last().expect("event"),
        &("expired".to_string(), expected)
    );
    let mails = status_mails(&app).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("has expired"), "{}", mails[0]);
}

#[tokio::test]
async fn a_badge_the_issuer_renews_after_it_expired_is_valid_again_at_its_next_check() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("renewed", "Renewed", LEARNER, "2024-01-01T00:00:00Z");
    let expires = Utc::now() + Duration::hours(30);
    issuer.edit_assertion("renewed", |a| a["expires"] = expires.to_rfc3339().into());
    let id = import_url(&app, &url).await;
    step(&app, now() + Duration::hours(60)).await;
    assert_eq!(badge(&app, &id).await.status, "expired");
    let renewed = Utc::now() + Duration::days(365);
    issuer.edit_assertion("renewed", |a| a["expires"] = renewed.to_rfc3339().into());

    step(&app, now() + Duration::hours(90)).await;

    let stored = badge(&app, &id).await;
    assert_eq!(stored.status, "valid");
    assert_eq!(
        stored.expires_at.map(|at| at.date()),
        Some(renewed.naive_utc().date())
    );
    let events = history(&app, &id).await;
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("valid"));
}

#[tokio::test]
async fn an_issuer_answering_500_leaves_the_badge_stale_then_unreachable_then_valid_again() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("flaky", "Flaky", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    issuer.server.set_route("/flaky.json", Route::status(500));
    let t0 = a_day_later();

    step(&app, t0).await;
    let first = badge(&app, &id).await;
    step(&app, t0 + Duration::hours(1)).await;
    step(&app, t0 + Duration::hours(3)).await;
    let within_the_period = badge(&app, &id).await;
    let late = step(&app, t0 + Duration::hours(73)).await;
    let after_the_period = badge(&app, &id).await;
    issuer.server.clear_route("/flaky.json");
    let back = step(&app, t0 + Duration::hours(100)).await;
    let recovered = badge(&app, &id).await;

    assert_eq!(first.status, "valid", "one failure changes nothing");
    assert_eq!(first.stale_since, Some(t0));
    assert_eq!(first.failures, 1);
    assert_eq!(
        within_the_period.status, "valid",
        "three failures within 72 h"
    );
    assert_eq!(within_the_period.failures, 3);
    assert_eq!(late.changed().count(), 1);
    assert_eq!(after_the_period.status, "unreachable");
    assert_eq!(back.changed().count(), 1);
    assert_eq!(recovered.status, "valid");
    assert_eq!((recovered.failures, recovered.stale_since), (0, None));
    let statuses: Vec<String> = history(&app, &id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(statuses, ["valid", "unreachable", "valid"]);
    let events = history(&app, &id).await;
    assert!(events[1].1.contains("could not be reached"), "{events:?}");
    assert!(
        status_mails(&app).await.is_empty(),
        "no mail for an unreachable issuer"
    );
}

#[tokio::test]
async fn failures_back_off_and_the_badge_page_says_the_result_is_stale() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("down", "Down", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    issuer.server.set_route("/down.json", Route::status(503));
    let t0 = a_day_later();

    step(&app, t0).await;
    let too_soon = step(&app, t0 + Duration::minutes(14)).await;
    let retried = step(&app, t0 + Duration::minutes(16)).await;
    let second_too_soon = step(&app, t0 + Duration::minutes(40)).await;
    let second_retry = step(&app, t0 + Duration::minutes(47)).await;

    assert_eq!(too_soon.claimed, 0, "first retry after 15 minutes");
    assert_eq!(retried.claimed, 1);
    assert_eq!(second_too_soon.claimed, 0, "then after 30 minutes");
    assert_eq!(second_retry.claimed, 1);
    let html = app.get_text(&format!("/badges/{id}")).await;
    assert!(html.contains("Status: <strong>valid</strong>"), "{html}");
    assert!(html.contains("The issuer has not answered since"), "{html}");
}

#[tokio::test]
async fn an_issuer_that_times_out_is_a_failure_not_a_revocation() {
    let (issuer, app) = learner_with_issuer_and(|s| {
        s.fetch_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let url = issuer.award("slow", "Slow", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    let mut slow = Route::status(200).file("slow.json");
    slow.delay_ms = Some(3000);
    issuer.server.set_route("/slow.json", slow);

    let done = step(&app, a_day_later()).await;

    assert_eq!(done.settled.len(), 1);
    assert!(done.settled[0].stale);
    let stored = badge(&app, &id).await;
    assert_eq!(stored.status, "valid");
    assert_eq!(stored.failures, 1);
}

#[tokio::test]
async fn changed_content_is_taken_up_and_recorded() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("renamed", "Old Name", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    issuer.edit_class("renamed", |c| c["name"] = "New Name".into());

    step(&app, a_day_later()).await;

    assert_eq!(badge(&app, &id).await.name, "New Name");
    assert!(app.get_text("/backpack").await.contains("New Name"));
    let events = history(&app, &id).await;
    assert!(
        events
            .iter()
            .any(|(_, reason)| reason.contains("renamed this badge from \u{201c}Old Name")),
        "{events:?}"
    );
}

#[tokio::test]
async fn re_fetches_are_conditional_and_an_unchanged_badge_stays_valid() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("etag", "Etag", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    let worker = Worker::new(app.state.clone());

    worker.step(a_day_later(), 100).await.expect("first run");
    let second = worker
        .next_run()
        .step(a_day_later() + Duration::hours(26), 100)
        .await
        .expect("second run");

    assert_eq!(second.claimed, 1);
    assert_eq!(badge(&app, &id).await.status, "valid");
    assert_eq!(
        issuer.server.answered("/etag.json", 304),
        1,
        "the assertion"
    );
    assert_eq!(
        issuer.server.answered("/etag-class.json", 304),
        1,
        "the badge class"
    );
    assert_eq!(issuer.server.answered("/issuer.json", 304), 1, "the issuer");
    // The copy kept from the first run still answers for a later unchanged run.
    worker
        .next_run()
        .step(a_day_later() + Duration::hours(52), 100)
        .await
        .expect("third run");
    assert_eq!(issuer.server.answered("/etag.json", 304), 2);
    // A change after that is seen in full.
    issuer.edit_assertion("etag", |a| a["revoked"] = true.into());
    worker
        .next_run()
        .step(a_day_later() + Duration::hours(78), 100)
        .await
        .expect("fourth run");
    assert_eq!(badge(&app, &id).await.status, "revoked");
}

#[tokio::test]
async fn one_run_fetches_each_shared_document_once() {
    let (issuer, app) = learner_with_issuer().await;
    let mut urls = Vec::new();
    for n in 0..6 {
        let url = issuer.award(&format!("s{n}"), "Shared", LEARNER, "2024-01-01T00:00:00Z");
        // Every assertion names the first one's badge class.
        issuer.edit_assertion(&format!("s{n}"), |a| {
            a["badge"] = format!("{ORIGIN}s0-class.json").into();
        });
        urls.push(url);
    }
    for url in &urls {
        import_url(&app, url).await;
    }
    let (class, profile) = (
        issuer.server.hits("/s0-class.json"),
        issuer.server.hits("/issuer.json"),
    );

    let done = step(&app, a_day_later()).await;

    assert_eq!(done.claimed, 6);
    assert_eq!(issuer.server.hits("/s0-class.json"), class + 1);
    assert_eq!(issuer.server.hits("/issuer.json"), profile + 1);
    for n in 0..6 {
        assert_eq!(
            issuer.server.hits(&format!("/s{n}.json")),
            2,
            "import and one re-check"
        );
    }
}

#[tokio::test]
async fn a_lease_keeps_other_workers_off_until_it_runs_out() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("leased", "Leased", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    let t0 = a_day_later();
    // A worker claims the badge and dies before finishing.
    let claimed = app
        .state
        .db
        .transaction(move |conn| {
            Ok(badge_queries::claim_due(
                conn,
                "dead-worker",
                t0,
                t0 + Duration::minutes(10),
                10,
            )?)
        })
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    let while_leased = step(&app, t0 + Duration::minutes(5)).await;
    let after_the_lease = step(&app, t0 + Duration::minutes(11)).await;

    assert_eq!(while_leased.claimed, 0);
    assert_eq!(after_the_lease.claimed, 1);
    let stored = badge(&app, &id).await;
    assert_eq!(stored.status, "valid");
}

#[tokio::test]
async fn two_workers_on_one_database_check_each_due_badge_once() {
    let (issuer, app) = learner_with_issuer().await;
    let mut ids = Vec::new();
    for n in 0..24 {
        let url = issuer.award(
            &format!("w{n}"),
            "Shared Work",
            LEARNER,
            "2024-01-01T00:00:00Z",
        );
        ids.push(import_url(&app, &url).await);
    }
    let (a, b) = (
        Worker::new(app.state.clone()),
        Worker::new(app.state.clone()),
    );
    let at = a_day_later();

    let mut reports = Vec::new();
    for _ in 0..3 {
        let (one, two) = tokio::join!(a.step(at, 5), b.step(at, 5));
        reports.push(one.expect("a"));
        reports.push(two.expect("b"));
    }
    let (one, two) = tokio::join!(a.step(at, 100), b.step(at, 100));
    reports.push(one.expect("a"));
    reports.push(two.expect("b"));

    let mut checked: Vec<String> = reports
        .iter()
        .flat_map(|r| r.settled.iter().map(|s| s.badge_id.clone()))
        .collect();
    checked.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(checked, expected, "every badge once, none twice");
    for n in 0..24 {
        assert_eq!(
            issuer.server.hits(&format!("/w{n}.json")),
            2,
            "import and one re-check"
        );
    }
}

#[tokio::test]
async fn a_badge_whose_address_was_removed_waits_and_is_never_swept_away() {
    let (issuer, app) = learner_with_issuer().await;
    let alt = "learner.work@example.net";
    app.post_form("/account/emails", &[("email", alt)]).await;
    let link = confirmation_path(&app.last_mail_to(alt).await);
    assert_eq!(app.get(&link).await.status(), 200);
    let url = issuer.award("work", "Work Badge", alt, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    let html = app.get_text("/account/emails").await;
    let row = html.find(alt).expect("listed");
    let marker = "data-email-id=\"";
    let start = html[..row].rfind(marker).expect("row id") + marker.len();
    let email_id = html[start..start + 36].to_string();
    app.post_form(&format!("/account/emails/{email_id}/remove"), &[])
        .await;

    step(&app, a_day_later()).await;
    let waiting = badge(&app, &id).await;
    let dropped = satchel::backpack::drop_expired_pending(&app.state, std::time::Duration::ZERO)
        .await
        .expect("sweep");

    assert_eq!(waiting.status, "pending");
    assert_eq!(waiting.pending_address.as_deref(), Some(alt));
    assert_eq!(dropped, 0, "a badge that was accepted once is never swept");
    assert_eq!(badge(&app, &id).await.status, "pending");
}

#[tokio::test]
async fn requests_to_one_issuer_host_are_bounded() {
    let (issuer, app) = learner_with_issuer_and(|s| {
        s.worker.concurrency = 8;
        s.worker.per_host = 2;
    })
    .await;
    for n in 0..8 {
        let url = issuer.award(
            &format!("h{n}"),
            "Host Bound",
            LEARNER,
            "2024-01-01T00:00:00Z",
        );
        import_url(&app, &url).await;
        let mut slow = Route::status(200).file(&format!("h{n}.json"));
        slow.delay_ms = Some(150);
        issuer.server.set_route(&format!("/h{n}.json"), slow);
    }

    let done = step(&app, a_day_later()).await;

    assert_eq!(done.claimed, 8);
    assert!(done.settled.iter().all(|s| s.to == "valid" && !s.stale));
    assert_eq!(
        issuer.server.most_in_flight(),
        2,
        "two at a time, and no more"
    );
}

#[tokio::test]
async fn a_badge_whose_address_is_confirmed_while_its_issuer_is_down_is_delivered_later() {
    let (issuer, app) = learner_with_issuer().await;
    let alt = "learner.alt@example.net";
    let url = issuer.award("later", "Delivered Later", alt, "2024-01-01T00:00:00Z");
    let html = app
        .import(vec![ImportPart::Url(&url)])
        .await
        .text()
        .await
        .expect("text");
    assert!(html.contains("this badge names someone else"), "{html}");
    let id = app.backpack_ids("").await[0].clone();
    issuer.server.set_route("/later.json", Route::status(503));
    app.post_form("/account/emails", &[("email", alt)]).await;
    let link = confirmation_path(&app.last_mail_to(alt).await);
    assert_eq!(app.get(&link).await.status(), 200);
    let still_waiting = badge(&app, &id).await;
    issuer.server.clear_route("/later.json");

    let done = step(&app, now() + Duration::minutes(20)).await;

    assert_eq!(
        still_waiting.status, "pending",
        "the issuer could not confirm it"
    );
    assert_eq!(done.changed().count(), 1);
    let delivered = badge(&app, &id).await;
    assert_eq!(delivered.status, "valid");
    assert_eq!(delivered.matched_address.as_deref(), Some(alt));
}

#[tokio::test]
async fn a_change_found_by_two_rechecks_at_once_is_recorded_and_mailed_once() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("twice", "Twice", LEARNER, "2024-01-01T00:00:00Z");
    let id = import_url(&app, &url).await;
    // "Recheck now" reads the badge while it is still valid...
    let read_before = badge(&app, &id).await;
    issuer.server.set_route("/twice.json", Route::status(410));
    // ...the worker records the revocation meanwhile...
    step(&app, a_day_later()).await;
    let confirmed = vec![LEARNER.to_string()];
    let report = app
        .state
        .verifier
        .verify(
            url.as_bytes(),
            &confirmed,
            satchel::verify::RecipientRule::Required,
        )
        .await;

    // ...and then "recheck now" comes to write the same change.
    let late = satchel::revalidate::settle(&app.state, &read_before, &report, now(), None)
        .await
        .expect("settles");

    assert!(late.lease_lost, "nothing written the second time");
    assert_eq!(badge(&app, &id).await.status, "revoked");
    let revoked_events = history(&app, &id)
        .await
        .into_iter()
        .filter(|(status, _)| status == "revoked")
        .count();
    assert_eq!(revoked_events, 1);
    assert_eq!(status_mails(&app).await.len(), 1);
}
