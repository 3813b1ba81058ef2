//! `Settings`: code defaults, overridden by an optional TOML file, overridden by
//! environment variables. Every variable is listed in README.md.
//!
//! Secrets (the database URL may carry a password) are `SecretString` and are
//! never printed; `Debug` shows them redacted.

use crate::domain::tier::{TierId, TierTable};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The prefix of Dripfeed's own environment variables.
pub const ENV_PREFIX: &str = "DRIPFEED_";

/// The settings one process runs with.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Address the web server binds. `DRIPFEED_LISTEN`.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// The URL people reach this instance at (links in emails, cookie security,
    /// origin checks). Defaults to `http://<listen>`. `DRIPFEED_PUBLIC_URL`.
    #[serde(default)]
    pub public_url: Option<url::Url>,
    /// Where the embedded database and generated keys live. `DRIPFEED_DATA_DIR`.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`. Defaults to a SQLite file in `data_dir`.
    /// `DATABASE_URL` or `DRIPFEED_DATABASE_URL` (the latter wins).
    #[serde(default)]
    pub database_url: Option<SecretString>,
    /// The application encryption key ring: base64 32-byte keys, comma-separated,
    /// current first. Without it, `<data_dir>/secret.key` is used (and created).
    /// `DRIPFEED_SECRET_KEY`.
    #[serde(default)]
    pub secret_key: Option<SecretString>,
    /// Connection pool size. `DRIPFEED_DB_MAX_CONNECTIONS`.
    #[serde(default = "defaults::db_max_connections")]
    pub db_max_connections: u32,
    /// A tracing filter such as `info,dripfeed=debug`. `DRIPFEED_LOG`, else `RUST_LOG`.
    #[serde(default = "defaults::log")]
    pub log: String,
    /// `text` or `json`. `DRIPFEED_LOG_FORMAT`.
    #[serde(default)]
    pub log_format: LogFormat,
    /// The folder holding the built WASM, JS and CSS (`pkg/`) and public assets.
    /// Set by cargo-leptos as `LEPTOS_SITE_ROOT`.
    #[serde(default = "defaults::site_root")]
    pub site_root: PathBuf,
    /// Stripe's secret API key. With it, Stripe subscriptions decide each
    /// user's tier; without it, billing is off and everyone has
    /// `default_tier`. `DRIPFEED_STRIPE_SECRET_KEY`.
    #[serde(default)]
    pub stripe_secret_key: Option<SecretString>,
    /// Stripe's API host. `DRIPFEED_STRIPE_API_URL`.
    #[serde(default = "defaults::stripe_api_url")]
    pub stripe_api_url: url::Url,
    /// Webhook signing secrets (`whsec_…`), comma-separated: an event signed
    /// with any of them is accepted, so a secret can be rolled without
    /// downtime. `DRIPFEED_STRIPE_WEBHOOK_SECRETS`.
    #[serde(default)]
    pub stripe_webhook_secrets: Option<SecretString>,
    /// The Stripe price (`price_…`) each paid tier sells.
    /// `DRIPFEED_STRIPE_PRICE_BASIC`, `…_PRO`, `…_PREMIUM`.
    #[serde(default)]
    pub stripe_price_basic: Option<String>,
    #[serde(default)]
    pub stripe_price_pro: Option<String>,
    #[serde(default)]
    pub stripe_price_premium: Option<String>,
    /// Days of Pro a new user gets without paying, while billing is on (0:
    /// no trial). `DRIPFEED_TRIAL_DAYS`.
    #[serde(default = "defaults::trial_days")]
    pub trial_days: u32,
    /// Days a subscription whose payment failed (past due) keeps its tier.
    /// `DRIPFEED_PAST_DUE_GRACE_DAYS`.
    #[serde(default = "defaults::past_due_grace_days")]
    pub past_due_grace_days: u32,
    /// The tier every user gets while billing is off. `DRIPFEED_DEFAULT_TIER`.
    #[serde(default = "defaults::default_tier")]
    pub default_tier: TierId,
    /// Sessions end after this many minutes without a request.
    /// `DRIPFEED_SESSION_IDLE_MINUTES`.
    #[serde(default = "defaults::session_idle_minutes")]
    pub session_idle_minutes: u64,
    /// Sessions end this many minutes after sign-in, however active.
    /// `DRIPFEED_SESSION_ABSOLUTE_MINUTES`.
    #[serde(default = "defaults::session_absolute_minutes")]
    pub session_absolute_minutes: u64,
    /// Requests each API token may make per minute (`/api/v1`).
    /// `DRIPFEED_API_REQUESTS_PER_MINUTE`.
    #[serde(default = "defaults::api_requests_per_minute")]
    pub api_requests_per_minute: u32,
    /// Where `GET /metrics` (Prometheus) is served: its own listener, never
    /// the public one. None by default. `DRIPFEED_METRICS_LISTEN`.
    #[serde(default)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Alpaca's paper trading host. `DRIPFEED_ALPACA_PAPER_URL`.
    #[serde(default = "defaults::alpaca_paper_url")]
    pub alpaca_paper_url: url::Url,
    /// Alpaca's live trading host. `DRIPFEED_ALPACA_LIVE_URL`.
    #[serde(default = "defaults::alpaca_live_url")]
    pub alpaca_live_url: url::Url,
    /// Alpaca's market data host. `DRIPFEED_ALPACA_DATA_URL`.
    #[serde(default = "defaults::alpaca_data_url")]
    pub alpaca_data_url: url::Url,
    /// Seconds before a broker request is abandoned. `DRIPFEED_ALPACA_TIMEOUT_SECS`.
    #[serde(default = "defaults::alpaca_timeout_secs")]
    pub alpaca_timeout_secs: u64,
    /// Seconds a client has to send a request's head (its request line and
    /// headers), which is also how long an idle keep-alive connection stays
    /// open; a slower client is disconnected. `DRIPFEED_HEADER_TIMEOUT_SECS`.
    #[serde(default = "defaults::header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Your Alpaca OAuth app's client id. Without it, "Connect with OAuth" runs
    /// against the embedded exchange's simulated consent page.
    /// `DRIPFEED_ALPACA_OAUTH_CLIENT_ID`.
    #[serde(default)]
    pub alpaca_oauth_client_id: Option<String>,
    /// `DRIPFEED_ALPACA_OAUTH_CLIENT_SECRET`.
    #[serde(default)]
    pub alpaca_oauth_client_secret: Option<SecretString>,
    /// `DRIPFEED_ALPACA_OAUTH_AUTHORIZE_URL`.
    #[serde(default = "defaults::alpaca_oauth_authorize_url")]
    pub alpaca_oauth_authorize_url: url::Url,
    /// `DRIPFEED_ALPACA_OAUTH_TOKEN_URL`.
    #[serde(default = "defaults::alpaca_oauth_token_url")]
    pub alpaca_oauth_token_url: url::Url,
    /// Which host OAuth tokens trade on: `live` or `paper`.
    /// `DRIPFEED_ALPACA_OAUTH_ENVIRONMENT`.
    #[serde(default)]
    pub alpaca_oauth_environment: OAuthEnvironment,
    /// Serve `POST /paper-exchange/_control/clock` and `/_control/latency`
    /// to move the embedded exchange's clock and slow it (demos and
    /// end-to-end tests; never in production).
    /// `DRIPFEED_EXCHANGE_CONTROL`.
    #[serde(default)]
    pub exchange_control: bool,
    /// The bearer token `/paper-exchange/_control/…` requires;
    /// required when `exchange_control` is on.
    /// `DRIPFEED_EXCHANGE_CONTROL_TOKEN`.
    #[serde(default)]
    pub exchange_control_token: Option<SecretString>,
    /// Allow clock control on a listen address other than loopback (a demo
    /// on a LAN, say). `DRIPFEED_EXCHANGE_CONTROL_FORCE`.
    #[serde(default)]
    pub exchange_control_force: bool,
    /// SMTP server for notification e-mail, e.g. `smtps://user:pass@host:465`.
    /// Without it, e-mail is written to `<data_dir>/outbox/`. `DRIPFEED_SMTP_URL`.
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    /// Sender of notification e-mail. `DRIPFEED_MAIL_FROM`.
    #[serde(default = "defaults::mail_from")]
    pub mail_from: String,
    /// Whether this process runs the scheduling engine (`serve --no-engine`
    /// turns it off). `DRIPFEED_ENGINE`.
    #[serde(default = "defaults::engine")]
    pub engine: bool,
    /// The most one symbol of a plan may buy per run, in whole dollars.
    /// `DRIPFEED_MAX_AMOUNT_PER_RUN`.
    #[serde(default = "defaults::max_amount_per_run")]
    pub max_amount_per_run: u32,
    /// Seconds between engine passes. `DRIPFEED_ENGINE_INTERVAL_SECS`.
    #[serde(default = "defaults::engine_interval_secs")]
    pub engine_interval_secs: u64,
    /// Broker accounts the engine works on at once (each account's runs due
    /// in the same minute are done in order, by one task).
    /// `DRIPFEED_ENGINE_CONCURRENCY`.
    #[serde(default = "defaults::engine_concurrency")]
    pub engine_concurrency: usize,
    /// This process's name in the engine's claims. Must be unique among live
    /// processes; a restarted process with the same name takes its unfinished
    /// work back at once instead of waiting for its leases to lapse (e.g. a
    /// systemd unit or pod name). Default: host name and process id.
    /// `DRIPFEED_INSTANCE_ID`.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Reverse proxies in front of Dripfeed (comma-separated IP addresses).
    /// Only a request whose peer is one of them has its client address taken
    /// from `X-Forwarded-For` / `Forwarded`; off by default, so a forged
    /// header from anyone else changes nothing. `DRIPFEED_TRUSTED_PROXIES`.
    #[serde(default, deserialize_with = "comma_separated_ips")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Use a standalone `dripfeed exchange` as the demo broker instead of the
    /// one embedded in this process: needed when several instances (or a
    /// separate `dripfeed worker`) share one database. `DRIPFEED_DEMO_EXCHANGE_URL`.
    #[serde(default)]
    pub demo_exchange_url: Option<url::Url>,
    /// Start the embedded exchange's clock at this instant (RFC 3339) instead
    /// of now, e.g. to demo during a session at night. `DRIPFEED_EXCHANGE_CLOCK`.
    #[serde(default)]
    pub exchange_clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Simulated seconds per real second on the embedded exchange (1 = real
    /// time, 0 = stopped). `DRIPFEED_EXCHANGE_SPEED`.
    #[serde(default = "defaults::exchange_speed")]
    pub exchange_speed: i32,
    /// The tier table; only settable from the config file (`[[tiers]]`).
    #[serde(default)]
    pub tiers: TierTable,
    /// When the daily analysis (GO) runs on trading days, New York time
    /// (HH:MM). `DRIPFEED_GO_AT`.
    #[serde(default = "defaults::go_at")]
    pub go_at: String,
    /// When the after-close review (ANALYZE) runs, New York time (HH:MM).
    /// `DRIPFEED_ANALYZE_AT`.
    #[serde(default = "defaults::analyze_at")]
    pub analyze_at: String,
    /// Safety rail: the position after a recommended buy, at most this
    /// percentage of equity. `DRIPFEED_RAIL_MAX_POSITION_PCT`.
    #[serde(default = "defaults::rail_max_position_pct")]
    pub rail_max_position_pct: rust_decimal::Decimal,
    /// Safety rail: open positions after a recommended buy, at most.
    /// `DRIPFEED_RAIL_MAX_OPEN_POSITIONS`.
    #[serde(default = "defaults::rail_max_open_positions")]
    pub rail_max_open_positions: u32,
    /// Safety rail: equity a recommended buy needs, at least, in dollars.
    /// `DRIPFEED_RAIL_MIN_EQUITY`.
    #[serde(default = "defaults::rail_min_equity")]
    pub rail_min_equity: rust_decimal::Decimal,
    /// Safety rail: how far the price may have moved from a recommendation's
    /// reference when it is executed, in percent. `DRIPFEED_RAIL_MAX_DRIFT_PCT`.
    #[serde(default = "defaults::rail_max_drift_pct")]
    pub rail_max_drift_pct: rust_decimal::Decimal,
    /// Days of paper trading on Dripfeed before a live account may execute
    /// recommendations. `DRIPFEED_LIVE_PAPER_DAYS`.
    #[serde(default = "defaults::live_paper_days")]
    pub live_paper_days: u32,
    /// An Anthropic API key turns the AI analyst on: GO then asks the
    /// Messages API for a rationale, risks and a confidence per signal.
    /// `DRIPFEED_ANTHROPIC_API_KEY`.
    #[serde(default)]
    pub anthropic_api_key: Option<SecretString>,
    /// The Messages API's base URL. `DRIPFEED_ANTHROPIC_URL`.
    #[serde(default = "defaults::anthropic_url")]
    pub anthropic_url: url::Url,
    /// The model asked. `DRIPFEED_ANTHROPIC_MODEL`.
    #[serde(default = "defaults::anthropic_model")]
    pub anthropic_model: String,
    /// Calls to the AI analyst per day, at most (answers are cached per
    /// symbol, signal and day, so this bounds cost). `DRIPFEED_AI_DAILY_BUDGET`.
    #[serde(default = "defaults::ai_daily_budget")]
    pub ai_daily_budget: u32,
    /// Seconds the AI analyst may take before GO goes on without it.
    /// `DRIPFEED_AI_TIMEOUT_SECS`.
    #[serde(default = "defaults::ai_timeout_secs")]
    pub ai_timeout_secs: u64,
}

