//! Hosted verification throughput (issue 5): Satchel's verifier on the 100 hosted Open Badges 2.0
//! assertions of `../shared/tools/perf/gen_hosted_fixtures.py` (10 badge classes, 1 issuer),
//! fetched over HTTP from a server on 127.0.0.1, reported as verifications per second, p50 / p95 /
//! p99 latency and HTTP requests per verification.
//!
//! One [`Verifier`] is built and shared, as the service shares one: its linked-document cache
//! and connection pool survive from one verification to the next. Modes, in order:
//! `sequential-cold` (first pass, empty cache), `sequential-warm` (later passes),
//! `sequential-fresh-verifier` (a new verifier per badge on the shared connection pool: nothing
//! cached between badges, which is how the Python validator runs), then `concurrent-16` and
//! `concurrent-64` (that many verifications in flight on the warm verifier). Every report must be
//! `valid` with the recipient matched; anything else ends the run with an error.
//!
//! Environment, so that the Python peer can be timed on the very same files and server:
//! `SATCHEL_BENCH_HOSTED` names a generated folder (unset: one is generated into a temporary
//! folder with the shared tool, found through `SATCHEL_SHARED_TOOLS`, default `../shared/tools`).
//! `SATCHEL_BENCH_SERVER=rust` (default) serves that folder from this process at the origin its
//! manifest names, counting requests; `external` uses a server already listening there (e.g.
//! `fixture_server.py`), whose request log `SATCHEL_BENCH_SERVER_LOG` is counted when given.
//! `SATCHEL_BENCH_CONCURRENCY` lists the concurrent modes (default `16,64`; empty for none).
//! `SATCHEL_BENCH_JSON` receives the results. See `benches/verify_peer.sh`. This file uses only
//! Satchel's public `fetch` and `verify` API and must not change what it measures.

use std::collections::HashMap;
use std::error::Error;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::{env, fs};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use satchel::fetch::{FetchLimits, Fetcher};
use satchel::verify::{RecipientRule, Report, Status, Verifier};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const HOSTED_VAR: &str = "SATCHEL_BENCH_HOSTED";
const SERVER_VAR: &str = "SATCHEL_BENCH_SERVER";
const SERVER_LOG_VAR: &str = "SATCHEL_BENCH_SERVER_LOG";
const JSON_VAR: &str = "SATCHEL_BENCH_JSON";
const CONCURRENCY_VAR: &str = "SATCHEL_BENCH_CONCURRENCY";
const TOOLS_VAR: &str = "SATCHEL_SHARED_TOOLS";
/// How many badges the generated set holds (the Python baseline's count).
const BADGES: usize = 100;
/// Sequential passes over the set after the first, cold one.
const WARM_PASSES: usize = 9;
/// Verifications in flight in the concurrent modes, unless `SATCHEL_BENCH_CONCURRENCY` says.
const CONCURRENCY: [usize; 2] = [16, 64];
/// Passes over the set per concurrent mode.
const CONCURRENT_PASSES: usize = 10;
/// How long the verifier trusts a fetched badge class or issuer (the command-line value).
const CACHE_TTL: Duration = Duration::from_secs(300);

/// One badge to verify: its hosted URL and the address it was issued to.
#[derive(Debug, Clone, serde::Deserialize)]
struct Badge {
    url: String,
    email: String,
}

/// Counts the requests the issuer server answered, whichever server it is.
enum RequestCounter {
    /// The server in this process.
    InProcess(Arc<AtomicU64>),
    /// `fixture_server.py`'s request log (one line per request).
    Log(PathBuf),
    None,
}

impl RequestCounter {
    fn read(&self) -> Option<u64> {
        match self {
            RequestCounter::InProcess(count) => Some(count.load(Ordering::SeqCst)),
            RequestCounter::Log(path) => {
                let log = fs::read_to_string(path).ok()?;
                Some(log.lines().filter(|line| line.contains("\"GET /")).count() as u64)
            }
            RequestCounter::None => None,
        }
    }
}

/// What one mode measured.
struct Measured {
    mode: String,
    latencies: Vec<Duration>,
    wall: Duration,
    requests: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Fixtures and the issuer server

/// The generated folder: given, or generated now for `base` with the shared tool.
fn hosted_folder(scratch: &Path, base: &str) -> BenchResult<PathBuf> {
    if let Some(dir) = env::var_os(HOSTED_VAR) {
        return Ok(PathBuf::from(dir));
    }
    let tools = env::var_os(TOOLS_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools"));
    let out = scratch.join("hosted");
    let status = Command::new("python3")
        .arg(tools.join("perf/gen_hosted_fixtures.py"))
        .arg(&out)
        .args(["--base", base, "--count", &BADGES.to_string()])
        .status()?;
    if !status.success() {
        return Err(format!(
            "gen_hosted_fixtures.py failed ({status}); run `bash {}/setup_venv.sh` first, \
             or set {HOSTED_VAR}",
            tools.display()
        )
        .into());
    }
    Ok(out)
}

fn read_manifest(dir: &Path) -> BenchResult<Vec<Badge>> {
    let text = fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| format!("{}/manifest.json: {e}", dir.display()))?;
    let badges: Vec<Badge> = serde_json::from_str(&text)?;
    if badges.is_empty() {
        return Err(format!("{}/manifest.json lists no badges", dir.display()).into());
    }
    Ok(badges)
}

/// The `host:port` the manifest's URLs name, which the server must listen on.
fn manifest_origin(badges: &[Badge]) -> BenchResult<String> {
    let url = url::Url::parse(&badges[0].url)?;
    let host = url.host_str().ok_or("the manifest's URLs name no host")?;
    let port = url
        .port_or_known_default()
        .ok_or("the manifest's URLs name no port")?;
    Ok(format!("{host}:{port}"))
}

/// Every file under `root`, by request path, with its content type.
fn load_files(root: &Path) -> BenchResult<HashMap<String, (Vec<u8>, &'static str)>> {
    let mut files = HashMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)?
                .to_string_lossy()
                .replace('\\', "/");
            let content_type = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => "application/ld+json",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            files.insert(format!("/{relative}"), (fs::read(&path)?, content_type));
        }
    }
    Ok(files)
}

