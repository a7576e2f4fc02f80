use satchel::domain::recipient::{match_recipient, MatchForm, RecipientIdentity};
use sha2::{Digest, Sha256};

use crate::helpers::{confirmation_path, mail_bodies, spawn_app, spawn_app_with, TestApp};

const PASSWORD: &str = "correct horse battery";

/// The id of the row showing `address` on the email addresses page.
async fn email_id(app: &TestApp, address: &str) -> String {
    let html = app.get_text("/account/emails").await;
    let row = html
        .find(address)
        .unwrap_or_else(|| panic!("{address} listed"));
    let marker = "data-email-id=\"";
    let start = html[..row].rfind(marker).expect("row id") + marker.len();
    html[start..start + 36].to_string()
}

async fn add_address(app: &TestApp, address: &str) -> reqwest::Response {
    app.post_form("/account/emails", &[("email", address)])
        .await
}

#[tokio::test]
async fn a_new_user_confirms_the_primary_and_an_alternative_and_badges_match_only_those() {
    let app = spawn_app().await;
    app.register_confirmed("Learner@Example.org", PASSWORD)
        .await;

    assert_eq!(
        add_address(&app, "learner.alt@example.net").await.status(),
        303
    );
    assert_eq!(
        add_address(&app, "learner@school.example").await.status(),
        303
    );
    let mail = app.last_mail_to("learner.alt@example.net").await;
    assert_eq!(app.get(&confirmation_path(&mail)).await.status(), 200);

    let html = app.get_text("/account/emails").await;
    assert_eq!(html.matches("Confirmed").count(), 2, "{html}");
    assert_eq!(html.matches("Waiting for confirmation").count(), 1);
    let confirmed = confirmed_addresses(&app, "Learner@Example.org").await;
    assert_eq!(
        confirmed,
        ["Learner@Example.org", "learner.alt@example.net"]
    );
    let salt = "abc123";
    let hashed = |text: &str| {
        format!(
            "sha256${}",
            hex::encode(Sha256::digest(format!("{text}{salt}")))
        )
    };
    let cases = [
        (
            plain("learner@example.org"),
            Some(("Learner@Example.org", MatchForm::CaseFolded)),
        ),
        (
            plain("LEARNER.ALT@example.net"),
            Some(("learner.alt@example.net", MatchForm::CaseFolded)),
        ),
        (
            hash(&hashed("Learner@Example.org"), salt),
            Some(("Learner@Example.org", MatchForm::HashOfTyped)),
        ),
        (
            hash(&hashed("learner@example.org"), salt),
            Some(("Learner@Example.org", MatchForm::HashOfLowercased)),
        ),
        (
            hash(&hashed("Learner@example.org"), salt),
            Some(("Learner@Example.org", MatchForm::HashOfDomainLowercased)),
        ),
        (
            hash(&hashed("learner.alt@example.net"), salt),
            Some(("learner.alt@example.net", MatchForm::HashOfTyped)),
        ),
        (plain("learner@school.example"), None),
        (hash(&hashed("learner@school.example"), salt), None),
    ];
    for (identity, expected) in cases {
        let found = match_recipient(&identity, &confirmed).expect("well-formed identity");

        let found = found.map(|m| (m.address, m.form));
        assert_eq!(found, expected, "{identity:?}");
    }
}

fn plain(address: &str) -> RecipientIdentity {
    RecipientIdentity::from_object(&serde_json::json!({
        "type": "email", "hashed": false, "identity": address
    }))
    .expect("valid")
}

fn hash(identity: &str, salt: &str) -> RecipientIdentity {
    RecipientIdentity::from_object(&serde_json::json!({
        "type": "email", "hashed": true, "identity": identity, "salt": salt
    }))
    .expect("valid")
}

async fn confirmed_addresses(app: &TestApp, login: &str) -> Vec<String> {
    let login = login.to_lowercase();
    app.state
        .db
        .run(move |conn| {
            let user = satchel::db::models::user_queries::find_by_primary(conn, &login)?
                .into_iter()
                .next()
                .expect("user exists");
            Ok(satchel::db::models::email_queries::confirmed_addresses(
                conn, &user.id,
            )?)
        })
        .await
        .expect("query runs")
}

