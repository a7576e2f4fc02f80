//! Typed settings read once at start-up from environment variables (and a `.env` file in
//! development). Every value is parsed here; a bad value stops start-up with an error that
//! names the variable. `.env.example` lists every variable with its default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// Everything Satchel can be configured with.
#[derive(Clone)]
pub struct Settings {
    /// `SATCHEL_BIND`: the address the web service listens on. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `SATCHEL_DATA_DIR`: where the SQLite file and the mail outbox live. Default `./data`.
    pub data_dir: PathBuf,
    /// `SATCHEL_BASE_URL`: the public URL used in mailed links. Default `http://<bind>`.
    pub base_url: Url,
    /// `DATABASE_URL`: `postgres://...` for PostgreSQL, otherwise a SQLite path.
    /// Default `<data dir>/satchel.sqlite3`.
    pub database_url: String,
    /// `SATCHEL_DB_POOL_SIZE`: connections in the pool. Default 8.
    pub db_pool_size: u32,
    /// `SMTP_URL`: e.g. `smtp://user:pass@host:587` or `smtps://...`. Unset: mail is
    /// written as `.eml` files to `<data dir>/outbox/`.
    pub smtp_url: Option<String>,
    /// `SATCHEL_MAIL_FROM`: the sender of every mail. Default `Satchel <satchel@localhost>`.
    pub mail_from: String,
    /// `SATCHEL_EMAIL_TOKEN_TTL_HOURS`: how long a confirmation link works. Default 48.
    pub email_token_ttl: Duration,
    /// `SATCHEL_CONFIRM_MAILS_PER_ADDRESS_HOUR`: confirmation mails to one address per
    /// hour. Default 3.
    pub confirm_mails_per_address_hour: u32,
    /// `SATCHEL_CONFIRM_MAILS_PER_ACCOUNT_HOUR`: confirmation mails one account may cause
    /// per hour. Default 10.
    pub confirm_mails_per_account_hour: u32,
    /// The issuer push API.
    pub push: PushSettings,
    /// `SATCHEL_SESSION_TTL_HOURS`: how long a sign-in lasts. Default 336 (two weeks).
    pub session_ttl: Duration,
    /// `SATCHEL_LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// `SATCHEL_FETCH_ALLOW_PRIVATE`: fetch loopback and private addresses too (tests,
    /// intranet issuers). Default `false`.
    pub fetch_allow_private: bool,
    /// `SATCHEL_FETCH_TIMEOUT_SECS`: total time one fetch may take. Default 15.
    pub fetch_timeout: Duration,
    /// `SATCHEL_FETCH_MAX_BYTES`: largest body one fetch may read. Default 5242880 (5 MiB).
    pub fetch_max_bytes: usize,
    /// `SATCHEL_VERIFY_CACHE_SECS`: how long fetched badge classes, issuers, keys and
    /// revocation lists are reused. Default 600.
    pub verify_cache_ttl: Duration,
    /// `SATCHEL_PENDING_TTL_DAYS`: how long a badge waits for its address to be confirmed
    /// before it is dropped. Default 30.
    pub pending_ttl: Duration,
    /// How stored badges are re-checked.
    pub worker: WorkerSettings,
    /// URL prefix rewrites for fetches (`https://issuer.example/` → a local server). Not read
    /// from the environment: only tests set it.
    pub fetch_rewrites: Vec<(String, String)>,
}

/// The revalidation worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `SATCHEL_WORKER`: whether `serve` runs the worker too. Default `true`; set `false` on
    /// instances that should only serve pages (run `satchel worker` elsewhere).
    pub enabled: bool,
    /// `SATCHEL_RECHECK_HOURS`: how often a badge is re-checked. Default 24 (plus up to an
    /// hour of jitter).
    pub interval: Duration,
    /// `SATCHEL_UNREACHABLE_AFTER_HOURS`: how long an issuer may fail to answer before its
    /// badge is called unreachable (until then the last good result stands, marked stale).
    /// Default 72.
    pub unreachable_after: Duration,
    /// `SATCHEL_WORKER_CONCURRENCY`: badges checked at once. Default 16.
    pub concurrency: usize,
    /// `SATCHEL_WORKER_PER_HOST`: requests in flight to one issuer host. Default 4.
    pub per_host: usize,
    /// `SATCHEL_WORKER_POLL_SECS`: how often the worker looks for due badges. Default 30.
    pub poll: Duration,
    /// `SATCHEL_WORKER_LEASE_SECS`: how long a claimed badge stays reserved for the worker
    /// that claimed it; another instance takes it over after that (e.g. the first died).
    /// Default 600.
    pub lease: Duration,
    /// `SATCHEL_STATUS_MAILS`: mail the learner when a badge becomes revoked or expired.
    /// Default `true`.
    pub status_mails: bool,
}

