//! Issuer push throughput (issue 8): pushes per second and latency percentiles with 32
//! concurrent issuer clients, over HTTP on 127.0.0.1, against the real application built by
//! `Application::build` (release profile, production defaults, pool of 8).
//!
//! The run: a local issuer (an actix server in this process, 1 worker) generates hosted Open
//! Badges 2.0 assertions, one per number, for 100 learners; the app fetches
//! `https://issuer.example/` from it through `fetch_rewrites`. The 100 learners' accounts and
//! confirmed addresses are inserted through the public `db` functions. 32 issuer clients are
//! created with `push::clients::create` (what `satchel issuer-client create` runs), each gets
//! its own token from `POST /oauth/token`, and each pushes from its own task with its own
//! keep-alive connection (reqwest): the load generator is this process.
//!
//! Two timed phases, each pushing distinct assertions (so nothing is a repeat):
//! 1. delivered: to the learners' confirmed addresses (inbox row, mail rendered and sent to
//!    the in-memory mailer);
//! 2. held: to addresses no account has.
//!
//! Every answer must be 202 with the expected state, or the bench stops. A warm-up pushes one
//! badge per badge class first, so timed pushes fetch one assertion each and find the class
//! and issuer cached, as a steady issuer would.
//!
//! Environment: `SATCHEL_BENCH_DATABASE_URL` (a `postgres://` database to use instead of
//! SQLite in a temporary folder), `SATCHEL_BENCH_PUSHES` (pushes per client per phase,
//! default 100). This file uses Satchel's public API only.

use std::error::Error;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use satchel::config::Settings;
use satchel::db::models::{email_queries, new_id, now, user_queries, NewEmail, NewUser};
use satchel::mail::Mailer;
use satchel::startup::{AppState, Application};
use satchel::templates::Templates;
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const DATABASE_VAR: &str = "SATCHEL_BENCH_DATABASE_URL";
const PUSHES_VAR: &str = "SATCHEL_BENCH_PUSHES";
const ORIGIN: &str = "https://issuer.example/";
const CLASSES: usize = 10;
const LEARNERS: usize = 100;
const CLIENTS: usize = 32;

/// The local issuer: documents generated from the request path.
struct Issuer {
    requests: AtomicU64,
}

fn recipient(number: usize, held: bool) -> String {
    if held {
        format!("nobody{number}@bench.example")
    } else {
        format!("learner{}@bench.example", number % LEARNERS)
    }
}

/// Assertion numbers below this name held addresses' badges; above, the learners'.
const HELD_BASE: usize = 1_000_000;

fn document(path: &str) -> Option<serde_json::Value> {
    let name = path.strip_prefix('/')?.strip_suffix(".json")?;
    if name == "issuer" {
        return Some(json!({
            "@context": "https://w3id.org/openbadges/v2",
            "type": "Issuer",
            "id": format!("{ORIGIN}issuer.json"),
            "name": "Bench Issuer",
            "url": "https://issuer.example",
        }));
    }
    if let Some(class) = name.strip_prefix("class-") {
        return Some(json!({
            "@context": "https://w3id.org/openbadges/v2",
            "type": "BadgeClass",
            "id": format!("{ORIGIN}class-{class}.json"),
            "name": format!("Bench Badge {class}"),
            "description": "Awarded for finishing a bench module.",
            "image": format!("{ORIGIN}badge.png"),
            "criteria": { "narrative": "Finish the module." },
            "issuer": format!("{ORIGIN}issuer.json"),
        }));
    }
    let number: usize = name.strip_prefix("assertion-")?.parse().ok()?;
    Some(json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": format!("{ORIGIN}assertion-{number}.json"),
        "recipient": {
            "type": "email", "hashed": false,
            "identity": recipient(number, number >= HELD_BASE),
        },
        "badge": format!("{ORIGIN}class-{}.json", number % CLASSES),
        "issuedOn": "2024-01-01T00:00:00Z",
        "verification": { "type": "hosted" },
    }))
}

async fn serve_issuer(request: HttpRequest, issuer: web::Data<Issuer>) -> HttpResponse {
    issuer.requests.fetch_add(1, Ordering::Relaxed);
    match document(request.path()) {
        Some(document) => HttpResponse::Ok()
            .content_type("application/ld+json")
            .body(document.to_string()),
        None => HttpResponse::NotFound().finish(),
    }
}

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

