//! The command line: `dripfeed [serve]`, `worker`, `engine tick`, `migrate`,
//! `admin …`, `exchange`, `stripe-fake` and `backtest`.

use crate::server::config::Settings;
use crate::server::db::{self, Store};
use crate::server::startup::{Application, shutdown_signal};
use crate::server::telemetry;
use anyhow::Context;
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
    Serve {
        /// Do not run the scheduling engine in this process.
        #[arg(long)]
        no_engine: bool,
    },
    /// Run only the scheduling engine (no web server), beside `serve
    /// --no-engine` processes. Demo accounts are reached at
    /// DRIPFEED_DEMO_EXCHANGE_URL, or else at the web process on
    /// DRIPFEED_LISTEN of this machine.
    Worker,
    /// The scheduling engine.
    #[command(subcommand)]
    Engine(EngineCommand),
    /// Write a consistent copy of the SQLite database to FILE while the app
    /// runs (never over an existing file). PostgreSQL: use pg_dump (README).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Apply database migrations, then exit.
    Migrate,
    /// Administration: users, the audit log, the encryption key.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Run the embedded Alpaca-compatible paper exchange on its own (Trading
    /// API v2 and Market Data v2 on one listener), for development and tests.
    Exchange(ExchangeArgs),
    /// Run the Stripe fake (tests, end-to-end runs, offline billing demos): the
    /// Stripe API calls Dripfeed makes, hosted Checkout and Portal pages, and
    /// POST /_control/<action> to move subscriptions; events are signed and
    /// posted to --webhook-url. No real payment is ever made.
    StripeFake(StripeFakeArgs),
    /// Backtest a strategy over daily bars from a CSV file: metrics as a
    /// table, or --json for metrics, trades and the equity curve.
    Backtest(Box<crate::server::backtest::cli::Args>),
}

#[derive(Debug, clap::Args)]
struct StripeFakeArgs {
    #[arg(long, default_value = "127.0.0.1:12111")]
    listen: std::net::SocketAddr,
    /// The secret key callers must present.
    #[arg(long, default_value = "sk_test_dripfeed_fake")]
    api_key: String,
    /// Where to post events, e.g. http://127.0.0.1:3000/webhooks/stripe.
    #[arg(long)]
    webhook_url: Option<url::Url>,
    /// The webhook endpoint's signing secret.
    #[arg(long, default_value = "whsec_dripfeed_fake")]
    webhook_secret: String,
    /// A price that exists (repeatable).
    #[arg(long = "price", value_name = "PRICE_ID")]
    prices: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct ExchangeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
    /// Keep the books in this JSON file (default: in memory only).
    #[arg(long, value_name = "FILE")]
    books: Option<PathBuf>,
    /// Refuse unknown API keys instead of opening a funded account for each
    /// key pair seen for the first time.
    #[arg(long)]
    known_keys_only: bool,
    /// Open a funded account for KEY_ID:SECRET at start (repeatable).
    #[arg(long = "account", value_name = "KEY_ID:SECRET")]
    accounts: Vec<String>,
    /// Start the exchange's clock at this instant (RFC 3339), e.g. during a session.
    #[arg(long, value_name = "TIME")]
    clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Simulated seconds per real second (0 stops the clock).
    #[arg(long, default_value_t = 1)]
    speed: i32,
    /// Serve POST /_control/clock and /_control/latency so a script can move
    /// the clock and slow the exchange.
    #[arg(long)]
    control: bool,
    /// Delay every request by this many milliseconds (a distant broker).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    latency_ms: u64,
}

