//! How the backtest metrics are named and shown on the page, in its tables
//! and in the report: one place, so the page, the CSV and the HTML agree.

use crate::domain::backtest::metrics::Metrics;
use crate::domain::backtest::plan::PlanMetrics;
use crate::domain::money::dollars;
use rust_decimal::Decimal;

/// Labels and formats of the plan metrics, in table order.
pub fn plan_label(key: &str) -> &'static str {
    match key {
        "contributed" => "Total contributed",
        "final_value" => "Final value",
        "gain" => "Gain in dollars",
        "idle_cash" => "Idle cash at the end",
        "twr_pct" => "Time-weighted return",
        "xirr_pct" => "Money-weighted return (XIRR, a year)",
        "cagr_pct" => "CAGR (lump sum only)",
        "max_drawdown_pct" => "Max drawdown (time-weighted)",
        "max_drawdown_days" => "Longest drawdown",
        "volatility_pct" => "Volatility (annualised)",
        "sharpe" => "Sharpe ratio",
        "sortino" => "Sortino ratio",
        "buys" => "Buys",
        "skipped" => "Skipped buys",
        _ => "",
    }
}

/// The exact amount behind a money metric (shown from the decimal, never
/// from its f64 copy).
fn money(m: &PlanMetrics, key: &str) -> Option<Decimal> {
    match key {
        "contributed" => Some(m.contributed),
        "final_value" => Some(m.final_value),
        "gain" => Some(m.gain),
        "idle_cash" => Some(m.idle_cash),
        _ => None,
    }
}

pub fn plan_shown(m: &PlanMetrics, key: &str, v: Option<f64>) -> String {
    if let Some(d) = money(m, key) {
        return dollars(d);
    }
    number(key, v)
}

/// A figure as shown: percent, days, counts, ratios; "not defined" where it
/// does not exist. Money is shown from its exact decimal by the callers.
pub fn number(key: &str, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "not defined".into();
    };
    match key {
        k if k.ends_with("_pct") => format!("{v:.2}%"),
        "max_drawdown_days" => format!("{v:.0} days"),
        "buys" | "skipped" | "trades" => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

/// Labels of a strategy run's metrics (`Metrics::named`).
pub fn strategy_label(key: &str) -> &'static str {
    match key {
        "start_value" => "Starting cash",
        "final_value" => "Final value",
        "gain" => "Gain in dollars",
        "total_return_pct" => "Total return",
        "cagr_pct" => "CAGR",
        "max_drawdown_pct" => "Max drawdown",
        "max_drawdown_days" => "Longest drawdown",
        "volatility_pct" => "Volatility (annualised)",
        "sharpe" => "Sharpe ratio",
        "sortino" => "Sortino ratio",
        "calmar" => "Calmar ratio",
        "trades" => "Trades",
        "win_rate_pct" => "Win rate",
        "profit_factor" => "Profit factor",
        "average_win" => "Average win",
        "average_loss" => "Average loss",
        "best_trade" => "Best trade",
        "worst_trade" => "Worst trade",
        "exposure_pct" => "Time in the market",
        _ => "",
    }
}

/// The exact amount behind a strategy's money metric.
fn strategy_money(m: &Metrics, key: &str) -> Option<Option<Decimal>> {
    Some(match key {
        "start_value" => Some(m.start_value),
        "final_value" => Some(m.final_value),
        "gain" => Some(m.gain),
        "average_win" => m.average_win,
        "average_loss" => m.average_loss,
        "best_trade" => m.best_trade,
        "worst_trade" => m.worst_trade,
        _ => return None,
    })
}

pub fn strategy_shown(m: &Metrics, key: &str, v: Option<f64>) -> String {
    match strategy_money(m, key) {
        Some(Some(d)) => dollars(d),
        Some(None) => "not defined".into(),
        None => number(key, v),
    }
}
