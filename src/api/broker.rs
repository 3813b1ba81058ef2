//! Brokerage connections and the portfolio dashboard. Every function acts
//! only on the caller's own connections; amounts cross the wire as exact
//! decimals (strings).

use crate::error::AppError;
use leptos::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionDto {
    pub id: i64,
    pub label: String,
    /// `demo`, `paper` or `live`.
    pub environment: String,
    /// `api_key` or `oauth`.
    pub auth_kind: String,
    /// The last four characters of the API key id.
    pub key_hint: Option<String>,
    /// `active` or `reconnect_needed`.
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerageSummary {
    pub connections: Vec<ConnectionDto>,
    pub demo_connected: bool,
    /// OAuth runs against the embedded exchange's simulated consent page.
    pub oauth_simulated: bool,
    /// Where OAuth-connected accounts trade (`live`, `paper` or `demo`).
    pub oauth_environment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDto {
    pub number: String,
    pub status: String,
    pub currency: String,
    pub equity: Decimal,
    pub cash: Decimal,
    pub buying_power: Decimal,
    pub non_marginable_buying_power: Decimal,
    /// Equity now less equity at the previous close.
    pub today_pl: Decimal,
    pub today_pl_pct: Option<Decimal>,
    /// Unrealized P&L over all positions.
    pub total_pl: Decimal,
    pub total_pl_pct: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionDto {
    pub symbol: String,
    pub qty: Decimal,
    pub avg_entry_price: Decimal,
    pub last_price: Option<Decimal>,
    pub market_value: Option<Decimal>,
    pub unrealized_pl: Option<Decimal>,
    /// Percent (12.5 means 12.5 %).
    pub unrealized_pl_pct: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDto {
    pub id: String,
    pub symbol: String,
    pub side: String,
    /// `$250.00` for a dollar amount, `3 sh` for shares.
    pub amount: String,
    pub status: String,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketDto {
    pub is_open: bool,
    pub next_open: String,
    pub next_close: String,
}

/// What the dashboard could show for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DashboardState {
    Ok,
    /// The broker refused the credentials: connect again.
    ReconnectNeeded,
    /// The broker could not be reached or failed; the text says how.
    BrokerUnreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardDto {
    pub connection: ConnectionDto,
    pub state: DashboardState,
    pub fetched_at: String,
    pub account: Option<AccountDto>,
    pub positions: Vec<PositionDto>,
    pub orders: Vec<OrderDto>,
    pub market: Option<MarketDto>,
}

#[server]
pub async fn brokerage_overview() -> Result<BrokerageSummary, AppError> {
    use crate::server::{auth, portfolio};
    let (ctx, user) = auth::require_user().await?;
    portfolio::overview(&ctx.state, &user).await
}

#[server]
pub async fn connect_demo_account() -> Result<i64, AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    connections::connect_demo(&ctx.state, &user, &ctx.client).await
}

#[server]
pub async fn connect_paper_keys(key_id: String, secret: String) -> Result<i64, AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    let secret = secrecy::SecretString::from(secret);
    connections::connect_paper_keys(&ctx.state, &user, &ctx.client, &key_id, &secret).await
}

#[server]
pub async fn disconnect_broker(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    connections::disconnect(&ctx.state, &user, &ctx.client, id).await
}

/// Dashboards of all the caller's connections.
#[server]
pub async fn portfolio_dashboards() -> Result<Vec<DashboardDto>, AppError> {
    use crate::server::{auth, portfolio};
    let (ctx, user) = auth::require_user().await?;
    portfolio::dashboards(&ctx.state, &user).await
}
