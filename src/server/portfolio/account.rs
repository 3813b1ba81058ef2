//! One account's equity over time (the broker's portfolio history) and its
//! returns since it opened: deposits less withdrawals are the contributions,
//! equity the value, and the same deposits put into the benchmark on the
//! same days the shadow; the figures are the backtester's.

use super::performance::figures;
use crate::domain::backtest::actual;
use crate::domain::backtest::plan::{DayValue, headline, outcome_of};
use crate::dto::performance::{AccountPerformance, Period};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::backtest::history::{Source, last_closed_day};
use crate::server::backtest::report::{history_error, plan_error};
use crate::server::broker::{Broker, BrokerError, HistoryRequest, PortfolioHistory};
use crate::server::connections::broker_for_page;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

/// The request for `period`'s chart; `All` starts at `since`.
fn request(period: Period, since: DateTime<Utc>) -> HistoryRequest {
    let (period, timeframe) = match period {
        Period::Day => (Some("1D"), "15Min"),
        Period::Week => (Some("1W"), "1H"),
        Period::Month => (Some("1M"), "1D"),
        Period::Year => (Some("1A"), "1D"),
        Period::All => (None, "1D"),
    };
    HistoryRequest {
        period: period.map(str::to_owned),
        start: period.is_none().then_some(since),
        timeframe: timeframe.to_owned(),
    }
}

