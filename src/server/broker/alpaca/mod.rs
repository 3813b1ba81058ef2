//! [`AlpacaBroker`]: the [`Broker`] for any Alpaca-compatible host (paper,
//! live, or the embedded exchange), built from apca's endpoint types and
//! models issued through our own [`transport`]. apca's `Num` values become
//! exact `Decimal`s here, at the edge.

pub mod endpoints;
pub mod transport;

use super::{
    Account, Activity, Amount, Asset, Bar, Broker, BrokerError, BrokerResult, HistoryPoint,
    HistoryRequest, MarketClock, MarketDay, Order, OrderFilter, OrderKind, OrderRequest,
    OrderStatus, PortfolioHistory, Position, Side, TimeInForce, Trade,
};
use apca::api::v2::{asset, calendar, clock, order, orders, positions};
use apca::data::v2::bars;
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use num_decimal::Num;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use transport::{Host, Transport};

/// Market data feed: `iex` works on every Alpaca plan.
const FEED: &str = "iex";

pub struct AlpacaBroker {
    transport: Transport,
}

impl AlpacaBroker {
    pub fn new(transport: Transport) -> Self {
        Self { transport }
    }
}

/// `Num`'s own `Display` stops at 8 decimal places, short of the 9 Alpaca
/// uses for quantities: print with an explicit precision instead, then drop
/// the padding zeros.
fn dec(n: &Num) -> BrokerResult<Decimal> {
    [18, 12]
        .iter()
        .find_map(|dp| Decimal::from_str(&format!("{n:.dp$}", dp = *dp)).ok())
        .map(|d| d.normalize())
        .ok_or_else(|| BrokerError::Decode(format!("not a decimal: {n}")))
}

fn opt_dec(n: Option<&Num>) -> BrokerResult<Option<Decimal>> {
    n.map(dec).transpose()
}

fn num(d: Decimal) -> BrokerResult<Num> {
    Num::from_str(&d.normalize().to_string())
        .map_err(|_| BrokerError::Decode(format!("cannot send {d}")))
}

/// apca enums serialise to Alpaca's strings; use that rather than a match
/// that would break on its non-exhaustive enums.
fn wire_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn convert_order(o: &order::Order) -> BrokerResult<Order> {
    Ok(Order {
        id: o.id.as_hyphenated().to_string(),
        client_order_id: o.client_order_id.clone(),
        symbol: o.symbol.clone(),
        side: match o.side {
            order::Side::Buy => Side::Buy,
            order::Side::Sell => Side::Sell,
        },
        amount: match &o.amount {
            order::Amount::Quantity { quantity } => Amount::Qty(dec(quantity)?),
            order::Amount::Notional { notional } => Amount::Notional(dec(notional)?),
        },
        status: OrderStatus::parse(&wire_name(&o.status)),
        filled_qty: dec(&o.filled_quantity)?,
        filled_avg_price: opt_dec(o.average_fill_price.as_ref())?,
        created_at: o.created_at,
        filled_at: o.filled_at,
    })
}

fn convert_position(p: &apca::api::v2::position::Position) -> BrokerResult<Position> {
    Ok(Position {
        symbol: p.symbol.clone(),
        qty: dec(&p.quantity)?,
        avg_entry_price: dec(&p.average_entry_price)?,
        cost_basis: dec(&p.cost_basis)?,
        market_value: opt_dec(p.market_value.as_ref())?,
        current_price: opt_dec(p.current_price.as_ref())?,
        lastday_price: opt_dec(p.last_day_price.as_ref())?,
        unrealized_pl: opt_dec(p.unrealized_gain_total.as_ref())?,
        unrealized_plpc: opt_dec(p.unrealized_gain_total_percent.as_ref())?,
        unrealized_intraday_pl: opt_dec(p.unrealized_gain_today.as_ref())?,
    })
}

fn order_id(id: &str) -> BrokerResult<order::Id> {
    uuid::Uuid::parse_str(id)
        .map(order::Id)
        .map_err(|_| BrokerError::Api {
            status: 404,
            code: Some(40410000),
            message: format!("{id} is not an order id"),
        })
}

