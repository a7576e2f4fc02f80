//! `/api/v1/badges` against the real app and a local issuer: list, get, import in each input
//! form (URL, assertion object, assertion text, compact JWS, base64 PNG and SVG), duplicate,
//! pending, refused, delete and recheck, with a token and with a session; other users'
//! badges; bad bodies; JSON errors everywhere; and the OpenAPI document.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use base64::Engine;
use serde_json::{json, Value};

use crate::api_tokens::{create_token, error_of, json_of, Api, Auth};
use crate::helpers::{spawn_app_with, spawn_app_with_issuer, TestApp};
use crate::issuer::{IssuerServer, FIXTURES};
use crate::local_issuer::LocalIssuer;

const PASSWORD: &str = "correct horse battery";
const LEARNER: &str = "learner@example.org";

/// A signed-in learner with a token, and an issuer that awards badges.
async fn learner() -> (LocalIssuer, TestApp, String) {
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let token = create_token(&app, "tests").await;
    (issuer, app, token)
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Imports `body` and returns the status and answer.
async fn import(api: &Api<'_>, body: Value) -> (u16, Value) {
    json_of(api.post("/badges", &body).await).await
}

/// Imports an award by URL and returns the new badge's id.
async fn imported(api: &Api<'_>, url: &str) -> String {
    let (status, body) = import(api, json!({ "url": url })).await;
    assert_eq!(status, 201, "{body}");
    body["badge"]["id"].as_str().expect("an id").to_string()
}

async fn total(api: &Api<'_>) -> i64 {
    let (_, body) = json_of(api.get("/badges").await).await;
    body["total"].as_i64().expect("a total")
}

#[tokio::test]
async fn a_url_import_is_added_with_a_location_and_the_verification() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("robotics", "Robotics", LEARNER, "2024-01-01T00:00:00Z");

    let response = api.post("/badges", &json!({ "url": url })).await;

    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "added");
    assert_eq!(body["badge"]["name"], "Robotics");
    assert_eq!(body["badge"]["status"], "valid");
    assert_eq!(body["badge"]["issuer"]["name"], "Example Issuer");
    assert_eq!(body["badge"]["issued_on"], "2024-01-01T00:00:00Z");
    assert_eq!(body["badge"]["carrier"], "url");
    assert_eq!(body["verification"]["status"], "valid");
    assert_eq!(
        location,
        format!(
            "/api/v1/badges/{}",
            body["badge"]["id"].as_str().expect("id")
        )
    );
    assert_eq!(
        api.get(&location.replace("/api/v1", "")).await.status(),
        200
    );
}

#[tokio::test]
async fn assertions_import_as_a_json_object_and_as_json_text() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let object_url = issuer.award("object", "Object", LEARNER, "2024-01-01T00:00:00Z");
    let text_url = issuer.award("text", "Text", LEARNER, "2024-02-01T00:00:00Z");
    let assertion = |url: &str, slug: &str| {
        json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": url,
            "recipient": { "type": "email", "hashed": false, "identity": LEARNER },
            "badge": format!("https://issuer.example/{slug}-class.json"),
            "issuedOn": "2024-01-01T00:00:00Z", "verification": { "type": "hosted" },
        })
    };

    let as_object = import(
        &api,
        json!({ "assertion": assertion(&object_url, "object") }),
    )
    .await;
    let text = assertion(&text_url, "text").to_string();
    let as_text = import(&api, json!({ "assertion": text })).await;

    for (case, (status, body)) in [("object", as_object), ("text", as_text)] {
        assert_eq!(status, 201, "{case}: {body}");
        assert_eq!(body["badge"]["carrier"], "json", "{case}");
        assert_eq!(body["badge"]["status"], "valid", "{case}");
    }
    assert_eq!(total(&api).await, 2);
}

