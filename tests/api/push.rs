//! The issuer push API end to end: issuer clients (created with the real `satchel
//! issuer-client` command), OAuth client-credentials tokens, pushes of badges served by a
//! local issuer to primary, alternative, hashed and unknown addresses, the learner's inbox,
//! and every refusal an issuer can run into.

use std::process::Command;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api_tokens::{error_of, json_of, Api};
use crate::helpers::{confirmation_path, mail_bodies, spawn_app_with, TestApp};
use crate::local_issuer::LocalIssuer;

const LEARNER: &str = "learner@example.org";
const PASSWORD: &str = "correct horse battery";
const ISSUER_ORIGIN: &str = "https://issuer.example";
/// The issuer profile every badge the local issuer awards names.
const ISSUER_ID: &str = "https://issuer.example/issuer.json";
/// The signing key the tests configure, so they can mint tokens Satchel did not issue.
const SIGNING_KEY: &str = "test-signing-key-that-is-long-enough-0123456789";

/// A client's credentials, as `issuer-client create` prints them.
struct Client {
    id: String,
    secret: String,
}

/// An app whose fetches of `https://issuer.example/` reach `issuer`, with the test signing
/// key and settings changed by `adjust`.
async fn app_with(
    issuer: &LocalIssuer,
    adjust: impl FnOnce(&mut satchel::config::Settings),
) -> TestApp {
    let rewrite = issuer.rewrite();
    spawn_app_with(move |s| {
        s.fetch_allow_private = true;
        s.fetch_rewrites = vec![rewrite];
        s.push.signing_key = Some(SIGNING_KEY.into());
        adjust(s);
    })
    .await
}

async fn app(issuer: &LocalIssuer) -> TestApp {
    app_with(issuer, |_| {}).await
}

/// Creates a client with the real command against the app's database.
fn client_by_command(app: &TestApp, name: &str, origins: &[&str]) -> Client {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
    command
        .args(["issuer-client", "create", "--name", name])
        .env("DATABASE_URL", &app.state.settings.database_url)
        .env("SATCHEL_DATA_DIR", &app.state.settings.data_dir);
    for origin in origins {
        command.args(["--origin", origin]);
    }
    let output = command.output().expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .to_string()
    };
    Client {
        id: field("client_id:"),
        secret: field("client_secret:"),
    }
}

/// Creates a client through the library call the command makes (faster than a process).
fn client(app: &TestApp, origins: &[&str]) -> Client {
    let mut conn = app.state.db.get().expect("a connection");
    let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
    let created =
        satchel::push::clients::create(&mut conn, "Example Issuer", &origins).expect("created");
    Client {
        id: created.client.id,
        secret: created.secret,
    }
}

/// Asks `/oauth/token` for a token with HTTP Basic client authentication.
async fn token_response(
    app: &TestApp,
    client: &Client,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .expect("answered")
}

async fn token(app: &TestApp, client: &Client) -> String {
    let response = token_response(app, client, &[("grant_type", "client_credentials")]).await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("a token").to_string()
}

/// Posts a push with `token`, and an `Idempotency-Key` when given.
async fn push_with(
    app: &TestApp,
    token: &str,
    body: &Value,
    idempotency_key: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/pushes"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(body);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("answered")
}

async fn push(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    json_of(push_with(app, token, body, None).await).await
}

async fn get_push(app: &TestApp, token: &str, id: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/pushes/{id}")))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .expect("answered");
    json_of(response).await
}

/// The ids of the pushes waiting on this browser's inbox page.
async fn inbox_ids(app: &TestApp) -> Vec<String> {
    let html = app.get_text("/inbox").await;
    html.split("data-push-id=\"")
        .skip(1)
        .map(|chunk| chunk[..chunk.find('"').expect("end")].to_string())
        .collect()
}

/// The names of the badges in the signed-in learner's backpack.
async fn backpack_names(app: &TestApp) -> Vec<String> {
    let (status, body) = json_of(Api::session(app).get("/badges").await).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| b["name"].as_str().expect("a name").to_string())
        .collect()
}

/// Mints a token with the configured key, as only someone holding it could.
fn minted(sub: &str, scope: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "http://satchel.test/",
        "aud": "http://satchel.test/api/v1/pushes",
        "sub": sub,
        "scope": scope,
        "iat": now - 10,
        "exp": now + exp_offset,
        "jti": "test",
    });
    let key = jsonwebtoken::EncodingKey::from_secret(SIGNING_KEY.as_bytes()).expect("a key");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("signs")
}

