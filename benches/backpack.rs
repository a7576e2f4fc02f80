//! Backpack throughput (issue 6): baked PNG imports per second through `POST /import`, and the
//! latency of the backpack page with 10,000 badges in one account, both over HTTP on 127.0.0.1
//! against the real application built by `Application::build`.
//!
//! The run: a local issuer (an actix server in this process, 1 worker) generates hosted Open
//! Badges 2.0 documents for one learner (10 badge classes, hashed and salted recipient), and the
//! app fetches `https://issuer.example/` from it through `fetch_rewrites`. The learner registers,
//! confirms the address from the captured mail, and keeps the session and CSRF cookies.
//!
//! 1. Imports: distinct PNGs, each baked with its own assertion URL, one file per multipart
//!    request, first one at a time, then 8 in flight. Every response must say `added`. The load
//!    generator is this process (reqwest, keep-alive). A warm-up imports one badge per class
//!    first, so the timed imports each fetch one assertion and find class and issuer cached.
//! 2. Seeding: rows are inserted straight through `db::badges::insert` (one event each), copied
//!    from an imported badge with varied names, issuers and dates, until the account holds
//!    10,000 badges.
//! 3. Pages: `wrk` loads `/backpack`, `/backpack?q=python` and `/backpack?sort=name&page=200`
//!    for a fixed time at 1 and 8 connections, and prints the exact command. Without `wrk` on
//!    the path, a fixed-time loop in this process does the same. Then each query behind the page
//!    is timed alone through the public `db` functions, to show where the time goes.
//!
//! Environment: `SATCHEL_BENCH_DATABASE_URL` (a `postgres://` database to use instead of SQLite
//! in a temporary folder), `SATCHEL_BENCH_DATA_DIR` (keep the data folder, e.g. to run
//! `EXPLAIN` afterwards), `SATCHEL_BENCH_IMPORTS` (imports per concurrency, default 2000),
//! `SATCHEL_BENCH_SECONDS` (seconds per page run, default 10). This file uses Satchel's public
//! API only and must not change what it measures.

use std::error::Error;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::{env, fs};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::NaiveDateTime;
use rand::{Rng, SeedableRng};
use reqwest::cookie::{CookieStore, Jar};
use satchel::config::Settings;
use satchel::db::badges::{self as badge_queries, BadgeEvent, BadgeFilter, NewBadge, SortOrder};
use satchel::db::models::{email_queries, new_id, now, user_queries};
use satchel::domain::bake::bake;
use satchel::domain::unbake::Keyword;
use satchel::mail::Mailer;
use satchel::routes::badges::PAGE_SIZE;
use satchel::startup::{AppState, Application};
use satchel::templates::Templates;
use serde_json::json;
use sha2::{Digest, Sha256};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const DATABASE_VAR: &str = "SATCHEL_BENCH_DATABASE_URL";
const DATA_DIR_VAR: &str = "SATCHEL_BENCH_DATA_DIR";
const IMPORTS_VAR: &str = "SATCHEL_BENCH_IMPORTS";
const SECONDS_VAR: &str = "SATCHEL_BENCH_SECONDS";
/// The issuer origin the documents name; the app's fetches of it go to the local issuer.
const ORIGIN: &str = "https://issuer.example/";
/// Badge classes the local issuer publishes; assertion `n` uses class `n % CLASSES`.
const CLASSES: usize = 10;
/// Badges in the account when the pages are loaded.
const ACCOUNT_BADGES: usize = 10_000;
const IMPORT_CONCURRENCY: [usize; 2] = [1, 8];
const PAGE_CONNECTIONS: [usize; 2] = [1, 8];
/// The pages loaded, as paths after the origin.
const PAGES: [&str; 3] = [
    "/backpack",
    "/backpack?q=python",
    "/backpack?sort=name&page=200",
];
const PASSWORD: &str = "correct horse battery staple";
const PNG_FIXTURE: &str = "../shared/fixtures/mozilla-bakery/unbaked.png";
/// Runs of each query when the page's queries are timed alone.
const QUERY_RUNS: usize = 20;

// ---------------------------------------------------------------------------------------------
// The local issuer

/// What the issuer serves: documents for one learner, generated from the request path.
struct Issuer {
    email: String,
    salt: String,
    image: Vec<u8>,
    requests: AtomicU64,
}

