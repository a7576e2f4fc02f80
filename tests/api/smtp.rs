//! One end-to-end test through lettre's SMTP transport to a real SMTP server: `.ci/run`
//! starts MailDev and sets `SATCHEL_TEST_SMTP_URL` (its SMTP port) and
//! `SATCHEL_TEST_SMTP_API` (its web API), where the message is read back.

use std::sync::Arc;

use satchel::mail::Mailer;
use satchel::templates::Templates;

use crate::helpers::{link_path, spawn_with_mailer, test_settings};

#[tokio::test]
async fn a_confirmation_mail_travels_through_a_real_smtp_server() {
    let (Ok(smtp_url), Ok(api)) = (
        std::env::var("SATCHEL_TEST_SMTP_URL"),
        std::env::var("SATCHEL_TEST_SMTP_API"),
    ) else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must start the SMTP server (see .ci/run)"
        );
        eprintln!("skipped: SATCHEL_TEST_SMTP_URL and SATCHEL_TEST_SMTP_API are not set");
        return;
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(data_dir.path());
    let templates = Arc::new(Templates::load().expect("templates"));
    let mailer = Mailer::smtp(&smtp_url, &settings.mail_from, templates).expect("smtp mailer");
    let app = spawn_with_mailer(settings, mailer, data_dir).await;
    let address = format!("smtp-{}@example.org", uuid::Uuid::new_v4().simple());

    let response = app.register(&address, "correct horse battery").await;

    assert_eq!(response.status(), 303);
    let mail = read_back(&api, &address).await;
    assert_eq!(
        mail["subject"],
        format!("Confirm {address} for your Satchel backpack")
    );
    let text = mail["text"].as_str().expect("a text part");
    assert!(mail["html"]
        .as_str()
        .expect("an HTML part")
        .contains("confirm-email?token="));
    assert_eq!(
        app.get(&link_path(text)).await.status(),
        200,
        "the mailed link confirms"
    );
}

/// Polls MailDev's API until the message to `address` arrives (at most ten seconds).
async fn read_back(api: &str, address: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    for _ in 0..50 {
        let mails: Vec<serde_json::Value> = client
            .get(format!("{api}/email"))
            .send()
            .await
            .expect("the SMTP server's API answers")
            .json()
            .await
            .expect("a JSON list");
        let found = mails.into_iter().find(|m| {
            m["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(|t| t["address"] == address))
        });
        if let Some(mail) = found {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no mail to {address} reached the SMTP server");
}
