//! The whole learner journey in a real headless Chromium driven over WebDriver: register,
//! confirm the address from the captured mail, import a baked badge, see it in the
//! backpack, publish a collection and open its public page signed out. `.ci/run` installs
//! Debian's chromium and chromium-driver; elsewhere the test runs when they are present.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{confirmation_path, spawn_app_with_issuer};
use crate::local_issuer::LocalIssuer;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn connect(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    for _ in 0..50 {
        // chromedriver is plain HTTP on loopback: no TLS stack is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&driver.url)
            .await;
        if let Ok(client) = client {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not accept a session");
}

async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect(css)
        .send_keys(text)
        .await
        .expect("typed");
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("clicked");
}

async fn body_text(browser: &Client) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

/// Waits (up to ten seconds) until the page shows `text`, across the navigation a click
/// starts; returns the page's text.
async fn wait_for_text(browser: &Client, text: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(body) = browser.find(Locator::Css("body")).await {
            if let Ok(current) = body.text().await {
                if current.contains(text) {
                    return current;
                }
                last = current;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed {text:?}; it shows:\n{last}");
}

#[tokio::test]
async fn a_learner_registers_imports_a_badge_and_shares_a_collection_in_a_real_browser() {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium-driver (see .ci/run)"
        );
        eprintln!("skipped: {CHROMEDRIVER} is not installed");
        return;
    }
    let issuer = LocalIssuer::start();
    let app = spawn_app_with_issuer(&issuer).await;
    let assertion = issuer.award(
        "web",
        "Web Accessibility",
        "learner@example.org",
        "2024-05-01T00:00:00Z",
    );
    let files = tempfile::tempdir().expect("temp dir");
    let badge_file = files.path().join("web-accessibility.png");
    std::fs::write(&badge_file, issuer.baked_png(&assertion)).expect("badge written");
    let driver = start_driver();
    let browser = connect(&driver, &files.path().join("profile")).await;

    // Register.
    browser
        .goto(&app.url("/register"))
        .await
        .expect("register page");
    fill(&browser, "#email", "learner@example.org").await;
    fill(&browser, "#password", "correct horse battery").await;
    click(&browser, "form[action='/register'] button[type=submit]").await;
    wait_for_text(&browser, "We mailed a confirmation link").await;

    // Confirm from the captured mail.
    let link = confirmation_path(&app.last_mail_to("learner@example.org").await);
    browser
        .goto(&app.url(&link))
        .await
        .expect("confirmation link");
    wait_for_text(&browser, "learner@example.org is confirmed").await;

    // Import the baked badge.
    browser
        .goto(&app.url("/import"))
        .await
        .expect("import page");
    browser
        .find(Locator::Css("#files"))
        .await
        .expect("file input")
        .send_keys(&badge_file.to_string_lossy())
        .await
        .expect("file chosen");
    click(&browser, "form[action='/import'] button[type=submit]").await;
    wait_for_text(&browser, "added Web Accessibility (valid)").await;

    // See it in the backpack.
    browser.goto(&app.url("/backpack")).await.expect("backpack");
    let backpack = body_text(&browser).await;
    assert!(backpack.contains("Web Accessibility") && backpack.contains("Example Issuer"));

    // Make a collection, add the badge, publish it.
    browser
        .goto(&app.url("/collections"))
        .await
        .expect("collections");
    fill(&browser, "#name", "My skills").await;
    click(&browser, "form[action='/collections'] button[type=submit]").await;
    wait_for_text(&browser, "Add a badge").await;
    click(&browser, "form[action$='/badges'] button[type=submit]").await;
    wait_for_text(&browser, "Remove").await;
    click(&browser, "form[action$='/publish'] button[type=submit]").await;
    wait_for_text(&browser, "Published").await;
    let public_url = browser
        .find(Locator::Css("#public-link"))
        .await
        .expect("published link")
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    let public_path = public_url
        .trim_start_matches("http://satchel.test")
        .to_string();

    // Open the public page signed out.
    browser.delete_all_cookies().await.expect("signed out");
    browser
        .goto(&app.url(&public_path))
        .await
        .expect("public page");
    let public = wait_for_text(&browser, "My skills").await;
    assert!(public.contains("Web Accessibility"));
    assert!(!public.contains("Log out"), "nobody is signed in");
    let image_loaded: bool = browser
        .execute(
            "return document.querySelector('ul.badges img').naturalWidth > 0;",
            vec![],
        )
        .await
        .expect("script runs")
        .as_bool()
        .unwrap_or(false);
    assert!(image_loaded, "the badge image is served on the public page");

    browser.close().await.expect("browser closes");
}
