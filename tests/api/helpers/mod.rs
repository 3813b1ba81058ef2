//! Everything the feature test files share, so that they hold only tests:
//! `spawn_app()` builds the application on port 0 with a fresh database and
//! serves it on the test's runtime (no sleeps: the listener is bound before
//! `spawn_app` returns); [`TestApp`] has methods for what many tests do first
//! (`auth.rs`: sign up, log in, who am I; `plans.rs`: a user with the demo
//! account, create and list plans, pause / resume / stop).

mod auth;
mod plans;

pub use auth::{PASSWORD, outcome, session_cookie};
pub use plans::weekly;

use dripfeed::server::broker::exchange::{Exchange, KeyPolicy, http as exchange_http};
use dripfeed::server::config::Settings;
use dripfeed::server::db::Store;
use dripfeed::server::startup::Application;
use secrecy::SecretString;
use std::sync::Once;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    /// `http://…` of the `/metrics` listener, when the test asked for one.
    pub metrics_address: Option<String>,
    /// The app's data folder (its key file lives here).
    pub data_dir: std::path::PathBuf,
    /// The database URL, for running the `dripfeed` binary against it.
    pub database_url: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// The app's state, for driving the engine directly.
    pub state: dripfeed::server::state::AppState,
    /// The app's embedded paper exchange (the demo broker).
    pub demo_exchange: Exchange,
    /// A separate Alpaca fake the app's paper, live and data URLs point at:
    /// it knows only the keys a test opens on it.
    pub alpaca: Exchange,
    _database: TestDatabase,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    /// Runs one SQL statement directly on the app's database, as an attacker
    /// with database access (or a test arranging a state) would.
    pub async fn execute_sql(&self, sql: &str) {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .expect("SQL statement");
    }

    /// Runs one SQL statement directly; its error, if the database refuses it.
    pub async fn try_execute_sql(&self, sql: &str) -> Result<(), sqlx::Error> {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
    }

    /// Runs one SQL statement whose only parameter (`$1`) is an instant, bound
    /// the way the app binds instants (so comparisons stay consistent).
    pub async fn execute_sql_at(&self, sql: &str, at: chrono::DateTime<chrono::Utc>) {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query(sql).bind(at).execute(pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::query(sql).bind(at).execute(pool).await.map(|_| ()),
        }
        .expect("SQL statement");
    }

    /// The first column of every row `sql` returns, as text.
    pub async fn text_column(&self, sql: &str) -> Vec<String> {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .expect("SQL query")
    }

    /// The single number `sql` returns (a `COUNT(*)`, say).
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.store {
            Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .expect("SQL query")
    }

    /// Calls a server function the way the browser's form fallback does.
    pub async fn call_server_fn(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.call_server_fn_as(&self.client, path, form).await
    }

    /// Calls a server function whose input is JSON (`#[server(input = Json)]`),
    /// sending `args` (the server function's own struct).
    pub async fn call_json_server_fn_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        args: &impl serde::Serialize,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("accept", "application/json")
            .json(args)
            .send()
            .await
            .expect("request failed")
    }

    /// Calls a server function with another client (another browser).
    pub async fn call_server_fn_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request failed")
    }
}

/// Builds and serves the app on a migrated fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(true).await
}

/// Serves an in-memory exchange on its own port, as a stand-in for Alpaca.
pub async fn spawn_alpaca_fake(policy: KeyPolicy) -> (Exchange, String) {
    let exchange = Exchange::open(None, policy).expect("an in-memory exchange");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Alpaca fake");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let router = exchange_http::router(
        exchange.clone(),
        exchange_http::Extras {
            oauth_fake: Some(exchange_http::ConsentPolicy::default()),
            control: None,
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (exchange, url)
}

/// Builds and serves the app; `migrate: false` leaves the database empty.
pub async fn spawn_app_with(migrate: bool) -> TestApp {
    spawn_app_configured(migrate, |_| {}).await
}

/// Builds and serves the app after `configure` adjusts its settings.
pub async fn spawn_app_configured(migrate: bool, configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    let database = TestDatabase::create().await;
    let (alpaca, alpaca_url) = spawn_alpaca_fake(KeyPolicy::Known).await;
    let mut settings = Settings::defaults();
    let fake: url::Url = alpaca_url.parse().expect("fake URL");
    settings.alpaca_paper_url = fake.clone();
    settings.alpaca_live_url = fake.clone();
    settings.alpaca_data_url = fake;
    settings.alpaca_timeout_secs = 2;
    // Tests drive the engine themselves, one pass at a chosen instant.
    settings.engine = false;
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.data_dir = database.dir.path().to_owned();
    // No built site: what pages link must not depend on whether this machine
    // has run `.ci/site.sh` (tests/api/assets.rs builds its own).
    settings.site_root = database.dir.path().join("site");
    settings.database_url = Some(database.url.clone());
    configure(&mut settings);
    let store = Store::connect(&database.url, 5)
        .await
        .expect("connect to the test database");
    if migrate {
        store.migrate().await.expect("migrate the test database");
    }
    let app = Application::build_with_store(settings, store.clone())
        .await
        .expect("build the application");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let demo_exchange = app.state().exchange.clone();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = browser_like_client(&address);
    TestApp {
        address,
        metrics_address,
        data_dir: database.dir.path().to_owned(),
        database_url: secrecy::ExposeSecret::expose_secret(&database.url).to_owned(),
        client,
        store,
        state,
        demo_exchange,
        alpaca,
        _database: database,
        _stop: stop,
    }
}

/// A client that keeps cookies, does not follow redirects, and sends this
/// site's `Origin` like a browser on one of its pages does.
pub fn browser_like_client(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        address.parse().expect("origin header"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .user_agent("dripfeed-tests/1.0")
        .build()
        .expect("HTTP client")
}

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let mut settings = Settings::defaults();
            settings.log = std::env::var("TEST_LOG").unwrap_or_else(|_| "debug".into());
            dripfeed::server::telemetry::init(&settings);
        }
    });
}

/// A database used by one test and removed afterwards: a SQLite file in a
/// temporary folder, or a PostgreSQL database created from `TEST_DATABASE_URL`.
pub struct TestDatabase {
    pub url: SecretString,
    pub dir: TempDir,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                let name = format!("dripfeed_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = connect_admin(&admin).await;
                sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                Self {
                    url: SecretString::from(url.to_string()),
                    dir,
                    postgres: Some((admin, name)),
                }
            }
            Ok(other) if !other.is_empty() => {
                panic!(
                    "TEST_DATABASE_URL must be a postgres:// URL (or unset for SQLite), got {other:?}"
                )
            }
            _ => {
                let path = dir.path().join("test.db");
                Self {
                    url: SecretString::from(format!("sqlite://{}", path.display())),
                    dir,
                    postgres: None,
                }
            }
        }
    }
}

async fn connect_admin(admin: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_DATABASE_URL: {e}"))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async; use a short-lived runtime on its own thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = connect_admin(&admin).await;
                sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                    .execute(&mut conn)
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}
