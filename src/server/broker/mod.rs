//! Brokerage: the [`Broker`] seam the rest of the app trades through, its
//! broker-neutral model (exact decimals, UTC times), and its implementations:
//! [`alpaca`] (any Alpaca-compatible host: paper, live, or the embedded
//! [`exchange`]). Plans and strategies only ever see this module's types, so
//! another broker is one more implementation of the trait.

pub mod alpaca;
pub mod exchange;
pub mod market_data;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Why a broker call failed, with what the broker said where it said anything.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The credentials were refused (401): the connection needs reconnecting.
    #[error("the broker refused the credentials: {message}")]
    Unauthorized { message: String },
    /// The broker answered with an error status and (usually) a numeric code.
    #[error("the broker answered {status}: {message}")]
    Api {
        status: u16,
        code: Option<u64>,
        message: String,
    },
    /// Too many requests; the limit resets in this many seconds.
    #[error("the broker's rate limit was reached; it resets in {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the broker did not answer in time")]
    Timeout,
    #[error("the broker could not be reached: {0}")]
    Unreachable(String),
    #[error("the broker's answer could not be read: {0}")]
    Decode(String),
    /// An order was sent but no answer came back: it may or may not have been
    /// placed. Never resend it blindly; look it up by its client order id.
    #[error("the order was sent but its outcome is unknown: {0}")]
    Uncertain(String),
}

/// Alpaca's numeric code for an invalid request, which is also how it
/// refuses a reused client order id (`client_order_id must be unique`). A
/// refusal with this code means the order may exist already; it is settled by
/// looking the order up, never by the message's text.
pub const INVALID_REQUEST: u64 = 40010001;

impl BrokerError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, BrokerError::Api { status: 404, .. })
    }
}

pub type BrokerResult<T> = Result<T, BrokerError>;

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub number: String,
    pub status: String,
    pub currency: String,
    pub cash: Decimal,
    pub equity: Decimal,
    /// Equity at the previous trading day's close.
    pub last_equity: Decimal,
    pub buying_power: Decimal,
    pub non_marginable_buying_power: Decimal,
    pub long_market_value: Decimal,
    pub trading_blocked: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub symbol: String,
    pub qty: Decimal,
    pub avg_entry_price: Decimal,
    pub cost_basis: Decimal,
    pub market_value: Option<Decimal>,
    pub current_price: Option<Decimal>,
    pub lastday_price: Option<Decimal>,
    pub unrealized_pl: Option<Decimal>,
    pub unrealized_plpc: Option<Decimal>,
    pub unrealized_intraday_pl: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

/// How much to trade: shares, or dollars (fractional, market DAY only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Qty(Decimal),
    Notional(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Market,
    Limit(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    Day,
    Gtc,
}

/// An order to place. `client_order_id` is the idempotency key: the same id
/// is never placed twice, and an uncertain submission is resolved by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub symbol: String,
    pub side: Side,
    pub amount: Amount,
    pub kind: OrderKind,
    pub time_in_force: TimeInForce,
    pub client_order_id: String,
}

/// An order's state as the broker reports it (Alpaca's names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    New,
    Accepted,
    PendingNew,
    PartiallyFilled,
    Filled,
    DoneForDay,
    Canceled,
    Expired,
    Replaced,
    PendingCancel,
    PendingReplace,
    Rejected,
    Suspended,
    Stopped,
    Other(String),
}

impl OrderStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "new" => Self::New,
            "accepted" => Self::Accepted,
            "pending_new" => Self::PendingNew,
            "partially_filled" => Self::PartiallyFilled,
            "filled" => Self::Filled,
            "done_for_day" => Self::DoneForDay,
            "canceled" => Self::Canceled,
            "expired" => Self::Expired,
            "replaced" => Self::Replaced,
            "pending_cancel" => Self::PendingCancel,
            "pending_replace" => Self::PendingReplace,
            "rejected" => Self::Rejected,
            "suspended" => Self::Suspended,
            "stopped" => Self::Stopped,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "new",
            Self::Accepted => "accepted",
            Self::PendingNew => "pending_new",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::DoneForDay => "done_for_day",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
            Self::PendingCancel => "pending_cancel",
            Self::PendingReplace => "pending_replace",
            Self::Rejected => "rejected",
            Self::Suspended => "suspended",
            Self::Stopped => "stopped",
            Self::Other(s) => s,
        }
    }

    /// No further fills or changes will happen.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Expired | Self::Replaced | Self::Rejected
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub client_order_id: String,
    pub symbol: String,
    pub side: Side,
    pub amount: Amount,
    pub status: OrderStatus,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub created_at: DateTime<Utc>,
    pub filled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderFilter {
    #[default]
    Open,
    Closed,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketClock {
    pub now: DateTime<Utc>,
    pub is_open: bool,
    pub next_open: DateTime<Utc>,
    pub next_close: DateTime<Utc>,
}

/// One trading session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketDay {
    pub date: NaiveDate,
    pub open_at: DateTime<Utc>,
    pub close_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub symbol: String,
    pub name: Option<String>,
    pub tradable: bool,
    pub fractionable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub time: DateTime<Utc>,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub time: DateTime<Utc>,
    pub price: Decimal,
}

