//! The learner's backpack over HTTP: import (files, URL, pasted text), duplicates, the
//! pending flow for an unconfirmed address, the list, the badge page and its downloads.

use crate::helpers::{confirmation_path, spawn_app_with_issuer, ImportPart, TestApp};
use crate::local_issuer::LocalIssuer;

const PASSWORD: &str = "correct horse battery";
const LEARNER: &str = "learner@example.org";

async fn learner_with_issuer() -> (LocalIssuer, TestApp) {
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    (issuer, app)
}

#[tokio::test]
async fn a_baked_png_is_verified_and_appears_in_the_backpack() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award(
        "robotics",
        "Robotics Badge",
        LEARNER,
        "2024-01-01T00:00:00Z",
    );

    let response = app
        .import(vec![ImportPart::File(
            "robotics.png",
            issuer.baked_png(&url),
        )])
        .await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("text");
    assert!(html.contains("added <a href=\"/badges/"), "{html}");
    assert!(html.contains("Robotics Badge</a> (valid)"), "{html}");
    let backpack = app.get_text("/backpack").await;
    assert!(backpack.contains("Robotics Badge"));
    assert!(backpack.contains("Example Issuer"));
    assert!(backpack.contains("2024-01-01"));
    assert_eq!(app.backpack_ids("").await.len(), 1);
}

#[tokio::test]
async fn several_files_a_url_and_pasted_json_each_get_their_own_result() {
    let (issuer, app) = learner_with_issuer().await;
    let a = issuer.award("a", "Alpha", LEARNER, "2024-01-01T00:00:00Z");
    let b = issuer.award("b", "Beta", LEARNER, "2024-02-01T00:00:00Z");
    let c = issuer.award("c", "Gamma", LEARNER, "2024-03-01T00:00:00Z");
    let d = issuer.award("d", "Delta", LEARNER, "2024-04-01T00:00:00Z");
    let pasted = format!(
        "{{\"@context\":\"https://w3id.org/openbadges/v2\",\"type\":\"Assertion\",\"id\":\"{d}\",\
         \"recipient\":{{\"type\":\"email\",\"hashed\":false,\"identity\":\"{LEARNER}\"}},\
         \"badge\":\"https://issuer.example/d-class.json\",\"issuedOn\":\"2024-04-01T00:00:00Z\",\
         \"verification\":{{\"type\":\"hosted\"}}}}"
    );

    let response = app
        .import(vec![
            ImportPart::File("a.png", issuer.baked_png(&a)),
            ImportPart::File("b.png", issuer.baked_png(&b)),
            ImportPart::Url(&c),
            ImportPart::Text(&pasted),
        ])
        .await;

    let html = response.text().await.expect("text");
    assert_eq!(
        html.matches("class=\"result result-added\"").count(),
        4,
        "{html}"
    );
    for label in ["a.png", "b.png", "pasted URL", "pasted text"] {
        assert!(
            html.contains(&format!("<strong>{label}</strong>")),
            "{label}"
        );
    }
    assert_eq!(app.backpack_ids("").await.len(), 4);
}

#[tokio::test]
async fn importing_the_same_assertion_twice_keeps_one_badge_and_says_so() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("once", "Once", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::File("once.png", issuer.baked_png(&url))])
        .await;

    let again = app
        .import(vec![ImportPart::Url(&url)])
        .await
        .text()
        .await
        .expect("text");

    assert!(
        again.contains("is already in your backpack; nothing was added"),
        "{again}"
    );
    assert_eq!(app.backpack_ids("").await.len(), 1);
}

#[tokio::test]
async fn a_tampered_or_unreadable_import_is_refused_with_its_reason_and_nothing_is_kept() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("real", "Real", LEARNER, "2024-01-01T00:00:00Z");
    let tampered = std::fs::read(format!(
        "{}/ob-scenarios/signed-tampered/assertion.jws",
        crate::issuer::FIXTURES
    ))
    .expect("fixture");
    let mut truncated = issuer.baked_png(&url);
    truncated.truncate(40);

    let html = app
        .import(vec![
            ImportPart::Text(std::str::from_utf8(&tampered).expect("text")),
            ImportPart::File("broken.png", truncated),
            ImportPart::File("notes.txt", b"just some words".to_vec()),
        ])
        .await
        .text()
        .await
        .expect("text");

    assert_eq!(
        html.matches("class=\"result result-refused\"").count(),
        3,
        "{html}"
    );
    assert!(html.contains("(unrecognised_input)"), "{html}");
    assert!(app.backpack_ids("").await.is_empty());
}