#[async_trait]
impl Broker for AlpacaBroker {
    async fn account(&self) -> BrokerResult<Account> {
        let a = self
            .transport
            .issue::<endpoints::GetAccount>(Host::Trading, &())
            .await?;
        Ok(Account {
            id: a.id,
            number: a.account_number,
            status: a.status,
            currency: a.currency,
            cash: a.cash,
            equity: a.equity,
            last_equity: a.last_equity,
            buying_power: a.buying_power,
            non_marginable_buying_power: a.non_marginable_buying_power,
            long_market_value: a.long_market_value,
            trading_blocked: a.trading_blocked,
        })
    }

    async fn positions(&self) -> BrokerResult<Vec<Position>> {
        let list = self
            .transport
            .issue::<positions::List>(Host::Trading, &())
            .await?;
        list.iter().map(convert_position).collect()
    }

    async fn submit_order(&self, req: &OrderRequest) -> BrokerResult<Order> {
        let amount = match req.amount {
            Amount::Qty(q) => order::Amount::quantity(num(q)?),
            Amount::Notional(n) => order::Amount::notional(num(n)?),
        };
        let (type_, limit_price) = match req.kind {
            OrderKind::Market => (order::Type::Market, None),
            OrderKind::Limit(p) => (order::Type::Limit, Some(num(p)?)),
        };
        let create = order::CreateReqInit {
            type_,
            limit_price,
            time_in_force: match req.time_in_force {
                TimeInForce::Day => order::TimeInForce::Day,
                TimeInForce::Gtc => order::TimeInForce::UntilCanceled,
            },
            client_order_id: Some(req.client_order_id.clone()),
            ..Default::default()
        }
        .init(
            req.symbol.clone(),
            match req.side {
                Side::Buy => order::Side::Buy,
                Side::Sell => order::Side::Sell,
            },
            amount,
        );
        let placed = self
            .transport
            .issue::<order::Create>(Host::Trading, &create)
            .await?;
        convert_order(&placed)
    }

    async fn order(&self, id: &str) -> BrokerResult<Order> {
        let o = self
            .transport
            .issue::<order::Get>(Host::Trading, &order_id(id)?)
            .await?;
        convert_order(&o)
    }

