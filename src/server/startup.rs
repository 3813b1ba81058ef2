//! `Application`: binds the listener, opens the store, assembles the router, and
//! serves until told to stop. Tests build it on port 0 with a fresh database.

use crate::app::{App, shell};
use crate::server::assets::{Assets, REVALIDATE};
use crate::server::auth::origin::{AllowedOrigin, require_same_origin};
use crate::server::auth::rate_limit::RateLimits;
use crate::server::auth::session_store::DbSessionStore;
use crate::server::broker::exchange::http as exchange_http;
use crate::server::broker::exchange::{Exchange, KeyPolicy, MOUNT};
use crate::server::broker::market_data::{AssetCache, TradeCache};
use crate::server::config::Settings;
use crate::server::crypto::Secrets;
use crate::server::db::Store;
use crate::server::engine::{Engine, instance_name, worker as engine_worker};
use crate::server::routes::{alpaca_oauth, exports, health};
use crate::server::state::AppState;
use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::http::{
    Extensions, HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Version, header,
};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The name cargo-leptos gives the WASM/JS/CSS bundle (`output-name` in Cargo.toml).
const OUTPUT_NAME: &str = "dripfeed";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Application {
    listener: TcpListener,
    /// `GET /metrics`, when `DRIPFEED_METRICS_LISTEN` is set.
    metrics: Option<TcpListener>,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the configured database, applies migrations, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let url = settings.database_url();
        let store = Store::connect(&url, settings.db_max_connections).await?;
        store.migrate().await?;
        Self::build_with_store(settings, store).await
    }

    /// Like [`Application::build`] with a store the caller has already opened.
    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let local = listener.local_addr()?;
        let assets = Assets::load(&settings.site_root, OUTPUT_NAME)?;
        let leptos_options = LeptosOptions::builder()
            // The hashed name, so <HydrationScripts/> links the current bundle.
            .output_name(assets.bundle.as_str())
            .site_root(settings.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(local)
            .env(leptos::config::Env::PROD)
            .build();
        // Without a configured public URL, the site is wherever we are listening.
        let public = settings
            .public_url
            .clone()
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|| format!("http://{local}"));
        let state = app_state(
            settings,
            store,
            leptos_options,
            public,
            loopback(local),
            true,
        )?;
        let router = router(state.clone(), assets);
        let metrics = match state.settings.metrics_listen {
            Some(addr) => {
                crate::server::metrics::handle();
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the metrics listener {addr}"))?,
                )
            }
            None => None,
        };
        Ok(Self {
            listener,
            metrics,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|e| unreachable!("a bound listener has an address: {e}"))
    }

    /// Where `GET /metrics` is served, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish and
    /// closes the database pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics,
            router,
            state,
        } = self;
        let header_timeout = Duration::from_secs(state.settings.header_timeout_secs);
        let housekeeping = tokio::spawn(housekeeping(state.clone()));
        let flusher = tokio::spawn(crate::server::ops::stats::flusher(state.clone()));
        let metrics = metrics.map(|l| {
            let app = crate::server::metrics::router(state.clone());
            tokio::spawn(crate::server::serve::serve(
                l,
                app,
                header_timeout,
                std::future::pending(),
            ))
        });
        let engine = if state.settings.engine {
            Some(start_engine(&state).await?)
        } else {
            None
        };
        crate::server::serve::serve(listener, router, header_timeout, shutdown).await;
        housekeeping.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        if let Some(engine) = engine {
            engine.stop().await;
        }
        flusher.abort();
        crate::server::ops::stats::flush_logged(&state).await;
        state.store.close().await;
        Ok(())
    }
}

/// Where this machine reaches a listener bound to `addr` (a wildcard
/// address is reached on 127.0.0.1).
pub fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Builds the state handlers and the engine share. `embedded_books`: keep the
/// embedded exchange's books in the data folder (the web process); a worker
/// keeps none and reaches the demo exchange over HTTP.
pub fn app_state(
    settings: Settings,
    store: Store,
    leptos_options: LeptosOptions,
    public: String,
    loopback: SocketAddr,
    embedded_books: bool,
) -> anyhow::Result<AppState> {
    let secrets = Secrets::load(settings.secret_key.as_ref(), &settings.data_dir)
        .context("loading the application encryption key")?;
    let books = embedded_books.then(|| settings.data_dir.join("paper-exchange.json"));
    let exchange = Exchange::open(books, KeyPolicy::Known)?;
    if let Some(at) = settings.exchange_clock {
        exchange.set_clock(at, settings.exchange_speed);
    } else if settings.exchange_speed != 1 {
        exchange.set_clock(chrono::Utc::now(), settings.exchange_speed);
    }
    let exchange_url = match settings.demo_exchange_url.clone() {
        Some(url) => url,
        None => url::Url::parse(&format!("http://{loopback}{MOUNT}"))
            .context("the embedded exchange's URL")?,
    };
    let public_url = match settings.public_url.clone() {
        Some(u) => u,
        None => url::Url::parse(&format!("http://{loopback}"))
            .context("the public URL from the bound address")?,
    };
    let ops = Arc::new(crate::server::ops::stats::OpsStats::default());
    let mailer = crate::server::mail::Mailer::from_settings(&settings, ops.clone())?;
    let broker_http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("dripfeed/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the broker HTTP client")?;
    let billing =
        crate::server::billing::client::StripeClient::from_settings(&settings)?.map(Arc::new);
    let chart_src = Assets::load(&settings.site_root, OUTPUT_NAME)?
        .chart_src("pkg")
        .into();
    let api_per_minute = settings.api_requests_per_minute;
    let state = AppState {
        leptos_options,
        chart_src,
        store,
        settings: Arc::new(settings),
        allowed_origin: AllowedOrigin(public.into()),
        secrets: Arc::new(secrets),
        limits: Arc::new(RateLimits::default()),
        token_limits: Arc::new(crate::server::auth::rate_limit::TokenLimits::per_minute(
            api_per_minute,
        )),
        public_url,
        exchange,
        exchange_url,
        broker_http,
        trade_cache: Arc::new(TradeCache::default()),
        asset_cache: Arc::new(AssetCache::default()),
        clock_cache: Arc::default(),
        snapshots: Arc::default(),
        live: Arc::default(),
        mailer: Arc::new(mailer),
        ops,
        alert_memory: Arc::default(),
        billing,
    };
    Ok(state)
}

