//! `spawn_app()` and the typed helpers every test uses.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};

use diesel::{Connection, PgConnection, RunQueryDsl};
use satchel::config::Settings;
use satchel::mail::{CapturedMail, Mailer};
use satchel::startup::{AppState, Application};
use satchel::templates::Templates;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub cookies: Arc<Jar>,
    pub state: actix_web::web::Data<AppState>,
    /// Keeps the temp data directory (and SQLite file) alive for the test.
    _data_dir: tempfile::TempDir,
}

/// The settings a test starts from: port 0, a temp data dir, and the test database.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let data = data_dir.to_string_lossy().into_owned();
    let database_url = test_database_url(data_dir);
    Settings::from_lookup(|name| match name {
        "SATCHEL_BIND" => Some("127.0.0.1:0".into()),
        "SATCHEL_DATA_DIR" => Some(data.clone()),
        "SATCHEL_BASE_URL" => Some("http://satchel.test/".into()),
        "DATABASE_URL" => Some(database_url.clone()),
        "SATCHEL_DB_POOL_SIZE" => Some("4".into()),
        _ => None,
    })
    .expect("test settings are valid")
}

/// A fresh PostgreSQL database when `TEST_DATABASE_URL` is set, else a temp SQLite file.
fn test_database_url(data_dir: &std::path::Path) -> String {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        return data_dir.join("test.sqlite3").to_string_lossy().into_owned();
    };
    let name = format!("satchel_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&server).expect("TEST_DATABASE_URL answers");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("the test database can be created");
    let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application with the test settings changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    adjust(&mut settings);
    let templates = std::sync::Arc::new(Templates::load().expect("templates load"));
    let mailer = Mailer::memory(&settings.mail_from, templates).expect("memory mailer");
    spawn_with_mailer(settings, mailer, data_dir).await
}

pub async fn spawn_with_mailer(
    settings: Settings,
    mailer: Mailer,
    data_dir: tempfile::TempDir,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        satchel::telemetry::init(false);
    }
    let app = Application::build(settings, mailer)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let (client, cookies) = browser();
    TestApp {
        address,
        client,
        cookies,
        state,
        _data_dir: data_dir,
    }
}

/// A client that behaves like a browser session: keeps cookies, does not follow redirects
/// (so tests can see where they point).
pub fn browser() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client builds");
    (client, jar)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET is answered")
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body is text")
    }

    /// The CSRF token this browser's forms carry: the value of its CSRF cookie, which the
    /// first page it loads sets.
    pub async fn csrf_token(&self) -> String {
        if let Some(token) = self.cookie("satchel_csrf") {
            return token;
        }
        let html = self.get_text("/login").await;
        csrf_from_html(&html).expect("the login page has a CSRF field")
    }

    /// The value of one of this browser's cookies for the app.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.address.parse().expect("app URL");
        let header = self.cookies.cookies(&url)?;
        let header = header.to_str().ok()?.to_string();
        header.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
    }

    /// Posts a form with this browser's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST is answered")
    }

    pub async fn register(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/register", &[("email", email), ("password", password)])
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// A second browser on the same app, with its own cookies.
    pub fn other_browser(&self) -> TestApp {
        let (client, cookies) = browser();
        TestApp {
            address: self.address.clone(),
            client,
            cookies,
            state: self.state.clone(),
            _data_dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub async fn mails(&self) -> Vec<CapturedMail> {
        self.state.mailer.captured().await
    }

    /// The newest mail sent to `address`.
    pub async fn last_mail_to(&self, address: &str) -> CapturedMail {
        let mails = self.mails().await;
        mails
            .into_iter()
            .rev()
            .find(|m| m.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .unwrap_or_else(|| panic!("no mail was sent to {address}"))
    }

    /// Registers, follows the mailed link, and leaves this browser signed in.
    pub async fn register_confirmed(&self, email: &str, password: &str) {
        assert_eq!(self.register(email, password).await.status(), 303);
        let link = confirmation_path(&self.last_mail_to(email).await);
        assert_eq!(self.get(&link).await.status(), 200);
    }
}

pub fn csrf_from_html(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// The text and HTML bodies of a captured mail, decoded.
pub struct MailBodies {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn mail_bodies(mail: &CapturedMail) -> MailBodies {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.raw.as_bytes())
        .expect("the mail parses");
    MailBodies {
        subject: parsed.subject().unwrap_or_default().to_string(),
        text: parsed.body_text(0).expect("a text part").into_owned(),
        html: parsed.body_html(0).expect("an HTML part").into_owned(),
    }
}

/// The path and query of the confirmation link in a mail's text body.
pub fn confirmation_path(mail: &CapturedMail) -> String {
    link_path(&mail_bodies(mail).text)
}

pub fn link_path(text: &str) -> String {
    let start = text
        .find("http://satchel.test/confirm-email?token=")
        .expect("a confirm link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches("http://satchel.test").to_string()
}

/// Starts the app with its fetches of `https://issuer.example/` going to a local issuer.
pub async fn spawn_app_with_issuer(issuer: &crate::local_issuer::LocalIssuer) -> TestApp {
    let rewrite = issuer.rewrite();
    spawn_app_with(move |s| {
        s.fetch_allow_private = true;
        s.fetch_rewrites = vec![rewrite];
    })
    .await
}

/// One part of an import form.
pub enum ImportPart<'a> {
    File(&'a str, Vec<u8>),
    Url(&'a str),
    Text(&'a str),
}

impl TestApp {
    /// Posts the import form with these parts and this browser's CSRF token.
    pub async fn import(&self, parts: Vec<ImportPart<'_>>) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for part in parts {
            form = match part {
                ImportPart::File(name, bytes) => form.part(
                    "files",
                    reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
                ),
                ImportPart::Url(url) => form.text("url", url.to_string()),
                ImportPart::Text(text) => form.text("text", text.to_string()),
            };
        }
        self.client
            .post(self.url("/import"))
            .multipart(form)
            .send()
            .await
            .expect("answered")
    }

    /// The ids of the badges listed on a backpack page, in order.
    pub async fn backpack_ids(&self, query: &str) -> Vec<String> {
        let html = self.get_text(&format!("/backpack{query}")).await;
        let marker = "<li class=\"badge ";
        html.split(marker)
            .skip(1)
            .filter_map(|chunk| {
                let start = chunk.find("data-badge-id=\"")? + "data-badge-id=\"".len();
                Some(chunk[start..start + 36].to_string())
            })
            .collect()
    }
}
