//! The embedded exchange's books: accounts (keyed by API key id or OAuth
//! token), cash, positions and orders, and the matching rules that fill them.
//!
//! Pure logic: every operation takes the exchange's `now`, so tests drive time
//! explicitly. Prices come from the simulated market (`market::price_at`).
//! Invariants: cash and quantities are exact decimals; an order's `filled_qty`
//! only grows; a terminal order (filled, canceled, expired, rejected) never
//! changes again; `client_order_id` is unique per account.
//!
//! This file holds the books (accounts, credentials, orders, positions);
//! `matching.rs` the rules that place, fill, expire and cancel orders.

mod activities;
mod history;
mod matching;

pub use activities::{ActivityQuery, DIVIDENDS, ex_dates};
pub use history::HistoryQuery;

use super::market;
use crate::domain::calendar;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A refusal, shaped like Alpaca's error bodies: an HTTP status plus the
/// numeric `code` and `message` Alpaca puts in the JSON body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct Refusal {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    /// 422, Alpaca's code for invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(422, 40010001, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(401, 40110000, "request is not authorized")
    }
    pub fn order_not_found() -> Self {
        Self::new(404, 40410000, "order is not found.")
    }
    pub fn insufficient_buying_power() -> Self {
        Self::new(403, 40310000, "insufficient buying power")
    }
}

/// The cash a new account starts with.
pub fn default_funding() -> Decimal {
    Decimal::from(100_000)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Market,
    Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    Day,
    Gtc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Accepted,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
    Rejected,
}

impl Status {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::New | Status::Accepted | Status::PartiallyFilled
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Accepted => "accepted",
            Status::PartiallyFilled => "partially_filled",
            Status::Filled => "filled",
            Status::Canceled => "canceled",
            Status::Expired => "expired",
            Status::Rejected => "rejected",
        }
    }
}

/// One order as the exchange keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub client_order_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub filled_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub qty: Option<Decimal>,
    pub notional: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub status: Status,
    /// Cash set aside for an open buy (so two open orders cannot spend it twice).
    pub reserved: Decimal,
    /// Fault injection: fill only this share of the order, then let the rest
    /// expire at the close.
    pub partial_fill: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub qty: Decimal,
    pub cost_basis: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub number: String,
    pub created_at: DateTime<Utc>,
    pub cash: Decimal,
    /// Equity at the previous close, and the trading day it is "as of".
    pub last_equity: Decimal,
    pub last_equity_date: Option<NaiveDate>,
    pub positions: BTreeMap<String, Position>,
    pub orders: Vec<Order>,
    /// Account activities in Alpaca's shapes, in id (time) order.
    #[serde(default)]
    pub activities: Vec<serde_json::Value>,
    /// The last day simulated dividends were paid through (`None`: books
    /// saved before there were activities).
    #[serde(default)]
    pub dividends_through: Option<NaiveDate>,
    /// Every change in cash and when (for the equity history).
    #[serde(default)]
    pub cash_moves: Vec<(DateTime<Utc>, Decimal)>,
    /// Trade updates not yet handed to the stream (never saved).
    #[serde(skip)]
    pub events: Vec<OrderEvent>,
}

/// A change to an order, as the trade-updates stream reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    /// `new`, `fill`, `partial_fill`, `canceled`, `expired`.
    pub event: &'static str,
    /// The order as it is after the change.
    pub order: Order,
    pub at: DateTime<Utc>,
    /// A fill's price and quantity.
    pub fill: Option<(Decimal, Decimal)>,
    /// The position's quantity after the change.
    pub position_qty: Decimal,
}

/// What the caller wants to place; validated by [`Ledger::submit`].
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Option<Side>,
    pub order_type: Option<OrderType>,
    pub time_in_force: Option<TimeInForce>,
    pub qty: Option<Decimal>,
    pub notional: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub client_order_id: Option<String>,
    pub extended_hours: bool,
}

/// Which orders a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Open,
    Closed,
    All,
}

/// Every account, and how callers prove which one is theirs. Credentials are
/// kept only as SHA-256 hashes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub accounts: HashMap<Uuid, Account>,
    /// API key id → (SHA-256 of the secret, account).
    pub keys: HashMap<String, (String, Uuid)>,
    /// SHA-256 of an OAuth access token → account.
    pub tokens: HashMap<String, Uuid>,
}

pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Ledger {
    /// Opens a funded account reachable with this key pair.
    pub fn open_with_key(
        &mut self,
        key_id: &str,
        secret: &str,
        cash: Decimal,
        now: DateTime<Utc>,
    ) -> Uuid {
        let id = self.new_account(cash, now);
        self.keys.insert(key_id.to_owned(), (digest(secret), id));
        id
    }

    /// Opens a funded account reachable with this OAuth access token.
    pub fn open_with_token(&mut self, token: &str, cash: Decimal, now: DateTime<Utc>) -> Uuid {
        let id = self.new_account(cash, now);
        self.tokens.insert(digest(token), id);
        id
    }

    fn new_account(&mut self, cash: Decimal, now: DateTime<Utc>) -> Uuid {
        let id = Uuid::new_v4();
        let number = format!("PA{}", &id.simple().to_string()[..10].to_ascii_uppercase());
        let mut account = Account {
            id,
            number,
            created_at: now,
            cash,
            last_equity: cash,
            last_equity_date: None,
            positions: BTreeMap::new(),
            orders: Vec::new(),
            activities: Vec::new(),
            dividends_through: None,
            cash_moves: Vec::new(),
            events: Vec::new(),
        };
        account.record_funding(cash, now);
        self.accounts.insert(id, account);
        id
    }

    /// The account these API-key headers open, if the pair matches.
    pub fn by_key(&self, key_id: &str, secret: &str) -> Option<Uuid> {
        let (hash, id) = self.keys.get(key_id)?;
        constant_time_eq(hash, &digest(secret)).then_some(*id)
    }

    /// Whether this key id is known at all (a known id with a wrong secret is
    /// refused, never re-opened).
    pub fn knows_key(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    pub fn by_token(&self, token: &str) -> Option<Uuid> {
        self.tokens.get(&digest(token)).copied()
    }

    pub fn account(&self, id: Uuid) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub fn account_mut(&mut self, id: Uuid) -> Option<&mut Account> {
        self.accounts.get_mut(&id)
    }
}

/// The exchange's last trade price for a symbol at `now`.
pub fn price(symbol: &str, now: DateTime<Utc>) -> Option<Decimal> {
    market::price_at(symbol, now)
}

/// The close of the last session that ended before today's (the "previous
/// close" Alpaca reports as `lastday_price`).
pub fn previous_close(symbol: &str, now: DateTime<Utc>) -> Option<Decimal> {
    let today = new_york_date(now);
    let prev = calendar::previous_trading_day_from(today - Duration::days(1));
    market::daily_bar(symbol, prev.date).map(|b| b.close)
}

pub fn new_york_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::America::New_York)
        .date_naive()
}

/// Whether the regular session is open at `now`.
pub fn is_open(now: DateTime<Utc>) -> bool {
    calendar::trading_day(new_york_date(now)).is_some_and(|d| d.is_open_at(now))
}

/// The first session open strictly after `at`.
fn next_open_after(at: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = calendar::next_trading_day_from(new_york_date(at));
    while day.open_at() <= at {
        day = calendar::next_trading_day_from(day.date + Duration::days(1));
    }
    day.open_at()
}

/// The close of the session an order placed at `at` belongs to (today's if
/// it is still open or yet to open, otherwise the next one's).
fn session_close_for(at: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = calendar::next_trading_day_from(new_york_date(at));
    while day.close_at() <= at {
        day = calendar::next_trading_day_from(day.date + Duration::days(1));
    }
    day.close_at()
}