/// How long a stopping engine waits for the pass under way (well inside
/// systemd's default 90 s stop timeout).
pub const DRAIN: Duration = Duration::from_secs(30);

/// The engine running in this process.
pub struct RunningEngine {
    owner: String,
    task: tokio::task::JoinHandle<()>,
    store: Store,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RunningEngine {
    /// Drains the engine, then gives its lease up: the pass under way
    /// finishes (its orders sent and recorded) and no new one starts. A pass
    /// still running after [`DRAIN`] is cut short; that is safe too (its
    /// claims lapse and reconciliation resolves what was sent).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        // A task that already ended (perhaps awaited by the caller) is not
        // polled again.
        if !self.task.is_finished() && tokio::time::timeout(DRAIN, &mut self.task).await.is_err() {
            tracing::warn!(
                "the engine pass did not finish within {}s; stopping it, reconciliation resolves the rest",
                DRAIN.as_secs()
            );
            self.task.abort();
        }
        if let Err(e) = self.store.release_engine_lease(&self.owner).await {
            tracing::warn!(error.cause_chain = ?e, "could not release the engine lease");
        }
    }

    pub fn task(&mut self) -> &mut tokio::task::JoinHandle<()> {
        &mut self.task
    }
}

/// Starts the scheduling engine in this process. SQLite supports one engine
/// per database: a lease left by a crashed engine lapses within ENGINE_LEASE
/// (at once if it had this instance's name); one still renewed after that
/// belongs to a live engine, and this one refuses.
pub async fn start_engine(state: &AppState) -> anyhow::Result<RunningEngine> {
    let engine = Engine::new(state.clone(), instance_name(&state.settings));
    let deadline = tokio::time::Instant::now()
        + (crate::server::engine::ENGINE_LEASE + chrono::Duration::seconds(5))
            .to_std()
            .unwrap_or(Duration::from_secs(35));
    while !engine.hold_lease().await? {
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "another Dripfeed engine is running on this SQLite database; stop it, or start this server with --no-engine"
            );
        }
        tracing::info!("waiting for the previous engine's lease on this SQLite database to lapse");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    engine.take_back_claims().await?;
    crate::server::billing::note_settings(state).await?;
    let every = Duration::from_secs(state.settings.engine_interval_secs);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    Ok(RunningEngine {
        owner: engine.owner().to_owned(),
        store: state.store.clone(),
        task: tokio::spawn(engine_worker(engine, every, stopped)),
        stop,
    })
}

