//! Revalidation at scale (issue 7): how long the worker takes, and how many HTTP requests it
//! makes, to re-check N stored hosted badges spread over 50 issuer hosts on 127.0.0.1, for N
//! from 1,000 to 10,000.
//!
//! The issuers are one local server listening on 50 ports (each port is its own host to the
//! worker: its own connection pool slot and its own per-host limit). Each host serves an
//! issuer profile, 4 badge classes and its share of the N assertions, with an `ETag` on every
//! document, and answers `304` to a matching `If-None-Match`. `SATCHEL_BENCH_ISSUER_DELAY_MS`
//! (default 0) makes every answer that much slower, to show a run bound by the issuers' speed.
//!
//! For each N, a fresh SQLite database (or PostgreSQL, when `SATCHEL_BENCH_DATABASE_URL` names
//! a server: a fresh database is created on it) gets N badges written straight into it, all
//! due; then two runs are timed: `first` (nothing seen before: full downloads) and `second`
//! (the same worker's next run, a day later: conditional requests). Every badge must stay
//! `valid`, and every badge must be checked exactly once per run; anything else ends the bench
//! with an error. `SATCHEL_BENCH_SIZES` overrides the list of N (default
//! `1000,2000,5000,10000`). Uses only Satchel's public API.

use std::error::Error;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::NaiveDateTime;
use diesel::{Connection, PgConnection, RunQueryDsl};
use satchel::config::Settings;
use satchel::db::badges::{self as badge_queries, NewBadge};
use satchel::db::models::{email_queries, new_id, now, user_queries, NewEmail, NewUser};
use satchel::mail::Mailer;
use satchel::startup::build_state;
use satchel::templates::Templates;
use satchel::worker::Worker;
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const HOSTS: usize = 50;
const CLASSES_PER_HOST: usize = 4;
const LEARNER: &str = "bench.learner@example.org";

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    not_modified: AtomicUsize,
}

struct Issuers {
    ports: Vec<u16>,
    counts: Arc<Counts>,
    delay: Duration,
}

/// The document a host serves at `path`, if any.
fn document(base: &str, path: &str) -> Option<serde_json::Value> {
    if path == "/issuer.json" {
        return Some(json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Issuer",
            "id": format!("{base}/issuer.json"), "name": format!("Issuer at {base}"),
            "url": base, "email": "badges@issuer.example",
        }));
    }
    if let Some(k) = path
        .strip_prefix("/class-")
        .and_then(|p| p.strip_suffix(".json"))
    {
        return Some(json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass",
            "id": format!("{base}/class-{k}.json"), "name": format!("Badge {k}"),
            "description": "A benchmark badge.", "image": format!("{base}/badge.png"),
            "criteria": {"narrative": "Be measured."}, "issuer": format!("{base}/issuer.json"),
        }));
    }
    let n: usize = path
        .strip_prefix("/a/")?
        .strip_suffix(".json")?
        .parse()
        .ok()?;
    Some(json!({
        "@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
        "id": format!("{base}/a/{n}.json"),
        "recipient": {"type": "email", "hashed": false, "identity": LEARNER},
        "badge": format!("{base}/class-{}.json", (n / HOSTS) % CLASSES_PER_HOST),
        "issuedOn": "2024-01-01T00:00:00Z", "verification": {"type": "hosted"},
    }))
}

async fn serve(
    request: HttpRequest,
    counts: web::Data<Counts>,
    delay: web::Data<Duration>,
) -> HttpResponse {
    counts.requests.fetch_add(1, Ordering::Relaxed);
    if !delay.is_zero() {
        actix_web::rt::time::sleep(**delay).await;
    }
    let base = format!("http://{}", request.connection_info().host());
    let Some(doc) = document(&base, request.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = "\"v1\"";
    if request
        .headers()
        .get("if-none-match")
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        counts.not_modified.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::NotModified()
            .insert_header(("ETag", etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("ETag", etag))
        .body(doc.to_string())
}

fn start_issuers(delay: Duration) -> BenchResult<Issuers> {
    let counts = Arc::new(Counts::default());
    let data = web::Data::from(counts.clone());
    let delay_data = web::Data::new(delay);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(delay_data.clone())
            .default_service(web::to(serve))
    })
    .workers(1);
    let mut ports = Vec::new();
    for _ in 0..HOSTS {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        ports.push(listener.local_addr()?.port());
        server = server.listen(listener)?;
    }
    actix_web::rt::spawn(server.run());
    Ok(Issuers {
        ports,
        counts,
        delay,
    })
}