impl Issuer {
    fn document(&self, path: &str) -> Option<serde_json::Value> {
        let name = path.strip_prefix('/')?.strip_suffix(".json")?;
        if name == "issuer" {
            return Some(issuer_json());
        }
        if let Some(class) = name.strip_prefix("class-") {
            return Some(class_json(class.parse().ok()?));
        }
        let number: usize = name.strip_prefix("assertion-")?.parse().ok()?;
        Some(self.assertion_json(number))
    }

    fn assertion_json(&self, number: usize) -> serde_json::Value {
        let digest = Sha256::digest(format!("{}{}", self.email, self.salt));
        let issued = chrono::DateTime::from_timestamp(1_600_000_000 + number as i64 * 3600, 0)
            .unwrap_or_default();
        json!({
            "@context": "https://w3id.org/openbadges/v2",
            "type": "Assertion",
            "id": assertion_url(number),
            "recipient": {
                "type": "email",
                "hashed": true,
                "salt": self.salt,
                "identity": format!("sha256${}", hex::encode(digest)),
            },
            "badge": format!("{ORIGIN}class-{}.json", number % CLASSES),
            "issuedOn": issued.to_rfc3339(),
            "verification": { "type": "hosted" },
        })
    }
}

fn assertion_url(number: usize) -> String {
    format!("{ORIGIN}assertion-{number}.json")
}

fn issuer_json() -> serde_json::Value {
    json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Issuer",
        "id": format!("{ORIGIN}issuer.json"),
        "name": "Bench Issuer",
        "url": "https://issuer.example",
        "email": "badges@issuer.example",
    })
}

fn class_json(class: usize) -> serde_json::Value {
    json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "BadgeClass",
        "id": format!("{ORIGIN}class-{class}.json"),
        "name": format!("Bench Badge {class}"),
        "description": format!("Awarded for finishing bench module {class}."),
        "image": format!("{ORIGIN}badge.png"),
        "criteria": { "narrative": "Finish the module." },
        "issuer": format!("{ORIGIN}issuer.json"),
    })
}

async fn serve_issuer(request: HttpRequest, issuer: web::Data<Issuer>) -> HttpResponse {
    issuer.requests.fetch_add(1, Ordering::Relaxed);
    if request.path() == "/badge.png" {
        return HttpResponse::Ok()
            .content_type("image/png")
            .body(issuer.image.clone());
    }
    match issuer.document(request.path()) {
        Some(document) => HttpResponse::Ok()
            .content_type("application/ld+json")
            .body(document.to_string()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Starts the issuer on a free port; returns its base URL (ending in `/`).
fn start_issuer(issuer: web::Data<Issuer>) -> BenchResult<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}/", listener.local_addr()?);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(issuer.clone())
            .default_service(web::to(serve_issuer))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(base)
}

// ---------------------------------------------------------------------------------------------
// The application and the learner's browser

/// Production defaults except: port 0, the bench's data folder and database, and fetches of
/// the issuer origin sent to the local issuer.
fn settings(data_dir: &Path, issuer_base: &str) -> BenchResult<Settings> {
    let data = data_dir.to_string_lossy().into_owned();
    let database = env::var(DATABASE_VAR).ok().filter(|url| !url.is_empty());
    let mut settings = Settings::from_lookup(|name| match name {
        "SATCHEL_BIND" => Some("127.0.0.1:0".into()),
        "SATCHEL_DATA_DIR" => Some(data.clone()),
        "DATABASE_URL" => database.clone(),
        _ => None,
    })?;
    settings.fetch_allow_private = true;
    settings.fetch_rewrites = vec![(ORIGIN.to_string(), issuer_base.to_string())];
    Ok(settings)
}

/// Builds and starts the app; returns its origin and state.
async fn start_app(settings: Settings) -> BenchResult<(String, web::Data<AppState>)> {
    let templates = Arc::new(Templates::load()?);
    let mailer = Mailer::memory(&settings.mail_from, templates)?;
    let app = Application::build(settings, mailer)
        .await
        .map_err(|e| format!("the app did not build: {e:#}"))?;
    let origin = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    Ok((origin, state))
}

/// A signed-in browser: a cookie-keeping client for the app.
struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    origin: String,
}

