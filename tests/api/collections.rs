//! Collections and public sharing: create, rename, describe, add and remove badges,
//! publish with an unguessable link, public pages with Open Graph tags and JSON-LD, and
//! 404s for everything private.

use crate::helpers::{spawn_app_with_issuer, ImportPart, TestApp};
use crate::local_issuer::LocalIssuer;

const PASSWORD: &str = "correct horse battery";
const LEARNER: &str = "learner@example.org";

/// A learner with two badges imported; returns their ids in import order.
async fn learner_with_badges() -> (LocalIssuer, TestApp, Vec<String>) {
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    app.register_confirmed(LEARNER, PASSWORD).await;
    let mut ids = Vec::new();
    for (slug, name) in [("web", "Web Basics"), ("data", "Data Skills")] {
        let url = issuer.award(slug, name, LEARNER, "2024-01-01T00:00:00Z");
        app.import(vec![ImportPart::Url(&url)]).await;
        let all = app.backpack_ids("?sort=name").await;
        ids.push(
            all.into_iter()
                .find(|id| !ids.contains(id))
                .expect("new badge"),
        );
    }
    (issuer, app, ids)
}

async fn create_collection(app: &TestApp, name: &str) -> String {
    let response = app
        .post_form(
            "/collections",
            &[("name", name), ("description", "Things I learned")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    location.trim_start_matches("/collections/").to_string()
}

async fn publish(app: &TestApp, collection: &str) -> String {
    app.post_form(&format!("/collections/{collection}/publish"), &[])
        .await;
    let html = app.get_text(&format!("/collections/{collection}")).await;
    let start = html.find("id=\"public-link\" href=\"").expect("published") + 23;
    let url = html[start..start + html[start..].find('"').expect("end")].replace("&#x2F;", "/");
    url.trim_start_matches("http://satchel.test").to_string()
}

#[tokio::test]
async fn a_collection_is_created_filled_renamed_and_published() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Portfolio").await;

    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[0])],
    )
    .await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[1])],
    )
    .await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[1])],
    )
    .await;
    app.post_form(
        &format!("/collections/{id}/edit"),
        &[("name", "My Portfolio"), ("description", "Best of")],
    )
    .await;
    let public = publish(&app, &id).await;

    let html = app.get_text(&format!("/collections/{id}")).await;
    assert!(html.contains("<h1>My Portfolio</h1>") && html.contains("Best of"));
    assert_eq!(
        html.matches("<li class=\"badge ").count(),
        2,
        "adding twice keeps one"
    );
    let slug = public.trim_start_matches("/c/");
    assert_eq!(slug.len(), 43, "256 random bits, base64url");
    let visitor = app.other_browser();
    let page = visitor.get_text(&public).await;
    assert!(page.contains("<h1>My Portfolio</h1>"));
    assert!(page.contains("Web Basics") && page.contains("Data Skills"));
    assert!(page.contains("<meta property=\"og:title\" content=\"My Portfolio\">"));
    assert!(page.contains(
        "<meta property=\"og:image\" content=\"http:&#x2F;&#x2F;satchel.test&#x2F;c&#x2F;"
    ));
}

#[tokio::test]
async fn public_pages_serve_json_ld_to_clients_that_ask() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Shared").await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[0])],
    )
    .await;
    let public = publish(&app, &id).await;
    let visitor = app.other_browser();

    let list: serde_json::Value = visitor
        .client
        .get(visitor.url(&public))
        .header("Accept", "application/ld+json")
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON-LD");
    let item_url = list["itemListElement"][0]["url"]
        .as_str()
        .expect("an item")
        .to_string();
    let assertion: serde_json::Value = visitor
        .client
        .get(visitor.url(item_url.trim_start_matches("http://satchel.test")))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");

    assert_eq!(list["@type"], "ItemList");
    assert_eq!(list["name"], "Shared");
    assert_eq!(assertion["type"], "Assertion");
    assert_eq!(assertion["id"], "https://issuer.example/web.json");
}

