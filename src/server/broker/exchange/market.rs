//! Simulated market data for the embedded exchange: a universe of popular US
//! ETFs and stocks, and deterministic synthetic prices. THESE PRICES ARE
//! SIMULATED: plausible drift and volatility per symbol, not market history.
//!
//! Every symbol has its own seeded random stream, so the same symbol always has
//! the same history, on every machine and in every process. Daily bars start on
//! 2000-01-03 and run through today on NYSE trading days; they are generated
//! once per process and extended as days pass. Minute bars are derived per day
//! from that day's bar (seeded by symbol and date): they start at the day's
//! open, end at its close, and reach exactly its high and low.
//!
//! All arithmetic is exact decimal: each day's return is drift plus volatility
//! times an approximately normal draw (the sum of twelve uniform draws, less
//! six), applied multiplicatively; no floating point is involved.

use crate::domain::calendar::{self, TradingDay};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

pub use super::symbols::{AssetSpec, Listing, UNIVERSE, asset, asset_id};

/// One day's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyBar {
    pub date: NaiveDate,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: u64,
}

impl From<DailyBar> for crate::domain::strategy::Bar {
    fn from(b: DailyBar) -> Self {
        Self {
            date: b.date,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: Decimal::from(b.volume),
        }
    }
}

/// One minute's prices; `start` is the minute's first instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteBar {
    pub start: DateTime<Utc>,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: u64,
}

/// The first day of simulated history.
pub fn history_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or(NaiveDate::MIN)
}

fn seed(symbol: &str, salt: &str) -> u64 {
    let h = Sha256::digest(format!("{salt}:{symbol}"));
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// A uniform draw in [0, 1) with six decimal places.
fn uniform(rng: &mut ChaCha8Rng) -> Decimal {
    Decimal::new((rng.next_u64() % 1_000_000) as i64, 6)
}

/// Approximately standard normal: the sum of twelve uniforms, less six.
fn normal(rng: &mut ChaCha8Rng) -> Decimal {
    (0..12).map(|_| uniform(rng)).sum::<Decimal>() - Decimal::from(6)
}

fn round_price(p: Decimal) -> Decimal {
    let dp = if p < Decimal::ONE { 4 } else { 2 };
    p.round_dp(dp).max(Decimal::new(1, 4))
}

/// √252, to turn yearly volatility into daily.
fn sqrt_252() -> Decimal {
    Decimal::new(15_8745, 4)
}

struct Series {
    rng: ChaCha8Rng,
    bars: Vec<DailyBar>,
}

impl Series {
    fn new(spec: &AssetSpec) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed(spec.symbol, "daily")),
            bars: Vec::new(),
        }
    }

    /// Extends the series through `through`, one trading day at a time.
    fn extend(&mut self, spec: &AssetSpec, through: NaiveDate) {
        let drift = Decimal::new(spec.drift_bp, 4) / Decimal::from(252);
        let vol = Decimal::new(spec.vol_bp, 4) / sqrt_252();
        let mut prev_close = self
            .bars
            .last()
            .map(|b| b.close)
            .unwrap_or_else(|| Decimal::new(spec.start_cents, 2));
        let next = self
            .bars
            .last()
            .map(|b| b.date + Duration::days(1))
            .unwrap_or_else(history_start);
        for day in calendar::trading_days(next, through) {
            let rng = &mut self.rng;
            let gap = vol * normal(rng) / Decimal::from(5);
            let ret = (drift + vol * normal(rng)).max(Decimal::new(-25, 2));
            let wick_up = vol * normal(rng).abs() / Decimal::TWO;
            let wick_down = vol * normal(rng).abs() / Decimal::TWO;
            let volume_factor = Decimal::new(5, 1) + uniform(rng);
            let open = round_price(prev_close * (Decimal::ONE + gap));
            let close = round_price(prev_close * (Decimal::ONE + ret));
            let high = round_price(open.max(close) * (Decimal::ONE + wick_up));
            let low =
                round_price(open.min(close) * (Decimal::ONE - wick_down).max(Decimal::new(5, 1)));
            let volume = (Decimal::from(spec.volume) * volume_factor).trunc();
            self.bars.push(DailyBar {
                date: day.date,
                open,
                high,
                low,
                close,
                volume: volume.to_u64().unwrap_or(spec.volume),
            });
            prev_close = close;
        }
    }
}