#[tokio::test]
async fn the_confirmation_mail_goes_to_the_new_address_as_text_and_html() {
    let app = spawn_app().await;
    app.register_confirmed("learner@example.org", PASSWORD)
        .await;

    add_address(&app, "learner.alt@example.net").await;

    let mail = app.last_mail_to("learner.alt@example.net").await;
    assert_eq!(
        mail.to,
        ["learner.alt@example.net"],
        "never to the primary (field report 5)"
    );
    assert!(mail.raw.contains("multipart/alternative"));
    let bodies = mail_bodies(&mail);
    assert_eq!(
        bodies.subject,
        "Confirm learner.alt@example.net for your Satchel backpack"
    );
    assert!(bodies.text.contains("within 48 hours"));
    assert!(bodies
        .html
        .contains("<a href=\"http://satchel.test/confirm-email?token="));
}

#[tokio::test]
async fn the_link_confirms_on_a_device_that_is_not_signed_in() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let phone = app.other_browser();

    let link = confirmation_path(&app.last_mail_to("learner@example.org").await);
    let response = phone.get(&link).await;

    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .expect("text")
        .contains("learner@example.org is confirmed"));
    assert!(app.get_text("/account/emails").await.contains("Confirmed"));
}

#[tokio::test]
async fn a_used_link_says_so_and_changes_nothing() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let link = confirmation_path(&app.last_mail_to("learner@example.org").await);
    app.get(&link).await;

    let again = app.get(&link).await;

    assert_eq!(again.status(), 410);
    assert!(again
        .text()
        .await
        .expect("text")
        .contains("already been used"));
}

#[tokio::test]
async fn an_expired_link_does_not_confirm() {
    let app = spawn_app_with(|s| s.email_token_ttl = std::time::Duration::ZERO).await;
    app.register("learner@example.org", PASSWORD).await;
    let link = confirmation_path(&app.last_mail_to("learner@example.org").await);

    let response = app.get(&link).await;

    assert_eq!(response.status(), 410);
    assert!(response.text().await.expect("text").contains("expired"));
    assert!(app
        .get_text("/account/emails")
        .await
        .contains("Waiting for confirmation"));
}

#[tokio::test]
async fn forged_or_truncated_tokens_are_unknown() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let link = confirmation_path(&app.last_mail_to("learner@example.org").await);
    let truncated = &link[..link.len() - 2];

    for path in [
        truncated,
        "/confirm-email?token=forged",
        "/confirm-email",
        "/confirm-email?token=",
    ] {
        let response = app.get(path).await;

        assert_eq!(response.status(), 404, "{path}");
        assert!(response
            .text()
            .await
            .expect("text")
            .contains("do not recognise this link"));
    }
    assert!(app
        .get_text("/account/emails")
        .await
        .contains("Waiting for confirmation"));
}

#[tokio::test]
async fn a_new_link_can_be_requested_and_the_old_one_still_works_until_used() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let first = confirmation_path(&app.last_mail_to("learner@example.org").await);
    let id = email_id(&app, "learner@example.org").await;

    let response = app
        .post_form(&format!("/account/emails/{id}/resend"), &[])
        .await;

    assert_eq!(response.status(), 303);
    let second = confirmation_path(&app.last_mail_to("learner@example.org").await);
    assert_ne!(first, second);
    assert_eq!(app.get(&second).await.status(), 200);
}

#[tokio::test]
async fn resending_is_rate_limited_per_address() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let id = email_id(&app, "learner@example.org").await;
    let resend = format!("/account/emails/{id}/resend");

    let first = app.post_form(&resend, &[]).await.status();
    let second = app.post_form(&resend, &[]).await.status();
    let third = app.post_form(&resend, &[]).await;

    assert_eq!(
        (first.as_u16(), second.as_u16()),
        (303, 303),
        "registration + 2 resends = 3"
    );
    assert_eq!(third.status(), 429);
    assert_eq!(
        third.headers()["x-satchel-error"],
        "confirmation_rate_limited"
    );
    assert_eq!(app.mails().await.len(), 3);
}

