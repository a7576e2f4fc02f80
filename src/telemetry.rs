//! Logging with `tracing`: human-readable lines by default, JSON lines when
//! `SATCHEL_LOG_FORMAT=json`, filtered by `RUST_LOG` (default `info`). Each request runs in
//! a span carrying its request id (see `startup`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; call once at start-up.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second call (as in tests) keeps the first subscriber, which is what we want.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