impl Browser {
    fn new(origin: &str) -> BenchResult<Browser> {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Browser {
            client,
            jar,
            origin: origin.to_string(),
        })
    }

    /// The `Cookie` header this browser sends to the app.
    fn cookie_header(&self) -> BenchResult<String> {
        let header = self
            .jar
            .cookies(&self.origin.parse()?)
            .ok_or("the browser holds no cookies")?;
        Ok(header.to_str()?.to_string())
    }

    fn cookie(&self, name: &str) -> BenchResult<String> {
        let header = self.cookie_header()?;
        let value = header.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_string())
        });
        Ok(value.ok_or_else(|| format!("no {name} cookie"))?)
    }

    async fn get(&self, path: &str) -> BenchResult<(u16, String)> {
        let response = self
            .client
            .get(format!("{}{path}", self.origin))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    /// Registers `email`, follows the mailed confirmation link, and checks the backpack opens.
    async fn register_confirmed(&self, state: &AppState, email: &str) -> BenchResult<()> {
        self.get("/login").await?;
        let csrf = self.cookie("satchel_csrf")?;
        let form = [
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ];
        let response = self
            .client
            .post(format!("{}/register", self.origin))
            .form(&form)
            .send()
            .await?;
        if response.status() != 303 {
            return Err(format!("registering answered {}", response.status()).into());
        }
        let link = confirmation_path(state).await?;
        let (status, _) = self.get(&link).await?;
        let (backpack, _) = self.get("/backpack").await?;
        if status != 200 || backpack != 200 {
            return Err(format!("confirming answered {status}, the backpack {backpack}").into());
        }
        Ok(())
    }

    /// Posts one PNG to the import form; returns the latency and the added badge's id.
    async fn import_png(&self, csrf: &str, png: &[u8]) -> BenchResult<(Duration, String)> {
        let part = reqwest::multipart::Part::bytes(png.to_vec())
            .file_name("badge.png")
            .mime_str("image/png")?;
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf.to_string())
            .part("files", part);
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/import", self.origin))
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        let elapsed = started.elapsed();
        match added_badge_id(&body) {
            Some(id) if status == 200 => Ok((elapsed, id)),
            _ => Err(format!(
                "import answered {status} without `added`: {}",
                excerpt(&body)
            )
            .into()),
        }
    }
}

/// The path of the confirmation link in the newest captured mail.
async fn confirmation_path(state: &AppState) -> BenchResult<String> {
    let mails = state.mailer.captured().await;
    let mail = mails.last().ok_or("no confirmation mail was sent")?;
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.raw.as_bytes())
        .ok_or("the mail does not parse")?;
    let text = parsed.body_text(0).ok_or("the mail has no text part")?;
    let start = text
        .find("/confirm-email?token=")
        .ok_or("no confirmation link")?;
    Ok(text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect())
}

/// The badge id in an import result that says `added`, if it says so.
fn added_badge_id(html: &str) -> Option<String> {
    let result = &html[html.find("class=\"result result-added\"")?..];
    let start = result.find("href=\"/badges/")? + "href=\"/badges/".len();
    let end = result[start..].find('"')?;
    Some(result[start..start + end].to_string())
}

fn excerpt(html: &str) -> String {
    let start = html.find("<ul class=\"results\">").unwrap_or(0);
    html[start..].chars().take(400).collect()
}

// ---------------------------------------------------------------------------------------------
// Imports

/// What one timed run measured.
struct Measured {
    label: String,
    latencies: Vec<Duration>,
    wall: Duration,
}

/// Distinct baked PNGs for assertions `numbers`.
fn baked_pngs(image: &[u8], numbers: std::ops::Range<usize>) -> BenchResult<Vec<Vec<u8>>> {
    numbers
        .map(|n| Ok(bake(image, &assertion_url(n), Keyword::OpenBadges)?))
        .collect()
}