#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// An account opened at `opened` that bought $1,000 of SPY at `bought`.
    pub fn bought_spy(opened: DateTime<Utc>, bought: DateTime<Utc>) -> (Ledger, Uuid, Order) {
        let mut l = Ledger::default();
        let id = l.open_with_key("PK", "s", default_funding(), opened);
        let order = NewOrder {
            symbol: "SPY".into(),
            side: Some(Side::Buy),
            order_type: Some(OrderType::Market),
            time_in_force: Some(TimeInForce::Day),
            notional: Some(Decimal::from(1000)),
            ..NewOrder::default()
        };
        let o = l
            .account_mut(id)
            .and_then(|a| a.submit(order, bought, None).ok())
            .expect("the order is placed");
        (l, id, o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims::{assert_err, assert_ok};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    // Friday 2026-11-20, 10:30 New York: the session is open.
    const OPEN: &str = "2026-11-20T15:30:00Z";
    // Saturday.
    const WEEKEND: &str = "2026-11-21T15:30:00Z";

    fn account() -> (Ledger, Uuid) {
        let mut l = Ledger::default();
        let id = l.open_with_key(
            "PKTEST",
            "secret",
            default_funding(),
            at("2026-11-01T00:00:00Z"),
        );
        (l, id)
    }

    fn buy_notional(symbol: &str, n: &str) -> NewOrder {
        NewOrder {
            symbol: symbol.into(),
            side: Some(Side::Buy),
            order_type: Some(OrderType::Market),
            time_in_force: Some(TimeInForce::Day),
            notional: Some(n.parse().unwrap()),
            ..NewOrder::default()
        }
    }

    #[test]
    fn keys_open_only_their_own_account() {
        let (mut l, id) = account();
        let other = l.open_with_key("PKOTHER", "s2", default_funding(), at(OPEN));
        assert_eq!(l.by_key("PKTEST", "secret"), Some(id));
        assert_eq!(l.by_key("PKTEST", "wrong"), None);
        assert_eq!(l.by_key("PKOTHER", "s2"), Some(other));
        assert_ne!(id, other);
    }

    #[test]
    fn a_notional_buy_in_session_fills_at_once_for_exactly_its_amount() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let o = assert_ok!(a.submit(buy_notional("SPY", "250.50"), at(OPEN), None));
        assert_eq!(o.status, Status::Filled);
        let px = price("SPY", at(OPEN)).unwrap();
        assert_eq!(o.filled_avg_price, Some(px.round_dp(4)));
        assert_eq!(
            o.filled_qty,
            (Decimal::new(25050, 2) / px).trunc_with_scale(9)
        );
        assert_eq!(a.cash, Decimal::from(100_000) - Decimal::new(25050, 2));
        assert_eq!(a.positions["SPY"].qty, o.filled_qty);
    }

    #[test]
    fn an_order_placed_while_closed_waits_and_fills_at_the_next_open() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let o = assert_ok!(a.submit(buy_notional("VTI", "100"), at(WEEKEND), None));
        assert_eq!(o.status, Status::Accepted);
        assert_eq!(a.buying_power(), Decimal::from(99_900));
        a.settle(at("2026-11-23T14:00:00Z"));
        assert_eq!(a.order(o.id).unwrap().status, Status::Accepted);
        // Monday's open is 14:30 UTC.
        a.settle(at("2026-11-23T14:31:00Z"));
        let filled = a.order(o.id).unwrap();
        assert_eq!(filled.status, Status::Filled);
        assert_eq!(filled.filled_at, Some(at("2026-11-23T14:30:00Z")));
        assert_eq!(
            filled.filled_avg_price,
            Some(
                price("VTI", at("2026-11-23T14:30:00Z"))
                    .unwrap()
                    .round_dp(4)
            )
        );
    }

    #[test]
    fn a_reused_client_order_id_is_refused_with_422() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let mut req = buy_notional("SPY", "10");
        req.client_order_id = Some("slot-1".into());
        assert_ok!(a.submit(req.clone(), at(OPEN), None));
        let e = assert_err!(a.submit(req, at(OPEN), None));
        assert_eq!((e.status, e.code), (422, 40010001));
        assert_eq!(a.orders.len(), 1);
    }

    #[test]
    fn a_quantity_too_large_to_price_is_refused_not_a_panic() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        for limit in [None, Some(Decimal::from(500))] {
            let huge = NewOrder {
                symbol: "SPY".into(),
                side: Some(Side::Buy),
                order_type: Some(if limit.is_some() {
                    OrderType::Limit
                } else {
                    OrderType::Market
                }),
                time_in_force: Some(TimeInForce::Day),
                qty: Some(Decimal::MAX),
                limit_price: limit,
                ..NewOrder::default()
            };
            let e = assert_err!(a.submit(huge, at(OPEN), None));
            assert_eq!(e.status, 422, "{e}");
        }
        assert!(a.orders.is_empty());
    }

    #[test]
    fn notional_rules_match_alpaca() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let e = assert_err!(a.submit(buy_notional("SPY", "0.99"), at(OPEN), None));
        assert_eq!(e.status, 422);
        let e = assert_err!(a.submit(buy_notional("BRK.A", "100"), at(OPEN), None));
        assert!(e.message.contains("not fractionable"), "{e}");
        let e = assert_err!(a.submit(buy_notional("SPY", "1.0000000001"), at(OPEN), None));
        assert!(e.message.contains("9 decimal"), "{e}");
        let mut limit = buy_notional("SPY", "10");
        limit.order_type = Some(OrderType::Limit);
        limit.limit_price = Some(Decimal::from(1));
        assert_err!(a.submit(limit, at(OPEN), None));
        let e = assert_err!(a.submit(buy_notional("TWTR", "10"), at(OPEN), None));
        assert!(e.message.contains("not tradable"), "{e}");
        assert_ok!(a.submit(buy_notional("SPY", "1.000000001"), at(OPEN), None));
    }

    #[test]
    fn buying_more_than_the_cash_is_refused_with_403() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let e = assert_err!(a.submit(buy_notional("SPY", "100000.01"), at(OPEN), None));
        assert_eq!((e.status, e.code), (403, 40310000));
        // Open orders set cash aside, so two cannot spend it twice.
        assert_ok!(a.submit(buy_notional("SPY", "60000"), at(WEEKEND), None));
        let e = assert_err!(a.submit(buy_notional("SPY", "60000"), at(WEEKEND), None));
        assert_eq!(e.status, 403);
    }

    #[test]
    fn a_partial_fill_keeps_filled_qty_and_expires_the_rest_at_the_close() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let mut req = buy_notional("SPY", "1000");
        req.notional = None;
        req.qty = Some(Decimal::from(4));
        let o = assert_ok!(a.submit(req, at(OPEN), Some(Decimal::new(5, 1))));
        assert_eq!(o.status, Status::PartiallyFilled);
        assert_eq!(o.filled_qty, Decimal::from(2));
        a.settle(at("2026-11-20T21:00:01Z"));
        let o = a.order(o.id).unwrap();
        assert_eq!(o.status, Status::Expired);
        assert_eq!(o.filled_qty, Decimal::from(2));
        assert_eq!(a.positions["SPY"].qty, Decimal::from(2));
    }

    #[test]
    fn cancel_works_on_open_orders_only() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let waiting = assert_ok!(a.submit(buy_notional("SPY", "10"), at(WEEKEND), None));
        assert_ok!(a.cancel(waiting.id, at(WEEKEND)));
        assert_eq!(a.order(waiting.id).unwrap().status, Status::Canceled);
        assert_eq!(a.buying_power(), default_funding());
        let e = assert_err!(a.cancel(waiting.id, at(WEEKEND)));
        assert_eq!(e.status, 422);
        let e = assert_err!(a.cancel(Uuid::new_v4(), at(WEEKEND)));
        assert_eq!((e.status, e.code), (404, 40410000));
    }

    #[test]
    fn selling_more_than_held_is_refused_and_a_sale_returns_cash() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let bought = assert_ok!(a.submit(buy_notional("QQQ", "500"), at(OPEN), None));
        let sell = |qty: Decimal| NewOrder {
            symbol: "QQQ".into(),
            side: Some(Side::Sell),
            order_type: Some(OrderType::Market),
            time_in_force: Some(TimeInForce::Day),
            qty: Some(qty),
            ..NewOrder::default()
        };
        let e = assert_err!(a.submit(sell(bought.filled_qty + Decimal::ONE), at(OPEN), None));
        assert_eq!(e.status, 403);
        let sold = assert_ok!(a.submit(sell(bought.filled_qty), at(OPEN), None));
        assert_eq!(sold.status, Status::Filled);
        assert!(!a.positions.contains_key("QQQ"));
        assert!((a.cash - default_funding()).abs() < Decimal::ONE);
    }

    #[test]
    fn listing_filters_by_status_newest_first() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let filled = assert_ok!(a.submit(buy_notional("SPY", "10"), at(OPEN), None));
        let waiting = assert_ok!(a.submit(buy_notional("SPY", "10"), at(WEEKEND), None));
        let ids = |v: Vec<Order>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(a.list(StatusFilter::Open, &[], 50)), vec![waiting.id]);
        assert_eq!(ids(a.list(StatusFilter::Closed, &[], 50)), vec![filled.id]);
        assert_eq!(
            ids(a.list(StatusFilter::All, &[], 50)),
            vec![waiting.id, filled.id]
        );
    }

    #[test]
    fn last_equity_is_the_value_at_the_previous_close() {
        let (mut l, id) = account();
        let a = l.account_mut(id).unwrap();
        let o = assert_ok!(a.submit(buy_notional("SPY", "1000"), at(OPEN), None));
        // Next Monday: last equity values Friday's shares at Friday's close.
        a.settle(at("2026-11-23T15:00:00Z"));
        let friday_close = market::daily_bar("SPY", "2026-11-20".parse().unwrap())
            .unwrap()
            .close;
        assert_eq!(
            a.last_equity,
            (a.cash + o.filled_qty * friday_close).round_dp(2)
        );
    }
}
