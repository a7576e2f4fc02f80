//! Logging with `tracing`: human-readable lines by default, JSON lines when
//! `SATCHEL_LOG_FORMAT=json`, filtered by `RUST_LOG` (default `info`). Each request runs in
//! a span carrying its request id, method and path: never its query string, which can hold
//! a confirmation token.

use std::io::IsTerminal;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; call once at start-up.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second call (as in tests) keeps the first subscriber, which is what we want.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A request path fit for the logs: the unguessable part of a public link (`/b/{link}`,
/// `/c/{link}/...`) is the only thing protecting it, so it is left out.
pub fn loggable_path(path: &str) -> String {
    let mut parts = path.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(kind @ ("b" | "c")), Some(_link), rest) => match rest {
            Some(rest) => format!("/{kind}/…/{rest}"),
            None => format!("/{kind}/…"),
        },
        _ => path.to_string(),
    }
}

/// The span every request runs in: its id, method and path, and its status once answered.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string);
        tracing::info_span!(
            "request",
            request_id = request_id.unwrap_or_default(),
            http.method = %request.method(),
            http.path = %loggable_path(request.path()),
            http.status_code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("http.status_code", status);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn public_links_are_left_out_of_logged_paths() {
        let cases = [
            ("/b/SECRETLINK", "/b/…"),
            ("/c/SECRETLINK/badges/42/image", "/c/…/badges/42/image"),
            ("/badges/42", "/badges/42"),
            ("/collections/7", "/collections/7"),
        ];

        for (path, logged) in cases {
            assert_eq!(loggable_path(path), logged, "{path}");
        }
    }

    #[test]
    fn request_logs_carry_the_path_but_never_the_query_string() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let request = actix_web::test::TestRequest::with_uri("/confirm-email?token=s3cr3t-token")
            .to_srv_request();

        tracing::subscriber::with_default(subscriber, || {
            let span = RequestSpan::on_request_start(&request);
            span.in_scope(|| tracing::info!("request handled"));
        });

        let logged = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(logged.contains("/confirm-email"), "{logged}");
        assert!(!logged.contains("s3cr3t-token"), "{logged}");
    }
}
