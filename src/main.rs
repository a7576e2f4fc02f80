//! The `satchel` binary: reads the configuration, sets up logging, and runs a subcommand
//! (`serve` by default).

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use satchel::cli;
use satchel::config::Settings;
use satchel::startup::{build_state, default_mailer, open_database, Application};
use satchel::templates::Templates;

/// Satchel, an Open Badges backpack.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run only the revalidation worker (re-checks stored badges when they fall due).
    Worker {
        /// Re-check the badges due now, print a summary and exit.
        #[arg(long)]
        once: bool,
    },
    /// Print the badge payload baked into a PNG or SVG, exactly as stored.
    Unbake {
        /// The image file.
        file: String,
        /// Print {"format","chunk","keyword","payload"} as JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Bake a payload (JSON, URL or compact JWS) into a PNG or SVG image.
    Bake {
        /// The PNG or SVG to bake into.
        image: String,
        /// A file holding the payload.
        payload_file: String,
        /// Where to write the baked image.
        #[arg(short, long)]
        out: std::path::PathBuf,
    },
    /// Verify a badge (file, URL or `-`) and print the report. Exit 0 when valid, 1 when
    /// not, 2 on usage or I/O errors.
    Verify {
        /// A baked PNG/SVG, a JSON or JWS file, an assertion URL, or `-` for stdin.
        input: String,
        /// A confirmed address of the learner; repeat for several.
        #[arg(long = "email")]
        emails: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Fetch URLs starting with PREFIX from REPLACEMENT instead (PREFIX=REPLACEMENT), to
        /// check badges whose issuer is served locally; repeatable.
        #[arg(long = "map", value_name = "PREFIX=REPLACEMENT")]
        maps: Vec<String>,
    },
    /// Manage the issuer clients allowed to push badges (create, list, revoke).
    #[command(subcommand)]
    IssuerClient(cli::IssuerClientAction),
    /// Print the normalized badge read from a file, a URL or `-` (stdin), without verifying.
    Inspect {
        /// A baked PNG/SVG, a JSON or JWS file, an assertion URL, or `-` for stdin.
        input: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Unbake { file, json } => cli::unbake_command(&file, json),
        Command::Bake {
            image,
            payload_file,
            out,
        } => cli::bake_command(&image, &payload_file, &out),
        Command::Inspect { input } => {
            with_settings(|settings| Ok(inspect(&input, settings.fetch_allow_private)))
        }
        Command::Verify {
            input,
            emails,
            json,
            maps,
        } => with_settings(|settings| {
            Ok(verify(
                &input,
                &emails,
                json,
                &maps,
                settings.fetch_limits(),
            ))
        }),
        Command::IssuerClient(action) => {
            with_settings(|settings| cli::issuer_client_command(&settings, action))
        }
        Command::Serve => with_settings(|settings| serve(settings).map(|()| ExitCode::SUCCESS)),
        Command::Worker { once } => with_settings(|settings| worker(settings, once)),
        Command::Migrate => {
            with_settings(|settings| open_database(&settings).map(|_| ExitCode::SUCCESS))
        }
    }
}

/// Reads `.env` and the environment, sets up logging, then runs `command`.
fn with_settings(command: impl FnOnce(Settings) -> anyhow::Result<ExitCode>) -> ExitCode {
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("satchel: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    satchel::telemetry::init(settings.log_json);
    match command(settings) {
        Ok(code) => code,
        Err(error) => {
            let chain = format!("{error:#}");
            tracing::error!(error.cause_chain = %chain, "satchel stopped with an error");
            eprintln!("satchel: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn inspect(input: &str, allow_private: bool) -> ExitCode {
    cli::inspect_command(input, allow_private).await
}

#[tokio::main]
async fn verify(
    input: &str,
    emails: &[String],
    json: bool,
    maps: &[String],
    limits: satchel::fetch::FetchLimits,
) -> ExitCode {
    cli::verify_command(input, emails, json, maps, limits).await
}

#[actix_web::main]
async fn worker(settings: Settings, once: bool) -> anyhow::Result<ExitCode> {
    let mailer = default_mailer(&settings, Arc::new(Templates::load()?))?;
    let state = build_state(settings, mailer).await?;
    if !once {
        satchel::worker::run_forever(state).await;
        return Ok(ExitCode::SUCCESS);
    }
    let done = satchel::worker::Worker::new(state)
        .drain(satchel::db::models::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let changed = done.changed().count();
    let stale = done.settled.iter().filter(|s| s.stale).count();
    println!(
        "checked {} badges: {changed} changed status, {stale} stale",
        done.claimed
    );
    Ok(ExitCode::SUCCESS)
}

#[actix_web::main]
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let mailer = default_mailer(&settings, Arc::new(Templates::load()?))?;
    let bind = settings.bind;
    let app = Application::build(settings, mailer).await?;
    tracing::info!(address = %bind, port = app.port(), "Satchel is listening");
    let state = app.state();
    if state.settings.worker.enabled {
        tokio::spawn(satchel::worker::run_forever(state));
    }
    app.run_until_stopped().await?;
    Ok(())
}