    async fn order_by_client_id(&self, client_order_id: &str) -> BrokerResult<Option<Order>> {
        match self
            .transport
            .issue::<order::GetByClientId>(Host::Trading, &client_order_id.to_owned())
            .await
        {
            Ok(o) => convert_order(&o).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn orders(&self, filter: OrderFilter, limit: usize) -> BrokerResult<Vec<Order>> {
        let req = orders::ListReq {
            status: match filter {
                OrderFilter::Open => orders::Status::Open,
                OrderFilter::Closed => orders::Status::Closed,
                OrderFilter::All => orders::Status::All,
            },
            limit: Some(limit.clamp(1, 500)),
            ..Default::default()
        };
        let list = self
            .transport
            .issue::<orders::List>(Host::Trading, &req)
            .await?;
        list.iter().map(convert_order).collect()
    }

    async fn cancel_order(&self, id: &str) -> BrokerResult<()> {
        self.transport
            .issue::<order::Delete>(Host::Trading, &order_id(id)?)
            .await
    }

    async fn clock(&self) -> BrokerResult<MarketClock> {
        let c = self
            .transport
            .issue::<clock::Get>(Host::Trading, &())
            .await?;
        Ok(MarketClock {
            now: c.current,
            is_open: c.open,
            next_open: c.next_open,
            next_close: c.next_close,
        })
    }

    async fn calendar(&self, start: NaiveDate, end: NaiveDate) -> BrokerResult<Vec<MarketDay>> {
        let req = calendar::ListReqInit::default().init(start, end);
        let days = self
            .transport
            .issue::<calendar::List>(Host::Trading, &req)
            .await?;
        Ok(days
            .iter()
            .filter(|d| d.date >= start && d.date <= end)
            .map(|d| MarketDay {
                date: d.date,
                open_at: crate::domain::calendar::new_york_instant(d.date, d.open),
                close_at: crate::domain::calendar::new_york_instant(d.date, d.close),
            })
            .collect())
    }

    async fn asset(&self, symbol: &str) -> BrokerResult<Option<Asset>> {
        match self
            .transport
            .issue::<asset::Get>(Host::Trading, &asset::Symbol::Sym(symbol.to_owned()))
            .await
        {
            Ok(a) => Ok(Some(Asset {
                symbol: a.symbol,
                name: None,
                tradable: a.tradable,
                fractionable: a.fractionable,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn assets(&self) -> BrokerResult<Vec<Asset>> {
        let list = self
            .transport
            .issue::<endpoints::ListAssets>(Host::Trading, &())
            .await?;
        Ok(list
            .into_iter()
            .map(|a| Asset {
                symbol: a.symbol,
                name: a.name,
                tradable: a.tradable,
                fractionable: a.fractionable,
            })
            .collect())
    }

    async fn daily_bars(
        &self,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BrokerResult<Vec<Bar>> {
        let from = crate::domain::calendar::new_york_instant(start, NaiveTime::MIN);
        let to = crate::domain::calendar::new_york_instant(end + Duration::days(1), NaiveTime::MIN);
        let mut out = Vec::new();
        let mut page_token = None;
        loop {
            // Split- and dividend-adjusted: a backtest over raw prices would
            // see a 4-for-1 split as a 75% crash and miss every dividend.
            let req = bars::ListReqInit {
                limit: Some(10_000),
                adjustment: Some(bars::Adjustment::All),
                feed: Some(apca::data::v2::Feed::IEX),
                page_token: page_token.take(),
                ..Default::default()
            }
            .init(symbol, from, to, bars::TimeFrame::OneDay);
            let page = self.transport.issue::<bars::List>(Host::Data, &req).await?;
            for b in &page.bars {
                out.push(Bar {
                    time: b.time,
                    open: dec(&b.open)?,
                    high: dec(&b.high)?,
                    low: dec(&b.low)?,
                    close: dec(&b.close)?,
                    volume: u64::try_from(b.volume).unwrap_or(u64::MAX),
                });
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => page_token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn latest_trades(&self, symbols: &[String]) -> BrokerResult<HashMap<String, Trade>> {
        if symbols.is_empty() {
            return Ok(HashMap::new());
        }
        let body = self
            .transport
            .issue::<endpoints::LatestTrades>(Host::Data, &(symbols.to_vec(), FEED.to_owned()))
            .await?;
        Ok(body
            .trades
            .into_iter()
            .map(|(s, t)| {
                (
                    s,
                    Trade {
                        time: t.t,
                        price: t.p,
                    },
                )
            })
            .collect())
    }

    async fn portfolio_history(&self, request: &HistoryRequest) -> BrokerResult<PortfolioHistory> {
        let body = self
            .transport
            .issue::<endpoints::GetPortfolioHistory>(Host::Trading, request)
            .await?;
        let flow = |kind: &str, i: usize| {
            body.cashflow
                .get(kind)
                .and_then(|v| v.get(i).copied().flatten())
                .unwrap_or_default()
        };
        let mut points = Vec::with_capacity(body.timestamp.len());
        for (i, t) in body.timestamp.iter().enumerate() {
            // A window without a value (before the account had any) is left out.
            let Some(equity) = body.equity.get(i).copied().flatten() else {
                continue;
            };
            let at = DateTime::from_timestamp(*t, 0)
                .ok_or_else(|| BrokerError::Decode(format!("timestamp {t} is out of range")))?;
            points.push(HistoryPoint {
                at,
                equity,
                profit_loss: body
                    .profit_loss
                    .get(i)
                    .copied()
                    .flatten()
                    .unwrap_or_default(),
                // CSW amounts are negative.
                net_deposits: flow("CSD", i) + flow("CSW", i),
            });
        }
        Ok(PortfolioHistory {
            base_value: body.base_value,
            timeframe: body.timeframe,
            points,
        })
    }

    async fn activities(
        &self,
        after: Option<DateTime<Utc>>,
        page_token: Option<&str>,
        page_size: u32,
    ) -> BrokerResult<Vec<Activity>> {
        let input = endpoints::ActivitiesInput {
            after,
            page_token: page_token.map(str::to_owned),
            page_size,
        };
        let page = self
            .transport
            .issue::<endpoints::ListActivities>(Host::Trading, &input)
            .await?;
        page.into_iter()
            .map(|raw| endpoints::activity_of(raw).map_err(BrokerError::Decode))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_decimal_places_survive_the_trip_through_num() {
        for text in [
            "0.306344795",
            "-0.0028035244307129",
            "123346.11",
            "100000",
            "1e-9",
        ] {
            let want = Decimal::from_scientific(text)
                .or_else(|_| Decimal::from_str(text))
                .unwrap();
            let n = Num::from_str(&want.to_string()).unwrap();
            assert_eq!(dec(&n).unwrap(), want, "{text}");
            assert_eq!(dec(&num(want).unwrap()).unwrap(), want, "{text}");
        }
    }
}