#[tokio::test]
async fn revoked_badges_drop_off_public_pages() {
    let (issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Shared").await;
    for badge in &ids {
        app.post_form(&format!("/collections/{id}/badges"), &[("badge_id", badge)])
            .await;
    }
    let public = publish(&app, &id).await;
    issuer.edit_assertion("web", |a| a["revoked"] = true.into());
    for badge in &ids {
        app.post_form(&format!("/badges/{badge}/recheck"), &[])
            .await;
    }

    let page = app.other_browser().get_text(&public).await;

    assert!(!page.contains("Web Basics"), "the revoked badge is gone");
    assert!(page.contains("Data Skills"));
}

#[tokio::test]
async fn private_and_unpublished_collections_and_badges_are_404_to_everyone_else() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Private").await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[0])],
    )
    .await;
    let public = publish(&app, &id).await;
    app.post_form(&format!("/collections/{id}/unpublish"), &[])
        .await;
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;

    assert_eq!(
        other.get(&public).await.status(),
        404,
        "an unpublished link stops working"
    );
    assert_eq!(
        other
            .get(&format!("{public}/badges/{}", ids[0]))
            .await
            .status(),
        404
    );
    assert_eq!(other.get(&format!("/collections/{id}")).await.status(), 404);
    let edit = other
        .post_form(&format!("/collections/{id}/edit"), &[("name", "Mine now")])
        .await;
    assert_eq!(edit.status(), 404);
    let add = other
        .post_form(&format!("/collections/{id}/delete"), &[])
        .await;
    assert_eq!(add.status(), 404);
    assert_eq!(other.get("/c/not-a-real-link").await.status(), 404);
    assert!(app
        .get_text(&format!("/collections/{id}"))
        .await
        .contains("<h1>Private</h1>"));
}

#[tokio::test]
async fn another_users_badge_cannot_be_put_in_a_collection() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let other = app.other_browser();
    other
        .register_confirmed("other@example.org", PASSWORD)
        .await;
    let theirs = create_collection(&other, "Theirs").await;

    let response = other
        .post_form(
            &format!("/collections/{theirs}/badges"),
            &[("badge_id", &ids[0])],
        )
        .await;

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_badge_can_be_published_on_its_own_and_unpublished() {
    let (_issuer, app, ids) = learner_with_badges().await;
    app.post_form(&format!("/badges/{}/publish", ids[0]), &[])
        .await;
    let html = app.get_text(&format!("/badges/{}", ids[0])).await;
    let start = html.find("id=\"public-link\" href=\"").expect("a link") + 23;
    let link = html[start..start + html[start..].find('"').expect("end")].replace("&#x2F;", "/");
    let visitor = app.other_browser();

    let shown = visitor.get(&link).await;
    let image = visitor.get(&format!("{link}/image")).await;
    app.post_form(&format!("/badges/{}/unpublish", ids[0]), &[])
        .await;
    let gone = visitor.get(&link).await;

    assert_eq!(shown.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn removing_and_deleting_change_only_the_collection() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Temp").await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[0])],
    )
    .await;

    app.post_form(&format!("/collections/{id}/badges/{}/remove", ids[0]), &[])
        .await;
    let emptied = app.get_text(&format!("/collections/{id}")).await;
    app.post_form(&format!("/collections/{id}/delete"), &[])
        .await;

    assert!(emptied.contains("No badges in this collection yet."));
    assert_eq!(app.get(&format!("/collections/{id}")).await.status(), 404);
    assert_eq!(
        app.backpack_ids("").await.len(),
        2,
        "the badges stay in the backpack"
    );
}

#[tokio::test]
async fn public_pages_and_their_json_ld_never_show_the_learners_address() {
    let (_issuer, app, ids) = learner_with_badges().await;
    let id = create_collection(&app, "Public").await;
    app.post_form(
        &format!("/collections/{id}/badges"),
        &[("badge_id", &ids[0])],
    )
    .await;
    let public = publish(&app, &id).await;
    app.post_form(&format!("/badges/{}/publish", ids[1]), &[])
        .await;
    let html = app.get_text(&format!("/badges/{}", ids[1])).await;
    let start = html.find("id=\"public-link\" href=\"").expect("a link") + 23;
    let single = html[start..start + html[start..].find('"').expect("end")].replace("&#x2F;", "/");
    let visitor = app.other_browser();
    let item = format!("{public}/badges/{}", ids[0]);

    for path in [public.as_str(), item.as_str(), single.as_str()] {
        for accept in ["text/html", "application/ld+json"] {
            let body = visitor
                .client
                .get(visitor.url(path))
                .header("Accept", accept)
                .send()
                .await
                .expect("answered")
                .text()
                .await
                .expect("text");

            assert!(
                !body.contains(LEARNER),
                "{path} ({accept}) shows the address: {body}"
            );
        }
    }
}

#[tokio::test]
async fn only_web_links_are_made_clickable_on_badge_pages() {
    let (issuer, app, _) = learner_with_badges().await;
    let url = issuer.award("js", "Script Criteria", LEARNER, "2024-01-01T00:00:00Z");
    issuer.edit_class("js", |class| {
        class["criteria"] = serde_json::json!({"id": "javascript:alert(5)"})
    });
    app.import(vec![crate::helpers::ImportPart::Url(&url)])
        .await;
    let id = app.backpack_ids("?q=Script").await[0].clone();

    let html = app.get_text(&format!("/badges/{id}")).await;

    assert!(!html.contains("href=\"javascript:"), "{html}");
}
