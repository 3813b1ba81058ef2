//! What a strategy run achieved, each figure defined in README ("Backtest
//! metrics"). Dollar figures are exact decimals; ratios and percentages are
//! computed in f64 from them (they are statistics, not money).

use super::{Run, Trade};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Trading days in a year, for annualising daily figures.
pub const TRADING_DAYS: f64 = 252.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub start_value: Decimal,
    pub final_value: Decimal,
    /// Final value less the start value.
    pub gain: Decimal,
    /// gain / start value, in percent.
    pub total_return_pct: f64,
    /// (final / start)^(365.25 / calendar days) − 1, in percent; none for a
    /// run shorter than a day.
    pub cagr_pct: Option<f64>,
    /// The largest fall from a running peak of value, in percent (≤ 0).
    pub max_drawdown_pct: f64,
    /// Calendar days from that peak until value first regained it (or until
    /// the last bar, if it never did).
    pub max_drawdown_days: i64,
    /// The day value regained the peak before the largest fall, if it did.
    pub recovered_on: Option<NaiveDate>,
    /// The standard deviation of daily returns × √252, in percent.
    pub volatility_pct: Option<f64>,
    /// (mean daily return − daily risk-free rate) / its standard deviation × √252.
    pub sharpe: Option<f64>,
    /// Like Sharpe over the downside deviation (returns below the risk-free rate).
    pub sortino: Option<f64>,
    /// CAGR / |max drawdown|.
    pub calmar: Option<f64>,
    pub trades: usize,
    /// Trades with a positive P&L, in percent of trades.
    pub win_rate_pct: Option<f64>,
    /// Gross profit / gross loss.
    pub profit_factor: Option<f64>,
    pub average_win: Option<Decimal>,
    pub average_loss: Option<Decimal>,
    pub best_trade: Option<Decimal>,
    pub worst_trade: Option<Decimal>,
    /// Bars that ended holding shares, in percent of bars.
    pub exposure_pct: f64,
}

pub(super) fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The mean and sample standard deviation of `xs` (none for fewer than two).
fn mean_sd(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

/// The largest drawdown of `values` (dated): its depth in percent, its length
/// in calendar days, and when it recovered.
pub fn drawdown(points: &[(NaiveDate, f64)]) -> (f64, i64, Option<NaiveDate>) {
    let Some(&(first_date, first)) = points.first() else {
        return (0.0, 0, None);
    };
    let (mut peak, mut peak_date) = (first, first_date);
    let (mut worst, mut worst_peak) = (0.0_f64, first_date);
    for &(date, v) in points {
        if v > peak {
            (peak, peak_date) = (v, date);
        }
        if peak > 0.0 {
            let dd = v / peak - 1.0;
            if dd < worst {
                (worst, worst_peak) = (dd, peak_date);
            }
        }
    }
    if worst == 0.0 {
        return (0.0, 0, None);
    }
    let peak_value = points
        .iter()
        .find(|(d, _)| *d == worst_peak)
        .map_or(first, |p| p.1);
    let trough = points
        .iter()
        .filter(|(d, _)| *d >= worst_peak)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(worst_peak, |p| p.0);
    let recovered = points
        .iter()
        .find(|(d, v)| *d > trough && *v >= peak_value)
        .map(|p| p.0);
    let end = recovered.unwrap_or_else(|| points[points.len() - 1].0);
    (worst * 100.0, (end - worst_peak).num_days(), recovered)
}

/// How much daily returns swing, and what they earned per unit of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Risk {
    pub volatility_pct: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
}

/// Volatility, Sharpe and Sortino of daily `returns` (annualised over 252
/// days); `risk_free_pct` is a yearly rate.
pub fn risk(returns: &[f64], risk_free_pct: f64) -> Risk {
    let rf = (1.0 + risk_free_pct / 100.0).powf(1.0 / TRADING_DAYS) - 1.0;
    let stats = mean_sd(returns);
    let downside = (!returns.is_empty()).then(|| {
        let squares: f64 = returns.iter().map(|r| (r - rf).min(0.0).powi(2)).sum();
        (squares / returns.len() as f64).sqrt()
    });
    Risk {
        volatility_pct: stats.map(|(_, sd)| sd * TRADING_DAYS.sqrt() * 100.0),
        sharpe: stats
            .filter(|(_, sd)| *sd > 0.0)
            .map(|(mean, sd)| (mean - rf) / sd * TRADING_DAYS.sqrt()),
        sortino: match (stats, downside) {
            (Some((mean, _)), Some(dd)) if dd > 0.0 => Some((mean - rf) / dd * TRADING_DAYS.sqrt()),
            _ => None,
        },
    }
}

