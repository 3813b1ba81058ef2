//! The portfolio dashboard: for each of a user's connections, the account,
//! P&L, positions, recent orders and the market clock, fetched from the
//! broker in parallel. A refused credential marks the connection
//! "reconnect needed"; an unreachable broker is shown as such, never as an
//! empty portfolio.
//!
//! Reads are shared: per connection one broker read is in flight at a time,
//! concurrent page views wait for it and share its answer, and an answer is
//! reused for [`FRESH_FOR`]. A page never waits on the rate limiter for more
//! than about a second; when the broker cannot be asked right now, the last
//! snapshot is shown with its time.

pub mod account;
pub mod ledger;
pub mod live;
pub mod performance;

use crate::dto::broker::{
    AccountDto, BrokerageSummary, ConnectionDto, DashboardDto, DashboardState, MarketDto, OrderDto,
    PositionDto,
};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::broker::{
    Account, Amount, Broker, BrokerError, HistoryRequest, MarketClock, Order, OrderFilter,
    PortfolioHistory, Position, Side,
};
use crate::server::connections::{DEMO_LABEL, broker_for_page};
use crate::server::db::rows::ConnectionRow;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

const RECENT_ORDERS: usize = 20;
/// How long one read of an account serves every page view of it.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// One read of an account from its broker, and when it was taken.
#[derive(Clone)]
struct Snapshot {
    account: Account,
    positions: Vec<Position>,
    orders: Vec<Order>,
    clock: MarketClock,
    at: DateTime<Utc>,
    taken: std::time::Instant,
}

/// Which connection a snapshot belongs to: its id, owner and creation time,
/// so a connection that reuses a deleted one's id (SQLite reuses the highest
/// row id) never sees the old account's snapshot.
type SnapshotKey = (i64, i64, DateTime<Utc>);

/// One equity history as last read, and when; behind an async lock held
/// while a read is in flight, so concurrent views share it.
type Kept = std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, PortfolioHistory)>>>;

/// The last snapshot per connection, each behind its own async lock: the
/// lock is held while a read is in flight, so others wait and share it.
/// Beside them, each connection's equity histories as last read.
#[derive(Default)]
pub struct Snapshots {
    by_connection: std::sync::Mutex<
        std::collections::HashMap<
            SnapshotKey,
            std::sync::Arc<tokio::sync::Mutex<Option<Snapshot>>>,
        >,
    >,
    histories: std::sync::Mutex<Histories>,
}

/// The equity histories kept, and the size at which the stale ones are next
/// dropped (doubling, so dropping costs a constant per history kept).
#[derive(Default)]
struct Histories {
    kept: std::collections::HashMap<(SnapshotKey, HistoryRequest), Kept>,
    prune_at: usize,
}

impl Histories {
    /// The slot for `key`, made if new; a new one first drops every history
    /// that is stale and not being read once the map has doubled.
    fn slot(&mut self, key: (SnapshotKey, HistoryRequest)) -> Kept {
        if !self.kept.contains_key(&key) && self.kept.len() >= self.prune_at {
            self.kept.retain(|_, slot| {
                slot.try_lock().map_or(true, |kept| {
                    kept.as_ref()
                        .is_some_and(|(taken, _)| taken.elapsed() < FRESH_FOR)
                })
            });
            self.prune_at = (self.kept.len() * 2).max(1024);
        }
        self.kept.entry(key).or_default().clone()
    }
}

