//! Builds the application: opens the database and runs migrations, binds the listener
//! (port 0 allowed), and returns a server ready to run. `main` and the tests share this,
//! so the tests exercise the same wiring users get.

use std::net::TcpListener;
use std::sync::Arc;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;
use crate::fetch::Fetcher;
use crate::mail::Mailer;
use crate::push::tokens::TokenSigner;
use crate::routes;
use crate::telemetry::RequestSpan;
use crate::templates::Templates;
use crate::verify::Verifier;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub verifier: Verifier,
    pub mailer: Mailer,
    pub templates: Arc<Templates>,
    pub settings: Arc<Settings>,
    /// Issues and checks the push API's access tokens.
    pub push_tokens: Arc<TokenSigner>,
}

/// A built application, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens the database named by the settings, migrates it and binds `settings.bind`.
    /// `mailer` is chosen by the caller: [`default_mailer`] in production, memory in tests.
    pub async fn build(settings: Settings, mailer: Mailer) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("could not listen on {} (SATCHEL_BIND)", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = build_state(settings, mailer).await?;
        let server = run(listener, state.clone())?;
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state, for tests that need to look behind the HTTP interface.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Opens the database (migrating it) and sets up everything handlers and the worker share.
pub async fn build_state(
    settings: Settings,
    mailer: Mailer,
) -> anyhow::Result<web::Data<AppState>> {
    let db = open_database(&settings)?;
    let push_tokens = Arc::new(TokenSigner::load(&db, &settings).await?);
    let fetcher = Fetcher::with_rewrites(settings.fetch_limits(), settings.fetch_rewrites.clone())?;
    Ok(web::Data::new(AppState {
        db,
        verifier: Verifier::new(fetcher, settings.verify_cache_ttl),
        mailer,
        templates: Arc::new(Templates::load()?),
        settings: Arc::new(settings),
        push_tokens,
    }))
}

/// Opens the pool and applies pending migrations.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, settings.db_pool_size)?;
    let applied = db.migrate()?;
    tracing::info!(db.backend = ?db.backend(), migrations.applied = applied, "database ready");
    Ok(db)
}

/// SMTP when `SMTP_URL` is set, otherwise `.eml` files in the outbox folder.
pub fn default_mailer(settings: &Settings, templates: Arc<Templates>) -> anyhow::Result<Mailer> {
    match &settings.smtp_url {
        Some(url) => Mailer::smtp(url, &settings.mail_from, templates),
        None => Mailer::outbox(settings.outbox_dir(), &settings.mail_from, templates),
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(routes::session::ensure_csrf_cookie))
            .wrap(from_fn(log_request))
            .wrap(security_headers())
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                AppError::bad_request(
                    "malformed_query",
                    format!("The address is malformed: {error}"),
                )
                .into()
            }))
            .configure(routes::configure)
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// One log line per request, inside the request's span (which carries its request id).
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = crate::telemetry::loggable_path(req.path());
    let response = next.call(req).await?;
    tracing::info!(
        http.method = %method,
        http.path = %path,
        http.status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request handled"
    );
    Ok(response)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; \
             frame-ancestors 'none'; form-action 'self'",
        ))
}