static BOOK: LazyLock<RwLock<HashMap<&'static str, Series>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Today in New York by the wall clock.
pub fn exchange_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive()
}

/// The last date the simulation reaches: a few years past the wall clock, so
/// an exchange clock run fast for a demo still has prices, while a typo'd
/// date cannot make it generate centuries.
pub fn simulation_horizon() -> NaiveDate {
    exchange_today() + Duration::days(5 * 366)
}

/// Daily bars of `symbol` from `from` to `to` (both included, up to
/// [`simulation_horizon`]). Callers decide what "today" is: the exchange
/// serves only what its own clock has reached. Unknown symbols have none.
pub fn daily_bars(symbol: &str, from: NaiveDate, to: NaiveDate) -> Vec<DailyBar> {
    let Some(spec) = asset(symbol) else {
        return Vec::new();
    };
    let to = to.min(simulation_horizon());
    let covered = |book: &HashMap<&'static str, Series>| {
        book.get(spec.symbol)
            .and_then(|s| s.bars.last())
            .is_some_and(|last| last.date >= calendar::previous_trading_day_from(to).date)
    };
    {
        let book = BOOK.read().unwrap_or_else(|e| e.into_inner());
        if covered(&book) {
            return slice(&book[spec.symbol].bars, from, to);
        }
    }
    let mut book = BOOK.write().unwrap_or_else(|e| e.into_inner());
    let series = book.entry(spec.symbol).or_insert_with(|| Series::new(spec));
    series.extend(spec, to);
    slice(&series.bars, from, to)
}

fn slice(bars: &[DailyBar], from: NaiveDate, to: NaiveDate) -> Vec<DailyBar> {
    let start = bars.partition_point(|b| b.date < from);
    let end = bars.partition_point(|b| b.date <= to);
    bars[start..end.max(start)].to_vec()
}

/// The daily bar of `symbol` on `date`, if it traded.
pub fn daily_bar(symbol: &str, date: NaiveDate) -> Option<DailyBar> {
    daily_bars(symbol, date, date).into_iter().next()
}

/// Minute bars already worked out, per symbol and day (a fill or a quote
/// needs one day's bars; generating them is the costly part of a price).
type MinuteCache = HashMap<(&'static str, NaiveDate), std::sync::Arc<Vec<MinuteBar>>>;
static MINUTES: LazyLock<std::sync::Mutex<MinuteCache>> =
    LazyLock::new(|| std::sync::Mutex::new(HashMap::new()));
/// Days kept in [`MINUTES`] before it starts over.
const MINUTE_CACHE_DAYS: usize = 2048;

/// The minute bars of `symbol` on trading day `day`: from the open to the
/// close, reaching exactly the day's high and low.
pub fn minute_bars(symbol: &str, day: &TradingDay) -> std::sync::Arc<Vec<MinuteBar>> {
    let Some(spec) = asset(symbol) else {
        return Default::default();
    };
    let key = (spec.symbol, day.date);
    if let Some(hit) = MINUTES.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let bars = std::sync::Arc::new(generate_minute_bars(spec, day));
    let mut cache = MINUTES.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MINUTE_CACHE_DAYS {
        cache.clear();
    }
    cache.insert(key, bars.clone());
    bars
}

fn generate_minute_bars(spec: &'static AssetSpec, day: &TradingDay) -> Vec<MinuteBar> {
    let Some(bar) = daily_bar(spec.symbol, day.date) else {
        return Vec::new();
    };
    let minutes = usize::try_from((day.close_at() - day.open_at()).num_minutes()).unwrap_or(0);
    if minutes == 0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed(spec.symbol, "minute") ^ u64::from(day.date.num_days_from_ce().unsigned_abs()),
    );
    // A random walk pinned to the open at the start and the close at the end…
    let mut walk = vec![Decimal::ZERO; minutes + 1];
    for i in 1..=minutes {
        walk[i] = walk[i - 1] + normal(&mut rng);
    }
    let n = Decimal::from(minutes as u64);
    let bridge: Vec<Decimal> = (0..=minutes)
        .map(|i| walk[i] - walk[minutes] * Decimal::from(i as u64) / n)
        .collect();
    // …scaled so it stays within the day's range…
    let (hi_dev, lo_dev) = bridge
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(h, l), b| {
            (h.max(*b), l.min(*b))
        });
    let trend = |i: usize| bar.open + (bar.close - bar.open) * Decimal::from(i as u64) / n;
    let room_up = (bar.high - bar.open.max(bar.close)).max(Decimal::ZERO);
    let room_down = (bar.open.min(bar.close) - bar.low).max(Decimal::ZERO);
    let scale_up = if hi_dev.is_zero() {
        Decimal::ZERO
    } else {
        room_up / hi_dev
    };
    let scale_down = if lo_dev.is_zero() {
        Decimal::ZERO
    } else {
        room_down / -lo_dev
    };
    let path: Vec<Decimal> = (0..=minutes)
        .map(|i| {
            let dev = bridge[i];
            let scaled = if dev >= Decimal::ZERO {
                dev * scale_up
            } else {
                dev * scale_down
            };
            round_price(trend(i) + scaled).clamp(bar.low, bar.high)
        })
        .collect();
    let argmax = (0..minutes)
        .max_by_key(|i| path[*i].max(path[*i + 1]))
        .unwrap_or(0);
    let argmin = (0..minutes)
        .min_by_key(|i| path[*i].min(path[*i + 1]))
        .unwrap_or(0);
    let per_minute = bar.volume / minutes as u64;
    (0..minutes)
        .map(|i| {
            let (open, close) = (path[i], path[i + 1]);
            // …and the day's extremes fall in the minutes nearest them.
            let high = if i == argmax {
                bar.high
            } else {
                open.max(close)
            };
            let low = if i == argmin {
                bar.low
            } else {
                open.min(close)
            };
            MinuteBar {
                start: day.open_at() + Duration::minutes(i as i64),
                open,
                high,
                low,
                close,
                volume: per_minute,
            }
        })
        .collect()
}

