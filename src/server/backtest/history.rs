//! Daily bars for the Backtest page: from the user's broker (Alpaca market
//! data, split- and dividend-adjusted, or the demo exchange over HTTP) through
//! the database cache (`db::bars`), or, for someone with no connection yet,
//! straight from the embedded exchange's simulated history.
//!
//! A cached snapshot answers only on the New York date it was fetched
//! (adjusted prices shift with every new dividend); a request it does not
//! cover fetches the union of both spans once and replaces the snapshot, so a
//! second run the same day asks the broker nothing.

use crate::domain::calendar;
use crate::domain::strategy::Bar;
use crate::server::broker::exchange::{Exchange, market};
use crate::server::broker::{Broker, BrokerError};
use crate::server::db::Store;
use crate::server::db::bars::BarSpan;
use crate::server::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// Where a backtest's bars come from.
pub enum Source {
    /// A connected broker, and its market-data host (the cache key).
    Broker {
        broker: Box<dyn Broker>,
        host: String,
    },
    /// The embedded exchange's simulated history, read in-process.
    Embedded(Exchange),
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The last trading day whose session had closed at `now`: the newest
/// complete daily bar.
pub fn last_closed_day(now: DateTime<Utc>) -> NaiveDate {
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    match calendar::trading_day(today) {
        Some(day) if now >= day.close_at() => today,
        _ => calendar::previous_trading_day_from(today - chrono::Duration::days(1)).date,
    }
}

/// The market's "now" at `broker` (whose market data is at `host`): the
/// embedded exchange this process serves is read in-process; any other
/// broker's clock comes through the shared
/// [`ClockCache`](crate::server::broker::market_data::ClockCache), so a page
/// view does not cost a broker call for the time.
pub async fn market_now(
    state: &AppState,
    host: &str,
    broker: &dyn Broker,
) -> Result<DateTime<Utc>, BrokerError> {
    if state.settings.demo_exchange_url.is_none() && host.starts_with(state.exchange_url.as_str()) {
        return Ok(state.exchange.now());
    }
    state.clock_cache.now(host, broker).await
}

impl Source {
    /// The source's "now": the broker's clock (the demo exchange keeps its
    /// own); see [`market_now`].
    pub async fn now(&self, state: &AppState) -> Result<DateTime<Utc>, HistoryError> {
        Ok(match self {
            Source::Embedded(exchange) => exchange.now(),
            Source::Broker { broker, host } => market_now(state, host, broker.as_ref()).await?,
        })
    }

    pub fn is_simulated(&self, exchange_host: &str) -> bool {
        match self {
            Source::Broker { host, .. } => host.starts_with(exchange_host),
            Source::Embedded(_) => true,
        }
    }

    /// `symbol`'s bars from `from` to `through`, oldest first; `today` is
    /// the New York date the answer is for.
    pub async fn daily_bars(
        &self,
        store: &Store,
        symbol: &str,
        from: NaiveDate,
        through: NaiveDate,
        today: NaiveDate,
    ) -> Result<Vec<Bar>, HistoryError> {
        let (broker, host) = match self {
            Source::Embedded(_) => {
                return Ok(market::daily_bars(symbol, from, through)
                    .into_iter()
                    .map(Bar::from)
                    .collect());
            }
            Source::Broker { broker, host } => (broker.as_ref(), host.as_str()),
        };
        let span = store.bar_span(host, symbol).await?;
        if let Some(s) = span
            && s.covers(from, through, today)
        {
            return Ok(store.cached_bars(host, symbol, from, through).await?);
        }
        let (first, last) = match span {
            Some(s) if s.as_of == today => (from.min(s.first_day), through.max(s.last_day)),
            _ => (from, through),
        };
        let fetched: Vec<Bar> = broker
            .daily_bars(symbol, first, last)
            .await?
            .into_iter()
            .map(|b| Bar {
                date: b
                    .time
                    .with_timezone(&chrono_tz::America::New_York)
                    .date_naive(),
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: Decimal::from(b.volume),
            })
            .filter(|b| b.date >= first && b.date <= last)
            .collect();
        let span = BarSpan {
            first_day: first,
            last_day: last,
            as_of: today,
        };
        store.replace_bars(host, symbol, span, &fetched).await?;
        Ok(fetched
            .into_iter()
            .filter(|b| b.date >= from && b.date <= through)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("an instant")
            .with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn the_newest_complete_bar_is_todays_only_after_the_close() {
        // Friday 2026-11-20: open at 10:30, closed at 16:30 New York time.
        assert_eq!(last_closed_day(at("2026-11-20T15:30:00Z")), d("2026-11-19"));
        assert_eq!(last_closed_day(at("2026-11-20T21:30:00Z")), d("2026-11-20"));
        // Saturday, and the Monday before the open: Friday's.
        assert_eq!(last_closed_day(at("2026-11-21T15:00:00Z")), d("2026-11-20"));
        assert_eq!(last_closed_day(at("2026-11-23T13:00:00Z")), d("2026-11-20"));
        // The day after Thanksgiving closes at 13:00.
        assert_eq!(last_closed_day(at("2026-11-27T18:30:00Z")), d("2026-11-27"));
        assert_eq!(last_closed_day(at("2026-11-27T12:00:00Z")), d("2026-11-25"));
    }
}