#[tokio::test]
async fn a_badge_pushed_to_a_primary_address_reaches_the_inbox_and_is_accepted_into_the_backpack() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client_by_command(&app, "Example Issuer", &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("robotics", "Robotics", LEARNER, "2024-01-01T00:00:00Z");

    let (status, pushed) = push(&app, &token, &json!({ "recipient": LEARNER, "url": url })).await;

    assert_eq!(status, 202, "{pushed}");
    assert_eq!(pushed["state"], "delivered");
    assert_eq!(pushed["badge"]["name"], "Robotics");
    let id = pushed["id"].as_str().expect("an id").to_string();
    let mail = mail_bodies(&app.last_mail_to(LEARNER).await);
    assert!(mail.subject.contains("Robotics"), "{}", mail.subject);
    assert!(
        mail.text.contains("http://satchel.test/inbox"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("Robotics"));
    assert_eq!(inbox_ids(&app).await, vec![id.clone()]);
    assert!(
        backpack_names(&app).await.is_empty(),
        "not in the backpack before accepting"
    );

    let accepted = app.post_form(&format!("/inbox/{id}/accept"), &[]).await;

    assert_eq!(accepted.status(), 303);
    assert_eq!(backpack_names(&app).await, vec!["Robotics".to_string()]);
    assert!(inbox_ids(&app).await.is_empty());
    let (status, seen) = get_push(&app, &token, &id).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen["state"], "delivered",
        "the learner's decision stays private"
    );
}

#[tokio::test]
async fn a_badge_pushed_to_a_confirmed_alternative_address_reaches_that_account() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let alternative = "Learner.Work@Example.com";
    app.post_form("/account/emails", &[("email", alternative)])
        .await;
    let link = confirmation_path(&app.last_mail_to(alternative).await);
    assert_eq!(app.get(&link).await.status(), 200);
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award(
        "work",
        "Work Safety",
        "learner.work@example.com",
        "2024-01-01T00:00:00Z",
    );

    let (status, pushed) = push(
        &app,
        &token,
        &json!({ "recipient": "LEARNER.WORK@example.com", "url": url }),
    )
    .await;

    assert_eq!(status, 202, "{pushed}");
    assert_eq!(pushed["state"], "delivered");
    assert_eq!(inbox_ids(&app).await.len(), 1);
    let mail = mail_bodies(&app.last_mail_to(alternative).await);
    assert!(mail.subject.contains("Work Safety"), "{}", mail.subject);
}

#[tokio::test]
async fn a_badge_for_a_hashed_identity_is_delivered_when_its_hash_is_of_the_named_email() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("hashed", "Hashed", LEARNER, "2024-01-01T00:00:00Z");
    let salt = "pepper";
    let digest = hex::encode(Sha256::digest(format!("{LEARNER}{salt}").as_bytes()));
    issuer.edit_assertion("hashed", |a| {
        a["recipient"] = json!({
            "type": "email", "hashed": true, "salt": salt, "identity": format!("sha256${digest}"),
        });
    });

    let (status, pushed) = push(&app, &token, &json!({ "recipient": LEARNER, "url": url })).await;
    let (other_status, other) = push(
        &app,
        &token,
        &json!({ "recipient": "someone.else@example.org", "url": url }),
    )
    .await;

    assert_eq!(status, 202, "{pushed}");
    assert_eq!(pushed["state"], "delivered");
    assert_eq!(other_status, 422, "{other}");
    assert_eq!(other["error"]["code"], "recipient_mismatch");
}

#[tokio::test]
async fn a_badge_for_an_address_nobody_has_is_held_then_delivered_when_the_learner_confirms_it() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let newcomer = "newcomer@example.org";
    let url = issuer.award("held", "Held Badge", newcomer, "2024-01-01T00:00:00Z");

    let (status, pushed) = push(&app, &token, &json!({ "recipient": newcomer, "url": url })).await;

    assert_eq!(status, 202, "{pushed}");
    assert_eq!(pushed["state"], "held");
    let id = pushed["id"].as_str().expect("an id").to_string();
    assert!(app.mails().await.is_empty(), "nobody to mail yet");

    assert_eq!(app.register(newcomer, PASSWORD).await.status(), 303);
    let (_, still) = get_push(&app, &token, &id).await;
    assert_eq!(
        still["state"], "held",
        "an unconfirmed registration does not receive it"
    );
    let link = confirmation_path(&app.last_mail_to(newcomer).await);
    assert_eq!(app.get(&link).await.status(), 200);

    let (_, seen) = get_push(&app, &token, &id).await;
    assert_eq!(seen["state"], "delivered");
    let mail = mail_bodies(&app.last_mail_to(newcomer).await);
    assert!(mail.subject.contains("Held Badge"), "{}", mail.subject);
    app.login(newcomer, PASSWORD).await;
    assert_eq!(inbox_ids(&app).await, vec![id]);
}

