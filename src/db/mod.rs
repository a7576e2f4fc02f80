//! The database layer: one diesel schema for SQLite and PostgreSQL, the connection pool,
//! embedded migrations and the row types with their queries.
//!
//! The backend is chosen from the URL scheme (`postgres://` or `postgresql://`, anything
//! else is a SQLite path). Diesel is blocking, so every query runs off the async threads
//! through [`Db::run`]; handlers never check out connections themselves. This module knows
//! nothing of HTTP.

pub mod api_tokens;
pub mod badges;
pub mod collections;
pub mod issuer_clients;
pub mod models;
pub mod pushes;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the configuration names.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// PostgreSQL for `postgres://` and `postgresql://` URLs, SQLite for anything else.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Sets per-connection pragmas SQLite needs: foreign keys, a busy wait instead of
/// immediate "database is locked" errors, and write-ahead logging for concurrent readers.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        if let AnyConnection::Sqlite(conn) = conn {
            conn.batch_execute(
                "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type DbPool = Pool<ConnectionManager<AnyConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<AnyConnection>>;

/// The shared handle to the database: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// SQLite allows one writer at a time, and a transaction that starts reading cannot
    /// wait its turn to write (it fails with "database is locked"): write transactions on
    /// SQLite take this lock first. PostgreSQL does not need it.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

impl Db {
    /// Opens a pool for `url`, creating the SQLite file's folder when needed.
    pub fn connect(url: &str, max_size: u32) -> anyhow::Result<Db> {
        let backend = Backend::from_url(url);
        match backend {
            Backend::Sqlite => create_parent_dir(url)?,
            // The pool reports any failure as a timeout; one direct attempt gives the reason
            // (no such database, refused connection, bad password) without the URL.
            Backend::Postgres => {
                PgConnection::establish(url)
                    .map_err(|e| anyhow::anyhow!("could not connect to PostgreSQL: {e}"))?;
            }
        }
        let manager = ConnectionManager::<AnyConnection>::new(strip_sqlite_scheme(url));
        let pool = Pool::builder()
            .max_size(max_size)
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)
            .with_context(|| format!("could not open the {backend:?} database"))?;
        Ok(Db {
            pool,
            backend,
            sqlite_writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending embedded migration for this backend.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self
            .pool
            .get()
            .context("no database connection for migrations")?;
        let applied = match &mut *conn {
            AnyConnection::Sqlite(c) => {
                c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
            }
            AnyConnection::Postgresql(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        Ok(applied)
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().context("no database connection available")?;
            work(&mut conn)
        })
        .await
        .context("database task panicked")?
    }

    /// Runs blocking database work inside one transaction.
    pub async fn transaction<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _writer = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        };
        self.run(move |conn| conn.transaction(|tx| work(tx))).await
    }

    /// Whether the database answers a trivial query within two seconds.
    pub async fn ping(&self) -> anyhow::Result<()> {
        use diesel::RunQueryDsl;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get_timeout(Duration::from_secs(2))
                .context("no database connection within 2 s")?;
            diesel::sql_query("SELECT 1").execute(&mut *conn)?;
            Ok(())
        })
        .await
        .context("database task panicked")?
    }

    /// Checks out a connection synchronously (command-line tools and tests).
    pub fn get(&self) -> anyhow::Result<DbConn> {
        self.pool.get().context("no database connection available")
    }
}

/// Diesel's SQLite takes a path or a `file:` URI; accept `sqlite://path` too.
fn strip_sqlite_scheme(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

fn create_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = strip_sqlite_scheme(url);
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
    }
    Ok(())
}
