//! The command-line tools that ship in the `satchel` binary beside the web service:
//! `unbake`, `bake`, `inspect`, `verify` and `issuer-client`. Each prints its result to stdout, a one-line reason to
//! stderr on failure, and returns the process exit code.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::domain::assertion::{parse_badge, ObVersion};
use crate::domain::bake::bake;
use crate::domain::unbake::{unbake, Keyword, Limits};
use crate::fetch::{FetchLimits, Fetcher};
use crate::intake::receive;
use crate::verify::{Outcome, RecipientRule, Report, Status, Verifier};

/// Exit code for "the input holds no badge" or "the badge is not valid".
const EXIT_NO: u8 = 1;
/// Exit code for usage and I/O errors.
const EXIT_USAGE: u8 = 2;

fn fail(code: u8, reason: impl std::fmt::Display) -> ExitCode {
    eprintln!("satchel: {reason}");
    ExitCode::from(code)
}

/// Reads a file, or standard input for `-`, refusing more than the upload limit.
fn read_input(path: &str, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    reader.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(std::io::Error::other(format!(
            "{path} is larger than {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// `satchel unbake FILE [--json]`: prints the baked payload exactly as stored.
pub fn unbake_command(file: &str, json: bool) -> ExitCode {
    let limits = Limits::default();
    let bytes = match read_input(file, limits.max_input_bytes) {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_USAGE, format!("cannot read {file}: {error}")),
    };
    let unbaked = match unbake(&bytes, &limits) {
        Ok(unbaked) => unbaked,
        Err(error) => return fail(EXIT_NO, format!("{file}: {error} ({})", error.code())),
    };
    for warning in &unbaked.warnings {
        eprintln!("satchel: warning: {warning}");
    }
    let output = if json {
        let summary = serde_json::json!({
            "format": unbaked.format,
            "chunk": unbaked.chunk,
            "keyword": unbaked.keyword,
            "payload": unbaked.payload,
        });
        format!("{summary}\n")
    } else {
        unbaked.payload
    };
    write_stdout(output.as_bytes())
}

/// `satchel bake IMAGE PAYLOAD_FILE -o OUT`: bakes a payload into a PNG or SVG. A 3.0
/// credential goes under `openbadgecredential`, anything else under `openbadges`.
pub fn bake_command(image: &str, payload_file: &str, out: &Path) -> ExitCode {
    let limits = Limits::default();
    let read = |path: &str| read_input(path, limits.max_input_bytes);
    let (image_bytes, payload) = match (read(image), read(payload_file)) {
        (Ok(image), Ok(payload)) => (image, payload),
        (Err(error), _) | (_, Err(error)) => return fail(EXIT_USAGE, error),
    };
    let Ok(payload) = String::from_utf8(payload) else {
        return fail(EXIT_USAGE, format!("{payload_file} is not UTF-8 text"));
    };
    let keyword = match parse_badge(&payload) {
        Ok(badge) if badge.version == ObVersion::V3_0 => Keyword::OpenBadgeCredential,
        _ => Keyword::OpenBadges,
    };
    let baked = match bake(&image_bytes, &payload, keyword) {
        Ok(baked) => baked,
        Err(error) => return fail(EXIT_NO, format!("{error} ({})", error.code())),
    };
    match std::fs::write(out, baked) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(
            EXIT_USAGE,
            format!("cannot write {}: {error}", out.display()),
        ),
    }
}

/// `satchel inspect FILE|URL|-`: prints the normalized badge as JSON, without verifying it.
pub async fn inspect_command(input: &str, allow_private: bool) -> ExitCode {
    let limits = Limits::default();
    let is_url = input.starts_with("http://") || input.starts_with("https://");
    let bytes = if is_url {
        input.as_bytes().to_vec()
    } else {
        match read_input(input, limits.max_input_bytes) {
            Ok(bytes) => bytes,
            Err(error) => return fail(EXIT_USAGE, format!("cannot read {input}: {error}")),
        }
    };
    let fetch_limits = FetchLimits {
        allow_private,
        ..FetchLimits::default()
    };
    let fetcher = match Fetcher::new(fetch_limits) {
        Ok(fetcher) => fetcher,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    match receive(&bytes, &fetcher, &limits).await {
        Ok(received) => match serde_json::to_string_pretty(&received) {
            Ok(json) => write_stdout(format!("{json}\n").as_bytes()),
            Err(error) => fail(EXIT_USAGE, error),
        },
        Err(error) => fail(EXIT_NO, format!("{error} ({})", error.code())),
    }
}

fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_USAGE, format!("cannot write the output: {error}")),
    }
}

