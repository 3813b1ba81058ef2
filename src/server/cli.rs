//! The command line: `dripfeed [serve]`, `dripfeed migrate`. Later issues add
//! `worker`, `admin …` and `backtest`.

use crate::server::config::Settings;
use crate::server::db::{self, Store};
use crate::server::startup::{Application, shutdown_signal};
use crate::server::telemetry;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "dripfeed",
    version,
    about = "Recurring investing on your own Alpaca account"
)]
struct Cli {
    /// A TOML config file; environment variables override it.
    #[arg(
        long,
        short,
        global = true,
        env = "DRIPFEED_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dripfeed: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings);
    for var in Settings::unknown_env_vars() {
        tracing::warn!(variable = %var, "ignoring an unknown DRIPFEED_ variable (a typo?)");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dripfeed: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(settings).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "dripfeed stopped with an error");
            eprintln!("dripfeed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let database = db::redact(settings.database_url().expose_secret());
    let app = Application::build(settings).await?;
    let public = app.state().settings.public_url();
    tracing::info!(
        address = %app.local_addr(),
        %database,
        backend = ?app.state().store.backend(),
        "Dripfeed is serving on {public}"
    );
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let url = settings.database_url();
    let store = Store::connect(&url, 1).await?;
    store.migrate().await?;
    let status = store.migration_status().await?;
    store.close().await;
    tracing::info!(applied = status.applied, database = %db::redact(url.expose_secret()), "migrations are current");
    println!("migrations are current: {} applied", status.applied);
    Ok(())
}