#[tokio::test]
async fn a_badge_for_an_unconfirmed_address_waits_and_is_delivered_when_it_is_confirmed() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award(
        "alt",
        "Sent Elsewhere",
        "Learner.Alt@Example.net",
        "2024-01-01T00:00:00Z",
    );

    let html = app
        .import(vec![ImportPart::File("alt.png", issuer.baked_png(&url))])
        .await
        .text()
        .await
        .expect("text");

    assert!(html.contains("this badge names someone else"), "{html}");
    assert!(
        html.contains("It was sent to <strong>Learner.Alt@Example.net</strong>"),
        "{html}"
    );
    let backpack = app.get_text("/backpack").await;
    assert!(backpack.contains("Waiting for an address to be confirmed"));
    assert!(backpack.contains("Sent Elsewhere"));
    assert!(app.backpack_ids("").await.len() == 1, "listed, as pending");

    let added = app
        .post_form("/account/emails", &[("email", "Learner.Alt@Example.net")])
        .await;
    let link = confirmation_path(&app.last_mail_to("Learner.Alt@Example.net").await);
    let confirmed = app.other_browser().get(&link).await;

    assert_eq!(added.status(), 303);
    assert_eq!(confirmed.status(), 200);
    let backpack = app.get_text("/backpack").await;
    assert!(
        !backpack.contains("Waiting for an address to be confirmed"),
        "{backpack}"
    );
    assert_eq!(app.backpack_ids("?status=valid").await.len(), 1);
    let id = &app.backpack_ids("").await[0];
    let page = app.get_text(&format!("/badges/{id}")).await;
    assert!(
        page.contains("Learner.Alt@Example.net"),
        "matched the newly confirmed address"
    );
}

#[tokio::test]
async fn a_pending_badge_can_be_dropped() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award(
        "drop",
        "Drop Me",
        "someone@example.net",
        "2024-01-01T00:00:00Z",
    );
    app.import(vec![ImportPart::Url(&url)]).await;
    let id = app.backpack_ids("").await[0].clone();

    let response = app.post_form(&format!("/badges/{id}/delete"), &[]).await;

    assert_eq!(response.status(), 303);
    assert!(!app.get_text("/backpack").await.contains("Drop Me"));
}

#[tokio::test]
async fn the_list_sorts_filters_searches_and_pages() {
    let (issuer, app) = learner_with_issuer().await;
    for (i, name) in ["Zeta", "Alpha", "Mu"].iter().enumerate() {
        let url = issuer.award(
            name,
            name,
            LEARNER,
            &format!("2024-0{}-01T00:00:00Z", i + 1),
        );
        app.import(vec![ImportPart::Url(&url)]).await;
    }
    let names = |html: String| -> Vec<String> {
        html.split("<span class=\"name\">")
            .skip(1)
            .map(|s| s[..s.find('<').expect("end")].to_string())
            .collect()
    };

    let by_date = names(app.get_text("/backpack").await);
    let by_name = names(app.get_text("/backpack?sort=name").await);
    let searched = names(app.get_text("/backpack?q=ALP").await);
    let revoked = names(app.get_text("/backpack?status=revoked").await);

    assert_eq!(by_date, ["Mu", "Alpha", "Zeta"], "newest issue date first");
    assert_eq!(by_name, ["Alpha", "Mu", "Zeta"]);
    assert_eq!(searched, ["Alpha"]);
    assert!(revoked.is_empty());
}

#[tokio::test]
async fn the_badge_page_shows_details_checks_and_history() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("page", "Page Badge", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let id = app.backpack_ids("").await[0].clone();

    let html = app.get_text(&format!("/badges/{id}")).await;

    assert!(html.contains("<h1>Page Badge</h1>"));
    assert!(html.contains("Awarded for Page Badge."));
    assert!(html.contains("Do the work."), "criteria narrative");
    assert!(html.contains("learner@example.org (exact)"));
    assert!(
        html.contains("This badge was issued to you"),
        "the recipient check"
    );
    assert!(
        html.contains("<strong>valid</strong>. Verified: valid."),
        "history: {html}"
    );
}