async fn start_app(issuer_base: &str, data: &str) -> BenchResult<(String, web::Data<AppState>)> {
    let database = std::env::var(DATABASE_VAR)
        .ok()
        .filter(|url| !url.is_empty());
    let mut settings = Settings::from_lookup(|name| match name {
        "SATCHEL_BIND" => Some("127.0.0.1:0".into()),
        "SATCHEL_DATA_DIR" => Some(data.to_string()),
        "DATABASE_URL" => database.clone(),
        "SATCHEL_PUSH_RATE_PER_MINUTE" => Some("1000000".into()),
        _ => None,
    })?;
    settings.fetch_allow_private = true;
    settings.fetch_rewrites = vec![(ORIGIN.to_string(), issuer_base.to_string())];
    let mailer = Mailer::memory(&settings.mail_from, Arc::new(Templates::load()?))?;
    let app = Application::build(settings, mailer)
        .await
        .map_err(|e| format!("the app did not build: {e:#}"))?;
    let origin = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    Ok((origin, state))
}

/// The learners' accounts, each with one confirmed address.
async fn seed_learners(state: &AppState) -> BenchResult<()> {
    state
        .db
        .transaction(|conn| {
            for n in 0..LEARNERS {
                let (user, email) = (new_id(), new_id());
                let address = recipient(n, false);
                user_queries::insert(
                    conn,
                    &NewUser {
                        id: &user,
                        password_hash: "not-a-login",
                        created_at: now(),
                    },
                )?;
                email_queries::insert(
                    conn,
                    &NewEmail {
                        id: &email,
                        user_id: &user,
                        address: &address,
                        address_lower: &address,
                        is_primary: true,
                        confirmed_at: Some(now()),
                        created_at: now(),
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// One issuer client with its own connection and token.
struct PushClient {
    http: reqwest::Client,
    token: String,
}

async fn client(state: &AppState, origin: &str, n: usize) -> BenchResult<PushClient> {
    let mut conn = state.db.get()?;
    let origins = vec!["https://issuer.example".to_string()];
    let created = satchel::push::clients::create(&mut conn, &format!("bench {n}"), &origins)?;
    drop(conn);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1)
        .build()?;
    let answer: serde_json::Value = http
        .post(format!("{origin}/oauth/token"))
        .basic_auth(&created.client.id, Some(&created.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {answer}"))?
        .to_string();
    Ok(PushClient { http, token })
}

impl PushClient {
    /// Pushes assertion `number`; returns the latency, checking the answer.
    async fn push(&self, origin: &str, number: usize, held: bool) -> BenchResult<Duration> {
        let body = json!({
            "recipient": recipient(number, held),
            "url": format!("{ORIGIN}assertion-{number}.json"),
        });
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{origin}/api/v1/pushes"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await?;
        let elapsed = started.elapsed();
        let expected = if held { "held" } else { "delivered" };
        if status != 202 || answer["state"] != expected {
            return Err(format!("push {number} answered {status}: {answer}").into());
        }
        Ok(elapsed)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// Runs one phase: every client pushes `per_client` distinct assertions, all at once.
async fn phase(
    name: &str,
    origin: &str,
    clients: &Arc<Vec<PushClient>>,
    first: usize,
    per_client: usize,
    held: bool,
) -> BenchResult<()> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients.len() {
        let (clients, origin) = (clients.clone(), origin.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let number = first + c * per_client + i;
                latencies.push(clients[c].push(&origin, number, held).await?);
            }
            BenchResult::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let wall = started.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:>9}: {} pushes by {} clients in {:.2} s = {:.0} pushes/s; latency p50 {:.1} ms, \
         p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        clients.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().ok_or("no pushes")?),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let per_client: usize = std::env::var(PUSHES_VAR)
        .ok()
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(100);
    let data = tempfile::tempdir()?;
    let issuer = web::Data::new(Issuer {
        requests: AtomicU64::new(0),
    });
    let issuer_base = start_issuer(issuer.clone())?;
    let (origin, state) = start_app(&issuer_base, &data.path().to_string_lossy()).await?;
    println!(
        "database: {:?}, pool {}, {} learners, {CLIENTS} clients, {per_client} pushes each per \
         phase",
        state.db.backend(),
        state.settings.db_pool_size,
        LEARNERS
    );
    seed_learners(&state).await?;
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        clients.push(client(&state, &origin, n).await?);
    }
    let clients = Arc::new(clients);
    for class in 0..CLASSES {
        clients[0].push(&origin, 900_000 + class, false).await?;
    }

    phase("delivered", &origin, &clients, 0, per_client, false).await?;
    phase("held", &origin, &clients, HELD_BASE, per_client, true).await?;

    println!(
        "issuer requests: {}, mails sent: {}",
        issuer.requests.load(Ordering::Relaxed),
        state.mailer.captured().await.len()
    );
    Ok(())
}