fn f(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The account's days (the trading day of each daily window, deposits so
/// far, equity) and dated contributions. Money already in the account
/// before the first window (a base value, with no deposit in that window)
/// counts as paid in on the first day.
fn days_of(h: &PortfolioHistory) -> (Vec<DayValue>, Vec<(NaiveDate, Decimal)>) {
    let mut flows: Vec<(NaiveDate, Decimal)> = Vec::new();
    let mut paid = Decimal::ZERO;
    let mut days = Vec::with_capacity(h.points.len());
    for (i, p) in h.points.iter().enumerate() {
        let date = p.at.date_naive();
        let mut flow = p.net_deposits;
        if i == 0 && h.base_value > Decimal::ZERO && p.net_deposits.is_zero() {
            flow += h.base_value;
        }
        if !flow.is_zero() {
            flows.push((date, flow));
            paid += flow;
        }
        days.push(DayValue {
            date,
            contributed: paid,
            cash: Decimal::ZERO,
            value: p.equity,
        });
    }
    (days, flows)
}

/// Connection `connection_id`'s chart for `period` and its returns since it
/// opened, beside the same deposits put into `benchmark` (`None`: cash at 0 %).
#[tracing::instrument(skip_all, fields(user_id = user.id, connection_id))]
pub async fn account_performance(
    state: &AppState,
    user: &CurrentUser,
    connection_id: i64,
    period: Period,
    benchmark: Option<String>,
) -> Result<AccountPerformance, AppError> {
    let Some(row) = state.store.connection_of(user.id, connection_id).await? else {
        return Err(AppError::NotFound);
    };
    let (broker, host) = broker_for_page(state, &row)?;
    let zone = user.zone()?;
    let mut out = AccountPerformance {
        connection_id,
        period,
        times: Vec::new(),
        labels: Vec::new(),
        daily: matches!(period, Period::Month | Period::Year | Period::All),
        equity: Vec::new(),
        deposits: Vec::new(),
        figures: None,
        shadow: None,
        headline: String::new(),
        chart_src: state.chart_src.to_string(),
        unavailable: None,
    };
    let unavailable = |e: BrokerError| {
        tracing::warn!(connection_id, error = %e, "no portfolio history");
        format!("The broker's account history could not be had: {e}")
    };
    let now = match crate::server::backtest::history::market_now(state, &host, &broker).await {
        Ok(now) => now,
        Err(e) => {
            out.unavailable = Some(unavailable(e));
            return Ok(out);
        }
    };
    // The account's life starts at its first activity (the ledger knows it).
    let entries = super::ledger::current(state, row.id, &broker, now).await?;
    let since = entries
        .iter()
        .map(|e| e.date)
        .min()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(row.created_at)
        - Duration::days(1);
    let (asked, whole) = (request(period, since), request(Period::All, since));
    let (chart, all) = match tokio::try_join!(
        state.snapshots.history(&row, &broker, &asked),
        state.snapshots.history(&row, &broker, &whole),
    ) {
        Ok(both) => both,
        Err(e) => {
            out.unavailable = Some(unavailable(e));
            return Ok(out);
        }
    };
    let first_deposit = chart.points.first().map(|p| p.net_deposits);
    let mut deposits =
        if chart.base_value > Decimal::ZERO && out.daily && first_deposit == Some(Decimal::ZERO) {
            chart.base_value
        } else {
            Decimal::ZERO
        };
    for p in &chart.points {
        deposits += p.net_deposits;
        out.times.push(p.at.timestamp());
        out.labels.push(if out.daily {
            p.at.date_naive().to_string()
        } else {
            crate::domain::when::local_dated(p.at, zone)
        });
        out.equity.push(f(p.equity));
        out.deposits.push(f(deposits));
    }
    if !out.daily {
        // Intraday windows: no deposits line (the base is yesterday's close).
        out.deposits.clear();
    }

    let (days, flows) = days_of(&all);
    if days.is_empty() || flows.is_empty() {
        return Ok(out);
    }
    let mine = outcome_of("Your account".to_owned(), days.clone(), &flows, 0.0);
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let through = last_closed_day(now);
    let first = days[0].date;
    out.figures = Some(figures(&mine));
    let mut bars = std::collections::HashMap::new();
    let mut live = None;
    if let Some(symbol) = &benchmark {
        let source = Source::Broker {
            broker: Box::new(broker_for_page(state, &row)?.0),
            host: host.clone(),
        };
        let got = source
            .daily_bars(
                &state.store,
                symbol,
                first - Duration::days(10),
                through,
                today,
            )
            .await
            .map_err(history_error)?;
        bars.insert(symbol.clone(), got);
        live = state
            .trade_cache
            .latest(&host, &broker as &dyn Broker, std::slice::from_ref(symbol))
            .await
            .ok()
            .and_then(|t| t.get(symbol).map(|t| t.price))
            .filter(|_| today > through)
            .map(|p| (today, p));
    }
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
    let shadow = actual::shadow(&flows, &dates, &bars, benchmark.as_deref(), live, 0.0)
        .map_err(plan_error)?;
    out.headline = headline(&mine, &shadow);
    out.shadow = Some(figures(&shadow));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::broker::HistoryPoint;

    fn point(day: &str, equity: i64, deposits: i64) -> HistoryPoint {
        HistoryPoint {
            at: day
                .parse::<NaiveDate>()
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
            equity: Decimal::from(equity),
            profit_loss: Decimal::ZERO,
            net_deposits: Decimal::from(deposits),
        }
    }

    #[test]
    fn deposits_are_the_contributions_and_money_already_there_counts_on_day_one() {
        let h = PortfolioHistory {
            base_value: Decimal::from(1000),
            timeframe: "1D".into(),
            points: vec![
                point("2026-12-01", 1010, 0),
                point("2026-12-02", 1520, 500),
                point("2026-12-03", 1400, -100),
            ],
        };
        let (days, flows) = days_of(&h);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            flows,
            vec![
                (d("2026-12-01"), Decimal::from(1000)),
                (d("2026-12-02"), Decimal::from(500)),
                (d("2026-12-03"), Decimal::from(-100)),
            ]
        );
        let paid: Vec<Decimal> = days.iter().map(|d| d.contributed).collect();
        assert_eq!(paid, [1000, 1500, 1400].map(Decimal::from));
        let o = outcome_of("a".into(), days, &flows, 0.0);
        // 1010/1000 × 1520/(1010 + 500) × 1400/(1520 − 100) − 1.
        let want = (1010.0 / 1000.0 * 1520.0 / 1510.0 * 1400.0 / 1420.0 - 1.0) * 100.0;
        assert!((o.metrics.twr_pct.unwrap() - want).abs() < 1e-9);
        assert_eq!(o.metrics.gain, Decimal::ZERO);
    }
}