#[tokio::test]
async fn a_push_stored_while_its_address_was_being_confirmed_is_delivered_by_the_next_pass() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let newcomer = "racer@example.org";
    let url = issuer.award("race", "Race Badge", newcomer, "2024-01-01T00:00:00Z");
    assert_eq!(app.register(newcomer, PASSWORD).await.status(), 303);
    let (_, pushed) = push(&app, &token, &json!({ "recipient": newcomer, "url": url })).await;
    let id = pushed["id"].as_str().expect("an id").to_string();
    assert_eq!(pushed["state"], "held");
    // The confirmation commits, and its delivery runs, before this push commits: the
    // delivery finds nothing held, the push finds no confirmed address.
    app.state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use satchel::db::schema::emails;
            diesel::update(emails::table.filter(emails::address_lower.eq("racer@example.org")))
                .set(emails::confirmed_at.eq(Some(satchel::db::models::now())))
                .execute(conn)?;
            Ok(())
        })
        .await
        .expect("the address is confirmed");

    satchel::push::drop_expired_held(&app.state, std::time::Duration::from_secs(86_400))
        .await
        .expect("the pass runs");

    let (_, seen) = get_push(&app, &token, &id).await;
    assert_eq!(seen["state"], "delivered");
    let mail = mail_bodies(&app.last_mail_to(newcomer).await);
    assert!(mail.subject.contains("Race Badge"), "{}", mail.subject);
}

#[tokio::test]
async fn a_hash_of_the_learners_own_spelling_is_accepted_when_the_push_names_it_lowercased() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed("Learner@Example.org", PASSWORD)
        .await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("cased", "Cased", LEARNER, "2024-01-01T00:00:00Z");
    let digest = hex::encode(Sha256::digest(b"Learner@Example.orgabc123"));
    issuer.edit_assertion("cased", |a| {
        a["recipient"] = json!({
            "type": "email", "hashed": true, "salt": "abc123",
            "identity": format!("sha256${digest}"),
        });
    });

    let (status, pushed) = push(&app, &token, &json!({ "recipient": LEARNER, "url": url })).await;

    assert_eq!(status, 202, "{pushed}");
    assert_eq!(pushed["state"], "delivered");
    assert_eq!(pushed["recipient"], LEARNER);
}

#[tokio::test]
async fn a_held_badge_expires_and_is_not_delivered_afterwards() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let late = "late@example.org";
    let url = issuer.award("late", "Late", late, "2024-01-01T00:00:00Z");
    let (_, pushed) = push(&app, &token, &json!({ "recipient": late, "url": url })).await;
    let id = pushed["id"].as_str().expect("an id").to_string();

    let expired = satchel::push::drop_expired_held(&app.state, std::time::Duration::ZERO)
        .await
        .expect("the sweep runs");

    assert_eq!(expired, 1);
    let (_, seen) = get_push(&app, &token, &id).await;
    assert_eq!(seen["state"], "expired");
    app.register_confirmed(late, PASSWORD).await;
    assert!(inbox_ids(&app).await.is_empty());
    let (status, again) = push(&app, &token, &json!({ "recipient": late, "url": url })).await;
    assert_eq!(status, 202, "an expired push can be made again: {again}");
    assert_ne!(again["id"], json!(id));
    assert_eq!(again["state"], "delivered");
}

#[tokio::test]
async fn a_badge_can_be_pushed_as_assertion_json_or_as_a_baked_image() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let json_url = issuer.award("as-json", "As JSON", LEARNER, "2024-01-01T00:00:00Z");
    let image_url = issuer.award("as-image", "As Image", LEARNER, "2024-01-01T00:00:00Z");
    let assertion: Value = reqwest::get(format!("{}/as-json.json", issuer.server.base))
        .await
        .expect("served")
        .json()
        .await
        .expect("JSON");
    assert_eq!(assertion["id"], json!(json_url));
    let image = base64::engine::general_purpose::STANDARD.encode(issuer.baked_png(&image_url));

    let (json_status, by_json) = push(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "assertion": assertion }),
    )
    .await;
    let (image_status, by_image) = push(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "image": image }),
    )
    .await;

    assert_eq!(json_status, 202, "{by_json}");
    assert_eq!(image_status, 202, "{by_image}");
    assert_eq!(by_image["badge"]["name"], "As Image");
    assert_eq!(inbox_ids(&app).await.len(), 2);
}

