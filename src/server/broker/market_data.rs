//! A process-wide cache of latest trades, keyed by market-data host and
//! symbol, so many users viewing the same symbols cost one broker call a
//! minute rather than one each. Prices are public data: sharing them across
//! users leaks nothing.

use super::{Broker, BrokerResult, Trade};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct TradeCache {
    entries: Mutex<HashMap<(String, String), (Instant, Trade)>>,
}

impl TradeCache {
    /// Latest trades for `symbols` from `host`'s data, fetching only those
    /// missing or older than [`TTL`] through `broker`.
    pub async fn latest(
        &self,
        host: &str,
        broker: &dyn Broker,
        symbols: &[String],
    ) -> BrokerResult<HashMap<String, Trade>> {
        let now = Instant::now();
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            for s in symbols {
                match entries.get(&(host.to_owned(), s.clone())) {
                    Some((at, t)) if now.duration_since(*at) < TTL => {
                        out.insert(s.clone(), *t);
                    }
                    _ => missing.push(s.clone()),
                }
            }
        }
        if !missing.is_empty() {
            let fresh = broker.latest_trades(&missing).await?;
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.retain(|_, (at, _)| now.duration_since(*at) < TTL);
            for (s, t) in fresh {
                entries.insert((host.to_owned(), s.clone()), (now, t));
                out.insert(s, t);
            }
        }
        Ok(out)
    }
}

/// How long a broker's market clock is trusted once asked.
pub const CLOCK_TTL: Duration = Duration::from_secs(5);

/// The broker's market clock per host, kept as its offset from this
/// machine's clock for [`CLOCK_TTL`]: the time is the same for every account
/// on a host, and a page that asked for it on every view would spend its
/// user's rate allowance (200 requests a minute) on the time of day.
#[derive(Default)]
pub struct ClockCache {
    entries: Mutex<HashMap<String, (Instant, chrono::TimeDelta)>>,
}

impl ClockCache {
    /// `host`'s "now", asking `broker` only when the last answer is older
    /// than [`CLOCK_TTL`].
    pub async fn now(
        &self,
        host: &str,
        broker: &dyn Broker,
    ) -> BrokerResult<chrono::DateTime<chrono::Utc>> {
        let kept = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .filter(|(at, _)| at.elapsed() < CLOCK_TTL)
            .map(|(_, offset)| *offset);
        if let Some(offset) = kept {
            return Ok(chrono::Utc::now() + offset);
        }
        let clock = broker.clock().await?;
        let offset = clock.now - chrono::Utc::now();
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_owned(), (Instant::now(), offset));
        Ok(clock.now)
    }
}

/// The broker's asset list per trading host, kept for an hour (it changes
/// rarely and is large).
/// A shared, immutable asset list.
pub type AssetList = std::sync::Arc<Vec<super::Asset>>;

#[derive(Default)]
pub struct AssetCache {
    entries: Mutex<HashMap<String, (Instant, AssetList)>>,
}

pub const ASSET_TTL: Duration = Duration::from_secs(3600);