#[derive(Debug, Subcommand)]
enum EngineCommand {
    /// Run exactly one engine pass as if at TIME (RFC 3339), with the demo
    /// exchange's clock set to it too, then exit. Stop the server first: this
    /// process opens the same database and demo exchange books.
    Tick {
        #[arg(long, value_name = "TIME")]
        at: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user. The password is read from standard input when it is not a
    /// terminal, otherwise prompted for (twice, without echo).
    CreateUser {
        #[arg(long)]
        email: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List every user.
    ListUsers,
    /// Disable a user: they cannot sign in and their sessions end.
    DisableUser {
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled user.
    EnableUser {
        #[arg(long)]
        email: String,
    },
    /// Check the audit log's hash chain; exits non-zero if it was tampered with.
    VerifyAudit,
    /// Put a new application encryption key first and re-encrypt every stored
    /// secret under it. Servers keep running: they re-read the key file.
    RotateKey,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A backtest is a computation for a person or a script: no configuration,
    // no log lines on stdout (which carries its table or JSON), errors on stderr.
    if let Some(Command::Backtest(args)) = &cli.command {
        return match crate::server::backtest::cli::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dripfeed backtest: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
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
        match cli.command.unwrap_or(Command::Serve { no_engine: false }) {
            Command::Serve { no_engine } => {
                let mut settings = settings;
                if no_engine {
                    settings.engine = false;
                }
                serve(settings).await
            }
            Command::Worker => worker(settings).await,
            Command::Engine(EngineCommand::Tick { at }) => engine_tick(settings, at).await,
            Command::Migrate => migrate(settings).await,
            Command::Backup { to } => backup(settings, to).await,
            Command::Admin(command) => admin(settings, command).await,
            Command::Exchange(args) => exchange(args).await,
            Command::StripeFake(args) => stripe_fake(args).await,
            Command::Backtest(_) => unreachable!("handled before start-up"),
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

async fn worker(settings: Settings) -> anyhow::Result<()> {
    use crate::server::startup::{app_state, loopback, start_engine};
    let database = db::redact(settings.database_url().expose_secret());
    let store = Store::connect(&settings.database_url(), settings.db_max_connections).await?;
    store.migrate().await?;
    let loopback = loopback(settings.listen);
    let public = format!("http://{loopback}");
    let options = leptos::config::LeptosOptions::builder()
        .output_name("dripfeed")
        .site_addr(loopback)
        .build();
    let state = app_state(settings, store, options, public, loopback, false)?;
    let mut engine = start_engine(&state).await?;
    let flusher = tokio::spawn(crate::server::ops::stats::flusher(state.clone()));
    tracing::info!(
        %database,
        backend = ?state.store.backend(),
        demo_exchange = %state.exchange_url,
        "the Dripfeed engine is running (no web server in this process)"
    );
    tokio::select! {
        _ = shutdown_signal() => {}
        ended = engine.task() => {
            if let Err(e) = ended {
                anyhow::bail!("the engine stopped: {e}");
            }
        }
    }
    engine.stop().await;
    flusher.abort();
    crate::server::ops::stats::flush_logged(&state).await;
    state.store.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn engine_tick(
    mut settings: Settings,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use crate::server::engine::{Engine, instance_name};
    let owner = instance_name(&settings);
    // Serve (without an engine) on a free port, so demo connections reach
    // this process's exchange, whose clock stands at `at`.
    settings.listen = "127.0.0.1:0".parse()?;
    settings.engine = false;
    settings.exchange_clock = Some(at);
    settings.exchange_speed = 0;
    let app = Application::build(settings).await?;
    let engine = Engine::new(app.state().clone(), owner);
    if !engine.hold_lease().await? {
        anyhow::bail!("a Dripfeed engine is running on this database; stop the server first");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let report = engine.tick(at).await;
    let released = engine
        .state()
        .store
        .release_engine_lease(engine.owner())
        .await;
    let _ = stop.send(());
    server.await??;
    released?;
    let r = report?;
    println!(
        "engine pass at {at}: {} slot(s) written ({} missed), {} claimed, {} finished",
        r.materialised, r.missed, r.claimed, r.finished
    );
    Ok(())
}

async fn stripe_fake(args: StripeFakeArgs) -> anyhow::Result<()> {
    use crate::server::billing::fake::{FakeConfig, StripeFake};
    let fake = StripeFake::start(
        FakeConfig {
            api_key: args.api_key,
            webhook_url: args.webhook_url,
            webhook_secret: args.webhook_secret,
            prices: args.prices,
            trial_days: None,
        },
        args.listen,
    )
    .await
    .with_context(|| format!("starting the Stripe fake on {}", args.listen))?;
    tracing::info!(address = %fake.url(), "the Stripe fake is serving (no real payments)");
    shutdown_signal().await;
    Ok(())
}

async fn exchange(args: ExchangeArgs) -> anyhow::Result<()> {
    use crate::server::broker::exchange::{Exchange, KeyPolicy, http};
    let policy = if args.known_keys_only {
        KeyPolicy::Known
    } else {
        KeyPolicy::OpenOnFirstUse
    };
    let exchange = Exchange::open(args.books, policy)?;
    if let Some(at) = args.clock {
        exchange.set_clock(at, args.speed);
    } else if args.speed != 1 {
        exchange.set_clock(chrono::Utc::now(), args.speed);
    }
    for pair in &args.accounts {
        let (key, secret) = pair
            .split_once(':')
            .filter(|(k, s)| !k.is_empty() && !s.is_empty())
            .ok_or_else(|| anyhow::anyhow!("--account takes KEY_ID:SECRET"))?;
        let open = exchange.read(|l| l.by_key(key, secret).is_some());
        if !open {
            exchange.open_account(key, secret)?;
        }
    }
    exchange.faults().latency = std::time::Duration::from_millis(args.latency_ms);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        clock = %exchange.now(),
        "the paper exchange is serving (simulated prices, no real money)"
    );
    let extras = http::Extras {
        oauth_fake: Some(http::ConsentPolicy::default()),
        control: args.control.then_some(http::ControlAccess::Open),
    };
    axum::serve(listener, http::router(exchange, extras))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the paper exchange")?;
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

async fn backup(settings: Settings, to: PathBuf) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database_url(), 1).await?;
    let done = store.backup_to(&to).await;
    store.close().await;
    done?;
    let bytes = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
    println!("backed up to {} ({bytes} bytes)", to.display());
    println!(
        "Broker credentials and the other secrets in it are sealed with the application key \
         (DRIPFEED_SECRET_KEY, or {}): keep a copy of that key, apart from this file. \
         Without it the backup's connections cannot be opened.",
        settings
            .data_dir
            .join(crate::server::crypto::KEY_FILE)
            .display()
    );
    Ok(())
}

fn read_new_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat the password: ")?;
    anyhow::ensure!(first == second, "the two passwords differ");
    Ok(first)
}

async fn user_id_by_email(store: &Store, email: &str) -> anyhow::Result<i64> {
    let normalized = crate::server::auth::normalize_email(email).map_err(anyhow::Error::msg)?;
    store
        .user_by_email(&normalized)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("no user has the email {email}"))
}

/// Command-line failures print the user-facing message, never internals.
fn cli_error(e: crate::error::AppError) -> anyhow::Error {
    match e {
        crate::error::AppError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn admin(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    use crate::server::admin as use_case;
    use crate::server::auth::ClientInfo;

    let store = Store::connect(&settings.database_url(), 2).await?;
    store.migrate().await?;
    let cli = ClientInfo {
        ip: None,
        user_agent: Some("dripfeed admin (command line)".into()),
    };
    let result = match command {
        AdminCommand::CreateUser { email, admin } => {
            let password = read_new_password()?;
            let id = use_case::create_user(&store, &cli, None, &email, password, admin)
                .await
                .map_err(cli_error)?;
            println!(
                "created {} {email} (id {id}); Terms of Service version {} recorded as accepted",
                if admin { "admin" } else { "user" },
                crate::domain::legal::TERMS_VERSION
            );
            Ok(())
        }
        AdminCommand::ListUsers => {
            for u in store.list_users().await? {
                let state = if u.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                let tfa = if u.totp_enabled_at.is_some() {
                    "2fa"
                } else {
                    "-"
                };
                println!(
                    "{:>6}  {:<40} {:<6} {:<9} {}",
                    u.id, u.email, u.role, state, tfa
                );
            }
            Ok(())
        }
        AdminCommand::DisableUser { email } => {
            let id = user_id_by_email(&store, &email).await?;
            use_case::set_disabled(&store, &cli, None, id, true)
                .await
                .map_err(cli_error)?;
            println!("disabled {email}; their sessions have ended");
            Ok(())
        }
        AdminCommand::EnableUser { email } => {
            let id = user_id_by_email(&store, &email).await?;
            use_case::set_disabled(&store, &cli, None, id, false)
                .await
                .map_err(cli_error)?;
            println!("enabled {email}");
            Ok(())
        }
        AdminCommand::VerifyAudit => {
            let report = store.verify_audit_chain().await?;
            match report.first_broken {
                None => {
                    println!("audit log intact: {} entries", report.entries);
                    Ok(())
                }
                Some((id, why)) => Err(anyhow::anyhow!(
                    "AUDIT LOG TAMPERED: entry {id} {why} ({} entries checked)",
                    report.entries
                )),
            }
        }
        AdminCommand::RotateKey => rotate_key(&settings, &store).await,
    };
    store.close().await;
    result
}

async fn rotate_key(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    use crate::server::crypto::{KeySource, Secrets};

    let secrets = Secrets::load(settings.secret_key.as_ref(), &settings.data_dir)?;
    match secrets.source() {
        KeySource::File(path) => {
            let next = secrets.ring().with_new_key();
            secrets.replace(next)?;
            println!(
                "new key {} written first in {}",
                secrets.ring().current_id(),
                path.display()
            );
        }
        KeySource::Environment => println!(
            "keys come from DRIPFEED_SECRET_KEY: re-encrypting under its first key {}. \
             (To rotate, put a new key first in DRIPFEED_SECRET_KEY on every instance, keeping the \
             old ones after it, then run this command.)",
            secrets.ring().current_id()
        ),
    }
    let rewritten = crate::server::auth::security::reseal_all(store, &secrets).await?;
    println!(
        "re-encrypted {rewritten} stored secret(s) under key {}",
        secrets.ring().current_id()
    );
    Ok(())
}