#[tokio::test]
async fn declining_removes_the_badge_and_always_accept_sends_later_badges_straight_to_the_backpack()
{
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let first = issuer.award("first", "First", LEARNER, "2024-01-01T00:00:00Z");
    let second = issuer.award("second", "Second", LEARNER, "2024-01-02T00:00:00Z");
    let third = issuer.award("third", "Third", LEARNER, "2024-01-03T00:00:00Z");
    let (_, one) = push(&app, &token, &json!({ "recipient": LEARNER, "url": first })).await;
    let (_, two) = push(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": second }),
    )
    .await;

    let declined = app
        .post_form(
            &format!("/inbox/{}/decline", one["id"].as_str().expect("id")),
            &[],
        )
        .await;
    let accepted = app
        .post_form(
            &format!("/inbox/{}/accept", two["id"].as_str().expect("id")),
            &[("always", "on")],
        )
        .await;
    let (status, three) = push(&app, &token, &json!({ "recipient": LEARNER, "url": third })).await;

    assert_eq!(declined.status(), 303);
    assert_eq!(accepted.status(), 303);
    assert_eq!(status, 202, "{three}");
    assert!(inbox_ids(&app).await.is_empty());
    let mut names = backpack_names(&app).await;
    names.sort();
    assert_eq!(names, vec!["Second".to_string(), "Third".to_string()]);
    let mail = mail_bodies(&app.last_mail_to(LEARNER).await);
    assert!(
        mail.subject.contains("added to your Satchel backpack"),
        "{}",
        mail.subject
    );
    let (status, repeat) = push(&app, &token, &json!({ "recipient": LEARNER, "url": first })).await;
    assert_eq!(
        status, 200,
        "a declined badge is not pushed again: {repeat}"
    );
    assert_eq!(repeat["id"], one["id"]);
    assert!(inbox_ids(&app).await.is_empty());
}

#[tokio::test]
async fn accepting_a_badge_already_in_the_backpack_keeps_one_badge() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("twice", "Twice", LEARNER, "2024-01-01T00:00:00Z");
    let (status, _) = json_of(
        Api::session(&app)
            .post("/badges", &json!({ "url": url }))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let (_, pushed) = push(&app, &token, &json!({ "recipient": LEARNER, "url": url })).await;

    let accepted = app
        .post_form(
            &format!("/inbox/{}/accept", pushed["id"].as_str().expect("id")),
            &[],
        )
        .await;

    assert_eq!(accepted.status(), 303);
    assert_eq!(backpack_names(&app).await, vec!["Twice".to_string()]);
}

#[tokio::test]
async fn the_same_badge_pushed_twice_is_one_push_and_idempotency_keys_are_honoured() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("once", "Once", LEARNER, "2024-01-01T00:00:00Z");
    let other = issuer.award("other", "Other", LEARNER, "2024-01-01T00:00:00Z");
    let body = json!({ "recipient": LEARNER, "url": url });

    let (first_status, first) = push(&app, &token, &body).await;
    let (second_status, second) = push(&app, &token, &body).await;
    let (keyed_status, keyed) = json_of(
        push_with(
            &app,
            &token,
            &json!({ "recipient": LEARNER, "url": other }),
            Some("k-1"),
        )
        .await,
    )
    .await;
    let (replay_status, replay) = json_of(
        push_with(
            &app,
            &token,
            &json!({ "recipient": LEARNER, "url": other }),
            Some("k-1"),
        )
        .await,
    )
    .await;
    let reused = push_with(&app, &token, &body, Some("k-1")).await;

    assert_eq!(
        (first_status, second_status),
        (202, 200),
        "{first} {second}"
    );
    assert_eq!(second["id"], first["id"]);
    assert_eq!(
        (keyed_status, replay_status),
        (202, 200),
        "{keyed} {replay}"
    );
    assert_eq!(replay["id"], keyed["id"]);
    assert_eq!(
        error_of(reused).await,
        (422, "idempotency_key_reused".into())
    );
    assert_eq!(inbox_ids(&app).await.len(), 2);
    let mails_to_learner = app
        .mails()
        .await
        .iter()
        .filter(|m| m.to.iter().any(|t| t == LEARNER))
        .count();
    assert_eq!(
        mails_to_learner, 3,
        "one confirmation and one mail per pushed badge"
    );
}

