//! The Backtest page's wire types: what it asks for (the page's query string,
//! as typed) and the report it gets back.

use crate::domain::backtest::chart::Chart;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A backtest request, as the page's form sends it (text, checked on the
/// server). Either `plan` (one of the caller's plans) or ad-hoc `legs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacktestQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<i64>,
    /// Ad hoc: `SYMBOL:dollars` per run, comma separated (`VTI:100,BND:50`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub legs: String,
    /// Ad hoc: daily, weekly, biweekly or monthly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub every: String,
    /// Ad hoc: pure or smart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// `YYYY-MM-DD`; empty: five years (or the tier's limit) before `to`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `YYYY-MM-DD`; empty: the last complete trading day.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Empty: SPY.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub benchmark: String,
    /// `next-open` (default) or `close`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fill: String,
}

impl BacktestQuery {
    /// The query string that asks for this backtest again (exports, links).
    pub fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// One metric across the approaches, as shown (and its number, for exports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricRow {
    pub key: String,
    pub label: String,
    /// Per approach; "not defined" where the figure does not exist.
    pub shown: Vec<String>,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BuyRow {
    pub date: NaiveDate,
    pub symbol: String,
    pub dollars: String,
    pub quantity: String,
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkippedRow {
    pub date: NaiveDate,
    pub symbol: String,
    pub dollars: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacktestReport {
    /// "Retirement (VTI $100, BND $50 weekly)".
    pub title: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub benchmark: String,
    /// "$1,234.56 ahead of SPY bought on the same days".
    pub headline: String,
    /// The bars are the demo exchange's simulated history, not the market's.
    pub simulated: bool,
    /// Approach names, in the order of every per-approach column.
    pub approaches: Vec<String>,
    /// Which approach is the plan as configured.
    pub plan_index: usize,
    pub metrics: Vec<MetricRow>,
    /// The plan's own buys and skipped buys.
    pub buys: Vec<BuyRow>,
    pub skipped: Vec<SkippedRow>,
    pub chart: Chart,
    /// Month-end rows of the chart, for the table behind it.
    pub month_ends: Vec<usize>,
    /// The query that produced this report, for exports and sharing.
    pub query: String,
    /// What the caller's tier allows, for the form's hints.
    pub max_years: u32,
    /// Monte Carlo paths the caller's tier allows (0: none).
    pub max_monte_carlo_paths: u32,
    /// The charting library's URL (loaded by the page when it draws).
    pub chart_src: String,
}

/// The most paths one Monte Carlo slice runs (the page asks slice by slice).
pub const MONTE_CARLO_SLICE: u32 = 250;

/// One slice of a Monte Carlo: paths `first` to `first + count - 1` of the
/// run seeded `seed`. Path i is seeded on its own stream, so slices add up to
/// exactly the answer of one long run, whatever their size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonteCarloChunk {
    pub seed: u64,
    pub first: u32,
    pub count: u32,
    /// Trading days per resampled block.
    pub block_days: u32,
}

/// Each path's final value and what it was paid in, in path order.
pub type PathResults = Vec<(rust_decimal::Decimal, rust_decimal::Decimal)>;

/// A strategy backtest (the MA crossover on one symbol), as the Strategy form
/// sends it. `fast` and `slow` are one window (`5`) or a range (`5..20`, or
/// `20..60:5` in steps of 5), which sweeps every pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StrategyQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub symbol: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fast: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slow: String,
    /// Starting cash in dollars; empty: 10,000.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cash: String,
    /// `next-open` (default) or `close`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fill: String,
    /// `whole` (default) or `fractional` shares.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sizing: String,
    /// Enter only with the close above its average over this many bars.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trend_filter: String,
    /// Enter only on volume above its average over this many bars.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_filter: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_loss_pct: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub take_profit_pct: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Sweeps: the metric that ranks the pairs; empty: final_value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rank_by: String,
}

impl StrategyQuery {
    pub fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// One metric of a strategy run, as shown, and its number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub shown: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TradeRow {
    pub entry_date: NaiveDate,
    pub exit_date: NaiveDate,
    pub entry_price: String,
    pub exit_price: String,
    pub quantity: String,
    pub pnl: String,
    pub exit_reason: String,
}

/// One pair of a sweep: its ranking figure, and its shade (0 worst to 4 best,
/// by quintile) for the heatmap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SweepCell {
    pub fast: usize,
    pub slow: usize,
    pub value: Option<f64>,
    pub shown: String,
    pub shade: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Sweep {
    pub rank_by: String,
    pub rank_label: String,
    pub fasts: Vec<usize>,
    pub slows: Vec<usize>,
    /// Every evaluated pair (fast < slow), best first.
    pub cells: Vec<SweepCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StrategyReport {
    /// "MA 5/20 crossover on VTI".
    pub title: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub simulated: bool,
    /// "Final value $12,345.67 (23.46%) after 7 trades".
    pub headline: String,
    /// Of the single run, or of a sweep's best pair.
    pub metrics: Vec<Figure>,
    pub trades: Vec<TradeRow>,
    pub dates: Vec<NaiveDate>,
    pub equity: Vec<Option<f64>>,
    pub sweep: Option<Sweep>,
    pub query: String,
    pub chart_src: String,
    /// Sweep pairs the caller's tier allows (0: none).
    pub max_sweep_pairs: u32,
}

/// A strategy backtest run in the background: its progress through the
/// sweep's pairs while it runs, then its report (or what went wrong).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacktestJob {
    pub id: i64,
    pub status: crate::domain::backtest::job::JobStatus,
    /// Pairs of the sweep evaluated so far (a single run is one pair).
    pub pairs_done: u32,
    pub pairs_total: u32,
    pub query: StrategyQuery,
    pub created_at: crate::dto::stamp::Stamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<crate::dto::stamp::Stamp>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The report, once done (not in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<StrategyReport>,
}
