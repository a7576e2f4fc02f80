//! Personal access tokens: the `/account/tokens` page (create, shown once, list, revoke)
//! and what the API makes of tokens and of missing or bad credentials. Also the typed API
//! client the other API tests use.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

const PASSWORD: &str = "correct horse battery";

/// How a test calls the API.
pub enum Auth {
    /// `Authorization: Bearer <token>` from a client without cookies.
    Token(String),
    /// The browser's session cookie, with the `X-CSRF-Token` header on changes.
    Session,
    /// The browser's session cookie and no CSRF header.
    SessionWithoutCsrf,
    /// Nothing at all.
    Anonymous,
}

/// A typed API client for one app and one way of authenticating.
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub auth: Auth,
}

impl<'a> Api<'a> {
    pub fn token(app: &'a TestApp, token: &str) -> Api<'a> {
        Api {
            app,
            auth: Auth::Token(token.to_string()),
        }
    }

    pub fn session(app: &'a TestApp) -> Api<'a> {
        Api {
            app,
            auth: Auth::Session,
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.app.url(&format!("/api/v1{path}"));
        match &self.auth {
            Auth::Token(token) => reqwest::Client::new()
                .request(method, url)
                .header(AUTHORIZATION, format!("Bearer {token}")),
            Auth::Session => {
                let csrf = self.app.cookie("satchel_csrf").expect("a CSRF cookie");
                self.app
                    .client
                    .request(method, url)
                    .header("X-CSRF-Token", csrf)
            }
            Auth::SessionWithoutCsrf => self.app.client.request(method, url),
            Auth::Anonymous => reqwest::Client::new().request(method, url),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("answered")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("answered")
    }

    /// A POST with no body at all.
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .send()
            .await
            .expect("answered")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("answered")
    }
}

/// The status and JSON body of an API answer, checking it is JSON.
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().expect("ascii").to_string())
        .unwrap_or_default();
    let text = response.text().await.expect("text");
    assert!(
        kind.starts_with("application/json"),
        "{status} {kind}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

/// The error code of a JSON error answer, with its status.
pub async fn error_of(response: reqwest::Response) -> (u16, String) {
    let (status, body) = json_of(response).await;
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, code.to_string())
}

/// Creates a token on the token page and returns its secret, as the page shows it once.
pub async fn create_token(app: &TestApp, name: &str) -> String {
    let response = app.post_form("/account/tokens", &[("name", name)]).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("text");
    shown_token(&html).unwrap_or_else(|| panic!("no token shown: {html}"))
}

fn shown_token(html: &str) -> Option<String> {
    let start = html.find("<code id=\"new-token\">")? + "<code id=\"new-token\">".len();
    let end = html[start..].find('<')?;
    Some(html[start..start + end].to_string())
}

/// The ids of the tokens listed on the token page, in order.
async fn listed_token_ids(app: &TestApp) -> Vec<String> {
    let html = app.get_text("/account/tokens").await;
    html.split("data-token-id=\"")
        .skip(1)
        .map(|chunk| chunk[..chunk.find('"').expect("end")].to_string())
        .collect()
}

async fn signed_in_app() -> TestApp {
    let app = spawn_app().await;
    app.register_confirmed("learner@example.org", PASSWORD)
        .await;
    app
}

#[tokio::test]
async fn a_new_token_is_shown_once_stored_as_a_hash_and_works_as_a_bearer_token() {
    let app = signed_in_app().await;

    let token = create_token(&app, "portfolio site").await;

    assert!(token.starts_with("satchel_pat_"), "{token}");
    assert!(token.len() > "satchel_pat_".len() + 40, "{token}");
    let page = app.get_text("/account/tokens").await;
    assert!(page.contains("portfolio site"));
    assert!(!page.contains(&token), "shown only once");
    assert!(page.contains("Never"), "not used yet");
    let stored = stored_hashes(&app);
    assert_eq!(stored, [satchel::domain::token::hash_token(&token)]);
    let (status, body) = json_of(Api::token(&app, &token).get("/badges").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 0);
    let page = app.get_text("/account/tokens").await;
    assert!(!page.contains("Never"), "last use recorded: {page}");
}

fn stored_hashes(app: &TestApp) -> Vec<String> {
    use diesel::{QueryDsl, RunQueryDsl};
    use satchel::db::schema::api_tokens;
    let mut conn = app.state.db.get().expect("connection");
    api_tokens::table
        .select(api_tokens::token_hash)
        .load(&mut conn)
        .expect("tokens load")
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized_and_other_tokens_keep_working() {
    let app = signed_in_app().await;
    let first = create_token(&app, "first").await;
    let second = create_token(&app, "second").await;
    let ids = listed_token_ids(&app).await;
    let first_id = &ids[1];

    let response = app
        .post_form(&format!("/account/tokens/{first_id}/revoke"), &[])
        .await;

    assert_eq!(response.status(), 303);
    let revoked = Api::token(&app, &first).get("/badges").await;
    assert!(revoked.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .starts_with("Bearer"));
    assert_eq!(error_of(revoked).await, (401, "unauthorized".into()));
    assert_eq!(Api::token(&app, &second).get("/badges").await.status(), 200);
    assert!(app.get_text("/account/tokens").await.contains("Revoked "));
}

#[tokio::test]
async fn missing_unknown_or_malformed_credentials_are_a_json_401() {
    let app = signed_in_app().await;
    let cases = [
        ("no credentials", None),
        (
            "unknown token",
            Some("Bearer satchel_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        ("not a Satchel token", Some("Bearer abc.def.ghi")),
        ("basic auth", Some("Basic bGVhcm5lcjpwYXNzd29yZA==")),
        ("empty bearer", Some("Bearer ")),
    ];

    for (case, header) in cases {
        let mut request = reqwest::Client::new().get(app.url("/api/v1/badges"));
        if let Some(header) = header {
            request = request.header(AUTHORIZATION, header);
        }
        let response = request.send().await.expect("answered");

        assert_eq!(
            error_of(response).await,
            (401, "unauthorized".into()),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_bearer_token_wins_over_a_session_cookie_and_needs_no_csrf_header() {
    let app = signed_in_app().await;
    let token = create_token(&app, "script").await;

    let response = app
        .client
        .post(app.url("/api/v1/badges"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("answered");

    assert_eq!(error_of(response).await, (400, "exactly_one_input".into()));
}

#[tokio::test]
async fn token_forms_need_a_session_and_the_csrf_token() {
    let app = signed_in_app().await;

    let forged = app
        .client
        .post(app.url("/account/tokens"))
        .form(&[("name", "forged")])
        .send()
        .await
        .expect("answered");
    let signed_out = app.other_browser().get("/account/tokens").await;

    assert_eq!(forged.status(), 403);
    assert_eq!(signed_out.status(), 303);
    assert!(listed_token_ids(&app).await.is_empty());
}

#[tokio::test]
async fn a_token_needs_a_sensible_name() {
    let app = signed_in_app().await;

    let long = "x".repeat(81);

    for name in ["", "   ", long.as_str()] {
        let response = app.post_form("/account/tokens", &[("name", name)]).await;

        assert_eq!(response.status(), 400, "{name:?}");
        let html = response.text().await.expect("text");
        assert!(html.contains("Give the token a name"), "{name:?}");
        assert!(shown_token(&html).is_none());
    }
    assert!(listed_token_ids(&app).await.is_empty());
}

#[tokio::test]
async fn another_users_token_cannot_be_revoked() {
    let app = signed_in_app().await;
    let token = create_token(&app, "mine").await;
    let id = listed_token_ids(&app).await[0].clone();
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;

    let response = other
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;

    assert_eq!(response.status(), 404);
    assert_eq!(Api::token(&app, &token).get("/badges").await.status(), 200);
}