#[tokio::test]
async fn a_client_cannot_push_badges_from_another_origin() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let url = issuer.award("theirs", "Theirs", LEARNER, "2024-01-01T00:00:00Z");
    let cases = [
        "https://evil-issuer.example",
        "https://issuer.example.evil.example",
        "http://issuer.example",
        "https://issuer.example:8443",
    ];

    for origin in cases {
        let client = client(&app, &[origin]);
        let token = token(&app, &client).await;

        let by_url = push_with(
            &app,
            &token,
            &json!({ "recipient": LEARNER, "url": url }),
            None,
        )
        .await;
        let image = base64::engine::general_purpose::STANDARD.encode(issuer.baked_png(&url));
        let by_image = push_with(
            &app,
            &token,
            &json!({ "recipient": LEARNER, "image": image }),
            None,
        )
        .await;

        assert_eq!(
            error_of(by_url).await,
            (403, "foreign_origin".into()),
            "case {origin}"
        );
        assert_eq!(
            error_of(by_image).await,
            (403, "foreign_origin".into()),
            "case {origin}"
        );
    }
    assert!(inbox_ids(&app).await.is_empty());
}

#[tokio::test]
async fn a_url_on_another_origin_is_refused_before_anything_is_fetched() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &["https://other.example"]);
    let token = token(&app, &client).await;
    let url = issuer.award("x", "X", LEARNER, "2024-01-01T00:00:00Z");
    let before = issuer.server.requests();

    let response = push_with(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": url }),
        None,
    )
    .await;

    assert_eq!(error_of(response).await, (403, "foreign_origin".into()));
    assert_eq!(issuer.server.requests(), before);
}

#[tokio::test]
async fn a_badge_naming_someone_else_is_refused_and_nothing_is_kept() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award(
        "mismatch",
        "Mismatch",
        "someone.else@example.org",
        "2024-01-01T00:00:00Z",
    );

    let response = push_with(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": url }),
        None,
    )
    .await;

    assert_eq!(error_of(response).await, (422, "recipient_mismatch".into()));
    assert!(inbox_ids(&app).await.is_empty());
}

#[tokio::test]
async fn a_revoked_badge_is_refused() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award("revoked", "Revoked", LEARNER, "2024-01-01T00:00:00Z");
    issuer.edit_assertion("revoked", |a| a["revoked"] = json!(true));

    let response = push_with(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": url }),
        None,
    )
    .await;

    assert_eq!(error_of(response).await, (422, "badge_revoked".into()));
}