/// The app's route list, generated once per process. Generating it sets a
/// process-wide flag in leptos_server that makes any `Resource` first polled
/// meanwhile wait forever (leptos-rs/leptos#4773), so it must never run while
/// another `Application` in the same process (as in the test suite) is
/// rendering pages.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn router(state: AppState, assets: Arc<Assets>) -> Router {
    let routes = route_list();
    let request_id = HeaderName::from_static("x-request-id");
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // The path only: query strings can carry OAuth codes and tokens.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        // A default policy for every response; rendered pages replace it with a
        // nonce-based script policy (server::csp).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ));

    let settings = &state.settings;
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name("dripfeed_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.public_url().scheme() == "https")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            i64::try_from(settings.session_idle_minutes).unwrap_or(i64::MAX / 60),
        )))
        // Saved when changed; `keep_alive` changes a signed-in session at
        // most once a minute, which keeps "last seen" and the idle expiry
        // current without a database write per request.
        .with_always_save(false);

    let exchange_sessions = sessions.clone();
    let css: Arc<str> = assets.css_href("pkg").into();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(alpaca_oauth::START, get(alpaca_oauth::start))
        .route(alpaca_oauth::CALLBACK, get(alpaca_oauth::callback))
        .route("/plans/{id}/runs.csv", get(exports::plan_runs_csv))
        .route("/admin/audit.csv", get(exports::audit_csv))
        .route("/events", get(crate::server::routes::live::events))
        .route("/backtest/report.json", get(exports::backtest_json))
        .route("/backtest/report.html", get(exports::backtest_html))
        .route("/backtest/export/{file}", get(exports::backtest_csv))
        .route(
            "/backtest/strategy/report.json",
            get(exports::strategy_json),
        )
        .route(
            "/backtest/strategy/export/{file}",
            get(exports::strategy_csv),
        )
        .route(
            crate::server::auth::email_confirmation::CONFIRM_PATH,
            get(crate::server::auth::email_confirmation::confirm),
        )
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            let css = css.clone();
            move || shell(options.clone(), css.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>({
            let css = css.clone();
            move |options| shell(options, css.clone())
        }))
        // Pages, forms and server functions carry small bodies.
        .layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(axum::middleware::from_fn(
            crate::server::auth::session_store::keep_alive,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            state.allowed_origin.clone(),
            require_same_origin,
        ))
        // The REST API is for programs: a bearer token authenticates each
        // request; no session cookie is read and no same-origin rule applies.
        .merge(crate::server::routes::v1::router(&state))
        // Stripe posts from its own servers: no session, no same-origin rule;
        // the signature is the authentication.
        .route(
            crate::server::billing::webhook::PATH,
            axum::routing::post(crate::server::billing::webhook::receive).layer(
                axum::extract::DefaultBodyLimit::max(crate::server::billing::webhook::MAX_BODY),
            ),
        )
        // The WASM/JS/CSS bundle is served outside the session layer, so a
        // signed-in page load does not rewrite the session row once per asset.
        // Precompressed brotli or gzip by Accept-Encoding; fingerprinted
        // files are kept for a year (server::assets).
        .route_service(
            &leptos_axum::site_pkg_dir_service_route_path(&state.leptos_options),
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    assets,
                    crate::server::assets::cache_control,
                ))
                .service(leptos_axum::site_pkg_dir_service(&state.leptos_options)),
        )
        // Pages and everything else Dripfeed answers are asked for afresh.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            REVALIDATE,
        ))
        .layer(compression())
        // The embedded exchange is an API for programs: no same-origin rule.
        // Its simulated consent page stands in for the signed-in user's own
        // consent, so it needs that user's session, and it sends the code
        // only to this app's callback.
        .nest_service(
            MOUNT,
            exchange_http::router(
                state.exchange.clone(),
                exchange_http::Extras {
                    oauth_fake: state.settings.alpaca_oauth_client_id.is_none().then(|| {
                        exchange_http::ConsentPolicy {
                            redirect_uri: Some(alpaca_oauth::redirect_uri(&state)),
                        }
                    }),
                    control: state
                        .settings
                        .exchange_control
                        .then(|| state.settings.exchange_control_token.clone())
                        .flatten()
                        .map(|t| exchange_http::ControlAccess::Token(Arc::new(t))),
                },
            )
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                alpaca_oauth::simulated_consent_needs_sign_in,
            ))
            .layer(exchange_sessions),
        )
        .layer(axum::middleware::from_fn(
            crate::server::metrics::track_http,
        ))
        .layer(middleware)
        .with_state(state)
}

/// Compresses pages (and any bundle file without a precompressed copy) for
/// clients that accept brotli or gzip. Server-function answers (JSON) stay
/// uncompressed: they can carry secrets next to text the request chose, which
/// compression would let an eavesdropper guess at (BREACH).
fn compression() -> CompressionLayer<impl Predicate> {
    let compressible = |_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions| {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                [
                    "text/html",
                    "text/css",
                    "text/javascript",
                    "application/javascript",
                    "application/wasm",
                    "image/svg+xml",
                ]
                .iter()
                .any(|c| t.starts_with(c))
            })
    };
    CompressionLayer::new()
        // Pages are made per request: a fast level keeps the first byte early.
        .quality(CompressionLevel::Precise(4))
        .compress_when(SizeAbove::new(256).and(compressible))
}

/// The largest request body a page, form or server function takes (a plan
/// with the most symbols allowed is a few kilobytes).
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// Periodic clean-up while the server runs: SQLite's WAL is checkpointed
/// and idle rate-limit keys are forgotten every five minutes, expired
/// sessions are deleted every half hour (first at start-up + 5 minutes).
async fn housekeeping(state: AppState) {
    let (store, limits) = (state.store.clone(), state.limits.clone());
    // The first round comes one period after start-up, not during it.
    let period = Duration::from_secs(5 * 60);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    for round in 0u64.. {
        every.tick().await;
        limits.prune();
        state.token_limits.prune();
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error.cause_chain = ?e, "could not checkpoint the database");
        }
        if round % 6 != 0 {
            continue;
        }
        match store.purge_expired_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed expired sessions"),
            Err(e) => tracing::warn!(error.cause_chain = ?e, "could not remove expired sessions"),
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}
