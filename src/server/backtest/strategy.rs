//! The Strategy backtest page's use-case: the MA crossover (with its volume
//! and trend filters, stop-loss and take-profit) over one symbol's bars from
//! the caller's broker, the same code the CLI and live recommendations run;
//! a sweep of fast × slow pairs in parallel (rayon, off the async runtime)
//! when either is a range. Strategy backtests and sweep sizes follow the tier.

use super::cli::Windows;
use super::labels::{number, strategy_label, strategy_shown};
use super::report::{date_field, fill_field, history_error, invalid, range, source_for};
use super::sweep::sweep;
use crate::domain::backtest::metrics::{Metrics, of_run};
use crate::domain::backtest::{self, Config, ExitReason, Run, Sizing};
use crate::domain::entitlement::{self, Feature};
use crate::domain::money::dollars;
use crate::domain::plan::Symbol;
use crate::domain::strategy::Bar;
use crate::domain::strategy::crossover::MaCrossover;
use crate::domain::strategy::risk::{Exits, Level};
use crate::dto::backtest::{Figure, StrategyQuery, StrategyReport, Sweep, SweepCell, TradeRow};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::state::AppState;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The most starting cash a backtest takes.
const MAX_CASH: u32 = 100_000_000;

/// The question, checked.
struct Asked {
    symbol: String,
    fasts: Vec<usize>,
    slows: Vec<usize>,
    volume_window: Option<usize>,
    trend_window: Option<usize>,
    config: Config,
    rank_by: String,
}

fn window(
    field: &str,
    raw: &str,
    default: &str,
    errors: &mut Vec<crate::error::FieldError>,
) -> Vec<usize> {
    let raw = if raw.trim().is_empty() {
        default
    } else {
        raw.trim()
    };
    match raw.parse::<Windows>() {
        Ok(w) => w.0,
        Err(e) => {
            errors.push(invalid(field, e));
            Vec::new()
        }
    }
}

fn filter(field: &str, raw: &str, errors: &mut Vec<crate::error::FieldError>) -> Option<usize> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<usize>() {
        Ok(n @ 1..=1000) => Some(n),
        _ => {
            errors.push(invalid(
                field,
                format!("{raw} is not a window of 1 to 1000 bars."),
            ));
            None
        }
    }
}

fn percent(field: &str, raw: &str, errors: &mut Vec<crate::error::FieldError>) -> Option<Level> {
    let raw = raw.trim().trim_end_matches('%');
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<Decimal>() {
        Ok(p) if p > Decimal::ZERO && p < Decimal::ONE_HUNDRED => Some(Level::Percent(p)),
        _ => {
            errors.push(invalid(
                field,
                format!("{raw} is not a percentage between 0 and 100."),
            ));
            None
        }
    }
}