#[tokio::test]
async fn bad_expired_wrongly_scoped_and_revoked_client_tokens_are_refused() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let good = token(&app, &client).await;
    let url = issuer.award("t", "T", LEARNER, "2024-01-01T00:00:00Z");
    let body = json!({ "recipient": LEARNER, "url": url });
    let mut tampered = good.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let foreign_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": client.id, "scope": "badges:push", "exp": 4_000_000_000u64,
                 "iss": "http://satchel.test/", "aud": "http://satchel.test/api/v1/pushes" }),
        &jsonwebtoken::EncodingKey::from_secret(b"another key entirely, also 32+ chars")
            .expect("key"),
    )
    .expect("signs");
    let cases = [
        ("garbage", "not-a-jwt".to_string(), 401, "invalid_token"),
        ("tampered", tampered, 401, "invalid_token"),
        ("another key", foreign_key, 401, "invalid_token"),
        (
            "expired",
            minted(&client.id, "badges:push", -5),
            401,
            "token_expired",
        ),
        (
            "wrong scope",
            minted(&client.id, "badges:read", 600),
            403,
            "insufficient_scope",
        ),
        (
            "unknown client",
            minted("sic_nobody", "badges:push", 600),
            401,
            "client_revoked",
        ),
    ];

    for (case, token, status, code) in cases {
        let response = push_with(&app, &token, &body, None).await;
        assert_eq!(
            error_of(response).await,
            (status, code.into()),
            "case {case}"
        );
    }
    let missing = reqwest::Client::new()
        .post(app.url("/api/v1/pushes"))
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(
        missing.headers()["www-authenticate"]
            .to_str()
            .expect("ascii"),
        "Bearer realm=\"satchel\", error=\"invalid_token\""
    );
    assert_eq!(error_of(missing).await, (401, "missing_token".into()));

    let mut conn = app.state.db.get().expect("a connection");
    assert!(satchel::push::clients::revoke(&mut conn, &client.id).expect("revokes"));
    drop(conn);
    let after_revoke = push_with(&app, &good, &body, None).await;
    let (status, refused) =
        json_of(token_response(&app, &client, &[("grant_type", "client_credentials")]).await).await;
    assert_eq!(error_of(after_revoke).await, (401, "client_revoked".into()));
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn the_token_endpoint_takes_basic_or_form_credentials_and_refuses_the_rest() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let http = reqwest::Client::new();
    let post =
        |form: Vec<(&'static str, String)>| http.post(app.url("/oauth/token")).form(&form).send();

    let by_form = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client.id.clone()),
        ("client_secret", client.secret.clone()),
        ("scope", "badges:push".into()),
    ])
    .await
    .expect("answered");
    let (status, granted) = json_of(by_form).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["scope"], "badges:push");
    assert_eq!(granted["expires_in"], 900);

    let wrong_secret = Client {
        id: client.id.clone(),
        secret: "satchel_cs_wrong".into(),
    };
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        (
            "wrong secret",
            token_response(&app, &wrong_secret, &[("grant_type", "client_credentials")]).await,
            401,
            "invalid_client",
        ),
        (
            "no credentials",
            post(vec![("grant_type", "client_credentials".into())])
                .await
                .expect("answered"),
            401,
            "invalid_client",
        ),
        (
            "other grant",
            token_response(&app, &client, &[("grant_type", "password")]).await,
            400,
            "unsupported_grant_type",
        ),
        (
            "other scope",
            token_response(
                &app,
                &client,
                &[("grant_type", "client_credentials"), ("scope", "admin")],
            )
            .await,
            400,
            "invalid_scope",
        ),
        (
            "both ways",
            token_response(
                &app,
                &client,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client.id.as_str()),
                ],
            )
            .await,
            400,
            "invalid_request",
        ),
        (
            "JSON body",
            http.post(app.url("/oauth/token"))
                .json(&json!({ "grant_type": "client_credentials" }))
                .send()
                .await
                .expect("answered"),
            400,
            "invalid_request",
        ),
    ];
    for (case, response, status, code) in cases {
        let (got, body) = json_of(response).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "case {case}: {body}"
        );
        assert!(body["error_description"].is_string(), "case {case}");
    }
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_push_bodies_get_json_errors() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let send = |content_type: &'static str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(app.url("/api/v1/pushes"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let huge = format!(
        "{{\"recipient\":\"{LEARNER}\",\"image\":\"{}\"}}",
        "A".repeat(8 << 20)
    );
    let cases: Vec<(&str, &'static str, Vec<u8>, u16, &str)> = vec![
        (
            "truncated",
            "application/json",
            b"{\"recipient\": ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "form",
            "application/x-www-form-urlencoded",
            b"url=x".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "no badge",
            "application/json",
            json!({ "recipient": LEARNER }).to_string().into_bytes(),
            400,
            "exactly_one_input",
        ),
        (
            "no recipient",
            "application/json",
            json!({ "url": "https://issuer.example/a" })
                .to_string()
                .into_bytes(),
            400,
            "invalid_body",
        ),
        (
            "bad recipient",
            "application/json",
            json!({ "recipient": "nope", "url": "https://issuer.example/a" })
                .to_string()
                .into_bytes(),
            400,
            "invalid_recipient",
        ),
        (
            "unknown field",
            "application/json",
            json!({ "recipient": LEARNER, "url": "https://issuer.example/a", "x": 1 })
                .to_string()
                .into_bytes(),
            400,
            "invalid_body",
        ),
        (
            "not an image",
            "application/json",
            json!({ "recipient": LEARNER, "image": "aGVsbG8=" })
                .to_string()
                .into_bytes(),
            400,
            "not_an_image",
        ),
        (
            "oversized",
            "application/json",
            huge.into_bytes(),
            413,
            "body_too_large",
        ),
    ];

    for (case, content_type, body, status, code) in cases {
        let response = send(content_type, body).await.expect("answered");
        assert_eq!(
            error_of(response).await,
            (status, code.into()),
            "case {case}"
        );
    }
    let bad_key = push_with(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": "https://issuer.example/a" }),
        Some("with space"),
    )
    .await;
    assert_eq!(
        error_of(bad_key).await,
        (400, "invalid_idempotency_key".into())
    );
}

#[tokio::test]
async fn each_client_is_rate_limited_on_its_own() {
    let issuer = LocalIssuer::start();
    let app = app_with(&issuer, |s| s.push.rate_per_minute = 3).await;
    let busy = client(&app, &[ISSUER_ORIGIN]);
    let quiet = client(&app, &[ISSUER_ORIGIN]);
    let busy_token = token(&app, &busy).await;
    let quiet_token = token(&app, &quiet).await;
    let url = issuer.award("r", "R", LEARNER, "2024-01-01T00:00:00Z");
    let body = json!({ "recipient": LEARNER, "url": url });

    // A minute boundary may reset the count once, so allow for two windows' worth.
    let mut limited = None;
    for _ in 0..8 {
        let response = push_with(&app, &busy_token, &body, None).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let quiet_push = push_with(&app, &quiet_token, &body, None).await;

    let limited = limited.expect("the busy client was limited");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_of(limited).await, (429, "rate_limited".into()));
    assert_eq!(quiet_push.status(), 202);
}

