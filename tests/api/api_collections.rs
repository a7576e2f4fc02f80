//! `/api/v1/collections` with a personal access token: the whole life of a collection, and
//! another user's collection as a 404.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_issuer, ImportPart, TestApp};
use crate::local_issuer::LocalIssuer;

const PASSWORD: &str = "correct horse battery";
const LEARNER: &str = "learner@example.org";

/// Creates a personal access token through the tokens page and returns it.
async fn token(app: &TestApp) -> String {
    let html = app
        .post_form("/account/tokens", &[("name", "script")])
        .await
        .text()
        .await
        .expect("text");
    let start = html
        .find("satchel_pat_")
        .expect("the new token is shown once");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("text");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_collection_is_created_filled_published_and_deleted_through_the_api() {
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let url = issuer.award("api", "API Badge", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let badge = app.backpack_ids("").await[0].clone();
    let token = token(&app).await;
    use reqwest::Method;

    let (created, collection) = call(
        &app,
        &token,
        Method::POST,
        "/collections",
        Some(json!({"name": "Skills"})),
    )
    .await;
    let id = collection["id"].as_str().expect("an id").to_string();
    let (added, _) = call(
        &app,
        &token,
        Method::PUT,
        &format!("/collections/{id}/badges/{badge}"),
        None,
    )
    .await;
    let (_, renamed) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/collections/{id}"),
        Some(json!({"description": "What I can do"})),
    )
    .await;
    let (_, published) = call(
        &app,
        &token,
        Method::POST,
        &format!("/collections/{id}/publish"),
        None,
    )
    .await;
    let (_, detail) = call(
        &app,
        &token,
        Method::GET,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    let (_, listed) = call(&app, &token, Method::GET, "/collections", None).await;

    assert_eq!(created, 201);
    assert_eq!(added, 204);
    assert_eq!(renamed["name"], "Skills");
    assert_eq!(renamed["description"], "What I can do");
    let public = published["public_url"]
        .as_str()
        .expect("published")
        .to_string();
    assert!(public.starts_with("http://satchel.test/c/"));
    assert_eq!(detail["badges"][0]["name"], "API Badge");
    assert_eq!(listed["items"].as_array().expect("list").len(), 1);
    let page = app
        .other_browser()
        .get_text(public.trim_start_matches("http://satchel.test"))
        .await;
    assert!(page.contains("API Badge"), "the public page shows it");

    let (removed, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/collections/{id}/badges/{badge}"),
        None,
    )
    .await;
    let (deleted, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    let (gone, error) = call(
        &app,
        &token,
        Method::GET,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    assert_eq!((removed, deleted, gone), (204, 204, 404));
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(
        app.backpack_ids("").await.len(),
        1,
        "the badge stays in the backpack"
    );
}

#[tokio::test]
async fn another_users_collection_and_badges_are_404_and_bad_names_are_refused() {
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let url = issuer.award("mine", "Mine", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let my_badge = app.backpack_ids("").await[0].clone();
    let mine = token(&app).await;
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;
    let theirs = token(&other).await;
    use reqwest::Method;
    let (_, collection) = call(
        &app,
        &mine,
        Method::POST,
        "/collections",
        Some(json!({"name": "Mine"})),
    )
    .await;
    let id = collection["id"].as_str().expect("id").to_string();
    let (_, their_collection) = call(
        &other,
        &theirs,
        Method::POST,
        "/collections",
        Some(json!({"name": "Theirs"})),
    )
    .await;
    let their_id = their_collection["id"].as_str().expect("id").to_string();

    let (read, _) = call(
        &other,
        &theirs,
        Method::GET,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    let (deleted, _) = call(
        &other,
        &theirs,
        Method::DELETE,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    let (stolen, _) = call(
        &other,
        &theirs,
        Method::PUT,
        &format!("/collections/{their_id}/badges/{my_badge}"),
        None,
    )
    .await;
    let (blank, error) = call(
        &app,
        &mine,
        Method::POST,
        "/collections",
        Some(json!({"name": "  "})),
    )
    .await;

    assert_eq!((read, deleted, stolen), (404, 404, 404));
    assert_eq!(blank, 400);
    assert_eq!(error["error"]["code"], "invalid_collection_name");
    let (still, _) = call(
        &app,
        &mine,
        Method::GET,
        &format!("/collections/{id}"),
        None,
    )
    .await;
    assert_eq!(still, 200);
}
