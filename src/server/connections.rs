//! Brokerage connections: connecting the demo account, Alpaca paper keys and
//! OAuth grants; disconnecting; and building the [`Broker`] for a connection.
//!
//! Credentials are validated against the broker before anything is saved,
//! sealed with the application key (bound to the owner) and never shown again:
//! the user sees only the last four characters of a key id. Connecting,
//! disconnecting and failed validations are audited (without the secrets).

use crate::error::AppError;
use crate::server::auth::rate_limit::Attempt;
use crate::server::auth::{ClientInfo, CurrentUser, audit};
use crate::server::broker::alpaca::AlpacaBroker;
use crate::server::broker::alpaca::transport::{Credentials, Transport, TransportConfig};
use crate::server::broker::{Broker, BrokerError};
use crate::server::db::StoreError;
use crate::server::db::connections::NewConnection;
use crate::server::db::rows::ConnectionRow;
use crate::server::state::AppState;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

pub const DEMO_LABEL: &str = "Demo paper account";

/// Where a connection's orders go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// The embedded paper exchange.
    Demo,
    /// Alpaca's paper trading host.
    Paper,
    /// Alpaca's live trading host: real money.
    Live,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Demo => "demo",
            Environment::Paper => "paper",
            Environment::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "demo" => Some(Environment::Demo),
            "paper" => Some(Environment::Paper),
            "live" => Some(Environment::Live),
            _ => None,
        }
    }
}

/// The sealed JSON.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    ApiKey { key_id: String, secret: String },
    Oauth { access_token: String },
}