/// The figures for one strategy run; `risk_free_pct` is a yearly rate.
pub fn of_run(run: &Run, start_value: Decimal, risk_free_pct: f64) -> Metrics {
    let final_value = if run.dates.is_empty() {
        start_value
    } else {
        run.final_value
    };
    let gain = final_value - start_value;
    let start = f(start_value);
    let total_return_pct = if start > 0.0 {
        f(gain) / start * 100.0
    } else {
        0.0
    };
    let days = match (run.dates.first(), run.dates.last()) {
        (Some(a), Some(b)) => (*b - *a).num_days(),
        _ => 0,
    };
    let cagr_pct = (days > 0 && start > 0.0 && final_value > Decimal::ZERO)
        .then(|| ((f(final_value) / start).powf(365.25 / days as f64) - 1.0) * 100.0);
    let values: Vec<(NaiveDate, f64)> = run
        .dates
        .iter()
        .copied()
        .zip(run.values.iter().copied())
        .collect();
    let (max_drawdown_pct, max_drawdown_days, recovered_on) = drawdown(&values);
    let returns: Vec<f64> = values
        .windows(2)
        .filter(|w| w[0].1 > 0.0)
        .map(|w| w[1].1 / w[0].1 - 1.0)
        .collect();
    let Risk {
        volatility_pct,
        sharpe,
        sortino,
    } = risk(&returns, risk_free_pct);
    let calmar = cagr_pct
        .filter(|_| max_drawdown_pct < 0.0)
        .map(|c| c / max_drawdown_pct.abs());
    let t = TradeStats::of(&run.trades);
    Metrics {
        start_value,
        final_value,
        gain,
        total_return_pct,
        cagr_pct,
        max_drawdown_pct,
        max_drawdown_days,
        recovered_on,
        volatility_pct,
        sharpe,
        sortino,
        calmar,
        trades: run.trades.len(),
        win_rate_pct: t.win_rate_pct,
        profit_factor: t.profit_factor,
        average_win: t.average_win,
        average_loss: t.average_loss,
        best_trade: run.trades.iter().map(|t| t.pnl).max(),
        worst_trade: run.trades.iter().map(|t| t.pnl).min(),
        exposure_pct: if run.dates.is_empty() {
            0.0
        } else {
            run.bars_in_market as f64 / run.dates.len() as f64 * 100.0
        },
    }
}

struct TradeStats {
    win_rate_pct: Option<f64>,
    profit_factor: Option<f64>,
    average_win: Option<Decimal>,
    average_loss: Option<Decimal>,
}

impl TradeStats {
    fn of(trades: &[Trade]) -> Self {
        let wins: Vec<Decimal> = trades
            .iter()
            .map(|t| t.pnl)
            .filter(|p| p.is_sign_positive() && !p.is_zero())
            .collect();
        let losses: Vec<Decimal> = trades
            .iter()
            .map(|t| t.pnl)
            .filter(|p| p.is_sign_negative() && !p.is_zero())
            .collect();
        let mean = |xs: &[Decimal]| {
            (!xs.is_empty()).then(|| xs.iter().sum::<Decimal>() / Decimal::from(xs.len() as u64))
        };
        let gross_win: Decimal = wins.iter().sum();
        let gross_loss: Decimal = -losses.iter().sum::<Decimal>();
        Self {
            win_rate_pct: (!trades.is_empty())
                .then(|| wins.len() as f64 / trades.len() as f64 * 100.0),
            profit_factor: (!gross_loss.is_zero()).then(|| f(gross_win) / f(gross_loss)),
            average_win: mean(&wins),
            average_loss: mean(&losses),
        }
    }
}

impl Metrics {
    /// The names [`Metrics::named`] gives.
    pub fn named_keys() -> Vec<&'static str> {
        let zero = Decimal::ZERO;
        let run = Run {
            trades: Vec::new(),
            equity: Vec::new(),
            dates: Vec::new(),
            final_value: zero,
            bars_in_market: 0,
            values: Vec::new(),
        };
        of_run(&run, zero, 0.0)
            .named()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// One figure by name.
    pub fn value_of(&self, name: &str) -> Option<f64> {
        self.named()
            .into_iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v)
    }

    /// Every figure by name, for tables and JSON (`None`: not defined).
    pub fn named(&self) -> Vec<(&'static str, Option<f64>)> {
        let money = |d: Decimal| Some(f(d.round_dp(2)));
        vec![
            ("start_value", money(self.start_value)),
            ("final_value", money(self.final_value)),
            ("gain", money(self.gain)),
            ("total_return_pct", Some(self.total_return_pct)),
            ("cagr_pct", self.cagr_pct),
            ("max_drawdown_pct", Some(self.max_drawdown_pct)),
            ("max_drawdown_days", Some(self.max_drawdown_days as f64)),
            ("volatility_pct", self.volatility_pct),
            ("sharpe", self.sharpe),
            ("sortino", self.sortino),
            ("calmar", self.calmar),
            ("trades", Some(self.trades as f64)),
            ("win_rate_pct", self.win_rate_pct),
            ("profit_factor", self.profit_factor),
            ("average_win", self.average_win.and_then(money)),
            ("average_loss", self.average_loss.and_then(money)),
            ("best_trade", self.best_trade.and_then(money)),
            ("worst_trade", self.worst_trade.and_then(money)),
            ("exposure_pct", Some(self.exposure_pct)),
        ]
    }
}