#[tokio::test]
async fn resending_is_rate_limited_per_account() {
    let app = spawn_app_with(|s| s.confirm_mails_per_account_hour = 3).await;
    app.register("learner@example.org", PASSWORD).await;

    let a = add_address(&app, "a@example.net").await.status();
    let b = add_address(&app, "b@example.net").await.status();
    let c = add_address(&app, "c@example.net").await;

    assert_eq!((a.as_u16(), b.as_u16()), (303, 303));
    assert_eq!(c.status(), 429);
    assert_eq!(app.mails().await.len(), 3);
}

#[tokio::test]
async fn an_alternative_address_can_be_removed_but_not_the_primary() {
    let app = spawn_app().await;
    app.register_confirmed("learner@example.org", PASSWORD)
        .await;
    add_address(&app, "learner.alt@example.net").await;
    let alt = email_id(&app, "learner.alt@example.net").await;
    let primary = email_id(&app, "learner@example.org").await;

    let removed = app
        .post_form(&format!("/account/emails/{alt}/remove"), &[])
        .await;
    let refused = app
        .post_form(&format!("/account/emails/{primary}/remove"), &[])
        .await;

    assert_eq!(removed.status(), 303);
    assert_eq!(refused.status(), 400);
    let html = app.get_text("/account/emails").await;
    assert!(!html.contains("learner.alt@example.net"));
    assert!(html.contains("learner@example.org"));
}