/// The associated data credentials are sealed with: a sealed value copied to
/// another user's row does not open.
pub fn credentials_context(user_id: i64) -> String {
    format!("broker-credentials:user:{user_id}")
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut rng = ChaCha20Rng::from_os_rng();
    (0..len)
        .map(|_| alphabet[(rng.next_u32() as usize) % alphabet.len()] as char)
        .collect()
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn hint(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// The trading and data hosts for an environment.
pub fn endpoints(state: &AppState, env: Environment) -> (url::Url, url::Url) {
    let s = &state.settings;
    match env {
        Environment::Demo => (state.exchange_url.clone(), state.exchange_url.clone()),
        Environment::Paper => (s.alpaca_paper_url.clone(), s.alpaca_data_url.clone()),
        Environment::Live => (s.alpaca_live_url.clone(), s.alpaca_data_url.clone()),
    }
}

fn transport(state: &AppState, env: Environment, credentials: Credentials) -> Transport {
    transport_with(state, env, credentials, None)
}

/// A transport; `max_rate_wait` bounds how long a request waits for the rate
/// limiter (pages: about a second) instead of the transport's default.
fn transport_with(
    state: &AppState,
    env: Environment,
    credentials: Credentials,
    max_rate_wait: Option<Duration>,
) -> Transport {
    let (trading, data) = endpoints(state, env);
    let mut config = TransportConfig::new(trading, data);
    config.timeout = Duration::from_secs(state.settings.alpaca_timeout_secs.max(1));
    if let Some(wait) = max_rate_wait {
        config.max_rate_wait = wait;
    }
    config.stats = Some((state.ops.clone(), env.as_str()));
    Transport::new(state.broker_http.clone(), config, credentials)
}

/// The most a page waits for the rate limiter before it shows what it has.
pub const PAGE_RATE_WAIT: Duration = Duration::from_secs(1);

/// [`broker_for`], for a page someone is waiting on: it never waits on the
/// rate limiter for more than [`PAGE_RATE_WAIT`].
pub fn broker_for_page(
    state: &AppState,
    row: &ConnectionRow,
) -> anyhow::Result<(AlpacaBroker, String)> {
    broker_with(state, row, Some(PAGE_RATE_WAIT))
}

/// A broker for one of the user's connections, and the data host its market
/// data comes from (the cache key).
pub fn broker_for(state: &AppState, row: &ConnectionRow) -> anyhow::Result<(AlpacaBroker, String)> {
    broker_with(state, row, None)
}

/// Where a connection's trade-updates stream is (the trading host's
/// `/stream`, as `ws`/`wss`) and the credentials it authenticates with.
pub fn stream_target(
    state: &AppState,
    row: &ConnectionRow,
) -> anyhow::Result<(url::Url, Credentials)> {
    let env = Environment::parse(&row.environment).ok_or_else(|| {
        anyhow::anyhow!("connection {} has environment {}", row.id, row.environment)
    })?;
    let (mut url, _) = endpoints(state, env);
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("the trading URL cannot be a websocket URL"))?;
    // Under the trading URL's own path (the embedded exchange is mounted at one).
    let path = format!("{}/stream", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok((url, credentials_of(state, row)?))
}

fn credentials_of(state: &AppState, row: &ConnectionRow) -> anyhow::Result<Credentials> {
    let plain = state
        .secrets
        .open(&row.credentials_sealed, &credentials_context(row.user_id))?;
    let stored: Stored = serde_json::from_slice(&plain)?;
    Ok(match stored {
        Stored::ApiKey { key_id, secret } => Credentials::ApiKey {
            key_id,
            secret: SecretString::from(secret),
        },
        Stored::Oauth { access_token } => Credentials::OAuth {
            access_token: SecretString::from(access_token),
        },
    })
}

fn broker_with(
    state: &AppState,
    row: &ConnectionRow,
    max_rate_wait: Option<Duration>,
) -> anyhow::Result<(AlpacaBroker, String)> {
    let env = Environment::parse(&row.environment).ok_or_else(|| {
        anyhow::anyhow!("connection {} has environment {}", row.id, row.environment)
    })?;
    let credentials = credentials_of(state, row)?;
    let t = transport_with(state, env, credentials, max_rate_wait);
    let data_host = t.config().data_url.to_string();
    Ok((AlpacaBroker::new(t), data_host))
}

struct Validated {
    account_number: String,
}

/// Calls `GET /v2/account` with the credentials; turns refusals into messages
/// for the form.
async fn validate(
    state: &AppState,
    env: Environment,
    credentials: Credentials,
    field: &str,
) -> Result<Validated, (AppError, String)> {
    let broker = AlpacaBroker::new(transport(state, env, credentials));
    match broker.account().await {
        Ok(a) => Ok(Validated {
            account_number: a.number,
        }),
        Err(BrokerError::Unauthorized { .. }) => Err((
            AppError::invalid(
                field,
                "Alpaca did not accept this key ID and secret. Check that both are from the same paper account, then try again.",
            ),
            "unauthorized".into(),
        )),
        Err(BrokerError::Api { status: 403, .. }) => Err((
            AppError::invalid(
                field,
                "Alpaca refused access with these credentials (403). Check the key's permissions.",
            ),
            "forbidden".into(),
        )),
        Err(e @ (BrokerError::Timeout | BrokerError::Unreachable(_))) => {
            tracing::warn!(error = %e, "could not reach the broker to validate credentials");
            Err((
                AppError::invalid(
                    "form",
                    "Could not reach Alpaca to check these credentials. Nothing was saved; try again in a minute.",
                ),
                "unreachable".into(),
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "broker refused the credential check");
            Err((
                AppError::invalid(
                    "form",
                    format!("Alpaca could not confirm this account ({e}). Nothing was saved."),
                ),
                "error".into(),
            ))
        }
    }
}

/// Records an event the user did to their own account.
async fn audit_own(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    action: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        action,
        detail,
    )
    .await
}

/// A validated connection about to be sealed and saved.
struct Saving<'a> {
    label: &'a str,
    env: Environment,
    auth_kind: &'a str,
    key_hint: Option<&'a str>,
    stored: Stored,
}

async fn save(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    new: Saving<'_>,
) -> Result<i64, AppError> {
    let Saving {
        label,
        env,
        auth_kind,
        key_hint,
        stored,
    } = new;
    let plain = serde_json::to_vec(&stored).map_err(anyhow::Error::from)?;
    let sealed = state.secrets.seal(&plain, &credentials_context(user.id));
    let id = match state
        .store
        .insert_connection(&NewConnection {
            user_id: user.id,
            label,
            environment: env.as_str(),
            auth_kind,
            key_hint,
            credentials_sealed: &sealed,
        })
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::Conflict(format!(
                "You already have a connection called \u{201c}{label}\u{201d}. Disconnect it first to connect it again."
            )));
        }
        Err(StoreError::Other(e)) => return Err(e.into()),
    };
    audit_own(state, user, client, "broker.connected",
        json!({ "connection_id": id, "environment": env.as_str(), "auth": auth_kind, "key_hint": key_hint }),
    )
    .await?;
    Ok(id)
}

/// Opens a funded account on the embedded exchange and connects it.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn connect_demo(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<i64, AppError> {
    let existing = state.store.connections_of(user.id).await?;
    if existing.iter().any(|c| c.label == DEMO_LABEL) {
        return Err(AppError::Conflict(
            "Your demo paper account is already connected.".into(),
        ));
    }
    let key_id = format!("PK{}", random_text(18, UPPER_ALNUM));
    let secret = random_text(40, ALNUM);
    if state.settings.demo_exchange_url.is_some() {
        // A standalone exchange opens a funded account for a key pair the
        // first time it sees it.
        let credentials = Credentials::ApiKey {
            key_id: key_id.clone(),
            secret: SecretString::from(secret.clone()),
        };
        if let Err((e, _)) = validate(state, Environment::Demo, credentials, "form").await {
            return Err(e);
        }
    } else {
        state.exchange.open_account(&key_id, &secret)?;
    }
    let hint = hint(&key_id);
    let new = Saving {
        label: DEMO_LABEL,
        env: Environment::Demo,
        auth_kind: "api_key",
        key_hint: Some(&hint),
        stored: Stored::ApiKey { key_id, secret },
    };
    save(state, user, client, new).await
}