fn asked(q: &StrategyQuery) -> Result<Asked, AppError> {
    let mut errors = Vec::new();
    let symbol = match Symbol::parse(if q.symbol.trim().is_empty() {
        "SPY"
    } else {
        &q.symbol
    }) {
        Ok(s) => s.as_str().to_owned(),
        Err(e) => {
            errors.push(invalid("symbol", e));
            String::new()
        }
    };
    let fasts = window("fast", &q.fast, "5", &mut errors);
    let slows = window("slow", &q.slow, "20", &mut errors);
    let volume_window = filter("volume_filter", &q.volume_filter, &mut errors);
    let trend_window = filter("trend_filter", &q.trend_filter, &mut errors);
    let cash = match q.cash.trim().trim_start_matches('$').replace(',', "") {
        c if c.is_empty() => Decimal::from(10_000),
        c => match c.parse::<Decimal>() {
            Ok(d) if d >= Decimal::ONE && d <= Decimal::from(MAX_CASH) => d,
            _ => {
                errors.push(invalid(
                    "cash",
                    format!("Starting cash is $1 to ${MAX_CASH}, not {}.", q.cash.trim()),
                ));
                Decimal::ZERO
            }
        },
    };
    let fill = fill_field(&q.fill, &mut errors);
    let sizing = match q.sizing.trim() {
        "" | "whole" => Sizing::WholeShares,
        "fractional" => Sizing::Fractional,
        other => {
            errors.push(invalid(
                "sizing",
                format!("{other} is not whole or fractional."),
            ));
            Sizing::WholeShares
        }
    };
    let exits = Exits {
        stop_loss: percent("stop_loss_pct", &q.stop_loss_pct, &mut errors),
        take_profit: percent("take_profit_pct", &q.take_profit_pct, &mut errors),
    };
    let rank_by = if q.rank_by.trim().is_empty() {
        "final_value"
    } else {
        q.rank_by.trim()
    };
    if !Metrics::named_keys().contains(&rank_by) {
        errors.push(invalid("rank_by", format!("{rank_by} is not a metric.")));
    }
    if !fasts.is_empty() && !slows.is_empty() && !fasts.iter().any(|f| slows.iter().any(|s| f < s))
    {
        errors.push(invalid(
            "slow",
            "The slow average must be longer than the fast one.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Asked {
        symbol,
        fasts,
        slows,
        volume_window,
        trend_window,
        config: Config {
            cash,
            fill,
            sizing,
            exits,
            ..Config::default()
        },
        rank_by: rank_by.to_owned(),
    })
}

fn figures(m: &Metrics) -> Vec<Figure> {
    m.named()
        .into_iter()
        .map(|(key, value)| Figure {
            key: key.to_owned(),
            label: strategy_label(key).to_owned(),
            shown: strategy_shown(m, key, value),
            value,
        })
        .collect()
}

fn trade_rows(run: &Run) -> Vec<TradeRow> {
    run.trades
        .iter()
        .map(|t| TradeRow {
            entry_date: t.entry_date,
            exit_date: t.exit_date,
            entry_price: dollars(t.entry_price),
            exit_price: dollars(t.exit_price),
            quantity: t.quantity.normalize().to_string(),
            pnl: dollars(t.pnl),
            exit_reason: match t.exit_reason {
                ExitReason::Signal => "cross down",
                ExitReason::StopLoss => "stop-loss",
                ExitReason::TakeProfit => "take-profit",
                ExitReason::EndOfData => "still open at the end",
            }
            .to_owned(),
        })
        .collect()
}

/// The heatmap's shade of each value: its quintile among the defined values
/// (0 worst … 4 best; an undefined value is 0).
fn shades(values: &[Option<f64>]) -> Vec<u8> {
    let mut defined: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    defined.sort_by(f64::total_cmp);
    values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() && defined.len() > 1 => {
                let below = defined.partition_point(|x| x < v);
                ((below * 5) / defined.len()).min(4) as u8
            }
            Some(_) if defined.len() == 1 => 4,
            _ => 0,
        })
        .collect()
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn run(
    state: &AppState,
    user: &CurrentUser,
    q: &StrategyQuery,
) -> Result<StrategyReport, AppError> {
    let ready = prepare(state, user, q).await?;
    ready.compute(None).await
}

/// A strategy backtest checked and its bars fetched: everything but the
/// computation, which [`Ready::compute`] does off the async runtime.
pub struct Ready {
    asked: Asked,
    bars: Vec<Bar>,
    /// Pairs the sweep evaluates (1 for a single run).
    pub pairs: usize,
    frame: Frame,
}

/// What the report says besides the computation's results.
struct Frame {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    simulated: bool,
    max_pairs: u32,
    query: StrategyQuery,
    chart_src: String,
}

