//! The `DRIPFEED_` variables Settings reads (to warn about typos), and how a
//! bad value is described: where it came from and what a good one looks like.

use super::ENV_PREFIX;

/// Every `DRIPFEED_` variable `Settings` reads, used to warn about typos.
pub(super) const KNOWN_VARS: &[&str] = &[
    "LISTEN",
    "PUBLIC_URL",
    "DATA_DIR",
    "DATABASE_URL",
    "SECRET_KEY",
    "DB_MAX_CONNECTIONS",
    "LOG",
    "LOG_FORMAT",
    "STRIPE_SECRET_KEY",
    "STRIPE_API_URL",
    "STRIPE_WEBHOOK_SECRETS",
    "STRIPE_PRICE_BASIC",
    "STRIPE_PRICE_PRO",
    "STRIPE_PRICE_PREMIUM",
    "TRIAL_DAYS",
    "PAST_DUE_GRACE_DAYS",
    "DEFAULT_TIER",
    "SESSION_IDLE_MINUTES",
    "SESSION_ABSOLUTE_MINUTES",
    "API_REQUESTS_PER_MINUTE",
    "METRICS_LISTEN",
    "ALPACA_PAPER_URL",
    "ALPACA_LIVE_URL",
    "ALPACA_DATA_URL",
    "ALPACA_TIMEOUT_SECS",
    "HEADER_TIMEOUT_SECS",
    "ALPACA_OAUTH_CLIENT_ID",
    "ALPACA_OAUTH_CLIENT_SECRET",
    "ALPACA_OAUTH_AUTHORIZE_URL",
    "ALPACA_OAUTH_TOKEN_URL",
    "ALPACA_OAUTH_ENVIRONMENT",
    "EXCHANGE_CLOCK",
    "EXCHANGE_SPEED",
    "MAX_AMOUNT_PER_RUN",
    "ENGINE_INTERVAL_SECS",
    "ENGINE_CONCURRENCY",
    "GO_AT",
    "ANALYZE_AT",
    "RAIL_MAX_POSITION_PCT",
    "RAIL_MAX_OPEN_POSITIONS",
    "RAIL_MIN_EQUITY",
    "RAIL_MAX_DRIFT_PCT",
    "LIVE_PAPER_DAYS",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_URL",
    "ANTHROPIC_MODEL",
    "AI_DAILY_BUDGET",
    "AI_TIMEOUT_SECS",
    "INSTANCE_ID",
    "DEMO_EXCHANGE_URL",
    "ENGINE",
    "EXCHANGE_CONTROL",
    "SMTP_URL",
    "MAIL_FROM",
    // Read by the command line rather than by `Settings`:
    "CONFIG",
];

/// Turns a figment error into one line per problem that names where the bad
/// value came from (an environment variable or a key in the config file) and,
/// where it helps, what a good value looks like.
pub(super) fn describe(errors: figment::Error) -> String {
    errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let origin = e
                .metadata
                .as_ref()
                .map(|m| m.name.to_string())
                .unwrap_or_default();
            let file = e
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .map(|s| s.to_string());
            let place = if let Some(file) = file {
                format!("key `{key}` in {file}")
            } else if origin.contains(ENV_PREFIX) {
                format!("{ENV_PREFIX}{}", e.path.join("__").to_ascii_uppercase())
            } else if origin.contains("environment") {
                match key.as_str() {
                    "site_root" => "LEPTOS_SITE_ROOT".to_owned(),
                    "log" => "RUST_LOG".to_owned(),
                    other => other.to_ascii_uppercase(),
                }
            } else if key.is_empty() {
                "settings".to_owned()
            } else {
                format!("setting `{key}`")
            };
            let hint = match key.as_str() {
                "listen" => " (expected IP:PORT, e.g. 127.0.0.1:3000)",
                "public_url" => " (expected a URL, e.g. https://dripfeed.example.com)",
                "trial_days" | "past_due_grace_days" => " (expected a whole number of days)",
                "log_format" => " (expected text or json)",
                _ => "",
            };
            format!("invalid value for {place}: {}{hint}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