/// Imports every PNG, `in_flight` requests at a time, each checked to say `added`.
async fn import_all(
    browser: &Arc<Browser>,
    pngs: Vec<Vec<u8>>,
    in_flight: usize,
) -> BenchResult<Measured> {
    let csrf = Arc::new(browser.cookie("satchel_csrf")?);
    let (pngs, next) = (Arc::new(pngs), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (browser, csrf) = (browser.clone(), csrf.clone());
            let (pngs, next) = (pngs.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some(png) = pngs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    latencies.push(browser.import_png(&csrf, png).await?.0);
                }
                Ok::<_, Box<dyn Error + Send + Sync>>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(pngs.len());
    for worker in workers {
        latencies.extend(worker.await??);
    }
    Ok(Measured {
        label: format!("POST /import, 1 PNG per request, {in_flight} in flight"),
        latencies,
        wall: started.elapsed(),
    })
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// Topics and levels the seeded badge names are made of; "Python" is what the search finds.
const TOPICS: [&str; 12] = [
    "Python",
    "Rust",
    "First Aid",
    "Welding",
    "Spreadsheets",
    "Public Speaking",
    "Chemistry",
    "Carpentry",
    "Statistics",
    "Photography",
    "Mentoring",
    "Accessibility",
];
const LEVELS: [&str; 4] = ["Foundations", "Practitioner", "Advanced", "Expert"];

/// An imported badge whose documents and bytes the seeded rows copy.
struct Template {
    user_id: String,
    original: Vec<u8>,
    payload: String,
    badge_json: String,
    report_json: String,
    matched_address: Option<String>,
}

async fn template(state: &AppState, email: &str, badge_id: &str) -> BenchResult<Template> {
    let (email, id) = (email.to_lowercase(), badge_id.to_string());
    let template = state
        .db
        .run(move |conn| {
            let users = user_queries::find_by_primary(conn, &email)?;
            let user = users.first().ok_or_else(|| anyhow::anyhow!("no account"))?;
            let user_id = user.id.clone();
            let docs = badge_queries::documents(conn, &id)?;
            let summary = badge_queries::find_for_user(conn, &user_id, &id)?;
            Ok(Template {
                original: badge_queries::original(conn, &id)?,
                payload: docs.payload,
                badge_json: docs.badge_json,
                report_json: docs.report_json,
                matched_address: summary.and_then(|s| s.matched_address),
                user_id,
            })
        })
        .await?;
    Ok(template)
}

/// Row `n` of the seeded badges: the template's bytes and documents, its own name, issuer,
/// status and dates.
fn seeded_row(template: &Template, n: usize, rng: &mut impl Rng) -> NewBadge {
    let topic = TOPICS[rng.gen_range(0..TOPICS.len())];
    let name = format!("{topic} {}", LEVELS[rng.gen_range(0..LEVELS.len())]);
    let issuer = rng.gen_range(0..40);
    let status = match n % 100 {
        0..=2 => "expired",
        3 => "revoked",
        _ => "valid",
    };
    let issued = days_ago(rng.gen_range(0..3650));
    let created = now() - chrono::Duration::seconds(n as i64);
    NewBadge {
        id: new_id(),
        user_id: template.user_id.clone(),
        dedupe_key: format!("{ORIGIN}seeded-{n}.json"),
        status: status.to_string(),
        pending_address: None,
        version: Some("2.0".into()),
        description: Some(format!("Awarded for {name}.")),
        name,
        issuer_name: Some(format!("Issuer {issuer:02} Academy")),
        issuer_url: Some(format!("https://issuer{issuer:02}.example")),
        issued_on: Some(issued),
        expires_at: (status == "expired").then(|| issued + chrono::Duration::days(365)),
        matched_address: template.matched_address.clone(),
        match_form: Some("hashed".into()),
        carrier: "png".into(),
        original: template.original.clone(),
        payload: template.payload.clone(),
        badge_json: template.badge_json.clone(),
        report_json: template.report_json.clone(),
        image: Some(template.original.clone()),
        image_type: Some("image/png".into()),
        checked_at: created,
        next_check_at: created + chrono::Duration::hours(24),
        created_at: created,
    }
}

fn days_ago(days: i64) -> NaiveDateTime {
    now() - chrono::Duration::days(days)
}

/// How many badges the account holds.
async fn badge_count(state: &AppState, user_id: &str) -> BenchResult<i64> {
    let user = user_id.to_string();
    let filter = BadgeFilter::default();
    Ok(state
        .db
        .run(move |conn| Ok(badge_queries::count(conn, &user, &filter)?))
        .await?)
}

/// Inserts rows (with one event each) until the account holds [`ACCOUNT_BADGES`] badges, in
/// transactions of 500; returns how many were inserted.
async fn seed(state: &AppState, template: Template) -> BenchResult<usize> {
    let existing = badge_count(state, &template.user_id).await? as usize;
    let missing = ACCOUNT_BADGES.saturating_sub(existing);
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    for start in (0..missing).step_by(500) {
        let rows: Vec<NewBadge> = (start..missing.min(start + 500))
            .map(|n| seeded_row(&template, n, &mut rng))
            .collect();
        state
            .db
            .transaction(move |conn| {
                for row in &rows {
                    badge_queries::insert(conn, row)?;
                    badge_queries::add_event(conn, &seeded_event(row))?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(missing)
}

fn seeded_event(row: &NewBadge) -> BadgeEvent {
    BadgeEvent {
        id: new_id(),
        badge_id: row.id.clone(),
        at: row.created_at,
        status: row.status.clone(),
        reason: format!("Verified: {}.", row.status),
    }
}

// ---------------------------------------------------------------------------------------------
// Pages

/// Checks each page answers 200 with a full page of badges before loading it.
async fn check_pages(browser: &Browser) -> BenchResult<()> {
    for path in PAGES {
        let (status, html) = browser.get(path).await?;
        let listed = html.matches("<li class=\"badge ").count();
        let total = page_total(&html).unwrap_or_default();
        println!("check {path}: status {status}, {listed} badges listed of {total}");
        if status != 200 || listed as i64 != PAGE_SIZE {
            return Err(format!("{path}: status {status}, {listed} badges listed").into());
        }
    }
    Ok(())
}

/// The total the page states ("<p>10000 badges.</p>").
fn page_total(html: &str) -> Option<&str> {
    let end = html.find(" badges.</p>")?;
    let start = html[..end].rfind("<p>")? + "<p>".len();
    Some(&html[start..end])
}

/// One page load run's figures.
struct PageRun {
    path: String,
    connections: usize,
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// wrk's socket errors (a timeout is a request slower than 10 s).
    errors: String,
    tool: &'static str,
}

/// The `wrk` command for one page run, as printed and as run.
fn wrk_args(url: &str, cookie: &str, connections: usize, seconds: u64) -> Vec<String> {
    vec![
        "-t1".into(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".into(),
        "--timeout".into(),
        "10s".into(),
        "-H".into(),
        format!("Cookie: {cookie}"),
        url.into(),
    ]
}

fn run_wrk(path: &str, args: Vec<String>, connections: usize) -> BenchResult<PageRun> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') || a.contains('&') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    println!("$ wrk {}", shown.join(" "));
    let output = Command::new("wrk").args(&args).output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{text}");
    if !output.status.success() || text.contains("Non-2xx") {
        return Err(format!("wrk reported failures for {path}").into());
    }
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors: "))
        .unwrap_or("none")
        .to_string();
    Ok(PageRun {
        path: path.into(),
        connections,
        requests: wrk_figure(&text, "requests in").ok_or("no request count")? as u64,
        per_second: wrk_figure(&text, "Requests/sec:").ok_or("no rate")?,
        p50_ms: wrk_figure(&text, "50%").ok_or("no p50")?,
        p99_ms: wrk_figure(&text, "99%").ok_or("no p99")?,
        errors,
        tool: "wrk",
    })
}

/// A number from wrk's output: the value after `label` (latencies in ms), or for
/// `requests in` the count before it.
fn wrk_figure(text: &str, label: &str) -> Option<f64> {
    if label == "requests in" {
        let line = text.lines().find(|l| l.contains(label))?;
        return line.split_whitespace().next()?.parse().ok();
    }
    let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
    let value = line.trim_start()[label.len()..].trim();
    let unit = value.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let number: f64 = value[..value.len() - unit.len()].parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "s" => number * 1000.0,
        _ => number,
    })
}

/// Without wrk: `connections` tasks load `path` for `seconds`, each one request at a time.
async fn run_loop(
    browser: &Arc<Browser>,
    path: &str,
    connections: usize,
    seconds: u64,
) -> BenchResult<PageRun> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (browser, path) = (browser.clone(), path.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let (status, _) = browser.get(&path).await?;
                    if status != 200 {
                        return Err(format!("{path} answered {status}").into());
                    }
                    latencies.push(sent.elapsed());
                }
                Ok::<_, Box<dyn Error + Send + Sync>>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let wall = started.elapsed();
    latencies.sort();
    Ok(PageRun {
        path: path.into(),
        connections,
        requests: latencies.len() as u64,
        per_second: latencies.len() as f64 / wall.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        errors: "none".into(),
        tool: "in-process loop",
    })
}

fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wrk"))
}

async fn load_pages(browser: &Arc<Browser>, seconds: u64) -> BenchResult<Vec<PageRun>> {
    let cookie = browser.cookie_header()?;
    let wrk = wrk_available();
    if !wrk {
        println!("wrk is not on the path: the pages are loaded by this process instead");
    }
    let mut runs = Vec::new();
    for path in PAGES {
        for connections in PAGE_CONNECTIONS {
            let run = if wrk {
                let args = wrk_args(
                    &format!("{}{path}", browser.origin),
                    &cookie,
                    connections,
                    seconds,
                );
                let path = path.to_string();
                tokio::task::spawn_blocking(move || run_wrk(&path, args, connections)).await??
            } else {
                run_loop(browser, path, connections, seconds).await?
            };
            runs.push(run);
        }
    }
    Ok(runs)
}

// ---------------------------------------------------------------------------------------------
// The page's queries, each alone

type Query = fn(&mut satchel::db::AnyConnection, &str) -> diesel::QueryResult<usize>;

fn filter(sort: SortOrder, page: i64, text: Option<&str>) -> BadgeFilter {
    BadgeFilter {
        text: text.map(str::to_string),
        sort,
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
        ..BadgeFilter::default()
    }
}

/// The queries `GET /backpack` runs (see `routes::badges::load_backpack` and
/// `show_backpack`), by the function that runs them.
fn page_queries() -> Vec<(&'static str, Query)> {
    vec![
        ("backpack::drop_expired_pending (DELETE)", |c, _| {
            badge_queries::drop_expired_pending(c, days_ago(30))
        }),
        ("badges::list, date, page 1", |c, u| {
            Ok(badge_queries::list(c, u, &filter(SortOrder::Date, 1, None))?.len())
        }),
        ("badges::list, name, page 200", |c, u| {
            Ok(badge_queries::list(c, u, &filter(SortOrder::Name, 200, None))?.len())
        }),
        ("badges::list, q=python", |c, u| {
            Ok(badge_queries::list(c, u, &filter(SortOrder::Date, 1, Some("python")))?.len())
        }),
        ("badges::count", |c, u| {
            Ok(badge_queries::count(c, u, &BadgeFilter::default())? as usize)
        }),
        ("badges::count, q=python", |c, u| {
            Ok(badge_queries::count(c, u, &filter(SortOrder::Date, 1, Some("python")))? as usize)
        }),
        ("badges::issuers", |c, u| {
            Ok(badge_queries::issuers(c, u)?.len())
        }),
        ("badges::pending_for_user", |c, u| {
            Ok(badge_queries::pending_for_user(c, u)?.len())
        }),
        ("email_queries::list_for_user", |c, u| {
            Ok(email_queries::list_for_user(c, u)?.len())
        }),
    ]
}

/// The median time of each page query over [`QUERY_RUNS`] runs, with no other load.
async fn time_queries(state: &AppState, user_id: &str) -> BenchResult<Vec<(String, f64, usize)>> {
    let mut rows = Vec::new();
    for (name, query) in page_queries() {
        let user = user_id.to_string();
        let (mut times, rows_seen) = state
            .db
            .run(move |conn| {
                let mut times = Vec::with_capacity(QUERY_RUNS);
                let mut seen = 0;
                for _ in 0..QUERY_RUNS {
                    let started = Instant::now();
                    seen = query(conn, &user)?;
                    times.push(started.elapsed());
                }
                Ok((times, seen))
            })
            .await?;
        times.sort();
        rows.push((name.to_string(), percentile_ms(&times, 0.5), rows_seen));
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Report

/// The nearest-rank percentile `q` (0..=1) of `sorted`, in milliseconds.
fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64 - 1e-9).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn print_imports(runs: &mut [Measured], issuer_requests: &[u64]) {
    println!("\n| imports | requests | imports/s | p50 ms | p99 ms | issuer requests/import |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (run, requests) in runs.iter_mut().zip(issuer_requests) {
        run.latencies.sort();
        let count = run.latencies.len();
        println!(
            "| {} | {count} | {:.1} | {:.1} | {:.1} | {:.2} |",
            run.label,
            count as f64 / run.wall.as_secs_f64(),
            percentile_ms(&run.latencies, 0.50),
            percentile_ms(&run.latencies, 0.99),
            *requests as f64 / count as f64,
        );
    }
}

fn print_pages(runs: &[PageRun]) {
    println!(
        "\n| page | connections | requests | requests/s | p50 ms | p99 ms | errors | generator |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    for run in runs {
        println!(
            "| `GET {}` | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} |",
            run.path,
            run.connections,
            run.requests,
            run.per_second,
            run.p50_ms,
            run.p99_ms,
            run.errors,
            run.tool
        );
    }
}

fn print_queries(rows: &[(String, f64, usize)]) {
    println!("\n| query (alone, median of {QUERY_RUNS}) | ms | rows |");
    println!("|---|---:|---:|");
    for (name, ms, seen) in rows {
        println!("| {name} | {ms:.2} | {seen} |");
    }
}

// ---------------------------------------------------------------------------------------------
// Main

fn number_var(name: &str, default: u64) -> BenchResult<u64> {
    match env::var(name) {
        Ok(text) if !text.trim().is_empty() => Ok(text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text}: expected a positive number"))?),
        _ => Ok(default),
    }
}

/// The data folder: `SATCHEL_BENCH_DATA_DIR` (kept), else a temporary one.
fn data_dir() -> BenchResult<(PathBuf, Option<tempfile::TempDir>)> {
    match env::var_os(DATA_DIR_VAR) {
        Some(dir) => {
            fs::create_dir_all(&dir)?;
            Ok((PathBuf::from(dir), None))
        }
        None => {
            let temp = tempfile::tempdir()?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// Registers the learner, runs the timed imports; returns the id of one imported badge.
async fn imports(
    browser: &Arc<Browser>,
    issuer: &Issuer,
    count: usize,
) -> BenchResult<(String, Vec<Measured>, Vec<u64>)> {
    let warm = baked_pngs(&issuer.image, 0..CLASSES)?;
    let warm_up = import_all(browser, warm, 1).await?;
    println!(
        "warm-up: {} imports, one per badge class",
        warm_up.latencies.len()
    );
    let csrf = browser.cookie("satchel_csrf")?;
    let (_, template_id) = browser
        .import_png(&csrf, &baked_pngs(&issuer.image, CLASSES..CLASSES + 1)?[0])
        .await?;
    let mut next = CLASSES + 1;
    let (mut runs, mut requests) = (Vec::new(), Vec::new());
    for in_flight in IMPORT_CONCURRENCY {
        let pngs = baked_pngs(&issuer.image, next..next + count)?;
        next += count;
        let before = issuer.requests.load(Ordering::SeqCst);
        runs.push(import_all(browser, pngs, in_flight).await?);
        requests.push(issuer.requests.load(Ordering::SeqCst) - before);
    }
    Ok((template_id, runs, requests))
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let (dir, _temp) = data_dir()?;
    let import_count = number_var(IMPORTS_VAR, 2000)? as usize;
    let seconds = number_var(SECONDS_VAR, 10)?;
    let email = format!("learner-{}@example.test", &new_id()[..8]);
    let issuer = web::Data::new(Issuer {
        email: email.clone(),
        salt: "bench-salt".into(),
        image: fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(PNG_FIXTURE))?,
        requests: AtomicU64::new(0),
    });
    let issuer_base = start_issuer(issuer.clone())?;
    let settings = settings(&dir, &issuer_base)?;
    println!("{settings:?}; data folder {}", dir.display());
    let (origin, state) = start_app(settings).await?;
    let browser = Arc::new(Browser::new(&origin)?);
    browser.register_confirmed(&state, &email).await?;

    let (template_id, mut runs, requests) = imports(&browser, &issuer, import_count).await?;
    print_imports(&mut runs, &requests);

    let template = template(&state, &email, &template_id).await?;
    let user_id = template.user_id.clone();
    let started = Instant::now();
    let seeded = seed(&state, template).await?;
    let total = badge_count(&state, &user_id).await?;
    println!(
        "\nseeded {seeded} badges by direct insert in {:.1} s; the account holds {total}",
        started.elapsed().as_secs_f64()
    );
    check_pages(&browser).await?;
    let pages = load_pages(&browser, seconds).await?;
    print_pages(&pages);
    print_queries(&time_queries(&state, &user_id).await?);
    Ok(())
}