#[tokio::test]
async fn a_base64_png_imports_and_the_same_assertion_again_is_a_duplicate() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("twice", "Twice", LEARNER, "2024-01-01T00:00:00Z");
    let png = issuer.baked_png(&url);

    let (first_status, first) = import(&api, json!({ "image": base64(&png) })).await;
    let data_uri = format!("data:image/png;base64,{}", base64(&png));
    let (again_status, again) = import(&api, json!({ "image": data_uri })).await;
    let (url_status, by_url) = import(&api, json!({ "url": url })).await;

    assert_eq!(first_status, 201, "{first}");
    assert_eq!(first["badge"]["carrier"], "png");
    assert!(first["badge"]["image_url"].is_string());
    for (case, status, body) in [
        ("data URI", again_status, again),
        ("URL", url_status, by_url),
    ] {
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(body["outcome"], "duplicate", "{case}");
        assert_eq!(
            body["badge"]["id"], first["badge"]["id"],
            "{case}: the existing id"
        );
    }
    assert_eq!(total(&api).await, 1);
}

#[tokio::test]
async fn a_signed_badge_imports_as_a_compact_jws_and_its_baked_svg_is_the_same_badge() {
    let scenario = PathBuf::from(FIXTURES).join("ob-scenarios");
    let server = IssuerServer::start(scenario.join("signed-valid/issuer.example"), HashMap::new());
    let rewrite = (
        "https://issuer.example/".to_string(),
        format!("{}/", server.base),
    );
    let app = spawn_app_with(move |s| {
        s.fetch_allow_private = true;
        s.fetch_rewrites = vec![rewrite];
    })
    .await;
    app.register_confirmed("recipient@example.org", PASSWORD)
        .await;
    let token = create_token(&app, "signed").await;
    let api = Api::token(&app, &token);
    let jws = std::fs::read_to_string(scenario.join("signed-valid/assertion.jws")).expect("jws");
    let svg = std::fs::read(scenario.join("signed-valid-baked-svg/baked.svg")).expect("svg");

    let (jws_status, by_jws) = import(&api, json!({ "assertion": jws.trim() })).await;
    let (svg_status, by_svg) = import(&api, json!({ "image": base64(&svg) })).await;

    assert_eq!(jws_status, 201, "{by_jws}");
    assert_eq!(by_jws["badge"]["carrier"], "jws");
    assert_eq!(by_jws["badge"]["status"], "valid");
    assert_eq!(svg_status, 200, "{by_svg}");
    assert_eq!(by_svg["outcome"], "duplicate");
    assert_eq!(by_svg["badge"]["id"], by_jws["badge"]["id"]);
}

#[tokio::test]
async fn a_badge_for_an_unconfirmed_address_is_accepted_as_pending() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award(
        "alt",
        "Elsewhere",
        "Learner.Alt@Example.net",
        "2024-01-01T00:00:00Z",
    );

    let (status, body) = import(&api, json!({ "url": url })).await;

    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcome"], "pending");
    assert_eq!(body["named_address"], "Learner.Alt@Example.net");
    assert_eq!(body["badge"]["status"], "pending");
    assert_eq!(body["badge"]["pending_address"], "learner.alt@example.net");
    let (_, pending) = json_of(api.get("/badges?status=pending").await).await;
    assert_eq!(pending["items"][0]["id"], body["badge"]["id"]);
}

