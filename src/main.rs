//! The `satchel` binary: reads the configuration, sets up logging, and runs a subcommand
//! (`serve` by default).

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use satchel::config::Settings;
use satchel::startup::{default_mailer, open_database, Application};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("satchel: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    satchel::telemetry::init(settings.log_json);

    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => open_database(&settings).map(|_| ()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "satchel stopped with an error");
            eprintln!("satchel: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[actix_web::main]
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let mailer = default_mailer(&settings, Arc::new(Templates::load()?))?;
    let bind = settings.bind;
    let app = Application::build(settings, mailer).await?;
    tracing::info!(address = %bind, port = app.port(), "Satchel is listening");
    app.run_until_stopped().await?;
    Ok(())
}
