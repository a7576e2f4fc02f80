use crate::helpers::{mail_bodies, spawn_app};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn registering_signs_in_and_mails_a_confirmation_link_to_the_address() {
    let app = spawn_app().await;

    let response = app.register("learner@example.org", PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/backpack?notice=registered"
    );
    let backpack = app.get("/backpack").await;
    assert_eq!(backpack.status(), 200);
    let html = backpack.text().await.expect("text");
    assert!(html.contains("Your backpack"));
    assert!(html.contains("We mailed a confirmation link to learner@example.org"));
    let mail = mail_bodies(&app.last_mail_to("learner@example.org").await);
    assert!(mail.subject.contains("learner@example.org"));
    assert!(mail
        .text
        .contains("http://satchel.test/confirm-email?token="));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = spawn_app().await;

    let response = app.register("learner@example.org", PASSWORD).await;

    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .find(|c| c.starts_with("satchel_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.base_url = "https://satchel.example/".parse().expect("url");
    })
    .await;

    let response = app.get("/login").await;

    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        cookie.starts_with("satchel_csrf=") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn registering_an_address_twice_in_another_case_is_refused() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let other = app.other_browser();

    let response = other.register("Learner@EXAMPLE.org", PASSWORD).await;

    assert_eq!(response.status(), 409);
    let html = response.text().await.expect("text");
    assert!(html.contains("already registered"));
    assert_eq!(
        other.get("/backpack").await.status(),
        303,
        "no second account signed in"
    );
}

#[tokio::test]
async fn invalid_registrations_explain_what_to_fix() {
    let app = spawn_app().await;
    let cases = [
        ("not-an-email", PASSWORD, "Enter an email address"),
        ("learner@example.org", "short", "at least 8 characters"),
    ];

    for (email, password, expected) in cases {
        let response = app.register(email, password).await;

        assert_eq!(response.status(), 400, "{email} / {password}");
        let html = response.text().await.expect("text");
        assert!(html.contains(expected), "{email} / {password}: {html}");
    }
    assert!(app.mails().await.is_empty());
}

#[tokio::test]
async fn logging_in_with_the_right_password_opens_the_backpack() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let browser = app.other_browser();

    let response = browser.login("LEARNER@example.org", PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/backpack");
    assert_eq!(browser.get("/backpack").await.status(), 200);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_address_is_refused_the_same_way() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let browser = app.other_browser();

    let wrong_password = browser
        .login("learner@example.org", "not the password")
        .await;
    let unknown = browser.login("nobody@example.org", PASSWORD).await;

    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong_password.headers()["x-satchel-error"], "login_failed");
    let (a, b) = (
        wrong_password.text().await.expect("t"),
        unknown.text().await.expect("t"),
    );
    assert!(a.contains("do not match an account") && b.contains("do not match an account"));
    assert_eq!(browser.get("/backpack").await.status(), 303);
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.register("learner@example.org", PASSWORD).await;
    let session = app.cookie("satchel_session").expect("signed in");

    let response = app.post_form("/logout", &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(app.get("/backpack").await.status(), 303);
    // Replaying the old cookie from another browser must not work either.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url("/backpack"))
        .header("cookie", format!("satchel_session={session}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(replay.status(), 303);
}

#[tokio::test]
async fn the_backpack_requires_a_session() {
    let app = spawn_app().await;

    let response = app.get("/backpack").await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_rejected() {
    let app = spawn_app().await;
    app.get("/register").await;
    let form = [("email", "learner@example.org"), ("password", PASSWORD)];

    let missing = app
        .client
        .post(app.url("/register"))
        .form(&form)
        .send()
        .await
        .expect("ok");
    let mut forged = vec![("csrf_token", "forged")];
    forged.extend_from_slice(&form);
    let wrong = app
        .client
        .post(app.url("/register"))
        .form(&forged)
        .send()
        .await
        .expect("ok");

    assert_eq!(missing.status(), 403);
    assert_eq!(wrong.status(), 403);
    assert_eq!(wrong.headers()["x-satchel-error"], "csrf_rejected");
    assert!(app.mails().await.is_empty(), "nothing was registered");
}

#[tokio::test]
async fn a_token_from_another_browser_does_not_pass_csrf() {
    let app = spawn_app().await;
    let attacker = app.other_browser();
    let attacker_token = attacker.csrf_token().await;
    app.get("/login").await;

    let response = app
        .client
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", attacker_token.as_str()),
            ("email", "a@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 403);
}