/// The simulated last trade price of `symbol` at `at`: the current minute's
/// open during the session, otherwise the last close.
pub fn price_at(symbol: &str, at: DateTime<Utc>) -> Option<Decimal> {
    asset(symbol)?;
    let ny_date = at.with_timezone(&chrono_tz::America::New_York).date_naive();
    let day = calendar::previous_trading_day_from(ny_date);
    if day.date == ny_date && day.is_open_at(at) {
        let minute = usize::try_from((at - day.open_at()).num_minutes()).unwrap_or(0);
        return minute_bars(symbol, &day).get(minute).map(|m| m.open);
    }
    let last_closed = if day.date == ny_date && at < day.open_at() {
        calendar::previous_trading_day_from(day.date - Duration::days(1))
    } else {
        day
    };
    daily_bar(symbol, last_closed.date).map(|b| b.close)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_universe_is_large_unique_and_has_the_popular_funds() {
        assert!(UNIVERSE.len() >= 60);
        let symbols: HashSet<&str> = UNIVERSE.iter().map(|a| a.symbol).collect();
        assert_eq!(symbols.len(), UNIVERSE.len());
        for s in ["SPY", "QQQ", "VOO", "VTI", "AAPL", "MSFT"] {
            assert!(asset(s).is_some(), "{s}");
        }
        assert!(UNIVERSE.iter().any(|a| !a.fractionable));
        assert!(UNIVERSE.iter().any(|a| !a.tradable));
        assert_eq!(asset("spy").map(|a| a.symbol), Some("SPY"));
        assert_eq!(asset_id("SPY"), asset_id("SPY"));
        assert_ne!(asset_id("SPY"), asset_id("VOO"));
    }

    #[test]
    fn there_are_at_least_twenty_years_of_daily_bars_on_trading_days_only() {
        let bars = daily_bars("VTI", d("2000-01-01"), d("2025-12-31"));
        assert_eq!(bars.first().map(|b| b.date), Some(history_start()));
        assert!(bars.len() > 20 * 246);
        assert!(bars.iter().all(|b| calendar::trading_day(b.date).is_some()));
        assert!(bars.windows(2).all(|w| w[0].date < w[1].date));
    }

    #[test]
    fn every_bar_is_consistent() {
        for symbol in ["SPY", "NVDA", "BND", "SQQQ", "BRK.A"] {
            for b in daily_bars(symbol, d("2000-01-01"), d("2025-12-31")) {
                assert!(b.low > Decimal::ZERO, "{symbol} {b:?}");
                assert!(
                    b.low <= b.open.min(b.close) && b.open.max(b.close) <= b.high,
                    "{symbol} {b:?}"
                );
                assert!(b.volume > 0);
            }
        }
    }

    #[test]
    fn histories_are_deterministic_and_differ_between_symbols() {
        let a = daily_bars("QQQ", d("2010-01-01"), d("2010-03-01"));
        let mut fresh = Series::new(asset("QQQ").unwrap());
        fresh.extend(asset("QQQ").unwrap(), d("2010-03-01"));
        assert_eq!(a, slice(&fresh.bars, d("2010-01-01"), d("2010-03-01")));
        let b = daily_bars("VOO", d("2010-01-01"), d("2010-03-01"));
        assert_ne!(
            a.iter().map(|x| x.close).collect::<Vec<_>>(),
            b.iter().map(|x| x.close).collect::<Vec<_>>()
        );
    }

    #[test]
    fn daily_moves_have_roughly_the_configured_volatility() {
        let spec = asset("SPY").unwrap();
        let bars = daily_bars("SPY", d("2000-01-01"), d("2019-12-31"));
        let returns: Vec<Decimal> = bars
            .windows(2)
            .map(|w| w[1].close / w[0].close - Decimal::ONE)
            .collect();
        let n = Decimal::from(returns.len() as u64);
        let mean = returns.iter().sum::<Decimal>() / n;
        let variance = returns
            .iter()
            .map(|r| (r - mean) * (r - mean))
            .sum::<Decimal>()
            / n;
        let target = Decimal::new(spec.vol_bp, 4) / sqrt_252();
        let target_var = target * target;
        assert!(
            variance > target_var / Decimal::TWO && variance < target_var * Decimal::TWO,
            "{variance} vs {target_var}"
        );
    }

    #[test]
    fn minute_bars_run_from_open_to_close_and_reach_the_days_extremes() {
        for date in ["2024-06-03", "2024-11-29"] {
            let day = calendar::trading_day(d(date)).unwrap();
            let bar = daily_bar("AAPL", day.date).unwrap();
            let minutes = minute_bars("AAPL", &day);
            let expected = if day.is_early_close() { 210 } else { 390 };
            assert_eq!(minutes.len(), expected, "{date}");
            assert_eq!(minutes[0].start, day.open_at());
            assert_eq!(minutes[0].open, bar.open);
            assert_eq!(minutes.last().unwrap().close, bar.close);
            assert_eq!(minutes.iter().map(|m| m.high).max(), Some(bar.high));
            assert_eq!(minutes.iter().map(|m| m.low).min(), Some(bar.low));
            assert!(
                minutes
                    .iter()
                    .all(|m| m.low <= m.open.min(m.close) && m.open.max(m.close) <= m.high)
            );
            assert_eq!(minute_bars("AAPL", &day), minutes, "deterministic");
        }
    }

    #[test]
    fn the_simulation_stops_at_its_horizon() {
        let bars = daily_bars(
            "SPY",
            simulation_horizon() - Duration::days(10),
            simulation_horizon() + Duration::days(3000),
        );
        assert!(!bars.is_empty());
        assert!(bars.iter().all(|b| b.date <= simulation_horizon()));
    }

    #[test]
    fn the_price_follows_the_session() {
        let day = calendar::trading_day(d("2024-06-03")).unwrap();
        let bar = daily_bar("SPY", day.date).unwrap();
        let previous = daily_bar("SPY", d("2024-05-31")).unwrap();
        assert_eq!(price_at("SPY", day.open_at()), Some(bar.open));
        assert_eq!(
            price_at("SPY", day.open_at() - Duration::minutes(1)),
            Some(previous.close)
        );
        assert_eq!(price_at("SPY", day.close_at()), Some(bar.close));
        assert_eq!(
            price_at("SPY", day.close_at() + Duration::hours(6)),
            Some(bar.close)
        );
        // Friday's close holds all weekend.
        let friday = calendar::trading_day(d("2024-05-31")).unwrap();
        assert_eq!(
            price_at("SPY", friday.close_at() + Duration::hours(40)),
            Some(previous.close)
        );
        assert_eq!(price_at("NOPE", day.open_at()), None);
    }
}
