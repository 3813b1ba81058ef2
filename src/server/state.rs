//! `AppState`: what every handler and server function can reach. `leptos_axum`
//! provides it as context to pages and server functions; plain axum routes take
//! the parts they need with `State<…>`.

use crate::error::AppError;
use crate::server::auth::origin::AllowedOrigin;
use crate::server::auth::rate_limit::RateLimits;
use crate::server::broker::exchange::Exchange;
use crate::server::broker::market_data::{AssetCache, TradeCache};
use crate::server::config::Settings;
use crate::server::crypto::Secrets;
use crate::server::db::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Where the charting library (uPlot) is served, for the Backtest page.
    #[from_ref(skip)]
    pub chart_src: Arc<str>,
    pub store: Store,
    pub settings: Arc<Settings>,
    pub allowed_origin: AllowedOrigin,
    pub secrets: Arc<Secrets>,
    pub limits: Arc<RateLimits>,
    /// Each API token's requests per minute.
    pub token_limits: Arc<crate::server::auth::rate_limit::TokenLimits>,
    /// The URL users reach this instance at (configured, or the bound address).
    #[from_ref(skip)]
    pub public_url: url::Url,
    /// The embedded paper exchange (the demo broker).
    pub exchange: Exchange,
    /// Where this process reaches the embedded exchange over HTTP.
    #[from_ref(skip)]
    pub exchange_url: url::Url,
    /// The HTTP client broker transports share (connection pooling).
    pub broker_http: reqwest::Client,
    /// Latest trades shared across users.
    pub trade_cache: Arc<TradeCache>,
    /// Notification e-mail (SMTP, or the outbox folder).
    pub mailer: Arc<crate::server::mail::Mailer>,
    /// Broker asset lists shared across users.
    pub asset_cache: Arc<AssetCache>,
    /// Brokers' market clocks, shared across users.
    pub clock_cache: Arc<crate::server::broker::market_data::ClockCache>,
    /// Each connection's last account snapshot, shared by its page views.
    pub snapshots: Arc<crate::server::portfolio::Snapshots>,
    /// The trade-updates streams open dashboards follow.
    pub live: Arc<crate::server::portfolio::live::LiveHub>,
    /// Recent broker, webhook and e-mail outcomes of this process.
    pub ops: Arc<crate::server::ops::stats::OpsStats>,
    /// What the alerts remember between evaluations.
    pub alert_memory: Arc<crate::server::ops::alerts::AlertMemory>,
    /// Stripe, when billing is on.
    #[from_ref(skip)]
    pub billing: Option<Arc<crate::server::billing::client::StripeClient>>,
}

/// The `AppState` inside a server function or a server-rendered page.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| anyhow::anyhow!("AppState is missing from the Leptos context").into())
}