#[tokio::test]
async fn tampered_or_unreadable_badges_are_refused_with_a_code_and_nothing_is_kept() {
    let (_issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let tampered = std::fs::read_to_string(format!(
        "{FIXTURES}/ob-scenarios/signed-tampered/assertion.jws"
    ))
    .expect("fixture");
    let cases = [
        ("tampered JWS", json!({ "assertion": tampered.trim() })),
        ("plain words", json!({ "assertion": "just some words" })),
    ];

    for (case, body) in cases {
        let (status, answer) = import(&api, body).await;

        assert_eq!(status, 422, "{case}: {answer}");
        assert_eq!(answer["outcome"], "refused", "{case}");
        let code = answer["error"]["code"].as_str().expect("a code");
        assert!(
            !code.is_empty() && answer["error"]["message"].is_string(),
            "{case}"
        );
        assert_eq!(answer["verification"]["status"], "invalid", "{case}");
    }
    assert_eq!(total(&api).await, 0);
}

#[tokio::test]
async fn import_bodies_that_are_not_exactly_one_good_input_are_refused_with_a_code() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("one", "One", LEARNER, "2024-01-01T00:00:00Z");
    let cases = [
        ("nothing", json!({}), "exactly_one_input"),
        (
            "two inputs",
            json!({ "url": url, "image": "AAAA" }),
            "exactly_one_input",
        ),
        ("null input", json!({ "url": null }), "exactly_one_input"),
        ("unknown field", json!({ "file": "x" }), "invalid_body"),
        ("wrong type", json!({ "url": 5 }), "invalid_body"),
        (
            "not http",
            json!({ "url": "ftp://issuer.example/a" }),
            "invalid_url",
        ),
        (
            "number assertion",
            json!({ "assertion": 5 }),
            "invalid_assertion",
        ),
        ("not base64", json!({ "image": "%%%" }), "invalid_base64"),
        (
            "not an image",
            json!({ "image": base64(b"GIF89a....") }),
            "not_an_image",
        ),
        ("an array", json!([{ "url": url }]), "invalid_body"),
    ];

    for (case, body, code) in cases {
        let response = api.post("/badges", &body).await;

        assert_eq!(error_of(response).await, (400, code.to_string()), "{case}");
    }
    assert_eq!(total(&api).await, 0);
}

#[tokio::test]
async fn malformed_mistyped_and_oversized_bodies_get_json_errors() {
    let (_issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let send = |content_type: &'static str, body: Vec<u8>| {
        api.request(reqwest::Method::POST, "/badges")
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = send("application/json", b"{\"url\": ".to_vec())
        .await
        .expect("answered");
    let form = send("application/x-www-form-urlencoded", b"url=x".to_vec())
        .await
        .expect("ok");
    let huge = format!("{{\"image\":\"{}\"}}", "A".repeat(8 * 1024 * 1024));
    let oversized = send("application/json", huge.into_bytes())
        .await
        .expect("answered");
    let image = base64(&vec![0u8; 5 * 1024 * 1024 + 3]);
    let big_input = api.post("/badges", &json!({ "image": image })).await;

    assert_eq!(error_of(malformed).await, (400, "malformed_json".into()));
    assert_eq!(error_of(form).await, (415, "unsupported_media_type".into()));
    assert_eq!(error_of(oversized).await, (413, "body_too_large".into()));
    assert_eq!(error_of(big_input).await, (413, "input_too_large".into()));
}

#[tokio::test]
async fn the_list_filters_searches_sorts_and_pages() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    for (i, name) in ["Zeta", "Alpha", "Mu"].iter().enumerate() {
        let url = issuer.award(
            name,
            name,
            LEARNER,
            &format!("2024-0{}-01T00:00:00Z", i + 1),
        );
        imported(&api, &url).await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|b| b["name"].as_str().expect("name").to_string())
            .collect()
    };

    let (_, by_date) = json_of(api.get("/badges").await).await;
    let (_, by_name) = json_of(api.get("/badges?sort=name").await).await;
    let (_, searched) = json_of(api.get("/badges?q=ALP").await).await;
    let (_, by_issuer) =
        json_of(api.get("/badges?issuer=Example%20Issuer&sort=issuer").await).await;
    let (_, revoked) = json_of(api.get("/badges?status=revoked").await).await;
    let (_, second_page) = json_of(api.get("/badges?sort=name&per_page=2&page=2").await).await;

    assert_eq!(
        names(&by_date),
        ["Mu", "Alpha", "Zeta"],
        "newest issue date first"
    );
    assert_eq!(names(&by_name), ["Alpha", "Mu", "Zeta"]);
    assert_eq!(names(&searched), ["Alpha"]);
    assert_eq!(searched["total"], 1);
    assert_eq!(names(&by_issuer), ["Alpha", "Mu", "Zeta"]);
    assert!(names(&revoked).is_empty());
    assert_eq!(names(&second_page), ["Zeta"]);
    assert_eq!(
        (
            &second_page["total"],
            &second_page["page"],
            &second_page["per_page"],
            &second_page["pages"]
        ),
        (&json!(3), &json!(2), &json!(2), &json!(2))
    );
}