impl AssetCache {
    pub async fn assets(&self, host: &str, broker: &dyn Broker) -> BrokerResult<AssetList> {
        if let Some((at, list)) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            && at.elapsed() < ASSET_TTL
        {
            return Ok(list.clone());
        }
        let list = std::sync::Arc::new(broker.assets().await?);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_owned(), (Instant::now(), list.clone()));
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::broker::{
        Account, Activity, Asset, Bar, BrokerError, HistoryRequest, MarketClock, MarketDay, Order,
        OrderFilter, OrderRequest, PortfolioHistory, Position,
    };
    use async_trait::async_trait;
    use chrono::{DateTime, NaiveDate, Utc};
    use rust_decimal::Decimal;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A broker that only knows latest trades, and counts how often it is asked.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        clocks: AtomicUsize,
        asked: Mutex<Vec<Vec<String>>>,
    }

    fn nothing<T>() -> BrokerResult<T> {
        Err(BrokerError::Unreachable("not part of this test".into()))
    }

    #[async_trait]
    impl Broker for Counting {
        async fn account(&self) -> BrokerResult<Account> {
            nothing()
        }
        async fn positions(&self) -> BrokerResult<Vec<Position>> {
            nothing()
        }
        async fn submit_order(&self, _: &OrderRequest) -> BrokerResult<Order> {
            nothing()
        }
        async fn order(&self, _: &str) -> BrokerResult<Order> {
            nothing()
        }
        async fn order_by_client_id(&self, _: &str) -> BrokerResult<Option<Order>> {
            nothing()
        }
        async fn orders(&self, _: OrderFilter, _: usize) -> BrokerResult<Vec<Order>> {
            nothing()
        }
        async fn cancel_order(&self, _: &str) -> BrokerResult<()> {
            nothing()
        }
        async fn clock(&self) -> BrokerResult<MarketClock> {
            self.clocks.fetch_add(1, Ordering::SeqCst);
            // A demo exchange whose clock was moved an hour ahead.
            let now = Utc::now() + chrono::Duration::hours(1);
            Ok(MarketClock {
                now,
                is_open: true,
                next_open: now,
                next_close: now,
            })
        }
        async fn calendar(&self, _: NaiveDate, _: NaiveDate) -> BrokerResult<Vec<MarketDay>> {
            nothing()
        }
        async fn asset(&self, _: &str) -> BrokerResult<Option<Asset>> {
            nothing()
        }
        async fn assets(&self) -> BrokerResult<Vec<Asset>> {
            nothing()
        }
        async fn daily_bars(&self, _: &str, _: NaiveDate, _: NaiveDate) -> BrokerResult<Vec<Bar>> {
            nothing()
        }
        async fn portfolio_history(&self, _: &HistoryRequest) -> BrokerResult<PortfolioHistory> {
            nothing()
        }
        async fn activities(
            &self,
            _: Option<DateTime<Utc>>,
            _: Option<&str>,
            _: u32,
        ) -> BrokerResult<Vec<Activity>> {
            nothing()
        }
        async fn latest_trades(&self, symbols: &[String]) -> BrokerResult<HashMap<String, Trade>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.asked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(symbols.to_vec());
            Ok(symbols
                .iter()
                .map(|s| {
                    (
                        s.clone(),
                        Trade {
                            time: Utc::now(),
                            price: Decimal::from(s.len()),
                        },
                    )
                })
                .collect())
        }
    }

    fn syms(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn many_page_views_ask_a_hosts_clock_once_and_keep_its_offset() {
        let cache = ClockCache::default();
        let broker = Counting::default();
        for _ in 0..50 {
            let now = cache.now("https://paper", &broker).await.unwrap();
            // The broker's time, not this machine's: an hour ahead.
            let ahead = now - Utc::now();
            assert!(
                ahead > chrono::Duration::minutes(59) && ahead <= chrono::Duration::hours(1),
                "{ahead}"
            );
        }
        assert_eq!(broker.clocks.load(Ordering::SeqCst), 1);
        // Another host has its own clock.
        cache.now("https://other", &broker).await.unwrap();
        assert_eq!(broker.clocks.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn many_viewers_of_the_same_symbols_cost_one_broker_call() {
        let cache = TradeCache::default();
        let broker = Counting::default();
        for _ in 0..5 {
            let got = cache
                .latest("https://data", &broker, &syms(&["SPY", "VTI"]))
                .await
                .unwrap();
            assert_eq!(got.len(), 2);
        }
        assert_eq!(broker.calls.load(Ordering::SeqCst), 1);

        // Only the symbol not yet cached is fetched.
        let got = cache
            .latest("https://data", &broker, &syms(&["SPY", "QQQ"]))
            .await
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            broker.asked.lock().unwrap().last().cloned(),
            Some(syms(&["QQQ"]))
        );

        // Another data host is another cache entry.
        cache
            .latest("http://other", &broker, &syms(&["SPY"]))
            .await
            .unwrap();
        assert_eq!(broker.calls.load(Ordering::SeqCst), 3);
    }
}