struct Served {
    files: HashMap<String, (Vec<u8>, &'static str)>,
    requests: Arc<AtomicU64>,
}

/// Serves `root` from memory on `listener` (one worker thread), counting requests.
fn serve_folder(root: &Path, listener: TcpListener) -> BenchResult<Arc<AtomicU64>> {
    let requests = Arc::new(AtomicU64::new(0));
    let served = web::Data::new(Served {
        files: load_files(root)?,
        requests: requests.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(served.clone())
            .default_service(web::to(serve_file))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(requests)
}

async fn serve_file(request: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    served.requests.fetch_add(1, Ordering::SeqCst);
    match served.files.get(request.path()) {
        Some((body, content_type)) => HttpResponse::Ok()
            .content_type(*content_type)
            .body(body.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement

/// Verifies one badge and checks the verdict a learner would expect.
async fn verify_one(verifier: &Verifier, badge: &Badge) -> Result<Duration, String> {
    let emails = [badge.email.clone()];
    let started = Instant::now();
    let report = verifier
        .verify(badge.url.as_bytes(), &emails, RecipientRule::Required)
        .await;
    let elapsed = started.elapsed();
    if report.status == Status::Valid && report.recipient.matched {
        Ok(elapsed)
    } else {
        Err(describe_failure(&badge.url, &report))
    }
}

fn describe_failure(url: &str, report: &Report) -> String {
    let reason = report
        .reason()
        .map(|check| format!("{}: {} ({})", check.check, check.code, check.message))
        .unwrap_or_else(|| "no failed check".to_string());
    format!(
        "{url}: status {}, recipient matched {}: {reason}",
        report.status.as_str(),
        report.recipient.matched
    )
}

/// Verifies the set `passes` times, one badge at a time; with `fresh_from`, a new verifier (empty
/// cache) on that fetcher (its connection pool) for every badge.
async fn sequential(
    mode: &str,
    verifier: &Verifier,
    fresh_from: Option<&Fetcher>,
    (badges, passes): (&[Badge], usize),
    counter: &RequestCounter,
) -> BenchResult<Measured> {
    let before = counter.read();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(badges.len() * passes);
    for _ in 0..passes {
        for badge in badges {
            let latency = match fresh_from {
                Some(fetcher) => {
                    let own = Verifier::new(fetcher.clone(), CACHE_TTL);
                    verify_one(&own, badge).await?
                }
                None => verify_one(verifier, badge).await?,
            };
            latencies.push(latency);
        }
    }
    Ok(measured(
        mode,
        latencies,
        started.elapsed(),
        counter,
        before,
    ))
}

/// Verifies the set `passes` times with `in_flight` tasks each taking the next badge.
async fn concurrent(
    verifier: &Verifier,
    badges: &[Badge],
    in_flight: usize,
    counter: &RequestCounter,
) -> BenchResult<Measured> {
    let jobs: Arc<Vec<Badge>> = Arc::new(
        (0..CONCURRENT_PASSES)
            .flat_map(|_| badges.iter().cloned())
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let before = counter.read();
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (verifier, jobs, next) = (verifier.clone(), jobs.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some(badge) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    latencies.push(verify_one(&verifier, badge).await?);
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(jobs.len());
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let mode = format!("concurrent-{in_flight}");
    Ok(measured(
        &mode,
        latencies,
        started.elapsed(),
        counter,
        before,
    ))
}

fn measured(
    mode: &str,
    latencies: Vec<Duration>,
    wall: Duration,
    counter: &RequestCounter,
    before: Option<u64>,
) -> Measured {
    let requests = before.zip(counter.read()).map(|(b, a)| a - b);
    Measured {
        mode: mode.to_string(),
        latencies,
        wall,
        requests,
    }
}

// ---------------------------------------------------------------------------------------------
// Report

/// The nearest-rank percentile `q` (0..=1) of `sorted`, in milliseconds.
fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64 - 1e-9).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn summarise(run: &Measured) -> serde_json::Value {
    let mut sorted = run.latencies.clone();
    sorted.sort();
    let count = sorted.len();
    json!({
        "mode": run.mode,
        "verifications": count,
        "seconds": run.wall.as_secs_f64(),
        "verifications_per_s": count as f64 / run.wall.as_secs_f64(),
        "p50_ms": percentile_ms(&sorted, 0.50),
        "p95_ms": percentile_ms(&sorted, 0.95),
        "p99_ms": percentile_ms(&sorted, 0.99),
        "http_requests": run.requests,
        "http_requests_per_verification": run.requests.map(|r| r as f64 / count as f64),
    })
}

fn print_table(rows: &[serde_json::Value]) {
    println!(
        "| mode | verifications | verifications/s | p50 ms | p95 ms | p99 ms | requests/verify |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let number = |key: &str| row[key].as_f64().unwrap_or(f64::NAN);
        let requests = row["http_requests_per_verification"]
            .as_f64()
            .map_or("-".to_string(), |r| format!("{r:.2}"));
        println!(
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {requests} |",
            row["mode"].as_str().unwrap_or_default(),
            row["verifications"],
            number("verifications_per_s"),
            number("p50_ms"),
            number("p95_ms"),
            number("p99_ms"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Main

/// The concurrent modes to run: `SATCHEL_BENCH_CONCURRENCY` (e.g. `16,64`; empty for none, as
/// `python3 -m http.server` refuses connections past its listen backlog of 5).
fn concurrency() -> BenchResult<Vec<usize>> {
    let Ok(text) = env::var(CONCURRENCY_VAR) else {
        return Ok(CONCURRENCY.to_vec());
    };
    let levels = text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>();
    levels.ok_or_else(|| format!("{CONCURRENCY_VAR}={text}: expected counts like 16,64").into())
}

/// Finds or generates the badges and makes sure a server answers for them.
fn prepare(scratch: &Path) -> BenchResult<(Vec<Badge>, RequestCounter, &'static str)> {
    let external = match env::var(SERVER_VAR).as_deref() {
        Ok("external") => true,
        Ok("rust") | Err(_) => false,
        Ok(other) => return Err(format!("{SERVER_VAR}={other}: expected rust or external").into()),
    };
    if external {
        let dir = env::var_os(HOSTED_VAR)
            .map(PathBuf::from)
            .ok_or_else(|| format!("{SERVER_VAR}=external needs {HOSTED_VAR}"))?;
        let counter = env::var_os(SERVER_LOG_VAR)
            .map(|log| RequestCounter::Log(PathBuf::from(log)))
            .unwrap_or(RequestCounter::None);
        return Ok((read_manifest(&dir)?, counter, "external"));
    }
    // Bind first: a generated set must name the port it will be served on.
    let given = env::var_os(HOSTED_VAR).map(PathBuf::from);
    let (dir, listener) = match given {
        Some(dir) => {
            let origin = manifest_origin(&read_manifest(&dir)?)?;
            let listener = TcpListener::bind(&origin)
                .map_err(|e| format!("cannot serve {origin} (is another server there?): {e}"))?;
            (dir, listener)
        }
        None => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let base = format!("http://{}", listener.local_addr()?);
            (hosted_folder(scratch, &base)?, listener)
        }
    };
    let requests = serve_folder(&dir, listener)?;
    let badges = read_manifest(&dir)?;
    Ok((
        badges,
        RequestCounter::InProcess(requests),
        "rust (actix-web, 1 worker)",
    ))
}

async fn run_modes(
    fetcher: &Fetcher,
    badges: &[Badge],
    counter: &RequestCounter,
) -> BenchResult<Vec<Measured>> {
    let verifier = Verifier::new(fetcher.clone(), CACHE_TTL);
    let fresh = Some(fetcher);
    let mut runs = vec![
        sequential("sequential-cold", &verifier, None, (badges, 1), counter).await?,
        sequential(
            "sequential-warm",
            &verifier,
            None,
            (badges, WARM_PASSES),
            counter,
        )
        .await?,
        sequential(
            "sequential-fresh-verifier",
            &verifier,
            fresh,
            (badges, 1),
            counter,
        )
        .await?,
    ];
    for in_flight in concurrency()? {
        runs.push(concurrent(&verifier, badges, in_flight, counter).await?);
    }
    Ok(runs)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let scratch = tempfile::tempdir()?;
    let (badges, counter, server) = prepare(scratch.path())?;
    let limits = FetchLimits {
        allow_private: true,
        ..FetchLimits::default()
    };
    let fetcher = Fetcher::new(limits)?;
    let origin = manifest_origin(&badges)?;
    eprintln!(
        "verifying {} hosted badges from {origin}, server: {server}",
        badges.len()
    );

    let runs = run_modes(&fetcher, &badges, &counter).await?;

    let rows: Vec<_> = runs.iter().map(summarise).collect();
    print_table(&rows);
    if let Some(path) = env::var_os(JSON_VAR) {
        let summary = json!({
            "server": server,
            "origin": origin,
            "badges": badges.len(),
            "tokio_worker_threads": std::thread::available_parallelism()?.get(),
            "modes": rows,
        });
        fs::write(path, serde_json::to_string_pretty(&summary)?)?;
    }
    Ok(())
}
