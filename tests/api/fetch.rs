//! The bounded fetcher against a real local server that misbehaves on purpose: closed ports,
//! slow answers, oversized bodies, redirect chains and loops, private addresses, wrong
//! content types and byte-order marks. Where it matters the same failure is taken through
//! the pipeline: a network failure makes a badge `unreachable`, never `invalid` or `revoked`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use satchel::domain::unbake::InputKind;
use satchel::fetch::{Accept, FetchError, FetchLimits, Fetched, Fetcher};
use satchel::verify::{RecipientRule, Report, Status, Verifier};

use crate::issuer::{IssuerServer, Route};

/// A hosted 2.0 badge for `learner@example.org` at `https://issuer.example/a/1`.
const CASE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/field-reports/12-content-type"
);
const BADGE_URL: &str = "https://issuer.example/a/1";
const LEARNER: &str = "learner@example.org";

fn test_limits() -> FetchLimits {
    FetchLimits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_millis(1500),
        max_body_bytes: 64 * 1024,
        allow_private: true,
        ..FetchLimits::default()
    }
}

fn serve(routes: &[(&str, Route)]) -> IssuerServer {
    let routes: HashMap<String, Route> = routes
        .iter()
        .map(|(path, route)| (path.to_string(), route.clone()))
        .collect();
    IssuerServer::start_json(PathBuf::from(CASE), routes)
}

/// A verifier with `limits` whose `https://issuer.example/` is `base/issuer.example/`.
fn verifier(base: &str, limits: FetchLimits) -> Verifier {
    let rewrites = vec![(
        "https://issuer.example/".to_string(),
        format!("{base}/issuer.example/"),
    )];
    let fetcher = Fetcher::with_rewrites(limits, rewrites).expect("fetcher");
    Verifier::new(fetcher, Duration::from_secs(60))
}

async fn verify_badge(verifier: &Verifier) -> Report {
    verifier
        .verify(
            BADGE_URL.as_bytes(),
            &[LEARNER.to_string()],
            RecipientRule::Required,
        )
        .await
}

fn code(result: &Result<Fetched, FetchError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.code(),
    }
}

fn summary(report: &Report) -> String {
    let checks: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("{}:{}:{:?}", c.check, c.code, c.outcome))
        .collect();
    format!("status {} checks {checks:?}", report.status.as_str())
}

/// A redirect chain `/hop/n` → `/hop/n-1` → … → `/hop/0`, which serves the badge.
fn chain(length: usize) -> Vec<(String, Route)> {
    let mut routes: Vec<(String, Route)> = (1..=length)
        .map(|n| {
            let next = format!("/issuer.example/hop/{}", n - 1);
            (
                format!("/issuer.example/hop/{n}"),
                Route::redirect(302, &next),
            )
        })
        .collect();
    let end = Route::status(200).file("issuer.example/a/1");
    routes.push(("/issuer.example/hop/0".to_string(), end));
    routes
}

#[tokio::test]
async fn a_closed_port_is_a_connection_failure_and_the_badge_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    drop(listener);
    let fetcher = Fetcher::new(test_limits()).expect("fetcher");

    let fetched = fetcher.get(&format!("{base}/a/1"), Accept::Document).await;
    let report = verify_badge(&verifier(&base, test_limits())).await;

    assert_eq!(code(&fetched), "fetch_connect_failed");
    assert_eq!(report.status, Status::Unreachable, "{}", summary(&report));
}