#[tokio::test]
async fn recheck_now_records_a_revocation_in_the_history() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("later", "Later Revoked", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let id = app.backpack_ids("").await[0].clone();
    issuer.edit_assertion("later", |a| {
        a["revoked"] = true.into();
        a["revocationReason"] = "Awarded by mistake".into();
    });

    let response = app.post_form(&format!("/badges/{id}/recheck"), &[]).await;

    assert_eq!(response.status(), 303);
    let html = app.get_text(&format!("/badges/{id}")).await;
    assert!(html.contains("Status: <strong>revoked</strong>"), "{html}");
    assert!(html.contains("Awarded by mistake"));
    assert_eq!(app.backpack_ids("?status=revoked").await, [id]);
}

#[tokio::test]
async fn downloads_give_the_original_bytes_the_assertion_and_a_freshly_baked_image() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("dl", "Download", LEARNER, "2024-01-01T00:00:00Z");
    let baked = issuer.baked_png(&url);
    app.import(vec![ImportPart::File("dl.png", baked.clone())])
        .await;
    let id = app.backpack_ids("").await[0].clone();

    let original = app.get(&format!("/badges/{id}/original")).await;
    let assertion = app.get(&format!("/badges/{id}/assertion")).await;
    let fresh = app.get(&format!("/badges/{id}/baked")).await;

    assert_eq!(original.headers()["content-type"], "image/png");
    assert_eq!(
        original.bytes().await.expect("bytes").to_vec(),
        baked,
        "byte for byte"
    );
    let assertion: serde_json::Value = assertion.json().await.expect("JSON");
    assert_eq!(assertion["id"], url.as_str());
    let fresh = fresh.bytes().await.expect("bytes").to_vec();
    let unbaked = satchel::domain::unbake::unbake_any(&fresh).expect("a baked PNG");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&unbaked.payload).expect("json")["id"],
        url.as_str()
    );
}

#[tokio::test]
async fn a_badge_that_came_as_a_url_gets_the_issuers_image_and_can_be_baked() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("img", "Image", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let id = app.backpack_ids("").await[0].clone();

    let image = app.get(&format!("/badges/{id}/image")).await;
    let baked = app.get(&format!("/badges/{id}/baked")).await;

    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .contains("sandbox"));
    assert_eq!(baked.status(), 200);
    assert!(satchel::domain::unbake::unbake_any(&baked.bytes().await.expect("b")).is_ok());
}