/// What an account activity is, by Alpaca's `activity_type`. Alpaca lists
/// dozens and adds more; those the ledger does not read are kept as
/// [`ActivityKind::Other`] and ignored, never a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityKind {
    /// An order fill (whole or partial).
    Fill,
    /// Cash paid in (`CSD`).
    Deposit,
    /// Cash taken out (`CSW`).
    Withdrawal,
    /// A dividend of any sort (`DIV`, `DIVCGL`, `DIVROC`, ...; withholding
    /// adjustments too: their `net_amount` is negative).
    Dividend,
    /// A fee (`FEE`, `CFEE`, `DIVFEE`, `PTC`).
    Fee,
    /// A stock split (`SPLIT`): `qty` is the change in shares.
    Split,
    Other(String),
}

impl ActivityKind {
    pub fn of(activity_type: &str) -> Self {
        match activity_type {
            "FILL" => Self::Fill,
            "CSD" => Self::Deposit,
            "CSW" => Self::Withdrawal,
            "DIV" | "DIVCGL" | "DIVCGS" | "DIVFT" | "DIVNRA" | "DIVROC" | "DIVTW" | "DIVTXEX" => {
                Self::Dividend
            }
            "FEE" | "CFEE" | "DIVFEE" | "PTC" => Self::Fee,
            "SPLIT" => Self::Split,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One account activity as the broker reported it, with the fields the
/// ledger reads parsed (exact decimals) and the object itself kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The broker's id; also the page token of the next page.
    pub id: String,
    /// As sent (`FILL`, `DIV`, ...).
    pub activity_type: String,
    /// The trading day: a fill's New York date, otherwise its `date`.
    pub date: NaiveDate,
    /// A fill's `transaction_time`, or a non-trade activity's `created_at`.
    pub at: Option<DateTime<Utc>>,
    pub symbol: Option<String>,
    pub side: Option<Side>,
    pub qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub net_amount: Option<Decimal>,
    pub per_share_amount: Option<Decimal>,
    pub order_id: Option<String>,
    /// The JSON object as received.
    pub raw: serde_json::Value,
}

impl Activity {
    pub fn kind(&self) -> ActivityKind {
        ActivityKind::of(&self.activity_type)
    }
}

/// Which stretch of an account's equity history to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HistoryRequest {
    /// `1D`, `1W`, `1M`, `1A`, ... back from now; or, with `start`, none.
    pub period: Option<String>,
    pub start: Option<DateTime<Utc>>,
    /// `15Min`, `1H`, `1D`.
    pub timeframe: String,
}

/// One window of an account's equity history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPoint {
    /// The window's start (daily windows: the trading day).
    pub at: DateTime<Utc>,
    pub equity: Decimal,
    /// The change from the point before (the first: from the base value).
    pub profit_loss: Decimal,
    /// Cash paid in less taken out during the window (deposits, withdrawals).
    pub net_deposits: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioHistory {
    /// Equity at the close before the first point.
    pub base_value: Decimal,
    pub timeframe: String,
    pub points: Vec<HistoryPoint>,
}

/// What the app needs from a brokerage. Implementations map their errors to
/// [`BrokerError`] and their numbers to exact decimals.
#[async_trait]
pub trait Broker: Send + Sync {
    async fn account(&self) -> BrokerResult<Account>;
    async fn positions(&self) -> BrokerResult<Vec<Position>>;
    /// Places an order. Never retried: on [`BrokerError::Uncertain`] the
    /// caller resolves the outcome with [`Broker::order_by_client_id`].
    async fn submit_order(&self, req: &OrderRequest) -> BrokerResult<Order>;
    async fn order(&self, id: &str) -> BrokerResult<Order>;
    /// `None` when the broker has no order with that client order id.
    async fn order_by_client_id(&self, client_order_id: &str) -> BrokerResult<Option<Order>>;
    /// Newest first.
    async fn orders(&self, filter: OrderFilter, limit: usize) -> BrokerResult<Vec<Order>>;
    async fn cancel_order(&self, id: &str) -> BrokerResult<()>;
    async fn clock(&self) -> BrokerResult<MarketClock>;
    /// Sessions from `start` to `end`, both included.
    async fn calendar(&self, start: NaiveDate, end: NaiveDate) -> BrokerResult<Vec<MarketDay>>;
    /// `None` for a symbol the broker does not know.
    async fn asset(&self, symbol: &str) -> BrokerResult<Option<Asset>>;
    /// Every active US equity the broker lists.
    async fn assets(&self) -> BrokerResult<Vec<Asset>>;
    /// Daily bars from `start` to `end` (both included), oldest first,
    /// adjusted for splits and dividends.
    async fn daily_bars(
        &self,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BrokerResult<Vec<Bar>>;
    /// The latest trade per symbol; unknown symbols are left out.
    async fn latest_trades(&self, symbols: &[String]) -> BrokerResult<HashMap<String, Trade>>;
    /// One page of account activities, oldest first: those after
    /// `after` (when given), following the activity `page_token` names.
    async fn activities(
        &self,
        after: Option<DateTime<Utc>>,
        page_token: Option<&str>,
        page_size: u32,
    ) -> BrokerResult<Vec<Activity>>;
    /// The account's equity over time, with deposits and withdrawals per window.
    async fn portfolio_history(&self, request: &HistoryRequest) -> BrokerResult<PortfolioHistory>;
}