#[tokio::test]
async fn a_server_slower_than_the_total_timeout_is_abandoned_in_time() {
    let slow = Route {
        delay_ms: Some(5_000),
        ..Route::status(200).file("issuer.example/a/1")
    };
    let server = serve(&[("/issuer.example/a/1", slow)]);
    let fetcher = Fetcher::new(test_limits()).expect("fetcher");
    let started = Instant::now();

    let fetched = fetcher
        .get(
            &format!("{}/issuer.example/a/1", server.base),
            Accept::Document,
        )
        .await;
    let waited = started.elapsed();
    let report = verify_badge(&verifier(&server.base, test_limits())).await;

    assert_eq!(code(&fetched), "fetch_timeout");
    assert!(waited < Duration::from_secs(4), "gave up after {waited:?}");
    assert_eq!(report.status, Status::Unreachable, "{}", summary(&report));
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_with_or_without_a_content_length() {
    let limit = test_limits().max_body_bytes;
    let big = |chunked| Route {
        filler_bytes: Some(limit + 1),
        chunked,
        ..Route::status(200)
    };
    let at_limit = Route {
        filler_bytes: Some(limit),
        chunked: true,
        ..Route::status(200)
    };
    let server = serve(&[
        ("/big-with-length", big(false)),
        ("/big-chunked", big(true)),
        ("/at-limit", at_limit),
    ]);
    let fetcher = Fetcher::new(test_limits()).expect("fetcher");
    let rows = [
        ("/big-with-length", "fetch_too_large"),
        ("/big-chunked", "fetch_too_large"),
        ("/at-limit", "ok"),
    ];

    for (path, expected) in rows {
        let fetched = fetcher
            .get(&format!("{}{path}", server.base), Accept::Document)
            .await;

        assert_eq!(code(&fetched), expected, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_assertion_leaves_the_badge_unreachable() {
    let big = Route {
        filler_bytes: Some(test_limits().max_body_bytes * 2),
        chunked: true,
        ..Route::status(200)
    };
    let server = serve(&[("/issuer.example/a/1", big)]);

    let report = verify_badge(&verifier(&server.base, test_limits())).await;

    assert_eq!(report.status, Status::Unreachable, "{}", summary(&report));
    assert_eq!(
        report.reason().map(|c| c.code.as_str()),
        Some("fetch_too_large")
    );
    server.stop().await;
}

#[tokio::test]
async fn five_redirects_are_followed_and_a_sixth_is_refused() {
    let routes: Vec<(String, Route)> = chain(6);
    let routes: Vec<(&str, Route)> = routes
        .iter()
        .map(|(p, r)| (p.as_str(), r.clone()))
        .collect();
    let server = serve(&routes);
    let fetcher = Fetcher::new(test_limits()).expect("fetcher");
    let url = |n: usize| format!("{}/issuer.example/hop/{n}", server.base);

    let five = fetcher.get(&url(5), Accept::Document).await;
    let six = fetcher.get(&url(6), Accept::Document).await;

    assert_eq!(code(&five), "ok");
    assert!(matches!(five.map(|f| f.kind()), Ok(InputKind::Json(_))));
    assert_eq!(code(&six), "fetch_too_many_redirects");
    server.stop().await;
}

#[tokio::test]
async fn a_redirect_loop_stops_and_the_badge_is_unreachable() {
    let server = serve(&[(
        "/issuer.example/a/1",
        Route::redirect(302, "/issuer.example/a/1"),
    )]);
    let fetcher = Fetcher::new(test_limits()).expect("fetcher");

    let fetched = fetcher
        .get(
            &format!("{}/issuer.example/a/1", server.base),
            Accept::Document,
        )
        .await;
    let report = verify_badge(&verifier(&server.base, test_limits())).await;

    assert_eq!(code(&fetched), "fetch_too_many_redirects");
    assert_eq!(report.status, Status::Unreachable, "{}", summary(&report));
    assert!(server.requests() <= 2 * 7, "{} requests", server.requests());
    server.stop().await;
}

#[tokio::test]
async fn loopback_addresses_and_names_are_refused_before_connecting_unless_allowed() {
    let server = serve(&[]);
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let public_only = FetchLimits {
        allow_private: false,
        ..test_limits()
    };
    let fetcher = Fetcher::new(public_only.clone()).expect("fetcher");
    let urls = [
        format!("http://127.0.0.1:{port}/issuer.example/a/1"),
        format!("http://[::1]:{port}/issuer.example/a/1"),
        format!("http://localhost:{port}/issuer.example/a/1"),
    ];

    for url in &urls {
        let fetched = fetcher.get(url, Accept::Document).await;

        assert_eq!(code(&fetched), "fetch_private_address", "{url}");
    }
    let report = verify_badge(&verifier(&server.base, public_only)).await;
    assert_ne!(report.status, Status::Valid, "{}", summary(&report));
    assert_eq!(
        report.reason().map(|c| c.code.as_str()),
        Some("fetch_private_address")
    );
    assert_eq!(server.requests(), 0, "nothing reached the server");
    let allowed = Fetcher::new(test_limits()).expect("fetcher");
    let fetched = allowed.get(&urls[0], Accept::Document).await;
    assert_eq!(code(&fetched), "ok", "allowed when private fetching is on");
    server.stop().await;
}

#[tokio::test]
async fn a_json_body_is_json_whatever_its_content_type_and_a_bom_is_stripped() {
    let rows = [
        ("image/png", "issuer.example/a/1"),
        ("text/html", "issuer.example/a/1"),
        ("application/octet-stream", "issuer.example/a/bom"),
    ];

    for (content_type, file) in rows {
        let route = Route::status(200).file(file).content_type(content_type);
        let server = serve(&[("/issuer.example/a/1", route)]);
        let fetcher = Fetcher::new(test_limits()).expect("fetcher");

        let fetched = fetcher
            .get(
                &format!("{}/issuer.example/a/1", server.base),
                Accept::Document,
            )
            .await
            .expect("fetched");
        let report = verify_badge(&verifier(&server.base, test_limits())).await;

        let case = format!("{file} as {content_type}");
        assert!(matches!(fetched.kind(), InputKind::Json(_)), "{case}");
        let text = fetched.text().expect("utf-8");
        assert!(text.starts_with('{'), "{case}: the BOM is gone");
        assert_eq!(report.status, Status::Valid, "{case}: {}", summary(&report));
        server.stop().await;
    }
}
