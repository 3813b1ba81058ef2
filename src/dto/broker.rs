//! Wire types for broker: what its server functions and pages exchange.

use crate::dto::stamp::Stamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    pub created_at: Stamp,
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderDto {
    pub id: String,
    pub symbol: String,
    pub side: String,
    /// `$250.00` for a dollar amount, `3 sh` for shares.
    pub amount: String,
    pub status: String,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub created_at: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MarketDto {
    pub is_open: bool,
    /// Relative to the broker's clock.
    pub next_open: Stamp,
    pub next_close: Stamp,
}

/// What the dashboard could show for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DashboardState {
    Ok,
    /// The broker refused the credentials: connect again.
    ReconnectNeeded,
    /// The broker could not be reached or failed; the text says how.
    BrokerUnreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DashboardDto {
    pub connection: ConnectionDto,
    pub state: DashboardState,
    pub fetched_at: Stamp,
    pub account: Option<AccountDto>,
    pub positions: Vec<PositionDto>,
    pub orders: Vec<OrderDto>,
    pub market: Option<MarketDto>,
}
