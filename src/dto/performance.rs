//! A plan's real performance: what was put in, what it is worth, how it did
//! against the same dollars put into a benchmark on the same days, and the
//! purchases, holdings and dividends behind the figures.

use crate::domain::backtest::chart::Chart;
use crate::dto::stamp::Stamp;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One approach's figures (the plan, or its shadow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Figures {
    pub name: String,
    pub contributed: Decimal,
    pub value: Decimal,
    /// Value less everything paid in.
    pub gain: Decimal,
    /// Gain over contributed, in percent (`None` before anything is paid in).
    pub gain_pct: Option<Decimal>,
    /// Time-weighted return, percent: the investments, without the timing
    /// of the contributions.
    pub twr_pct: Option<f64>,
    /// Money-weighted yearly return (XIRR), percent: the saver's own dollars,
    /// timing included.
    pub xirr_pct: Option<f64>,
    /// Deepest fall of the time-weighted index, percent (0 or less).
    pub max_drawdown_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HoldingRow {
    pub symbol: String,
    pub shares: Decimal,
    pub cost: Decimal,
    pub average_cost: Option<Decimal>,
    pub price: Option<Decimal>,
    pub value: Option<Decimal>,
}

/// One purchase, in today's shares (split-adjusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PurchaseRow {
    pub date: NaiveDate,
    pub symbol: String,
    pub dollars: Decimal,
    pub shares: Decimal,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DividendRow {
    pub date: NaiveDate,
    pub symbol: String,
    pub amount: Decimal,
}

/// A plan's performance page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanPerformance {
    pub plan_id: i64,
    pub plan_name: String,
    /// The benchmark symbol, or `None` for cash at 0 %.
    pub benchmark: Option<String>,
    /// Nothing bought yet: no figures.
    pub nothing_yet: bool,
    pub plan: Option<Figures>,
    pub shadow: Option<Figures>,
    /// "$X ahead of SPY bought on the same days".
    pub headline: String,
    /// The plan's value less the shadow's.
    pub ahead_by: Decimal,
    pub holdings: Vec<HoldingRow>,
    /// Oldest first.
    pub purchases: Vec<PurchaseRow>,
    pub dividends: Vec<DividendRow>,
    /// Plan value, contributions and shadow value; drawdowns.
    pub chart: Chart,
    /// Month-end rows of the chart, for the table behind it.
    pub month_ends: Vec<usize>,
    pub chart_src: String,
    /// When the value was taken (the last trade prices).
    pub valued_at: Stamp,
    /// Set when today's prices could not be had: the value is at the last close.
    pub prices_note: Option<String>,
}

/// One plan's row on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummaryRow {
    pub plan_id: i64,
    pub plan_name: String,
    pub contributed: Decimal,
    pub value: Option<Decimal>,
    pub gain: Option<Decimal>,
    /// "$12.40 ahead of SPY" (the default benchmark), when it could be worked out.
    pub versus: Option<String>,
}

/// Which stretch of an account's equity the dashboard charts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    Day,
    Week,
    #[default]
    Month,
    Year,
    All,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::Day,
        Period::Week,
        Period::Month,
        Period::Year,
        Period::All,
    ];

    /// As Alpaca names it (and the page's query string): 1D, 1W, 1M, 1A, all.
    pub fn code(self) -> &'static str {
        match self {
            Period::Day => "1D",
            Period::Week => "1W",
            Period::Month => "1M",
            Period::Year => "1A",
            Period::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Day => "Today",
            Period::Week => "Week",
            Period::Month => "Month",
            Period::Year => "Year",
            Period::All => "All",
        }
    }
}

/// One account's equity chart and its returns since it was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPerformance {
    pub connection_id: i64,
    pub period: Period,
    /// Window starts, UNIX seconds (daily windows: the day at 00:00 UTC).
    pub times: Vec<i64>,
    /// How the table names each window, in the reader's zone (daily: the day).
    pub labels: Vec<String>,
    /// Whether the windows are days (else minutes or hours).
    pub daily: bool,
    pub equity: Vec<f64>,
    /// Net deposits so far at each point.
    pub deposits: Vec<f64>,
    /// Since the account opened: deposits less withdrawals as contributed.
    pub figures: Option<Figures>,
    pub shadow: Option<Figures>,
    pub headline: String,
    pub chart_src: String,
    /// Why there is no chart (the broker could not be asked), if so.
    pub unavailable: Option<String>,
}

/// One activity of an account's ledger, as the broker reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LedgerEntryDto {
    /// The broker's id for it.
    pub activity_id: String,
    /// `fill`, `deposit`, `withdrawal`, `dividend`, `fee`, `split`, or the
    /// broker's own type for one Dripfeed does not read.
    pub kind: String,
    /// The trading day it belongs to.
    pub date: NaiveDate,
    /// RFC 3339, UTC, when the broker gives a time.
    pub at: Option<String>,
    pub symbol: Option<String>,
    /// `buy` or `sell` for fills.
    pub side: Option<String>,
    pub qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub net_amount: Option<Decimal>,
    pub per_share_amount: Option<Decimal>,
    pub order_id: Option<String>,
}