#[tokio::test]
async fn a_push_is_visible_only_to_the_client_that_made_it() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    let maker = client(&app, &[ISSUER_ORIGIN]);
    let other = client(&app, &[ISSUER_ORIGIN]);
    let maker_token = token(&app, &maker).await;
    let other_token = token(&app, &other).await;
    let url = issuer.award("mine", "Mine", "nobody@example.org", "2024-01-01T00:00:00Z");
    let (_, pushed) = push(
        &app,
        &maker_token,
        &json!({ "recipient": "nobody@example.org", "url": url }),
    )
    .await;
    let id = pushed["id"].as_str().expect("an id");

    let (mine, _) = get_push(&app, &maker_token, id).await;
    let (theirs, body) = get_push(&app, &other_token, id).await;

    assert_eq!(mine, 200);
    assert_eq!(
        (theirs, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn instances_sharing_a_database_share_the_generated_signing_key() {
    let issuer = LocalIssuer::start();
    let first = app_with(&issuer, |s| s.push.signing_key = None).await;
    let client = client(&first, &[ISSUER_ORIGIN]);
    let token = token(&first, &client).await;
    let settings = (*first.state.settings).clone();
    let second = crate::helpers::spawn_with_mailer(
        settings.clone(),
        satchel::mail::Mailer::memory(
            &settings.mail_from,
            std::sync::Arc::new(satchel::templates::Templates::load().expect("templates")),
        )
        .expect("mailer"),
        tempfile::tempdir().expect("temp dir"),
    )
    .await;
    let url = issuer.award(
        "shared",
        "Shared",
        "nobody@example.org",
        "2024-01-01T00:00:00Z",
    );

    let body = json!({ "recipient": "nobody@example.org", "url": url });

    let (status, pushed) = push(&second, &token, &body).await;

    assert_eq!(
        status, 202,
        "a token from one instance works on the other: {pushed}"
    );
    let forged = push_with(
        &second,
        &minted(&client.id, "badges:push", 600),
        &body,
        None,
    )
    .await;
    assert_eq!(
        error_of(forged).await,
        (401, "invalid_token".into()),
        "the key is random"
    );
}

/// The inbox through the JSON API, as a learner's own script or app would use it.
#[tokio::test]
async fn the_inbox_api_lists_accepts_and_declines_pushed_badges() {
    let issuer = LocalIssuer::start();
    let app = app(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let api_token = crate::api_tokens::create_token(&app, "inbox script").await;
    let api = Api::token(&app, &api_token);
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let first = issuer.award("first", "First", LEARNER, "2024-01-01T00:00:00Z");
    let second = issuer.award("second", "Second", LEARNER, "2024-01-02T00:00:00Z");
    let third = issuer.award("third", "Third", LEARNER, "2024-01-03T00:00:00Z");
    let (_, one) = push(&app, &token, &json!({ "recipient": LEARNER, "url": first })).await;
    let (_, two) = push(
        &app,
        &token,
        &json!({ "recipient": LEARNER, "url": second }),
    )
    .await;

    let (status, inbox) = json_of(api.get("/inbox").await).await;

    assert_eq!(status, 200, "{inbox}");
    let listed: Vec<&str> = inbox["pushes"]
        .as_array()
        .expect("pushes")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(listed, vec!["Second", "First"], "newest first");
    assert_eq!(inbox["pushes"][1]["id"], one["id"]);
    assert_eq!(inbox["pushes"][1]["address"], LEARNER);
    assert_eq!(inbox["pushes"][1]["issuer"]["id"], ISSUER_ID);
    assert_eq!(inbox["automatic"], json!([]));

    let one_id = one["id"].as_str().expect("id");
    let two_id = two["id"].as_str().expect("id");
    let (status, accepted) = json_of(
        api.post(
            &format!("/inbox/{one_id}/accept"),
            &json!({ "always": true }),
        )
        .await,
    )
    .await;
    let declined = api.post_empty(&format!("/inbox/{two_id}/decline")).await;

    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["outcome"], "in_backpack");
    assert_eq!(accepted["status"], "valid");
    let (status, badge) = json_of(
        api.get(
            accepted["badge_url"]
                .as_str()
                .expect("a badge url")
                .trim_start_matches("/api/v1"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{badge}");
    assert_eq!(badge["name"], "First");
    assert_eq!(declined.status(), 204);
    let (_, inbox) = json_of(api.get("/inbox").await).await;
    assert_eq!(inbox["pushes"], json!([]));
    assert_eq!(inbox["automatic"][0]["issuer_id"], ISSUER_ID);
    assert_eq!(backpack_names(&app).await, vec!["First".to_string()]);

    let forget = || {
        api.request(reqwest::Method::DELETE, "/inbox/automatic")
            .query(&[("issuer_id", ISSUER_ID)])
            .send()
    };
    assert_eq!(forget().await.expect("answered").status(), 204);
    assert_eq!(
        error_of(forget().await.expect("answered")).await,
        (404, "not_found".into())
    );
    let (status, _) = push(&app, &token, &json!({ "recipient": LEARNER, "url": third })).await;
    assert_eq!(status, 202);
    let (_, inbox) = json_of(api.get("/inbox").await).await;
    assert_eq!(
        inbox["pushes"][0]["name"], "Third",
        "after forgetting the issuer, its badges wait in the inbox again"
    );
}

#[tokio::test]
async fn the_inbox_api_refuses_what_it_cannot_do_and_keeps_the_badge() {
    let issuer = LocalIssuer::start();
    let (app, token, id) = one_pushed(&issuer, "later-broken", "Later Broken").await;
    let session = Api::session(&app);
    let no_csrf = Api {
        app: &app,
        auth: crate::api_tokens::Auth::SessionWithoutCsrf,
    };
    let accept = format!("/inbox/{id}/accept");

    let unknown = session.post("/inbox/no-such-push/accept", &json!({})).await;
    let unknown_decline = session.post_empty("/inbox/no-such-push/decline").await;
    let forged = no_csrf.post(&accept, &json!({})).await;
    let anonymous = Api {
        app: &app,
        auth: crate::api_tokens::Auth::Anonymous,
    }
    .get("/inbox")
    .await;
    let push_token = Api::token(&app, &token).get("/inbox").await;
    let malformed = session
        .request(reqwest::Method::POST, &accept)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"always\": ")
        .send()
        .await
        .expect("answered");
    let mistyped = session.post(&accept, &json!({ "always": "yes" })).await;
    let not_json = session
        .request(reqwest::Method::POST, &accept)
        .header(CONTENT_TYPE, "text/plain")
        .body("always")
        .send()
        .await
        .expect("answered");
    let no_issuer = session.delete("/inbox/automatic").await;

    assert_eq!(error_of(unknown).await, (404, "not_found".into()));
    assert_eq!(error_of(unknown_decline).await, (404, "not_found".into()));
    assert_eq!(error_of(forged).await, (403, "csrf_rejected".into()));
    assert_eq!(error_of(anonymous).await, (401, "unauthorized".into()));
    assert_eq!(
        error_of(push_token).await.0,
        401,
        "an issuer's push token does not open the learner's inbox"
    );
    assert_eq!(error_of(malformed).await, (400, "malformed_json".into()));
    assert_eq!(error_of(mistyped).await, (400, "invalid_body".into()));
    assert_eq!(
        error_of(not_json).await,
        (415, "unsupported_media_type".into())
    );
    assert_eq!(error_of(no_issuer).await, (400, "missing_issuer_id".into()));

    issuer.edit_assertion("later-broken", |a| *a = json!({ "hello": "world" }));
    let broken = session.post_empty(&accept).await;

    assert_eq!(
        error_of(broken).await,
        (422, "push_no_longer_verifies".into())
    );
    let (_, inbox) = json_of(session.get("/inbox").await).await;
    assert_eq!(
        inbox["pushes"][0]["id"],
        id.as_str(),
        "the badge stays in the inbox"
    );
    assert!(backpack_names(&app).await.is_empty());
}

/// A badge revoked between the push and the learner's decision is still accepted, and the
/// answer says so: the learner keeps the record, marked revoked, as with any other import.
#[tokio::test]
async fn accepting_a_push_revoked_since_says_it_is_revoked() {
    let issuer = LocalIssuer::start();
    let (app, _, id) = one_pushed(&issuer, "later-revoked", "Later Revoked").await;
    issuer.edit_assertion("later-revoked", |a| a["revoked"] = json!(true));

    let (status, accepted) = json_of(
        Api::session(&app)
            .post(&format!("/inbox/{id}/accept"), &json!({}))
            .await,
    )
    .await;

    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "revoked");
}

/// A confirmed learner with one badge, `slug`, pushed to their inbox: the app, the issuer's
/// push token and the push's id.
async fn one_pushed(issuer: &LocalIssuer, slug: &str, name: &str) -> (TestApp, String, String) {
    let app = app(issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let client = client(&app, &[ISSUER_ORIGIN]);
    let token = token(&app, &client).await;
    let url = issuer.award(slug, name, LEARNER, "2024-01-01T00:00:00Z");
    let (_, pushed) = push(&app, &token, &json!({ "recipient": LEARNER, "url": url })).await;
    let id = pushed["id"].as_str().expect("id").to_string();
    (app, token, id)
}