/// `satchel verify FILE|URL|- [--email ADDRESS]... [--json]`: runs the verification
/// pipeline with `emails` as the confirmed addresses. Exit 0 when valid, 1 when not.
pub async fn verify_command(
    input: &str,
    emails: &[String],
    json: bool,
    maps: &[String],
    fetch_limits: FetchLimits,
) -> ExitCode {
    let limits = Limits::default();
    let mut rewrites = Vec::new();
    for map in maps {
        match map.split_once('=') {
            Some((prefix, to)) => rewrites.push((prefix.to_string(), to.to_string())),
            None => {
                return fail(
                    EXIT_USAGE,
                    format!("--map {map}: expected PREFIX=REPLACEMENT"),
                )
            }
        }
    }
    let is_url = input.starts_with("http://") || input.starts_with("https://");
    let bytes = if is_url {
        input.as_bytes().to_vec()
    } else {
        match read_input(input, limits.max_input_bytes) {
            Ok(bytes) => bytes,
            Err(error) => return fail(EXIT_USAGE, format!("cannot read {input}: {error}")),
        }
    };
    let fetcher = match Fetcher::with_rewrites(fetch_limits, rewrites) {
        Ok(fetcher) => fetcher,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let verifier = Verifier::new(fetcher, std::time::Duration::from_secs(300));

    let report = verifier
        .verify(&bytes, emails, RecipientRule::IfGiven)
        .await;

    let output = if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => text + "\n",
            Err(error) => return fail(EXIT_USAGE, error),
        }
    } else {
        describe_report(&report)
    };
    match write_stdout(output.as_bytes()) {
        code if code != ExitCode::SUCCESS => code,
        _ if report.status == Status::Valid => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_NO),
    }
}

/// The report as lines a person reads in a terminal.
fn describe_report(report: &Report) -> String {
    let mut text = format!("status: {}\n", report.status.as_str());
    if let Some(version) = report.version {
        text.push_str(&format!("version: {version}\n"));
    }
    match (&report.recipient.address, report.recipient.form) {
        (Some(address), Some(form)) => {
            text.push_str(&format!("recipient: {address} ({})\n", form.as_str()))
        }
        _ => text.push_str("recipient: not matched\n"),
    }
    for check in &report.checks {
        let mark = match check.outcome {
            Outcome::Passed => "ok  ",
            Outcome::Failed => "FAIL",
            Outcome::Warning => "warn",
            Outcome::Skipped => "skip",
        };
        text.push_str(&format!("{mark} {:<20} {}\n", check.check, check.message));
    }
    text
}

/// `satchel issuer-client ...`: the issuer clients allowed to push badges.
#[derive(Debug, clap::Subcommand)]
pub enum IssuerClientAction {
    /// Register a client; prints its id and secret (the secret is shown only this once).
    Create {
        /// What the client is called, e.g. the issuer's name.
        #[arg(long)]
        name: String,
        /// An origin (https://issuer.example) the client's badges and issuer live on;
        /// repeat for several.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
    },
    /// List every client: id, state, name and origins.
    List,
    /// Revoke a client: its access tokens stop working at once.
    Revoke {
        /// The client id.
        id: String,
    },
}

/// Runs an `issuer-client` subcommand against the configured database.
pub fn issuer_client_command(
    settings: &crate::config::Settings,
    action: IssuerClientAction,
) -> anyhow::Result<ExitCode> {
    use crate::push::clients::{self, ClientError};
    let db = crate::startup::open_database(settings)?;
    let mut conn = db.get()?;
    match action {
        IssuerClientAction::Create { name, origins } => {
            let created = match clients::create(&mut conn, &name, &origins) {
                Ok(created) => created,
                Err(ClientError::Database(error)) => return Err(error.into()),
                Err(error) => return Ok(fail(EXIT_USAGE, error)),
            };
            let text = format!(
                "client_id: {}\nclient_secret: {}\norigins: {}\n\
                 Keep the secret now: Satchel stores only its hash and cannot show it again.\n",
                created.client.id,
                created.secret,
                created.client.origin_list().join(" "),
            );
            Ok(write_stdout(text.as_bytes()))
        }
        IssuerClientAction::List => {
            let mut text = String::new();
            for client in clients::list(&mut conn)? {
                let state = if client.is_active() {
                    "active"
                } else {
                    "revoked"
                };
                text.push_str(&format!(
                    "{}\t{state}\t{}\t{}\n",
                    client.id,
                    client.name,
                    client.origin_list().join(" ")
                ));
            }
            Ok(write_stdout(text.as_bytes()))
        }
        IssuerClientAction::Revoke { id } => {
            if clients::revoke(&mut conn, &id)? {
                Ok(write_stdout(format!("revoked {id}\n").as_bytes()))
            } else {
                Ok(fail(EXIT_NO, format!("no active issuer client {id}")))
            }
        }
    }
}