/// Where OAuth-connected accounts trade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthEnvironment {
    #[default]
    Live,
    Paper,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

mod defaults;
mod vars;

use vars::{KNOWN_VARS, describe};

/// Why settings could not be loaded. The message names the variable or file key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

/// A comma-separated list of IP addresses (or a TOML list of them).
fn comma_separated_ips<'de, D>(d: D) -> Result<Vec<std::net::IpAddr>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_owned).collect(),
        Raw::Many(v) => v,
    };
    items
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| D::Error::custom(format!("{p} is not an IP address")))
        })
        .collect()
}

/// A time of day written HH:MM.
pub fn parse_hh_mm(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl Settings {
    /// The instance's safety rails (a user may only tighten them).
    pub fn rails(&self) -> crate::domain::recommendation::rails::Rails {
        crate::domain::recommendation::rails::Rails {
            max_position_pct: self.rail_max_position_pct,
            max_open_positions: self.rail_max_open_positions,
            min_equity: self.rail_min_equity,
            max_drift_pct: self.rail_max_drift_pct,
        }
    }

    /// When GO runs, New York time (validated at load).
    pub fn go_time(&self) -> chrono::NaiveTime {
        parse_hh_mm(&self.go_at).unwrap_or(chrono::NaiveTime::MIN)
    }

    /// When ANALYZE runs, New York time (validated at load).
    pub fn analyze_time(&self) -> chrono::NaiveTime {
        parse_hh_mm(&self.analyze_at).unwrap_or(chrono::NaiveTime::MIN)
    }

    /// Whether "Connect with Alpaca" is the built-in simulation (no real Alpaca
    /// OAuth app is configured).
    pub fn alpaca_oauth_simulated(&self) -> bool {
        self.alpaca_oauth_client_id.is_none()
    }

    /// Loads settings from code defaults, then `file` (if given), then the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment = figment
            .merge(
                Env::raw()
                    .only(&["LEPTOS_SITE_ROOT"])
                    .map(|_| "site_root".into()),
            )
            .merge(Env::raw().only(&["RUST_LOG"]).map(|_| "log".into()))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]));
        Self::extract(figment)
    }

    /// The code defaults alone, with no file or environment.
    pub fn defaults() -> Self {
        Self::extract(Figment::new()).unwrap_or_else(|e| unreachable!("defaults are valid: {e}"))
    }

    fn extract(figment: Figment) -> Result<Self, SettingsError> {
        let settings: Settings = figment
            .extract()
            .map_err(|e| SettingsError::Invalid(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if self.db_max_connections == 0 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_DB_MAX_CONNECTIONS must be at least 1".into(),
            ));
        }
        if self.api_requests_per_minute == 0 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_API_REQUESTS_PER_MINUTE must be at least 1".into(),
            ));
        }
        if self.session_idle_minutes == 0 || self.session_absolute_minutes == 0 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_SESSION_IDLE_MINUTES and DRIPFEED_SESSION_ABSOLUTE_MINUTES must be at least 1"
                    .into(),
            ));
        }
        if let Some(url) = &self.public_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(SettingsError::Invalid(format!(
                "DRIPFEED_PUBLIC_URL must start with http:// or https://, got {url}"
            )));
        }
        if self.alpaca_oauth_client_id.is_some() != self.alpaca_oauth_client_secret.is_some() {
            return Err(SettingsError::Invalid(
                "set both DRIPFEED_ALPACA_OAUTH_CLIENT_ID and DRIPFEED_ALPACA_OAUTH_CLIENT_SECRET, or neither"
                    .into(),
            ));
        }
        for (name, value) in [
            ("DRIPFEED_GO_AT", &self.go_at),
            ("DRIPFEED_ANALYZE_AT", &self.analyze_at),
        ] {
            if parse_hh_mm(value).is_none() {
                return Err(SettingsError::Invalid(format!(
                    "{name} must be a time of day as HH:MM (New York time), got {value:?}"
                )));
            }
        }
        self.rails()
            .check_bounds()
            .map_err(|e| SettingsError::Invalid(format!("safety rails (DRIPFEED_RAIL_*): {e}")))?;
        if self.max_amount_per_run < 1 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_MAX_AMOUNT_PER_RUN must be at least 1".into(),
            ));
        }
        if self.header_timeout_secs == 0 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_HEADER_TIMEOUT_SECS must be at least 1".into(),
            ));
        }
        if self.engine_interval_secs == 0 || self.engine_concurrency == 0 {
            return Err(SettingsError::Invalid(
                "DRIPFEED_ENGINE_INTERVAL_SECS and DRIPFEED_ENGINE_CONCURRENCY must be at least 1"
                    .into(),
            ));
        }
        if let Some(id) = &self.instance_id
            && (id.is_empty()
                || id.len() > 100
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
        {
            return Err(SettingsError::Invalid(
                "DRIPFEED_INSTANCE_ID must be 1 to 100 letters, digits or - _ . :".into(),
            ));
        }
        if let Some(url) = &self.demo_exchange_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(SettingsError::Invalid(format!(
                "DRIPFEED_DEMO_EXCHANGE_URL must start with http:// or https://, got {url}"
            )));
        }
        if self.exchange_control {
            if self.exchange_control_token.is_none() {
                return Err(SettingsError::Invalid(
                    "DRIPFEED_EXCHANGE_CONTROL needs DRIPFEED_EXCHANGE_CONTROL_TOKEN: clock control moves every plan's time, so requests must carry that token"
                        .into(),
                ));
            }
            if !self.listen.ip().is_loopback() && !self.exchange_control_force {
                return Err(SettingsError::Invalid(format!(
                    "DRIPFEED_EXCHANGE_CONTROL is for demos and tests on this machine; {} is reachable from elsewhere (set DRIPFEED_EXCHANGE_CONTROL_FORCE=true to allow it anyway)",
                    self.listen
                )));
            }
        }
        if !(0..=10_000).contains(&self.exchange_speed) {
            return Err(SettingsError::Invalid(
                "DRIPFEED_EXCHANGE_SPEED must be between 0 and 10000".into(),
            ));
        }
        if self.stripe_secret_key.is_some() {
            if self.webhook_secrets().is_empty() {
                return Err(SettingsError::Invalid(
                    "billing is on (DRIPFEED_STRIPE_SECRET_KEY is set): set DRIPFEED_STRIPE_WEBHOOK_SECRETS too, or no subscription would ever be applied"
                        .into(),
                ));
            }
            let missing: Vec<&str> = [
                ("DRIPFEED_STRIPE_PRICE_BASIC", &self.stripe_price_basic),
                ("DRIPFEED_STRIPE_PRICE_PRO", &self.stripe_price_pro),
                ("DRIPFEED_STRIPE_PRICE_PREMIUM", &self.stripe_price_premium),
            ]
            .into_iter()
            .filter(|(_, v)| v.as_deref().is_none_or(|p| p.trim().is_empty()))
            .map(|(k, _)| k)
            .collect();
            if !missing.is_empty() {
                return Err(SettingsError::Invalid(format!(
                    "billing is on (DRIPFEED_STRIPE_SECRET_KEY is set): set {}",
                    missing.join(", ")
                )));
            }
            let loopback = match self.stripe_api_url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            let scheme = self.stripe_api_url.scheme();
            if !(scheme == "https" || (scheme == "http" && loopback)) {
                return Err(SettingsError::Invalid(format!(
                    "DRIPFEED_STRIPE_API_URL must be https:// (plain http only to this machine, for a Stripe fake), got {}",
                    self.stripe_api_url
                )));
            }
        }
        if let Some(db) = &self.database_url {
            crate::server::db::Backend::from_url(db.expose_secret())
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let path = self.data_dir.join("dripfeed.db");
                SecretString::from(format!("sqlite://{}", path.display()))
            }
        }
    }

    /// Whether Stripe decides tiers (a Stripe key is configured).
    pub fn billing_enabled(&self) -> bool {
        self.stripe_secret_key.is_some()
    }

    /// The configured webhook signing secrets, in order.
    pub fn webhook_secrets(&self) -> Vec<String> {
        self.stripe_webhook_secrets
            .as_ref()
            .map(|s| {
                s.expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The Stripe price each paid tier sells.
    pub fn tier_prices(&self) -> Vec<(TierId, String)> {
        [
            (TierId::Basic, &self.stripe_price_basic),
            (TierId::Pro, &self.stripe_price_pro),
            (TierId::Premium, &self.stripe_price_premium),
        ]
        .into_iter()
        .filter_map(|(t, p)| p.as_ref().map(|p| (t, p.trim().to_owned())))
        .collect()
    }

    /// The public URL, defaulting to the listen address.
    pub fn public_url(&self) -> url::Url {
        self.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}", self.listen))
                .unwrap_or_else(|e| unreachable!("a socket address makes a URL: {e}"))
        })
    }

    /// `DRIPFEED_*` variables that are set but mean nothing to Dripfeed: most
    /// likely typos, reported as warnings at start-up.
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .filter_map(|(k, _)| k.strip_prefix(ENV_PREFIX).map(str::to_owned))
            .filter(|k| !KNOWN_VARS.contains(&k.to_ascii_uppercase().as_str()))
            .map(|k| format!("{ENV_PREFIX}{k}"))
            .collect()
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use claims::{assert_err, assert_ok};
    use figment::Jail;

    fn load_err() -> String {
        match Settings::load(None) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn with_nothing_configured_the_app_listens_locally_on_sqlite_under_data() {
        Jail::expect_with(|_| {
            let s = assert_ok!(Settings::load(None));
            assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
            assert_eq!(
                s.database_url().expose_secret(),
                "sqlite://data/dripfeed.db"
            );
            assert_eq!(s.public_url().as_str(), "http://127.0.0.1:3000/");
            assert!(!s.billing_enabled());
            assert_eq!(s.default_tier, TierId::Premium);
            Ok(())
        });
    }

    #[test]
    fn a_bad_port_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_LISTEN", "localhost:http");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_LISTEN"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn clock_control_needs_a_token_and_stays_on_this_machine_unless_forced() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_EXCHANGE_CONTROL", "true");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_EXCHANGE_CONTROL_TOKEN"), "{msg}");
            jail.set_env("DRIPFEED_EXCHANGE_CONTROL_TOKEN", "t0ken");
            assert!(Settings::load(None).is_ok());
            jail.set_env("DRIPFEED_LISTEN", "0.0.0.0:3000");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_EXCHANGE_CONTROL_FORCE"), "{msg}");
            jail.set_env("DRIPFEED_EXCHANGE_CONTROL_FORCE", "true");
            assert!(Settings::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_a_list_of_addresses() {
        Jail::expect_with(|jail| {
            assert!(
                Settings::load(None)
                    .expect("defaults")
                    .trusted_proxies
                    .is_empty()
            );
            jail.set_env("DRIPFEED_TRUSTED_PROXIES", "10.0.0.1, ::1");
            let s = Settings::load(None).expect("a list");
            assert_eq!(s.trusted_proxies.len(), 2);
            jail.set_env("DRIPFEED_TRUSTED_PROXIES", "10.0.0.1,proxy.local");
            let msg = load_err();
            assert!(
                msg.contains("DRIPFEED_TRUSTED_PROXIES") && msg.contains("proxy.local"),
                "{msg}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_boolean_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_ENGINE", "maybe");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_ENGINE"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_tier_names_the_variable_and_the_choices() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_DEFAULT_TIER", "gold");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_DEFAULT_TIER"), "{msg}");
            assert!(msg.contains("premium"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn an_unsupported_database_scheme_is_refused_with_the_supported_ones() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "mysql://root@localhost/db");
            let msg = load_err();
            assert!(msg.contains("sqlite") && msg.contains("postgres"), "{msg}");
            assert!(!msg.contains("root@"), "the URL may hold a password: {msg}");
            Ok(())
        });
    }

    #[test]
    fn dripfeed_database_url_wins_over_database_url() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://a@localhost/one");
            jail.set_env("DRIPFEED_DATABASE_URL", "postgres://a@localhost/two");
            let s = assert_ok!(Settings::load(None));
            assert_eq!(
                s.database_url().expose_secret(),
                "postgres://a@localhost/two"
            );
            Ok(())
        });
    }

    #[test]
    fn the_config_file_is_read_and_the_environment_overrides_it() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "dripfeed.toml",
                "listen = \"0.0.0.0:8080\"\nlog_format = \"json\"\ntrial_days = 14\n",
            )?;
            jail.set_env("DRIPFEED_LISTEN", "127.0.0.1:9000");
            let s = assert_ok!(Settings::load(Some(Path::new("dripfeed.toml"))));
            assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
            assert_eq!(s.log_format, LogFormat::Json);
            assert_eq!(s.trial_days, 14);
            Ok(())
        });
    }

    #[test]
    fn billing_turns_on_with_a_stripe_key_and_then_needs_webhook_secrets_and_prices() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_STRIPE_SECRET_KEY", "sk_test_123");
            let msg = load_err();
            assert!(msg.contains("DRIPFEED_STRIPE_WEBHOOK_SECRETS"), "{msg}");
            assert!(!msg.contains("sk_test_123"), "the key is a secret: {msg}");
            jail.set_env("DRIPFEED_STRIPE_WEBHOOK_SECRETS", "whsec_new, whsec_old");
            jail.set_env("DRIPFEED_STRIPE_PRICE_BASIC", "price_b");
            let msg = load_err();
            assert!(
                msg.contains("DRIPFEED_STRIPE_PRICE_PRO")
                    && msg.contains("DRIPFEED_STRIPE_PRICE_PREMIUM"),
                "{msg}"
            );
            jail.set_env("DRIPFEED_STRIPE_PRICE_PRO", "price_p");
            jail.set_env("DRIPFEED_STRIPE_PRICE_PREMIUM", "price_x");
            // The key never travels in clear text to another machine.
            jail.set_env("DRIPFEED_STRIPE_API_URL", "http://stripe.example.com");
            assert!(load_err().contains("must be https://"));
            jail.set_env("DRIPFEED_STRIPE_API_URL", "http://127.0.0.1:12111");
            let s = assert_ok!(Settings::load(None));
            assert!(s.billing_enabled());
            assert_eq!(s.webhook_secrets(), ["whsec_new", "whsec_old"]);
            assert_eq!(s.tier_prices()[1], (TierId::Pro, "price_p".to_owned()));
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_is_an_error_not_silently_ignored() {
        Jail::expect_with(|_| {
            let e = assert_err!(Settings::load(Some(Path::new("nope.toml"))));
            assert!(e.to_string().contains("nope.toml"));
            Ok(())
        });
    }

    #[test]
    fn a_bad_key_in_the_config_file_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file("dripfeed.toml", "db_max_connections = \"lots\"\n")?;
            let e = assert_err!(Settings::load(Some(Path::new("dripfeed.toml"))));
            assert!(e.to_string().contains("db_max_connections"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn a_tier_table_in_the_file_replaces_the_defaults_and_is_checked() {
        Jail::expect_with(|jail| {
            let mut toml = String::new();
            for (id, price) in [
                ("free", "0"),
                ("basic", "5"),
                ("pro", "15"),
                ("premium", "25"),
            ] {
                toml.push_str(&format!(
                    "[[tiers]]\nid = \"{id}\"\nname = \"{id}\"\nmonthly_price = \"{price}\"\n\
                     live_trading = true\nmax_plans = 2\nmax_symbols_per_plan = 4\n\
                     cadences = [\"weekly\"]\nrecommendations = false\nbacktests = false\n\
                     ai_analyst = false\napi_access = false\n"
                ));
            }
            jail.create_file("ok.toml", &toml)?;
            let s = assert_ok!(Settings::load(Some(Path::new("ok.toml"))));
            assert_eq!(s.tiers.get(TierId::Basic).price_label(), "$5/mo");

            let without_pro = toml.replace("id = \"pro\"", "id = \"basic\"");
            jail.create_file("bad.toml", &without_pro)?;
            let e = assert_err!(Settings::load(Some(Path::new("bad.toml"))));
            assert!(e.to_string().contains("more than once"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn a_zero_pool_size_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("DRIPFEED_DB_MAX_CONNECTIONS", "0");
            assert!(load_err().contains("DRIPFEED_DB_MAX_CONNECTIONS"));
            Ok(())
        });
    }

    #[test]
    fn debug_output_never_shows_the_database_password() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/dripfeed");
            let s = assert_ok!(Settings::load(None));
            assert!(!format!("{s:?}").contains("hunter2"));
            Ok(())
        });
    }
}