/// Checks `q` against the caller's tier and fetches its bars.
pub async fn prepare(
    state: &AppState,
    user: &CurrentUser,
    q: &StrategyQuery,
) -> Result<Ready, AppError> {
    let tier = crate::server::billing::tier_of(state, user.id).await?;
    entitlement::check(Feature::Backtests, &tier, state.settings.tiers.tiers())
        .map_err(AppError::Locked)?;
    let a = asked(q)?;
    let mut errors = Vec::new();
    let from = date_field("from", &q.from, &mut errors);
    let to = date_field("to", &q.to, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let pairs = crate::domain::backtest::sweep::pairs(&a.fasts, &a.slows).len();
    let max_pairs = tier.backtesting().sweep_pairs;
    if pairs > 1 && max_pairs == 0 {
        return Err(AppError::Locked(format!(
            "Parameter sweeps are not included in your {} plan; give one fast and one slow window.",
            tier.name
        )));
    }
    if pairs > 1 && pairs > max_pairs as usize {
        return Err(AppError::Locked(format!(
            "That sweep is {pairs} pairs; your {} plan sweeps up to {max_pairs} at a time.",
            tier.name
        )));
    }
    let source = source_for(state, user, None).await?;
    let (from, to, today) = range(state, &source, from, to, &tier).await?;
    let bars = source
        .daily_bars(&state.store, &a.symbol, from, to, today)
        .await
        .map_err(history_error)?;
    if bars.len() < 2 {
        return Err(AppError::invalid(
            "symbol",
            format!("There are no daily bars for {} in that range.", a.symbol),
        ));
    }
    Ok(Ready {
        asked: a,
        bars,
        pairs,
        frame: Frame {
            simulated: source.is_simulated(state.exchange_url.as_str()),
            from,
            to,
            max_pairs,
            query: q.clone(),
            chart_src: state.chart_src.to_string(),
        },
    })
}

impl Ready {
    /// Runs the backtest (or the sweep, counting each pair evaluated into
    /// `progress`) and builds its report.
    pub async fn compute(
        self,
        progress: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    ) -> Result<StrategyReport, AppError> {
        let Ready {
            asked, bars, frame, ..
        } = self;
        let computed =
            tokio::task::spawn_blocking(move || compute(asked, bars, progress.as_deref()))
                .await
                .map_err(|e| AppError::from(anyhow::Error::from(e)))?
                .map_err(|e| AppError::invalid("slow", e.to_string()))?;
        Ok(report(computed, frame))
    }
}

fn report(c: Computed, f: Frame) -> StrategyReport {
    let Computed {
        title,
        metrics,
        run,
        sweep,
    } = c;
    let Frame {
        from,
        to,
        simulated,
        max_pairs,
        query: q,
        chart_src,
    } = f;
    let headline = format!(
        "Final value {} ({}) after {} trades",
        dollars(run.final_value),
        number("total_return_pct", metrics.value_of("total_return_pct")),
        run.trades.len()
    );
    StrategyReport {
        title,
        from,
        to,
        simulated,
        headline,
        metrics: figures(&metrics),
        trades: trade_rows(&run),
        dates: run.equity.iter().map(|p| p.date).collect(),
        equity: run.equity.iter().map(|p| p.value.to_f64()).collect(),
        sweep,
        query: q.to_query_string(),
        chart_src,
        max_sweep_pairs: max_pairs,
    }
}

struct Computed {
    title: String,
    metrics: Metrics,
    run: Run,
    sweep: Option<Sweep>,
}

/// The single run, or the sweep and a full run of its best pair.
fn compute(
    a: Asked,
    bars: Vec<Bar>,
    progress: Option<&std::sync::atomic::AtomicUsize>,
) -> anyhow::Result<Computed> {
    let (fast, slow, sweep) = match (a.fasts.as_slice(), a.slows.as_slice()) {
        ([f], [s]) => (*f, *s, None),
        _ => {
            let rows = sweep(
                &bars, &a.fasts, &a.slows, &a.config, 0.0, &a.rank_by, progress,
            )?;
            let values: Vec<Option<f64>> = rows
                .iter()
                .map(|r| r.metrics.value_of(&a.rank_by))
                .collect();
            let cells = rows
                .iter()
                .zip(&values)
                .zip(shades(&values))
                .map(|((r, v), shade)| SweepCell {
                    fast: r.fast,
                    slow: r.slow,
                    value: *v,
                    shown: strategy_shown(&r.metrics, &a.rank_by, *v),
                    shade,
                })
                .collect();
            let best = (rows[0].fast, rows[0].slow);
            let sweep = Sweep {
                rank_label: strategy_label(&a.rank_by).to_owned(),
                rank_by: a.rank_by.clone(),
                fasts: a.fasts.clone(),
                slows: a.slows.clone(),
                cells,
            };
            (best.0, best.1, Some(sweep))
        }
    };
    let strategy = MaCrossover {
        fast,
        slow,
        volume_window: a.volume_window,
        trend_window: a.trend_window,
    };
    strategy.check().map_err(anyhow::Error::msg)?;
    let run = backtest::run(&bars, &strategy.signals(&bars), &a.config);
    let metrics = of_run(&run, a.config.cash, 0.0);
    let best = if sweep.is_some() {
        ", the sweep's best pair"
    } else {
        ""
    };
    Ok(Computed {
        title: format!("MA {fast}/{slow} crossover on {}{best}", a.symbol),
        metrics,
        run,
        sweep,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_are_quintiles_of_the_defined_values() {
        let values: Vec<Option<f64>> = (1..=10).map(|v| Some(f64::from(v))).chain([None]).collect();
        assert_eq!(shades(&values), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0]);
        assert_eq!(shades(&[Some(3.0)]), [4]);
    }
}
