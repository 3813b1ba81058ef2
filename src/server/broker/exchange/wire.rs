//! The exchange's JSON, field for field as Alpaca sends it (see the files in
//! `tests/fixtures/alpaca/`): Trading API amounts are strings, Market Data
//! prices are JSON numbers, times are RFC 3339 UTC with microseconds.

use super::ledger::{self, Account, Order, OrderType, Side, TimeInForce};
use super::market::{self, AssetSpec, DailyBar, MinuteBar};
use crate::domain::calendar;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use serde_json::{Value, json};

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(time(t)))
}

/// A Trading API decimal: a string without trailing zeros.
pub fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

fn opt_dec(d: Option<Decimal>) -> Value {
    d.map_or(Value::Null, |d| Value::String(dec(d)))
}

/// A Market Data number. JSON numbers are what Alpaca sends; the shortest
/// representation of the double prints the same digits as the decimal.
fn num(d: Decimal) -> Value {
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
    }
}

fn tif(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "day",
        TimeInForce::Gtc => "gtc",
    }
}

/// The `data` of a `trade_updates` message (`stream/trade_updates.fill.json`).
pub fn trade_update(e: &super::ledger::OrderEvent) -> Value {
    let mut data = json!({
        "event": e.event,
        "order": order(&e.order),
        "timestamp": e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    if let Some((price, qty)) = e.fill {
        data["execution_id"] = json!(uuid::Uuid::new_v4().to_string());
        data["price"] = json!(price.to_string());
        data["qty"] = json!(qty.to_string());
        data["position_qty"] = json!(e.position_qty.to_string());
    }
    data
}

pub fn order(o: &Order) -> Value {
    json!({
        "id": o.id.to_string(),
        "client_order_id": o.client_order_id,
        "created_at": time(o.created_at),
        "updated_at": time(o.updated_at),
        "submitted_at": time(o.created_at),
        "filled_at": opt_time(o.filled_at),
        "expired_at": opt_time(o.expired_at),
        "canceled_at": opt_time(o.canceled_at),
        // A cancel here takes effect at once: requested when it happened.
        "cancel_requested_at": opt_time(o.canceled_at),
        "failed_at": null,
        "replaced_at": null,
        "replaced_by": null,
        "replaces": null,
        "asset_id": market::asset_id(&o.symbol),
        "symbol": o.symbol,
        "asset_class": "us_equity",
        "notional": opt_dec(o.notional),
        "qty": opt_dec(o.qty),
        "filled_qty": dec(o.filled_qty),
        "filled_avg_price": opt_dec(o.filled_avg_price),
        "order_class": "",
        "order_type": order_type(o.order_type),
        "type": order_type(o.order_type),
        "side": side(o.side),
        "position_intent": match o.side { Side::Buy => "buy_to_open", Side::Sell => "sell_to_close" },
        "time_in_force": tif(o.time_in_force),
        "limit_price": opt_dec(o.limit_price),
        "stop_price": null,
        "status": o.status.as_str(),
        "extended_hours": false,
        "legs": null,
        "trail_percent": null,
        "trail_price": null,
        "hwm": null,
    })
}

pub fn account(a: &Account, now: DateTime<Utc>) -> Value {
    let long = a.long_market_value(now);
    let equity = a.cash + long;
    let bp = dec(a.buying_power());
    let balance_asof =
        calendar::previous_trading_day_from(ledger::new_york_date(now) - Duration::days(1)).date;
    json!({
        "id": a.id.to_string(),
        "account_number": a.number,
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "buying_power": bp,
        "regt_buying_power": bp,
        "daytrading_buying_power": "0",
        "effective_buying_power": bp,
        "non_marginable_buying_power": bp,
        "options_buying_power": bp,
        "bod_dtbp": "0",
        "cash": dec(a.cash),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": dec(equity),
        "pattern_day_trader": false,
        "trading_blocked": false,
        "transfers_blocked": false,
        "account_blocked": false,
        "created_at": time(a.created_at),
        "trade_suspended_by_user": false,
        "multiplier": "1",
        "shorting_enabled": false,
        "equity": dec(equity),
        "last_equity": dec(a.last_equity),
        "long_market_value": dec(long),
        "short_market_value": "0",
        "position_market_value": dec(long),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "daytrade_count": 0,
        "balance_asof": balance_asof.to_string(),
        "crypto_tier": 0,
        "options_trading_level": 0,
        "options_approved_level": 0,
        "intraday_adjustments": "0",
        "pending_reg_taf_fees": "0",
        "admin_configurations": {},
        "user_configurations": null,
    })
}

pub fn position(symbol: &str, p: &ledger::Position, now: DateTime<Utc>) -> Value {
    let spec = market::asset(symbol);
    let current = ledger::price(symbol, now).unwrap_or_default();
    let lastday = ledger::previous_close(symbol, now).unwrap_or(current);
    let market_value = (p.qty * current).round_dp(2);
    let unrealized = market_value - p.cost_basis;
    let ratio = |num: Decimal, den: Decimal| {
        if den.is_zero() {
            Decimal::ZERO
        } else {
            (num / den).round_dp(16)
        }
    };
    let intraday_base = (p.qty * lastday).round_dp(2);
    let intraday = market_value - intraday_base;
    json!({
        "asset_id": market::asset_id(symbol),
        "symbol": symbol,
        "exchange": spec.map_or("NYSE", |s| s.listing.as_str()),
        "asset_class": "us_equity",
        "asset_marginable": false,
        "avg_entry_price": dec(ratio(p.cost_basis, p.qty).round_dp(4)),
        "qty": dec(p.qty),
        "qty_available": dec(p.qty),
        "side": "long",
        "market_value": dec(market_value),
        "cost_basis": dec(p.cost_basis),
        "unrealized_pl": dec(unrealized),
        "unrealized_plpc": dec(ratio(unrealized, p.cost_basis)),
        "unrealized_intraday_pl": dec(intraday),
        "unrealized_intraday_plpc": dec(ratio(intraday, intraday_base)),
        "current_price": dec(current),
        "lastday_price": dec(lastday),
        "change_today": dec(ratio(current - lastday, lastday)),
    })
}

pub fn asset(a: &AssetSpec) -> Value {
    json!({
        "id": market::asset_id(a.symbol),
        "class": "us_equity",
        "exchange": a.listing.as_str(),
        "symbol": a.symbol,
        "name": a.name,
        "status": if a.tradable { "active" } else { "inactive" },
        "tradable": a.tradable,
        "marginable": a.tradable,
        "shortable": false,
        "easy_to_borrow": false,
        "fractionable": a.fractionable,
        "attributes": if a.fractionable { json!(["fractional_eh_enabled"]) } else { json!([]) },
    })
}

/// One bar, as `GET /v2/stocks/…/bars` sends it.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub t: String,
    pub o: Value,
    pub h: Value,
    pub l: Value,
    pub c: Value,
    pub v: u64,
    pub n: u64,
    pub vw: Value,
}

fn bar(start: DateTime<Utc>, o: Decimal, h: Decimal, l: Decimal, c: Decimal, v: u64) -> Bar {
    let vw = ((h + l + c) / Decimal::from(3)).round_dp(4);
    Bar {
        t: start.to_rfc3339_opts(SecondsFormat::Secs, true),
        o: num(o),
        h: num(h),
        l: num(l),
        c: num(c),
        v,
        n: (v / 150).max(1),
        vw: num(vw),
    }
}

/// Daily bars are stamped at midnight New York time, as Alpaca does.
pub fn daily_bar_start(b: &DailyBar) -> DateTime<Utc> {
    calendar::new_york_instant(b.date, chrono::NaiveTime::MIN)
}

pub fn daily_bar(b: &DailyBar) -> Bar {
    bar(daily_bar_start(b), b.open, b.high, b.low, b.close, b.volume)
}

pub fn minute_bar(b: &MinuteBar) -> Bar {
    bar(b.start, b.open, b.high, b.low, b.close, b.volume)
}

/// The latest trade at `now` (during the session: inside the current minute;
/// otherwise at the last close).
pub fn trade(symbol: &str, now: DateTime<Utc>) -> Option<Value> {
    let p = ledger::price(symbol, now)?;
    let t = if ledger::is_open(now) {
        now - Duration::milliseconds(250)
    } else {
        last_close(now)
    };
    Some(json!({
        "t": time(t),
        "x": "V",
        "p": num(p),
        "s": 100,
        "c": ["@"],
        "i": t.timestamp_micros() % 1_000_000_007,
        "z": "C",
    }))
}

fn last_close(now: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = calendar::previous_trading_day_from(ledger::new_york_date(now));
    while day.close_at() > now {
        day = calendar::previous_trading_day_from(day.date - Duration::days(1));
    }
    day.close_at()
}

pub fn quote(symbol: &str, now: DateTime<Utc>) -> Option<Value> {
    let p = ledger::price(symbol, now)?;
    let tick = Decimal::new(1, 2);
    Some(json!({
        "t": time(if ledger::is_open(now) { now } else { last_close(now) }),
        "ax": "V",
        "ap": num(p + tick),
        "as": 2,
        "bx": "V",
        "bp": num((p - tick).max(tick)),
        "bs": 3,
        "c": ["R"],
        "z": "C",
    }))
}

/// Daily bars from `from` to `to` as known at `now`: days that have not
/// opened yet are left out, and a session still running has a bar built from
/// its minutes so far (no peeking at the close).
pub fn daily_bars_as_of(
    symbol: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Vec<DailyBar> {
    let today = ledger::new_york_date(now);
    let mut bars = market::daily_bars(symbol, from, to.min(today));
    if let Some(last) = bars.last().copied()
        && last.date == today
        && let Some(day) = calendar::trading_day(today)
    {
        if now < day.open_at() {
            bars.pop();
        } else if now < day.close_at() {
            let done = usize::try_from((now - day.open_at()).num_minutes()).unwrap_or(0);
            let minutes = market::minute_bars(symbol, &day);
            let so_far = &minutes[..done.min(minutes.len())];
            let price = ledger::price(symbol, now).unwrap_or(last.open);
            let partial = DailyBar {
                date: today,
                open: last.open,
                high: so_far
                    .iter()
                    .map(|m| m.high)
                    .fold(price.max(last.open), Decimal::max),
                low: so_far
                    .iter()
                    .map(|m| m.low)
                    .fold(price.min(last.open), Decimal::min),
                close: price,
                volume: so_far.iter().map(|m| m.volume).sum(),
            };
            if let Some(b) = bars.last_mut() {
                *b = partial;
            }
        }
    }
    bars
}

/// `GET /v2/stocks/{symbol}/snapshot`.
pub fn snapshot(symbol: &str, now: DateTime<Utc>) -> Option<Value> {
    let spec = market::asset(symbol)?;
    let today = ledger::new_york_date(now);
    let daily = daily_bars_as_of(spec.symbol, today - Duration::days(10), today, now);
    let (prev, cur) = match daily.as_slice() {
        [.., p, c] => (Some(p), Some(c)),
        [c] => (None, Some(c)),
        [] => (None, None),
    };
    // The current minute during a session, else the last minute of the last one.
    let minute = match calendar::trading_day(today).filter(|d| d.is_open_at(now)) {
        Some(d) => usize::try_from((now - d.open_at()).num_minutes())
            .ok()
            .and_then(|i| market::minute_bars(spec.symbol, &d).get(i).copied()),
        None => {
            let last = calendar::trading_day(ledger::new_york_date(last_close(now)));
            last.and_then(|d| market::minute_bars(spec.symbol, &d).last().copied())
        }
    };
    Some(json!({
        "symbol": spec.symbol,
        "latestTrade": trade(spec.symbol, now),
        "latestQuote": quote(spec.symbol, now),
        "minuteBar": minute.as_ref().map(minute_bar),
        "dailyBar": cur.map(daily_bar),
        "prevDailyBar": prev.map(daily_bar),
    }))
}

pub fn error(code: u32, message: &str) -> Value {
    json!({ "code": code, "message": message })
}
