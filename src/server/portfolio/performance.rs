//! How a plan really did: its purchases (Dripfeed's own filled orders),
//! restated through the splits and credited with the dividends its
//! connection's ledger records, valued with the backtester's ledger at each
//! close and today at the last trade, beside the same dollars put into a
//! benchmark on the same days (`domain::backtest::actual`).

use super::ledger;
use crate::domain::backtest::actual::{self, Books, Event};
use crate::domain::backtest::chart::{chart, month_ends};
use crate::domain::backtest::plan::{Buy, Outcome, headline};
use crate::domain::money::cents;
use crate::dto::performance::{
    DividendRow, Figures, HoldingRow, PlanPerformance, PlanSummaryRow, PurchaseRow,
};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::backtest::history::Source;
use crate::server::backtest::history::last_closed_day;
use crate::server::backtest::report::{history_error, plan_error, source_for};
use crate::server::broker::{ActivityKind, Broker, Side};
use crate::server::connections::broker_for_page;
use crate::server::db::ledger::LedgerEntry;
use crate::server::db::rows::stored_decimal;
use crate::server::state::AppState;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The benchmark unless the user picks another.
pub const DEFAULT_BENCHMARK: &str = "SPY";
/// Points on the chart at most (the figures use every day).
const CHART_POINTS: usize = 500;
/// Bars fetched before the first purchase, so a plan that bought today has
/// a last close to stand on.
const LEAD_DAYS: i64 = 10;

/// What the user asked to compare with: a symbol, or `cash`.
pub fn benchmark_choice(asked: Option<&str>) -> Result<Option<String>, AppError> {
    let asked = asked.map(str::trim).filter(|s| !s.is_empty());
    match asked {
        None => Ok(Some(DEFAULT_BENCHMARK.to_owned())),
        Some(s) if s.eq_ignore_ascii_case("cash") => Ok(None),
        Some(s) => {
            let symbol = s.to_ascii_uppercase();
            let valid = symbol.len() <= 10
                && symbol
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.');
            if valid {
                Ok(Some(symbol))
            } else {
                Err(AppError::invalid(
                    "benchmark",
                    format!("{s:?} is not a symbol; use a ticker such as SPY, or cash."),
                ))
            }
        }
    }
}