fn database_url(dir: &std::path::Path) -> BenchResult<String> {
    let Ok(server) = std::env::var("SATCHEL_BENCH_DATABASE_URL") else {
        return Ok(dir.join("bench.sqlite3").to_string_lossy().into_owned());
    };
    let name = format!("satchel_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&server)?;
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
    let mut url = url::Url::parse(&server)?;
    url.set_path(&name);
    Ok(url.to_string())
}

/// Writes a learner and `n` due hosted badges, spread over the hosts, straight into the
/// database.
fn seed(state: &satchel::startup::AppState, ports: &[u16], n: usize) -> BenchResult<()> {
    let mut conn = state.db.get()?;
    let created = now();
    let user = new_id();
    user_queries::insert(
        &mut conn,
        &NewUser {
            id: &user,
            password_hash: "not-a-login",
            created_at: created,
        },
    )?;
    email_queries::insert(
        &mut conn,
        &NewEmail {
            id: &new_id(),
            user_id: &user,
            address: LEARNER,
            address_lower: LEARNER,
            is_primary: true,
            confirmed_at: Some(created),
            created_at: created,
        },
    )?;
    let due: NaiveDateTime = created - chrono::Duration::minutes(1);
    conn.transaction::<_, Box<dyn Error>, _>(|conn| {
        for i in 0..n {
            let url = format!("http://127.0.0.1:{}/a/{i}.json", ports[i % ports.len()]);
            badge_queries::insert(
                conn,
                &NewBadge {
                    id: new_id(),
                    user_id: user.clone(),
                    dedupe_key: url.clone(),
                    status: "valid".into(),
                    pending_address: None,
                    version: Some("2.0".into()),
                    name: format!("Badge {}", i % CLASSES_PER_HOST),
                    description: Some("A benchmark badge.".into()),
                    issuer_name: None,
                    issuer_url: None,
                    issued_on: None,
                    expires_at: None,
                    matched_address: Some(LEARNER.into()),
                    match_form: Some("plain".into()),
                    carrier: "url".into(),
                    original: url.clone().into_bytes(),
                    payload: url,
                    badge_json: "{}".into(),
                    report_json: "{}".into(),
                    image: None,
                    image_type: None,
                    checked_at: due,
                    next_check_at: due,
                    created_at: due,
                },
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

struct RunFigures {
    seconds: f64,
    requests: usize,
    not_modified: usize,
}

async fn timed(
    worker: &Worker,
    at: NaiveDateTime,
    n: usize,
    issuers: &Issuers,
) -> BenchResult<RunFigures> {
    let (before, before_304) = (
        issuers.counts.requests.load(Ordering::Relaxed),
        issuers.counts.not_modified.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    let done = worker.drain(at).await.map_err(|e| format!("worker: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if done.claimed != n || done.settled.len() != n {
        return Err(format!("checked {} of {n} badges", done.settled.len()).into());
    }
    if let Some(bad) = done.settled.iter().find(|s| s.to != "valid" || s.stale) {
        return Err(format!("a badge came to {bad:?}").into());
    }
    Ok(RunFigures {
        seconds,
        requests: issuers.counts.requests.load(Ordering::Relaxed) - before,
        not_modified: issuers.counts.not_modified.load(Ordering::Relaxed) - before_304,
    })
}

async fn measure(issuers: &Issuers, n: usize) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    let database = database_url(dir.path())?;
    let concurrency = std::env::var("SATCHEL_BENCH_WORKER_CONCURRENCY").ok();
    let settings = Settings::from_lookup(|name| match name {
        "SATCHEL_DATA_DIR" => Some(data.clone()),
        "DATABASE_URL" => Some(database.clone()),
        "SATCHEL_FETCH_ALLOW_PRIVATE" => Some("true".into()),
        "SATCHEL_WORKER_CONCURRENCY" => concurrency.clone(),
        _ => None,
    })?;
    let (workers, per_host) = (settings.worker.concurrency, settings.worker.per_host);
    let templates = Arc::new(Templates::load()?);
    let mailer = Mailer::memory(&settings.mail_from, templates)?;
    let state = build_state(settings, mailer).await?;
    seed(&state, &issuers.ports, n)?;
    let worker = Worker::new(state.clone());
    let first = timed(&worker, now(), n, issuers).await?;
    let second = timed(
        &worker.next_run(),
        now() + chrono::Duration::days(2),
        n,
        issuers,
    )
    .await?;
    let documents = n + HOSTS * (1 + CLASSES_PER_HOST);
    for (name, run) in [("first", &first), ("second", &second)] {
        println!(
            "n={n:>6} run={name:<6} concurrency={workers} per_host={per_host} \
             delay_ms={:>3} time={:>7.2}s badges/s={:>8.0} requests={:>6} (304: {:>6}) \
             requests/badge={:.3} distinct_documents={documents}",
            issuers.delay.as_millis(),
            run.seconds,
            n as f64 / run.seconds,
            run.requests,
            run.not_modified,
            run.requests as f64 / n as f64,
        );
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` passes nothing and
    // should not spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let sizes: Vec<usize> = std::env::var("SATCHEL_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,2000,5000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let delay = std::env::var("SATCHEL_BENCH_ISSUER_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::ZERO, Duration::from_millis);
    actix_web::rt::System::new().block_on(async move {
        let issuers = start_issuers(delay)?;
        for n in sizes {
            measure(&issuers, n).await?;
        }
        Ok(())
    })
}