#[tokio::test]
async fn another_users_badge_is_not_found_anywhere() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("mine", "Mine", LEARNER, "2024-01-01T00:00:00Z");
    app.import(vec![ImportPart::Url(&url)]).await;
    let id = app.backpack_ids("").await[0].clone();
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;

    for path in ["", "/image", "/original", "/assertion", "/baked"] {
        assert_eq!(
            other.get(&format!("/badges/{id}{path}")).await.status(),
            404,
            "{path}"
        );
    }
    assert_eq!(
        other
            .post_form(&format!("/badges/{id}/delete"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(app.backpack_ids("").await.len(), 1, "still there");
}

#[tokio::test]
async fn import_requires_a_session_and_the_csrf_token() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("csrf", "Csrf", LEARNER, "2024-01-01T00:00:00Z");
    let form = reqwest::multipart::Form::new().text("url", url.clone());

    let forged = app
        .client
        .post(app.url("/import"))
        .multipart(form)
        .send()
        .await
        .expect("ok");
    let signed_out = app
        .other_browser()
        .import(vec![ImportPart::Url(&url)])
        .await;

    assert_eq!(forged.status(), 403);
    assert_eq!(signed_out.status(), 303);
    assert!(app.backpack_ids("").await.is_empty());
}

#[tokio::test]
async fn the_account_export_imports_again_into_a_new_backpack() {
    let (issuer, app) = learner_with_issuer().await;
    let a = issuer.award("exp-a", "Exported A", LEARNER, "2024-01-01T00:00:00Z");
    let b = issuer.award("exp-b", "Exported B", LEARNER, "2024-02-01T00:00:00Z");
    let baked = issuer.baked_png(&a);
    app.import(vec![
        ImportPart::File("a.png", baked.clone()),
        ImportPart::Url(&b),
    ])
    .await;

    let export = app.get("/account/export").await;

    assert_eq!(export.headers()["content-type"], "application/zip");
    let zip = export.bytes().await.expect("bytes").to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).expect("a zip");
    let manifest: serde_json::Value =
        serde_json::from_reader(archive.by_name("manifest.json").expect("manifest")).expect("JSON");
    assert_eq!(manifest["badges"].as_array().expect("list").len(), 2);
    let original = manifest["badges"][0]["original"]
        .as_str()
        .expect("path")
        .to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name(&original).expect("entry"), &mut bytes)
        .expect("read");
    assert_eq!(bytes, baked, "the original baked image, byte for byte");
    let url_badge = manifest["badges"]
        .as_array()
        .expect("list")
        .iter()
        .find(|b| b["name"] == "Exported B")
        .expect("the badge imported by URL");
    let image = url_badge["image"].as_str().expect("an image").to_string();
    let mut image_bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name(&image).expect("entry"),
        &mut image_bytes,
    )
    .expect("read");
    assert!(image.ends_with("baked.png"), "{image}");
    let inside = satchel::domain::unbake::unbake_any(&image_bytes).expect("the image is baked");
    assert!(inside.payload.contains(&b), "its own assertion is baked in");

    for id in app.backpack_ids("").await {
        app.post_form(&format!("/badges/{id}/delete"), &[]).await;
    }
    assert!(app.backpack_ids("").await.is_empty());
    let html = app
        .import(vec![ImportPart::File("satchel-export.zip", zip)])
        .await
        .text()
        .await
        .expect("text");

    assert_eq!(
        html.matches("class=\"result result-added\"").count(),
        2,
        "{html}"
    );
    assert!(html.contains("<strong>Exported A</strong>"), "{html}");
    assert_eq!(app.backpack_ids("").await.len(), 2);
    let restored = app.backpack_ids("?q=Exported%20A").await;
    let original = app.get(&format!("/badges/{}/original", restored[0])).await;
    assert_eq!(original.bytes().await.expect("bytes").to_vec(), baked);
}

#[tokio::test]
async fn an_oversized_file_gets_its_own_result_and_the_others_are_still_imported() {
    let (issuer, app) = learner_with_issuer().await;
    let url = issuer.award("small", "Small", LEARNER, "2024-01-01T00:00:00Z");
    let mut huge = issuer.baked_png(&url);
    huge.resize(6 * 1024 * 1024, 0);

    let html = app
        .import(vec![
            ImportPart::File("ok.png", issuer.baked_png(&url)),
            ImportPart::File("huge.png", huge),
        ])
        .await
        .text()
        .await
        .expect("text");

    assert!(html.contains("class=\"result result-added\""), "{html}");
    assert!(html.contains("(input_too_large)"), "{html}");
    assert_eq!(app.backpack_ids("").await.len(), 1);
}

#[tokio::test]
async fn pending_badges_expire_after_the_waiting_time() {
    let issuer = LocalIssuer::start();
    let app = crate::helpers::spawn_app_with({
        let rewrite = issuer.rewrite();
        move |s| {
            s.fetch_allow_private = true;
            s.fetch_rewrites = vec![rewrite];
            s.pending_ttl = std::time::Duration::ZERO;
        }
    })
    .await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let url = issuer.award(
        "late",
        "Too Late",
        "someone@example.net",
        "2024-01-01T00:00:00Z",
    );
    app.import(vec![ImportPart::Url(&url)]).await;
    assert_eq!(app.backpack_ids("?status=pending").await.len(), 1);

    let dropped = satchel::backpack::drop_expired_pending(&app.state, std::time::Duration::ZERO)
        .await
        .expect("the sweep runs");

    assert_eq!(dropped, 1);
    assert!(app.backpack_ids("").await.is_empty());
}