/// Validates an Alpaca paper key pair with `GET /v2/account`, then saves it.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn connect_paper_keys(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    key_id: &str,
    secret: &SecretString,
) -> Result<i64, AppError> {
    state.limits.check(
        Attempt::BrokerKey,
        client.ip.as_deref(),
        Some(&user.id.to_string()),
    )?;
    let key_id = key_id.trim();
    let secret_text = secret.expose_secret().trim();
    let mut errors = Vec::new();
    if key_id.is_empty() {
        errors.push((
            "key_id",
            "Enter the API key ID from your Alpaca paper dashboard.",
        ));
    } else if key_id.len() > 64 || !key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.push((
            "key_id",
            "An Alpaca key ID is letters and digits only (it usually starts with PK).",
        ));
    }
    if secret_text.is_empty() {
        errors.push((
            "secret",
            "Enter the secret key shown when you created the API key.",
        ));
    } else if secret_text.len() > 128 || secret_text.chars().any(char::is_whitespace) {
        errors.push((
            "secret",
            "That does not look like an Alpaca secret key (no spaces, at most 128 characters).",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(
            errors
                .into_iter()
                .map(|(f, m)| crate::error::FieldError {
                    field: f.into(),
                    message: m.into(),
                })
                .collect(),
        ));
    }
    let credentials = Credentials::ApiKey {
        key_id: key_id.to_owned(),
        secret: SecretString::from(secret_text.to_owned()),
    };
    let hint = hint(key_id);
    if let Err((error, reason)) = validate(state, Environment::Paper, credentials, "key_id").await {
        audit_own(state, user, client, "broker.validation_failed",
            json!({ "environment": "paper", "auth": "api_key", "key_hint": hint, "reason": reason }),
        )
        .await?;
        return Err(error);
    }
    let label = format!("Alpaca paper \u{2026}{hint}");
    let new = Saving {
        label: &label,
        env: Environment::Paper,
        auth_kind: "api_key",
        key_hint: Some(&hint),
        stored: Stored::ApiKey {
            key_id: key_id.to_owned(),
            secret: secret_text.to_owned(),
        },
    };
    save(state, user, client, new).await
}

/// Saves an OAuth access token after checking it works.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn connect_oauth(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    env: Environment,
    access_token: SecretString,
) -> Result<i64, AppError> {
    let credentials = Credentials::OAuth {
        access_token: access_token.clone(),
    };
    let validated = match validate(state, env, credentials, "form").await {
        Ok(v) => v,
        Err((error, reason)) => {
            audit_own(
                state,
                user,
                client,
                "broker.validation_failed",
                json!({ "environment": env.as_str(), "auth": "oauth", "reason": reason }),
            )
            .await?;
            return Err(error);
        }
    };
    let account_hint = hint(&validated.account_number);
    let label = match env {
        Environment::Live => format!("Alpaca live \u{2026}{account_hint}"),
        Environment::Paper => format!("Alpaca paper (OAuth) \u{2026}{account_hint}"),
        Environment::Demo => format!("Demo OAuth account \u{2026}{account_hint}"),
    };
    let new = Saving {
        label: &label,
        env,
        auth_kind: "oauth",
        key_hint: None,
        stored: Stored::Oauth {
            access_token: access_token.expose_secret().to_owned(),
        },
    };
    save(state, user, client, new).await
}

/// Deletes one of the user's connections and its credentials.
const IN_FLIGHT: &str = "A purchase on this account is still being confirmed with Alpaca. Try again in a few minutes, once it has its outcome.";

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn disconnect(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
) -> Result<(), AppError> {
    let Some(row) = state.store.connection_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    // A run still confirming its orders with the broker needs the
    // connection to reach its outcome: refuse until it has.
    if state.store.runs_in_flight_on(id).await? > 0 {
        return Err(AppError::Conflict(IN_FLIGHT.into()));
    }
    // Its plans stop buying; they keep their history and can be restarted
    // on another connection.
    let paused = state.store.pause_plans_on(user.id, id).await?;
    if !state.store.delete_connection(user.id, id).await? {
        // A run started between the check and the delete.
        if state.store.connection_of(user.id, id).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "{IN_FLIGHT} Its plans are paused meanwhile."
            )));
        }
        return Err(AppError::NotFound);
    }
    audit_own(
        state,
        user,
        client,
        "broker.disconnected",
        json!({ "connection_id": id, "environment": row.environment, "auth": row.auth_kind, "plans_paused": paused }),
    )
    .await?;
    Ok(())
}
