//! What each setting is when nothing configures it: the embedded default
//! (SQLite under ./data, the built-in paper exchange, a local listener).

use crate::domain::tier::TierId;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub fn listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 3000))
}
pub fn data_dir() -> PathBuf {
    PathBuf::from("data")
}
pub fn db_max_connections() -> u32 {
    10
}
pub fn log() -> String {
    "info,sqlx=warn".to_owned()
}
pub fn site_root() -> PathBuf {
    PathBuf::from("target/site")
}
pub fn session_idle_minutes() -> u64 {
    12 * 60
}
pub fn api_requests_per_minute() -> u32 {
    120
}
pub fn session_absolute_minutes() -> u64 {
    7 * 24 * 60
}
pub fn default_tier() -> TierId {
    TierId::Premium
}
fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap_or_else(|e| unreachable!("built-in URL {s}: {e}"))
}
pub fn alpaca_paper_url() -> url::Url {
    url("https://paper-api.alpaca.markets")
}
pub fn alpaca_live_url() -> url::Url {
    url("https://api.alpaca.markets")
}
pub fn alpaca_data_url() -> url::Url {
    url("https://data.alpaca.markets")
}
pub fn alpaca_timeout_secs() -> u64 {
    10
}
pub fn header_timeout_secs() -> u64 {
    10
}
pub fn alpaca_oauth_authorize_url() -> url::Url {
    url("https://app.alpaca.markets/oauth/authorize")
}
pub fn alpaca_oauth_token_url() -> url::Url {
    url("https://api.alpaca.markets/oauth/token")
}
pub fn exchange_speed() -> i32 {
    1
}
pub fn mail_from() -> String {
    "Dripfeed <dripfeed@localhost>".to_owned()
}
pub fn engine() -> bool {
    true
}
pub fn max_amount_per_run() -> u32 {
    10_000
}
pub fn engine_interval_secs() -> u64 {
    5
}
pub fn engine_concurrency() -> usize {
    64
}
pub fn stripe_api_url() -> url::Url {
    url("https://api.stripe.com")
}
pub fn trial_days() -> u32 {
    30
}
pub fn past_due_grace_days() -> u32 {
    7
}
pub fn go_at() -> String {
    "08:45".to_owned()
}
pub fn analyze_at() -> String {
    "16:30".to_owned()
}
pub fn rail_max_position_pct() -> rust_decimal::Decimal {
    crate::domain::recommendation::rails::Rails::default().max_position_pct
}
pub fn rail_max_open_positions() -> u32 {
    crate::domain::recommendation::rails::Rails::default().max_open_positions
}
pub fn rail_min_equity() -> rust_decimal::Decimal {
    crate::domain::recommendation::rails::Rails::default().min_equity
}
pub fn rail_max_drift_pct() -> rust_decimal::Decimal {
    crate::domain::recommendation::rails::Rails::default().max_drift_pct
}
pub fn live_paper_days() -> u32 {
    30
}
pub fn anthropic_url() -> url::Url {
    url("https://api.anthropic.com")
}
pub fn anthropic_model() -> String {
    "claude-sonnet-4-5".to_owned()
}
pub fn ai_daily_budget() -> u32 {
    200
}
pub fn ai_timeout_secs() -> u64 {
    20
}