impl Snapshots {
    /// Drops what is kept of connection `id` (its orders changed): the next
    /// page view asks the broker.
    pub fn forget(&self, id: i64) {
        self.by_connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(connection, _, _), _| *connection != id);
        self.histories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .kept
            .retain(|((connection, _, _), _), _| *connection != id);
    }

    /// The connection's equity history for `asked`: as last read if that
    /// was less than [`FRESH_FOR`] ago, else from `broker`, one read at a
    /// time (a chart's page views share one read instead of each spending
    /// the user's rate allowance).
    pub async fn history(
        &self,
        row: &ConnectionRow,
        broker: &dyn Broker,
        asked: &HistoryRequest,
    ) -> Result<PortfolioHistory, BrokerError> {
        let key = ((row.id, row.user_id, row.created_at), asked.clone());
        let slot = self
            .histories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .slot(key);
        let mut kept = slot.lock().await;
        if let Some((_, h)) = kept
            .as_ref()
            .filter(|(taken, _)| taken.elapsed() < FRESH_FOR)
        {
            return Ok(h.clone());
        }
        let fresh = broker.portfolio_history(asked).await?;
        *kept = Some((std::time::Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    fn slot(&self, row: &ConnectionRow) -> std::sync::Arc<tokio::sync::Mutex<Option<Snapshot>>> {
        self.by_connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((row.id, row.user_id, row.created_at))
            .or_default()
            .clone()
    }
}

/// A fresh snapshot of the connection's account, shared with concurrent
/// callers; when the broker cannot be asked right now (rate limit, timeout,
/// unreachable, 5xx), the last snapshot instead, if there is one.
async fn snapshot(
    state: &AppState,
    row: &ConnectionRow,
    broker: &dyn Broker,
) -> Result<Snapshot, BrokerError> {
    let slot = state.snapshots.slot(row);
    let mut last = slot.lock().await;
    if let Some(s) = last.as_ref().filter(|s| s.taken.elapsed() < FRESH_FOR) {
        return Ok(s.clone());
    }
    let fetched = tokio::try_join!(
        broker.account(),
        broker.positions(),
        broker.orders(OrderFilter::All, RECENT_ORDERS),
        broker.clock(),
    );
    match fetched {
        Ok((account, positions, orders, clock)) => {
            let s = Snapshot {
                account,
                positions,
                orders,
                clock,
                at: Utc::now(),
                taken: std::time::Instant::now(),
            };
            *last = Some(s.clone());
            Ok(s)
        }
        Err(
            e @ (BrokerError::RateLimited { .. }
            | BrokerError::Timeout
            | BrokerError::Unreachable(_)
            | BrokerError::Api { status: 500.., .. }),
        ) => match last.as_ref() {
            Some(s) => {
                tracing::info!(connection_id = row.id, error = %e, "showing the last snapshot");
                Ok(s.clone())
            }
            None => Err(e),
        },
        Err(e) => {
            *last = None;
            Err(e)
        }
    }
}

fn connection_dto(row: &ConnectionRow, zone: Tz, now: DateTime<Utc>) -> ConnectionDto {
    ConnectionDto {
        id: row.id,
        label: row.label.clone(),
        environment: row.environment.clone(),
        auth_kind: row.auth_kind.clone(),
        key_hint: row.key_hint.clone(),
        status: row.status.clone(),
        created_at: Stamp::new(row.created_at, zone, now),
    }
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn overview(state: &AppState, user: &CurrentUser) -> Result<BrokerageSummary, AppError> {
    let rows = state.store.connections_of(user.id).await?;
    let simulated = state.settings.alpaca_oauth_simulated();
    let (zone, now) = (user.zone()?, Utc::now());
    Ok(BrokerageSummary {
        demo_connected: rows.iter().any(|r| r.label == DEMO_LABEL),
        connections: rows.iter().map(|r| connection_dto(r, zone, now)).collect(),
        oauth_simulated: simulated,
        oauth_environment: if simulated {
            "demo".into()
        } else {
            match state.settings.alpaca_oauth_environment {
                crate::server::config::OAuthEnvironment::Live => "live".into(),
                crate::server::config::OAuthEnvironment::Paper => "paper".into(),
            }
        },
    })
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn dashboards(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<DashboardDto>, AppError> {
    let rows = state.store.connections_of(user.id).await?;
    let zone = user.zone()?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(dashboard(state, row, zone).await?);
    }
    Ok(out)
}

fn pct(num: Decimal, den: Decimal) -> Option<Decimal> {
    (!den.is_zero()).then(|| (num / den * Decimal::ONE_HUNDRED).round_dp(2))
}

/// One connection's dashboard, its instants in `zone`. Relative times count
/// from now, except the market's, which count from the broker's clock (the
/// demo exchange keeps its own).
async fn dashboard(
    state: &AppState,
    mut row: ConnectionRow,
    zone: Tz,
) -> Result<DashboardDto, AppError> {
    let (broker, data_host) = broker_for_page(state, &row)?;
    let now = Utc::now();
    let (account, positions, orders, clock, fetched_at) = match snapshot(state, &row, &broker).await
    {
        Ok(s) => (
            s.account,
            s.positions,
            s.orders,
            s.clock,
            Stamp::new(s.at, zone, now),
        ),
        Err(e) => {
            let fetched_at = Stamp::new(now, zone, now);
            let dashboard_state = match e {
                BrokerError::Unauthorized { .. } => {
                    state
                        .store
                        .set_connection_status(row.id, "reconnect_needed")
                        .await?;
                    row.status = "reconnect_needed".into();
                    DashboardState::ReconnectNeeded
                }
                other => {
                    tracing::warn!(connection_id = row.id, error = %other, "broker unavailable for the dashboard");
                    DashboardState::BrokerUnreachable(unreachable_text(&other))
                }
            };
            return Ok(DashboardDto {
                connection: connection_dto(&row, zone, now),
                state: dashboard_state,
                fetched_at,
                account: None,
                positions: Vec::new(),
                orders: Vec::new(),
                market: None,
            });
        }
    };
    if row.status != "active" {
        state.store.set_connection_status(row.id, "active").await?;
        row.status = "active".into();
    }
    // Prices for positions the broker did not price, from the shared cache.
    let unpriced: Vec<String> = positions
        .iter()
        .filter(|p| p.current_price.is_none())
        .map(|p| p.symbol.clone())
        .collect();
    let cached = if unpriced.is_empty() {
        Default::default()
    } else {
        state
            .trade_cache
            .latest(&data_host, &broker as &dyn Broker, &unpriced)
            .await
            .unwrap_or_default()
    };
    let positions: Vec<PositionDto> = positions
        .into_iter()
        .map(|p| {
            let last = p
                .current_price
                .or_else(|| cached.get(&p.symbol).map(|t| t.price));
            let market_value = p
                .market_value
                .or_else(|| last.map(|l| (l * p.qty).round_dp(2)));
            let unrealized = p
                .unrealized_pl
                .or_else(|| market_value.map(|v| v - p.cost_basis));
            PositionDto {
                unrealized_pl_pct: unrealized.and_then(|u| pct(u, p.cost_basis)),
                symbol: p.symbol,
                qty: p.qty,
                avg_entry_price: p.avg_entry_price,
                last_price: last,
                market_value,
                unrealized_pl: unrealized,
            }
        })
        .collect();
    let total_pl: Decimal = positions.iter().filter_map(|p| p.unrealized_pl).sum();
    let total_cost: Decimal = positions
        .iter()
        .map(|p| (p.avg_entry_price * p.qty).round_dp(2))
        .sum();
    let today_pl = account.equity - account.last_equity;
    Ok(DashboardDto {
        connection: connection_dto(&row, zone, now),
        state: DashboardState::Ok,
        fetched_at,
        account: Some(AccountDto {
            number: account.number,
            status: account.status,
            currency: account.currency,
            equity: account.equity,
            cash: account.cash,
            buying_power: account.buying_power,
            non_marginable_buying_power: account.non_marginable_buying_power,
            today_pl,
            today_pl_pct: pct(today_pl, account.last_equity),
            total_pl,
            total_pl_pct: pct(total_pl, total_cost),
        }),
        positions,
        orders: orders
            .into_iter()
            .map(|o| OrderDto {
                id: o.id,
                symbol: o.symbol,
                side: match o.side {
                    Side::Buy => "buy".into(),
                    Side::Sell => "sell".into(),
                },
                amount: match o.amount {
                    Amount::Notional(n) => format!("${}", n.round_dp(2)),
                    Amount::Qty(q) => format!("{} sh", q.normalize()),
                },
                status: o.status.as_str().to_owned(),
                filled_qty: o.filled_qty,
                filled_avg_price: o.filled_avg_price,
                created_at: Stamp::new(o.created_at, zone, now),
            })
            .collect(),
        market: Some(MarketDto {
            is_open: clock.is_open,
            next_open: Stamp::new(clock.next_open, zone, clock.now),
            next_close: Stamp::new(clock.next_close, zone, clock.now),
        }),
    })
}

fn unreachable_text(e: &BrokerError) -> String {
    match e {
        BrokerError::Timeout => "The broker did not answer in time.".into(),
        BrokerError::Unreachable(_) => "The broker could not be reached.".into(),
        BrokerError::RateLimited { retry_after_secs } => {
            format!("The broker asked us to slow down; retrying in {retry_after_secs} s.")
        }
        BrokerError::Api { status, .. } if *status >= 500 => {
            format!("The broker is having trouble (HTTP {status}).")
        }
        other => format!("The broker refused the request: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(connection: i64) -> (SnapshotKey, HistoryRequest) {
        let opened = DateTime::<Utc>::UNIX_EPOCH;
        let asked = HistoryRequest {
            period: Some("1M".into()),
            start: None,
            timeframe: "1D".into(),
        };
        ((connection, 1, opened), asked)
    }

    fn history() -> PortfolioHistory {
        PortfolioHistory {
            base_value: Decimal::ZERO,
            timeframe: "1D".into(),
            points: Vec::new(),
        }
    }

    #[test]
    fn histories_no_one_has_looked_at_lately_do_not_pile_up() {
        let mut kept = Histories::default();
        let stale = std::time::Instant::now()
            .checked_sub(FRESH_FOR * 2)
            .expect("an instant in the past");
        for connection in 0..1024 {
            *kept.slot(key(connection)).try_lock().expect("unlocked") = Some((stale, history()));
        }
        let fresh = kept.slot(key(5000));
        *fresh.try_lock().expect("unlocked") = Some((std::time::Instant::now(), history()));
        // The first new history past 1,024 dropped every stale one; the
        // fresh one stays.
        kept.slot(key(5001));
        assert_eq!(kept.kept.len(), 2);
        assert!(kept.kept.contains_key(&key(5000)));
    }
}