impl WorkerSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<WorkerSettings, ConfigError> {
        Ok(WorkerSettings {
            enabled: parse_or(get, "SATCHEL_WORKER", Some(true))?,
            interval: hours(in_range(get, "SATCHEL_RECHECK_HOURS", 24, 1..=8760)?),
            unreachable_after: hours(in_range(
                get,
                "SATCHEL_UNREACHABLE_AFTER_HOURS",
                72,
                0..=8760,
            )?),
            concurrency: in_range(get, "SATCHEL_WORKER_CONCURRENCY", 16, 1..=1024)?,
            per_host: in_range(get, "SATCHEL_WORKER_PER_HOST", 4, 1..=256)?,
            poll: Duration::from_secs(in_range(get, "SATCHEL_WORKER_POLL_SECS", 30, 1..=3600)?),
            lease: Duration::from_secs(in_range(
                get,
                "SATCHEL_WORKER_LEASE_SECS",
                600,
                10..=86_400,
            )?),
            status_mails: parse_or(get, "SATCHEL_STATUS_MAILS", Some(true))?,
        })
    }
}

impl std::fmt::Debug for Settings {
    // SMTP_URL and DATABASE_URL may carry passwords: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("base_url", &self.base_url.as_str())
            .field(
                "database",
                &crate::db::Backend::from_url(&self.database_url),
            )
            .field("smtp", &self.smtp_url.is_some())
            .finish_non_exhaustive()
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable} is invalid ({value:?}): {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bind: SocketAddr = parse_or(&get, "SATCHEL_BIND", "127.0.0.1:8080".parse().ok())?;
        let data_dir = PathBuf::from(get("SATCHEL_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let default_base = format!("http://{bind}/");
        let base_url = parse_url(get("SATCHEL_BASE_URL").unwrap_or(default_base))?;
        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            data_dir
                .join("satchel.sqlite3")
                .to_string_lossy()
                .into_owned()
        });
        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url {
            check_smtp_url(url)?;
        }
        Ok(Settings {
            bind,
            data_dir,
            base_url,
            database_url,
            db_pool_size: in_range(&get, "SATCHEL_DB_POOL_SIZE", 8, 1..=1000)?,
            smtp_url,
            mail_from: parse_mailbox(get("SATCHEL_MAIL_FROM"))?,
            email_token_ttl: hours(in_range(
                &get,
                "SATCHEL_EMAIL_TOKEN_TTL_HOURS",
                48,
                0..=8760,
            )?),
            confirm_mails_per_address_hour: parse_or(
                &get,
                "SATCHEL_CONFIRM_MAILS_PER_ADDRESS_HOUR",
                Some(3),
            )?,
            confirm_mails_per_account_hour: parse_or(
                &get,
                "SATCHEL_CONFIRM_MAILS_PER_ACCOUNT_HOUR",
                Some(10),
            )?,
            push: PushSettings::from_lookup(&get)?,
            session_ttl: hours(in_range(&get, "SATCHEL_SESSION_TTL_HOURS", 336, 1..=8760)?),
            log_json: parse_log_format(get("SATCHEL_LOG_FORMAT"))?,
            fetch_allow_private: parse_or(&get, "SATCHEL_FETCH_ALLOW_PRIVATE", Some(false))?,
            fetch_timeout: Duration::from_secs(in_range(
                &get,
                "SATCHEL_FETCH_TIMEOUT_SECS",
                15,
                1..=300,
            )?),
            fetch_max_bytes: in_range(
                &get,
                "SATCHEL_FETCH_MAX_BYTES",
                5 * 1024 * 1024,
                1024..=100 * 1024 * 1024,
            )?,
            verify_cache_ttl: Duration::from_secs(in_range(
                &get,
                "SATCHEL_VERIFY_CACHE_SECS",
                600,
                0..=86_400,
            )?),
            pending_ttl: hours(24 * in_range(&get, "SATCHEL_PENDING_TTL_DAYS", 30, 1..=3650)?),
            worker: WorkerSettings::from_lookup(&get)?,
            fetch_rewrites: Vec::new(),
        })
    }

    /// Where development mail is written when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The limits every outgoing fetch obeys.
    pub fn fetch_limits(&self) -> crate::fetch::FetchLimits {
        crate::fetch::FetchLimits {
            total_timeout: self.fetch_timeout,
            max_body_bytes: self.fetch_max_bytes,
            allow_private: self.fetch_allow_private,
            ..crate::fetch::FetchLimits::default()
        }
    }

    /// Whether the public URL is https, so cookies must be marked `Secure`.
    pub fn behind_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