#[tokio::test]
async fn list_parameters_out_of_range_are_refused_with_a_code() {
    let (_issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let cases = [
        ("per_page=101", "invalid_per_page"),
        ("per_page=0", "invalid_per_page"),
        ("page=0", "invalid_page"),
        ("page=two", "invalid_query"),
        ("sort=colour", "invalid_query"),
        ("status=shiny", "unknown_status"),
        ("colour=red", "invalid_query"),
    ];

    for (query, code) in cases {
        let response = api.get(&format!("/badges?{query}")).await;

        assert_eq!(error_of(response).await, (400, code.to_string()), "{query}");
    }
}

#[tokio::test]
async fn a_badge_shows_its_details_checks_and_history() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("detail", "Detail", LEARNER, "2024-01-01T00:00:00Z");
    let id = imported(&api, &url).await;

    let (status, badge) = json_of(api.get(&format!("/badges/{id}")).await).await;

    assert_eq!(status, 200, "{badge}");
    assert_eq!(badge["name"], "Detail");
    assert_eq!(badge["description"], "Awarded for Detail.");
    assert_eq!(badge["criteria"]["narrative"], "Do the work.");
    assert_eq!(badge["matched_address"], LEARNER);
    assert_eq!(badge["match_form"], "exact");
    let recipient = badge["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "recipient")
        .expect("a recipient check");
    assert_eq!(recipient["outcome"], "passed");
    assert_eq!(badge["history"].as_array().expect("history").len(), 1);
    assert_eq!(badge["history"][0]["status"], "valid");
}

#[tokio::test]
async fn the_badge_image_is_served_to_a_token() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("pic", "Picture", LEARNER, "2024-01-01T00:00:00Z");
    let id = imported(&api, &url).await;

    let image = api.get(&format!("/badges/{id}/image")).await;

    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let bytes = image.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn recheck_records_a_revocation_and_delete_removes_the_badge() {
    let (issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let url = issuer.award("gone", "Gone", LEARNER, "2024-01-01T00:00:00Z");
    let id = imported(&api, &url).await;
    issuer.edit_assertion("gone", |a| {
        a["revoked"] = true.into();
        a["revocationReason"] = "Awarded by mistake".into();
    });

    let (status, rechecked) =
        json_of(api.post(&format!("/badges/{id}/recheck"), &json!({})).await).await;
    let deleted = api.delete(&format!("/badges/{id}")).await;
    let after = api.get(&format!("/badges/{id}")).await;
    let again = api.delete(&format!("/badges/{id}")).await;

    assert_eq!(status, 200, "{rechecked}");
    assert_eq!(rechecked["previous_status"], "valid");
    assert_eq!(rechecked["changed"], true);
    assert_eq!(rechecked["badge"]["status"], "revoked");
    assert_eq!(
        rechecked["badge"]["revocation_reason"],
        "Awarded by mistake"
    );
    let history: Vec<&Value> = rechecked["badge"]["history"]
        .as_array()
        .expect("h")
        .iter()
        .collect();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["status"], "revoked");
    assert_eq!(deleted.status(), 204);
    assert_eq!(error_of(after).await, (404, "not_found".into()));
    assert_eq!(error_of(again).await, (404, "not_found".into()));
    assert_eq!(total(&api).await, 0);
}

#[tokio::test]
async fn another_users_badge_is_not_found_through_the_api() {
    let (issuer, app, token) = learner().await;
    let url = issuer.award("mine", "Mine", LEARNER, "2024-01-01T00:00:00Z");
    let id = imported(&Api::token(&app, &token), &url).await;
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;
    let their_token = create_token(&other, "theirs").await;
    let callers = [
        ("token", Api::token(&other, &their_token)),
        ("session", Api::session(&other)),
    ];

    for (how, api) in &callers {
        let get = api.get(&format!("/badges/{id}")).await;
        let image = api.get(&format!("/badges/{id}/image")).await;
        let recheck = api.post(&format!("/badges/{id}/recheck"), &json!({})).await;
        let delete = api.delete(&format!("/badges/{id}")).await;
        let (_, list) = json_of(api.get("/badges").await).await;

        for (what, response) in [
            ("get", get),
            ("image", image),
            ("recheck", recheck),
            ("delete", delete),
        ] {
            assert_eq!(
                error_of(response).await,
                (404, "not_found".into()),
                "{how} {what}"
            );
        }
        assert_eq!(list["total"], 0, "{how}");
    }
    assert_eq!(total(&Api::token(&app, &token)).await, 1, "still there");
}

#[tokio::test]
async fn a_session_works_for_reads_and_needs_the_csrf_header_for_changes() {
    let (issuer, app, _token) = learner().await;
    let url = issuer.award("sess", "Session", LEARNER, "2024-01-01T00:00:00Z");
    let without = Api {
        app: &app,
        auth: Auth::SessionWithoutCsrf,
    };
    let with = Api::session(&app);
    let forged_header = without
        .request(reqwest::Method::POST, "/badges")
        .header("X-CSRF-Token", "not-the-cookie")
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("answered");

    let read = without.get("/badges").await;
    let refused = without.post("/badges", &json!({ "url": url })).await;
    let (status, added) = import(&with, json!({ "url": url })).await;
    let id = added["badge"]["id"].as_str().expect("id").to_string();
    let delete_refused = without.delete(&format!("/badges/{id}")).await;
    let recheck_refused = without
        .post(&format!("/badges/{id}/recheck"), &json!({}))
        .await;
    let deleted = with.delete(&format!("/badges/{id}")).await;

    assert_eq!(read.status(), 200);
    assert_eq!(error_of(forged_header).await, (403, "csrf_rejected".into()));
    assert_eq!(error_of(refused).await, (403, "csrf_rejected".into()));
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        error_of(delete_refused).await,
        (403, "csrf_rejected".into())
    );
    assert_eq!(
        error_of(recheck_refused).await,
        (403, "csrf_rejected".into())
    );
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn everything_under_api_answers_json_errors() {
    let (_issuer, app, token) = learner().await;
    let api = Api::token(&app, &token);
    let anonymous = Api {
        app: &app,
        auth: Auth::Anonymous,
    };

    let unknown_path = api.get("/nothing-here").await;
    let unknown_version = reqwest::get(app.url("/api/v2/badges"))
        .await
        .expect("answered");
    let wrong_method = api
        .request(reqwest::Method::PUT, "/badges")
        .send()
        .await
        .expect("ok");
    let signed_out = anonymous.get("/badges").await;
    let signed_out_import = anonymous
        .post("/badges", &json!({ "url": "https://x.example/" }))
        .await;

    assert_eq!(error_of(unknown_path).await, (404, "not_found".into()));
    assert_eq!(error_of(unknown_version).await, (404, "not_found".into()));
    assert_eq!(
        error_of(wrong_method).await,
        (405, "method_not_allowed".into())
    );
    assert_eq!(error_of(signed_out).await, (401, "unauthorized".into()));
    assert_eq!(
        error_of(signed_out_import).await,
        (401, "unauthorized".into())
    );
}

/// Every (method, path) the OpenAPI document describes.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in methods.iter().filter(|m| item.get(**m).is_some()) {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_registered_endpoints() {
    let (_issuer, app, _token) = learner().await;

    let response = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .expect("answered");

    let (status, document) = json_of(response).await;
    assert_eq!(status, 200);
    assert!(document["openapi"]
        .as_str()
        .expect("version")
        .starts_with("3.1."));
    let registered: BTreeSet<(String, String)> = satchel::routes::api::registered_routes()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented(&document), registered);
    for (method, path) in &registered {
        let operation = &document["paths"][path][method.to_lowercase()];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path}"
        );
        assert!(operation["operationId"].is_string(), "{method} {path}");
    }
}