#[tokio::test]
async fn a_confirmed_alternative_can_become_primary_and_is_then_the_login() {
    let app = spawn_app().await;
    app.register_confirmed("learner@example.org", PASSWORD)
        .await;
    add_address(&app, "learner.alt@example.net").await;
    let alt = email_id(&app, "learner.alt@example.net").await;
    let unconfirmed = app
        .post_form(&format!("/account/emails/{alt}/primary"), &[])
        .await;
    let link = confirmation_path(&app.last_mail_to("learner.alt@example.net").await);
    app.get(&link).await;

    let response = app
        .post_form(&format!("/account/emails/{alt}/primary"), &[])
        .await;

    assert_eq!(
        unconfirmed.status(),
        400,
        "an unconfirmed address cannot be primary"
    );
    assert_eq!(response.status(), 303);
    let html = app.get_text("/account/emails").await;
    assert!(
        html.contains("learner.alt@example.net <strong>(primary)</strong>"),
        "{html}"
    );
    let browser = app.other_browser();
    assert_eq!(
        browser
            .login("learner.alt@example.net", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        browser
            .login("learner@example.org", PASSWORD)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn an_address_held_by_another_account_cannot_be_added_and_the_owner_stays_hidden() {
    let app = spawn_app().await;
    app.register_confirmed("owner@example.org", PASSWORD).await;
    let other = app.other_browser();
    other
        .register_confirmed("someone@example.org", PASSWORD)
        .await;

    let response = add_address(&other, "OWNER@example.org").await;

    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-satchel-error"], "email_unavailable");
    let html = response.text().await.expect("text");
    assert!(html.contains("belongs to another account"));
    assert!(
        !html.contains("owner@example.org"),
        "the page must not echo the owner's address"
    );
}

#[tokio::test]
async fn an_address_confirmed_first_by_one_account_cannot_be_confirmed_by_another() {
    let app = spawn_app().await;
    app.register_confirmed("first@example.org", PASSWORD).await;
    let other = app.other_browser();
    other
        .register_confirmed("second@example.org", PASSWORD)
        .await;
    add_address(&app, "shared@example.net").await;
    add_address(&other, "Shared@example.net").await;
    let first_link = confirmation_path(&app.mails().await[2]);
    let second_link = confirmation_path(&other.last_mail_to("Shared@example.net").await);
    assert_eq!(app.get(&first_link).await.status(), 200);

    let response = other.get(&second_link).await;

    assert_eq!(response.status(), 409);
    assert!(response
        .text()
        .await
        .expect("text")
        .contains("belongs to another account"));
}

#[tokio::test]
async fn email_pages_require_a_session_and_another_users_ids_are_not_found() {
    let app = spawn_app().await;
    app.register_confirmed("owner@example.org", PASSWORD).await;
    add_address(&app, "owner.alt@example.net").await;
    let id = email_id(&app, "owner.alt@example.net").await;
    let other = app.other_browser();
    other
        .register_confirmed("someone@example.org", PASSWORD)
        .await;

    let signed_out = app.other_browser().get("/account/emails").await;
    let foreign = other
        .post_form(&format!("/account/emails/{id}/remove"), &[])
        .await;

    assert_eq!(signed_out.status(), 303);
    assert_eq!(foreign.status(), 404);
    assert!(app
        .get_text("/account/emails")
        .await
        .contains("owner.alt@example.net"));
}

#[tokio::test]
async fn removing_and_re_adding_an_address_does_not_reset_the_mail_limit() {
    let app = spawn_app().await;
    app.register_confirmed("learner@example.org", PASSWORD)
        .await;

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            add_address(&app, "victim@example.net")
                .await
                .status()
                .as_u16(),
        );
        if let Some(id) = try_email_id(&app, "victim@example.net").await {
            app.post_form(&format!("/account/emails/{id}/remove"), &[])
                .await;
        }
    }

    let to_victim = app
        .mails()
        .await
        .iter()
        .filter(|m| m.to == ["victim@example.net"])
        .count();
    assert_eq!(to_victim, 3, "the per-address limit holds: {statuses:?}");
    assert_eq!(statuses[3], 429);
}

async fn try_email_id(app: &TestApp, address: &str) -> Option<String> {
    let html = app.get_text("/account/emails").await;
    let row = html.find(address)?;
    let marker = "data-email-id=\"";
    let start = html[..row].rfind(marker)? + marker.len();
    Some(html[start..start + 36].to_string())
}

#[tokio::test]
async fn addresses_the_mailer_cannot_send_to_are_refused_without_a_trace() {
    let app = spawn_app().await;

    for address in [
        "a;b@example.org",
        "a(b)@example.org",
        "victim@example.org,evil@example.net",
    ] {
        let response = app.register(address, PASSWORD).await;

        assert_eq!(response.status(), 400, "{address}");
        assert_eq!(response.headers()["x-satchel-error"], "invalid_email");
    }
    assert!(app.mails().await.is_empty());
}

#[tokio::test]
async fn an_unconfirmed_registration_of_someone_elses_address_does_not_block_its_owner() {
    let app = spawn_app_with(|s| s.email_token_ttl = std::time::Duration::ZERO).await;
    let squatter = app.other_browser();
    squatter.register("owner@example.org", PASSWORD).await;
    let owner = app.other_browser();

    let registered = owner
        .register("Owner@Example.org", "the owner's password")
        .await;
    let link = confirmation_path(&owner.last_mail_to("Owner@Example.org").await);

    assert_eq!(
        registered.status(),
        303,
        "the stale registration does not hold the address"
    );
    assert_eq!(
        owner.get(&link).await.status(),
        410,
        "links expire at once in this test"
    );
    let login = app
        .other_browser()
        .login("owner@example.org", "the owner's password")
        .await;
    assert_eq!(login.status(), 303);
}

#[tokio::test]
async fn the_owner_can_make_an_address_primary_that_another_account_registered_unconfirmed() {
    let app = spawn_app_with(|s| s.email_token_ttl = std::time::Duration::from_secs(3600)).await;
    app.register_confirmed("first@example.org", PASSWORD).await;
    add_address(&app, "shared@example.com").await;
    let link = confirmation_path(&app.last_mail_to("shared@example.com").await);
    let other = app.other_browser();
    other.register("SHARED@example.com", PASSWORD).await;
    assert_eq!(app.get(&link).await.status(), 200);
    let id = email_id(&app, "shared@example.com").await;

    let response = app
        .post_form(&format!("/account/emails/{id}/primary"), &[])
        .await;

    assert_eq!(response.status(), 303);
    assert!(app
        .get_text("/account/emails")
        .await
        .contains("shared@example.com <strong>(primary)</strong>"));
}

#[tokio::test]
async fn racing_registrations_of_one_address_never_fail_with_a_500() {
    let app = spawn_app().await;
    let browsers: Vec<TestApp> = (0..6).map(|_| app.other_browser()).collect();
    for browser in &browsers {
        browser.csrf_token().await;
    }

    let answers = futures_util::future::join_all(
        browsers
            .iter()
            .map(|b| b.register("race@example.org", PASSWORD)),
    )
    .await;

    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
}