/// A number within `range`, or an error naming the variable and the range.
fn in_range<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
    T::Err: std::fmt::Display,
{
    let value = parse_or(get, variable, Some(default))?;
    if range.contains(&value) {
        return Ok(value);
    }
    Err(ConfigError {
        variable,
        value: value.to_string(),
        reason: format!("must be between {} and {}", range.start(), range.end()),
    })
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

fn parse_or<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Option<T>,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match (get(variable), default) {
        (Some(value), _) => value.trim().parse().map_err(|e: T::Err| ConfigError {
            variable,
            reason: e.to_string(),
            value,
        }),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(ConfigError {
            variable,
            value: String::new(),
            reason: "is required".into(),
        }),
    }
}

fn parse_url(value: String) -> Result<Url, ConfigError> {
    let error = |reason: &str| ConfigError {
        variable: "SATCHEL_BASE_URL",
        value: value.clone(),
        reason: reason.into(),
    };
    let mut url = Url::parse(&value).map_err(|e| error(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(error("must be an http or https URL"));
    }
    // Links are joined onto this URL: a path must end in `/` or its last part is lost.
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

fn check_smtp_url(value: &str) -> Result<(), ConfigError> {
    let ok = Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps"));
    if ok {
        return Ok(());
    }
    Err(ConfigError {
        variable: "SMTP_URL",
        // The URL may hold a password: say only its scheme.
        value: value.split(':').next().unwrap_or_default().to_string() + ":…",
        reason: "must be an smtp:// or smtps:// URL".into(),
    })
}

fn parse_mailbox(value: Option<String>) -> Result<String, ConfigError> {
    let value = value.unwrap_or_else(|| "Satchel <satchel@localhost>".into());
    match value.parse::<lettre::message::Mailbox>() {
        Ok(_) => Ok(value),
        Err(e) => Err(ConfigError {
            variable: "SATCHEL_MAIL_FROM",
            reason: e.to_string(),
            value,
        }),
    }
}

fn parse_log_format(value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(ConfigError {
            variable: "SATCHEL_LOG_FORMAT",
            value: other.into(),
            reason: "must be `text` or `json`".into(),
        }),
    }
}

/// The issuer push API's settings.
#[derive(Clone)]
pub struct PushSettings {
    /// `SATCHEL_PUSH_SIGNING_KEY`: the secret (at least 32 characters) that signs access
    /// tokens. Unset: a random key is generated on first start and kept in the database,
    /// so every instance sharing it agrees.
    pub signing_key: Option<String>,
    /// `SATCHEL_PUSH_TOKEN_TTL_SECS`: how long an access token works. Default 900.
    pub token_ttl: Duration,
    /// `SATCHEL_PUSH_HELD_DAYS`: how long a badge pushed to an address no account has
    /// confirmed is held before it is dropped. Default 90.
    pub held_ttl: Duration,
    /// `SATCHEL_PUSH_RATE_PER_MINUTE`: requests one client may make per minute, token
    /// requests and pushes counted apart. Default 120.
    pub rate_per_minute: u32,
    /// `SATCHEL_PUSH_MAX_BODY_BYTES`: the largest push request body. Default 7340032 (7 MiB,
    /// room for a 5 MiB image in base64).
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for PushSettings {
    // The signing key is a secret: say only whether it is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSettings")
            .field("signing_key", &self.signing_key.is_some())
            .field("token_ttl", &self.token_ttl)
            .field("held_ttl", &self.held_ttl)
            .field("rate_per_minute", &self.rate_per_minute)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl PushSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<PushSettings, ConfigError> {
        let signing_key = get("SATCHEL_PUSH_SIGNING_KEY").map(|k| k.trim().to_string());
        if signing_key.as_ref().is_some_and(|k| k.chars().count() < 32) {
            return Err(ConfigError {
                variable: "SATCHEL_PUSH_SIGNING_KEY",
                value: "…".into(),
                reason: "must be at least 32 characters".into(),
            });
        }
        Ok(PushSettings {
            signing_key,
            token_ttl: Duration::from_secs(in_range(
                get,
                "SATCHEL_PUSH_TOKEN_TTL_SECS",
                900,
                1..=86_400,
            )?),
            held_ttl: hours(24 * in_range(get, "SATCHEL_PUSH_HELD_DAYS", 90, 1..=3650)?),
            rate_per_minute: in_range(get, "SATCHEL_PUSH_RATE_PER_MINUTE", 120, 1..=1_000_000)?,
            max_body_bytes: in_range(
                get,
                "SATCHEL_PUSH_MAX_BODY_BYTES",
                7 * 1024 * 1024,
                1024..=64 * 1024 * 1024,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings_from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_give_a_local_sqlite_service() {
        let settings = settings_from(&[]).expect("defaults are valid");

        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url, "./data/satchel.sqlite3");
        assert_eq!(settings.base_url.as_str(), "http://127.0.0.1:8080/");
        assert!(settings.smtp_url.is_none());
        assert_eq!(settings.email_token_ttl, Duration::from_secs(48 * 3600));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let cases = [
            ("SATCHEL_BIND", "not-an-address"),
            ("SATCHEL_BASE_URL", "ftp://example.org"),
            ("SATCHEL_EMAIL_TOKEN_TTL_HOURS", "two days"),
            ("SMTP_URL", "http://mail.example.org"),
            ("SATCHEL_LOG_FORMAT", "xml"),
            ("SATCHEL_MAIL_FROM", "not a mailbox"),
            ("SATCHEL_FETCH_ALLOW_PRIVATE", "yes please"),
            ("SATCHEL_DB_POOL_SIZE", "0"),
            ("SATCHEL_EMAIL_TOKEN_TTL_HOURS", "99999999999999999"),
            ("SATCHEL_SESSION_TTL_HOURS", "99999999999999999"),
            ("SATCHEL_PUSH_SIGNING_KEY", "too short"),
            ("SATCHEL_PUSH_TOKEN_TTL_SECS", "0"),
            ("SATCHEL_PUSH_HELD_DAYS", "0"),
            ("SATCHEL_PUSH_RATE_PER_MINUTE", "0"),
            ("SATCHEL_PUSH_MAX_BODY_BYTES", "12"),
        ];
        for (variable, value) in cases {
            let error = settings_from(&[(variable, value)]).err();

            let error = error.unwrap_or_else(|| panic!("{variable}={value} was accepted"));
            assert_eq!(error.variable, variable);
            assert!(error.to_string().starts_with(variable), "{error}");
        }
    }

    #[test]
    fn a_base_url_with_a_path_keeps_it_in_links() {
        let settings = settings_from(&[("SATCHEL_BASE_URL", "https://x.example/satchel")]);

        let base = settings.expect("valid").base_url;

        assert_eq!(
            base.join("confirm-email").expect("joins").as_str(),
            "https://x.example/satchel/confirm-email"
        );
    }

    #[test]
    fn the_smtp_password_is_never_printed() {
        let error = settings_from(&[("SMTP_URL", "http://user:hunter2@mail")]).err();
        let settings = settings_from(&[("SMTP_URL", "smtp://user:hunter2@mail:25")]);

        assert!(!error
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("hunter2"));
        assert!(!format!("{:?}", settings.ok()).contains("hunter2"));
    }

    #[test]
    fn the_push_signing_key_is_never_printed() {
        let key = "k".repeat(40);
        let short = settings_from(&[("SATCHEL_PUSH_SIGNING_KEY", "secret-but-short")]).err();
        let settings = settings_from(&[("SATCHEL_PUSH_SIGNING_KEY", &key)]).expect("valid");

        assert!(!short
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("secret"));
        assert!(!format!("{:?}", settings.push).contains(&key));
        assert_eq!(settings.push.held_ttl, Duration::from_secs(90 * 24 * 3600));
    }
}