/// Splits and dividends from a connection's ledger, for `symbols`: a
/// split's ratio is worked out from the shares the account held before it
/// (its `qty` is the change in shares), a dividend's amount per share from
/// `per_share_amount` (or its net amount over its quantity).
pub fn events_of(entries: &[LedgerEntry], symbols: &[String]) -> Vec<Event> {
    let mut held: HashMap<&str, Decimal> = HashMap::new();
    let mut out = Vec::new();
    for e in entries {
        let Some(symbol) = e.symbol.as_deref() else {
            continue;
        };
        match e.kind {
            ActivityKind::Fill => {
                let qty = e.qty.unwrap_or_default();
                *held.entry(symbol).or_default() += match e.side {
                    Some(Side::Sell) => -qty,
                    _ => qty,
                };
            }
            ActivityKind::Split => {
                let before = held.get(symbol).copied().unwrap_or_default();
                let change = e.qty.unwrap_or_default();
                if before > Decimal::ZERO && before + change > Decimal::ZERO {
                    if symbols.iter().any(|s| s == symbol) {
                        out.push(Event::Split {
                            date: e.date,
                            symbol: symbol.to_owned(),
                            ratio: (before + change) / before,
                        });
                    }
                    held.insert(symbol, before + change);
                } else {
                    tracing::warn!(activity = %e.activity_id, "a split on shares the ledger does not show; ignored");
                }
            }
            ActivityKind::Dividend if symbols.iter().any(|s| s == symbol) => {
                let per_share = e.per_share_amount.or_else(|| match (e.net_amount, e.qty) {
                    (Some(n), Some(q)) if !q.is_zero() => Some(n / q),
                    _ => None,
                });
                if let Some(per_share) = per_share {
                    out.push(Event::Dividend {
                        date: e.date,
                        symbol: symbol.to_owned(),
                        per_share,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) fn figures(o: &Outcome) -> Figures {
    let m = &o.metrics;
    Figures {
        name: o.name.clone(),
        contributed: m.contributed,
        value: cents(m.final_value),
        gain: cents(m.gain),
        gain_pct: (!m.contributed.is_zero())
            .then(|| (m.gain / m.contributed * Decimal::ONE_HUNDRED).round_dp(2)),
        twr_pct: m.twr_pct,
        xirr_pct: m.xirr_pct,
        max_drawdown_pct: m.max_drawdown_pct,
    }
}

/// Plan `plan_id`'s performance against `benchmark` (`None`: cash).
#[tracing::instrument(skip_all, fields(user_id = user.id, plan_id))]
pub async fn plan_performance(
    state: &AppState,
    user: &CurrentUser,
    plan_id: i64,
    benchmark: Option<String>,
) -> Result<PlanPerformance, AppError> {
    let Some(plan) = state.store.plan_of(user.id, plan_id).await? else {
        return Err(AppError::NotFound);
    };
    let zone = user.zone()?;
    let dec = |s: &str| stored_decimal("a filled quantity or price", s);
    let mut bought = Vec::new();
    for (date, symbol, qty, price) in state.store.plan_purchases(plan.id).await? {
        let Some(price) = price.as_deref().map(dec).transpose()? else {
            continue;
        };
        let quantity = dec(&qty)?;
        bought.push(Buy {
            date,
            dollars: cents(quantity * price),
            symbol,
            quantity,
            price,
        });
    }
    let source = source_for(state, user, plan.connection_id).await?;
    let now = source.now(state).await.map_err(history_error)?;
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let through = last_closed_day(now);
    let connection = match plan.connection_id {
        Some(id) => state.store.connection_of(user.id, id).await?,
        None => None,
    };
    let broker = match &connection {
        Some(c) => Some(broker_for_page(state, c)?),
        None => None,
    };
    let mut symbols: Vec<String> = Vec::new();
    for b in &bought {
        if !symbols.contains(&b.symbol) {
            symbols.push(b.symbol.clone());
        }
    }
    // Splits and dividends from the ledger, synced first when stale.
    let entries = match (&connection, &broker) {
        (Some(c), Some((b, _))) => ledger::current(state, c.id, b, now).await?,
        _ => Vec::new(),
    };
    let events = events_of(&entries, &symbols);
    let buys = actual::split_adjusted(&bought, &events);
    let paid = actual::dividends(&buys, &events);

    let empty = PlanPerformance {
        plan_id: plan.id,
        plan_name: plan.name.clone(),
        benchmark: benchmark.clone(),
        nothing_yet: true,
        plan: None,
        shadow: None,
        headline: String::new(),
        ahead_by: Decimal::ZERO,
        holdings: Vec::new(),
        purchases: Vec::new(),
        dividends: Vec::new(),
        chart: chart(&[], CHART_POINTS),
        month_ends: Vec::new(),
        chart_src: state.chart_src.to_string(),
        valued_at: Stamp::new(now, zone, now),
        prices_note: None,
    };
    let Some(first) = buys.iter().map(|b| b.date).min() else {
        return Ok(empty);
    };

    // Today's last trades for the holdings and the benchmark.
    let mut priced: Vec<String> = symbols.clone();
    priced.extend(benchmark.clone());
    let (live, prices_note) = match &broker {
        Some((b, host)) => match state
            .trade_cache
            .latest(host, b as &dyn Broker, &priced)
            .await
        {
            Ok(t) => (
                t.into_iter()
                    .map(|(s, t)| (s, t.price))
                    .collect::<HashMap<_, _>>(),
                None,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "no latest trades for a plan's performance");
                (
                    HashMap::new(),
                    Some("Today's prices could not be had from the broker; values are at the last close.".to_owned()),
                )
            }
        },
        None => (
            HashMap::new(),
            Some(
                "The plan's brokerage connection is gone; values are at the last close.".to_owned(),
            ),
        ),
    };

    let bars = bars_for(
        state,
        &source,
        &priced,
        first - Duration::days(LEAD_DAYS),
        through,
        today,
    )
    .await?;
    let books = Books {
        buys: &buys,
        dividends: &paid,
        bars: &bars,
        through,
        today: (today > through).then_some((today, &live)),
    };
    let mine = actual::actual(&plan.name, &books, 0.0).map_err(plan_error)?;
    let days: Vec<NaiveDate> = mine.days.iter().map(|d| d.date).collect();
    let live_benchmark = benchmark
        .as_deref()
        .and_then(|b| live.get(b).copied())
        .filter(|_| today > through)
        .map(|p| (today, p));
    let shadow = actual::shadow(
        &actual::flows(&mine),
        &days,
        &bars,
        benchmark.as_deref(),
        live_benchmark,
        0.0,
    )
    .map_err(plan_error)?;
    let drawn = chart(&[mine.clone(), shadow.clone()], CHART_POINTS);
    let latest: HashMap<String, Decimal> = symbols
        .iter()
        .filter_map(|s| {
            live.get(s)
                .copied()
                .or_else(|| bars.get(s).and_then(|b| b.last()).map(|b| b.close))
                .map(|p| (s.clone(), p))
        })
        .collect();
    Ok(PlanPerformance {
        nothing_yet: false,
        plan: Some(figures(&mine)),
        shadow: Some(figures(&shadow)),
        headline: headline(&mine, &shadow),
        ahead_by: cents(mine.metrics.final_value - shadow.metrics.final_value),
        holdings: actual::holdings(&buys, &latest)
            .into_iter()
            .map(|h| HoldingRow {
                symbol: h.symbol,
                shares: h.shares,
                cost: h.cost,
                average_cost: h.average_cost,
                price: h.price,
                value: h.value,
            })
            .collect(),
        purchases: buys
            .iter()
            .map(|b| PurchaseRow {
                date: b.date,
                symbol: b.symbol.clone(),
                dollars: b.dollars,
                shares: b.quantity,
                price: b.price,
            })
            .collect(),
        dividends: paid
            .iter()
            .map(|(date, symbol, amount)| DividendRow {
                date: *date,
                symbol: symbol.clone(),
                amount: *amount,
            })
            .collect(),
        month_ends: month_ends(&drawn.dates),
        chart: drawn,
        prices_note,
        ..empty
    })
}

/// The dashboard's row per plan: contributed, value, gain and how it stands
/// against the default benchmark bought on the same days. A plan whose
/// figures cannot be worked out right now shows what it put in, no value.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn plan_rows(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<PlanSummaryRow>, AppError> {
    let mut rows = Vec::new();
    for plan in state.store.plans_of(user.id).await? {
        let mut row = PlanSummaryRow {
            plan_id: plan.id,
            plan_name: plan.name.clone(),
            contributed: Decimal::ZERO,
            value: None,
            gain: None,
            versus: None,
        };
        match plan_performance(state, user, plan.id, Some(DEFAULT_BENCHMARK.to_owned())).await {
            Ok(p) => {
                if let (Some(mine), Some(_)) = (&p.plan, &p.shadow) {
                    row.contributed = mine.contributed;
                    row.value = Some(mine.value);
                    row.gain = Some(mine.gain);
                    let by = crate::domain::money::dollars(p.ahead_by.abs());
                    row.versus = Some(if p.ahead_by.is_zero() {
                        format!("level with {DEFAULT_BENCHMARK}")
                    } else if p.ahead_by > Decimal::ZERO {
                        format!("{by} ahead of {DEFAULT_BENCHMARK}")
                    } else {
                        format!("{by} behind {DEFAULT_BENCHMARK}")
                    });
                }
            }
            Err(e) => {
                tracing::warn!(plan_id = plan.id, error = %e, "no performance for a plan row")
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Each of `symbols`' bars from `from` through `through`, from the shared
/// cache.
async fn bars_for(
    state: &AppState,
    source: &Source,
    symbols: &[String],
    from: NaiveDate,
    through: NaiveDate,
    today: NaiveDate,
) -> Result<crate::domain::backtest::plan::Bars, AppError> {
    let mut bars = crate::domain::backtest::plan::Bars::new();
    for symbol in symbols {
        if bars.contains_key(symbol) {
            continue;
        }
        let got = source
            .daily_bars(&state.store, symbol, from, through, today)
            .await
            .map_err(history_error)?;
        bars.insert(symbol.clone(), got);
    }
    Ok(bars)
}
