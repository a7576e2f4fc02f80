use crate::helpers::spawn_app;

#[tokio::test]
async fn health_check_answers_200_when_the_database_answers() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_home_page_is_served_with_links_to_register_and_log_in() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.expect("text");
    assert!(html.contains("href=\"/register\""));
    assert!(html.contains("href=\"/login\""));
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-satchel-error"], "not_found");
}
