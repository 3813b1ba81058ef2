//! Trading API v2: the account, positions, orders (submit, get, look up by
//! client order id, cancel, list), the market clock and calendar, and assets.

use super::{AccountId, Reply, internal, ok};

use crate::server::broker::exchange::ledger::{
    self, NewOrder, OrderType, Refusal, Side, StatusFilter, TimeInForce,
};
use crate::server::broker::exchange::{Exchange, clock, market, wire};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

pub(super) fn routes() -> Router<Exchange> {
    Router::new()
        .route("/v2/account", get(account))
        .route("/v2/account/activities", get(activities))
        .route("/v2/account/portfolio/history", get(portfolio_history))
        .route("/v2/positions", get(positions))
        .route("/v2/positions/{symbol}", get(position))
        .route("/v2/orders", get(list_orders).post(submit_order))
        .route("/v2/orders/{id}", get(get_order).delete(cancel_order))
        .route("/v2/orders:by_client_order_id", get(order_by_client_id))
        .route("/v2/clock", get(get_clock))
        .route("/v2/calendar", get(get_calendar))
        .route("/v2/assets", get(assets))
        .route("/v2/assets/{symbol}", get(asset))
}

/// Runs `f` on the caller's account, brought up to date first.
fn on_account<T>(
    ex: &Exchange,
    id: AccountId,
    f: impl FnOnce(&mut ledger::Account, DateTime<Utc>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let now = ex.now();
    ex.with_account(id.0, |account| {
        account.settle(now);
        f(account, now)
    })
    .map_err(internal)?
    .ok_or_else(Refusal::unauthorized)?
}

async fn account(State(ex): State<Exchange>, Extension(id): Extension<AccountId>) -> Reply {
    ok(on_account(&ex, id, |a, now| Ok(wire::account(a, now)))?)
}

async fn positions(State(ex): State<Exchange>, Extension(id): Extension<AccountId>) -> Reply {
    ok(on_account(&ex, id, |a, now| {
        Ok(Value::Array(
            a.positions
                .iter()
                .map(|(s, p)| wire::position(s, p, now))
                .collect(),
        ))
    })?)
}

async fn position(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Path(symbol): Path<String>,
) -> Reply {
    let symbol = symbol.to_ascii_uppercase();
    ok(on_account(&ex, id, |a, now| {
        a.positions
            .get(&symbol)
            .map(|p| wire::position(&symbol, p, now))
            .ok_or_else(|| Refusal::new(404, 40410000, "position does not exist"))
    })?)
}

fn invalid_body() -> Refusal {
    Refusal::new(400, 40010000, "request body format is invalid")
}

/// A decimal sent as a JSON string ("500.75", as Alpaca documents) or number.
fn decimal_field(body: &Value, name: &str) -> Result<Option<Decimal>, Refusal> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Decimal::from_str(s.trim())
            .map(Some)
            .map_err(|_| Refusal::invalid(format!("invalid {name}: {s}"))),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map(Some)
            .map_err(|_| Refusal::invalid(format!("invalid {name}: {n}"))),
        Some(_) => Err(Refusal::invalid(format!("{name} must be a string"))),
    }
}

fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn parse_new_order(body: &Value) -> Result<NewOrder, Refusal> {
    if !body.is_object() {
        return Err(invalid_body());
    }
    let side = match str_field(body, "side") {
        None => None,
        Some("buy") => Some(Side::Buy),
        Some("sell") => Some(Side::Sell),
        Some(s) => return Err(Refusal::invalid(format!("invalid side: {s}"))),
    };
    let order_type = match str_field(body, "type").or_else(|| str_field(body, "order_type")) {
        None => None,
        Some("market") => Some(OrderType::Market),
        Some("limit") => Some(OrderType::Limit),
        Some(t @ ("stop" | "stop_limit" | "trailing_stop")) => {
            return Err(Refusal::invalid(format!(
                "order type {t} is not supported by this exchange"
            )));
        }
        Some(t) => return Err(Refusal::invalid(format!("invalid order type: {t}"))),
    };
    let time_in_force = match str_field(body, "time_in_force") {
        None => None,
        Some("day") => Some(TimeInForce::Day),
        Some("gtc") => Some(TimeInForce::Gtc),
        Some(t @ ("opg" | "cls" | "ioc" | "fok")) => {
            return Err(Refusal::invalid(format!(
                "time_in_force {t} is not supported by this exchange"
            )));
        }
        Some(t) => return Err(Refusal::invalid(format!("invalid time_in_force: {t}"))),
    };
    if let Some(class) = str_field(body, "order_class")
        && !matches!(class, "" | "simple")
    {
        return Err(Refusal::invalid(format!(
            "order_class {class} is not supported by this exchange"
        )));
    }
    Ok(NewOrder {
        symbol: str_field(body, "symbol").unwrap_or_default().to_owned(),
        side,
        order_type,
        time_in_force,
        qty: decimal_field(body, "qty")?,
        notional: decimal_field(body, "notional")?,
        limit_price: decimal_field(body, "limit_price")?,
        client_order_id: str_field(body, "client_order_id").map(str::to_owned),
        extended_hours: body
            .get("extended_hours")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

async fn submit_order(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    body: Bytes,
) -> Reply {
    let body: Value = serde_json::from_slice(&body).map_err(|_| invalid_body())?;
    let new = parse_new_order(&body)?;
    let partial = ex.faults().partial_fill;
    let order = on_account(&ex, id, |a, now| a.submit(new, now, partial))?;
    ok(wire::order(&order))
}

fn parse_uuid(s: &str) -> Result<Uuid, Refusal> {
    Uuid::parse_str(s).map_err(|_| Refusal::order_not_found())
}

async fn get_order(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Path(order): Path<String>,
) -> Reply {
    let order = parse_uuid(&order)?;
    ok(on_account(&ex, id, |a, _| {
        a.order(order)
            .map(wire::order)
            .ok_or_else(Refusal::order_not_found)
    })?)
}

async fn order_by_client_id(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let client = q
        .get("client_order_id")
        .ok_or_else(|| Refusal::invalid("client_order_id is required"))?;
    ok(on_account(&ex, id, |a, _| {
        a.order_by_client_id(client)
            .map(wire::order)
            .ok_or_else(Refusal::order_not_found)
    })?)
}

async fn cancel_order(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Path(order): Path<String>,
) -> Reply {
    let order = parse_uuid(&order)?;
    on_account(&ex, id, |a, now| a.cancel(order, now))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_orders(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let filter = match q.get("status").map(String::as_str) {
        None | Some("open") => StatusFilter::Open,
        Some("closed") => StatusFilter::Closed,
        Some("all") => StatusFilter::All,
        Some(s) => return Err(Refusal::invalid(format!("invalid status: {s}"))),
    };
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| Refusal::invalid("limit must be between 1 and 500"))?,
    };
    let symbols: Vec<String> = q
        .get("symbols")
        .map(|s| {
            s.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();
    ok(on_account(&ex, id, |a, _| {
        Ok(Value::Array(
            a.list(filter, &symbols, limit)
                .iter()
                .map(wire::order)
                .collect(),
        ))
    })?)
}

fn time_param(q: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    q.get(name)
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDate::from_str(s).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                })
                .map_err(|_| Refusal::invalid(format!("invalid {name}: {s}")))
        })
        .transpose()
}

/// `GET /v2/account/activities`: `direction` (desc by default), `page_size`
/// (1 to 100, default 100), `page_token`, `after`, `until`, `activity_types`.
async fn activities(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let descending = match q.get("direction").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(d) => return Err(Refusal::invalid(format!("invalid direction: {d}"))),
    };
    let page_size = match q.get("page_size") {
        None => 100,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| Refusal::invalid("page_size must be between 1 and 100"))?,
    };
    let query = ledger::ActivityQuery {
        after: time_param(&q, "after")?,
        until: time_param(&q, "until")?,
        types: q
            .get("activity_types")
            .map(|t| {
                t.split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        descending,
        page_token: q.get("page_token").cloned(),
        page_size,
    };
    ok(on_account(&ex, id, |a, _| {
        Ok(Value::Array(a.activities_page(&query)))
    })?)
}

/// A period such as `1D`, `2W`, `3M` or `1A`, as a span back from `end`.
fn period_start(period: &str, end: DateTime<Utc>) -> Result<DateTime<Utc>, Refusal> {
    let bad = || Refusal::invalid(format!("invalid period: {period}"));
    let (n, unit) = period.split_at(period.len().saturating_sub(1));
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 1000)
        .ok_or_else(bad)?;
    let start = match unit {
        "D" => end.checked_sub_signed(Duration::days(i64::from(n))),
        "W" => end.checked_sub_signed(Duration::weeks(i64::from(n))),
        "M" => end.checked_sub_months(chrono::Months::new(n)),
        "A" => end.checked_sub_months(chrono::Months::new(n.saturating_mul(12))),
        _ => None,
    };
    start.ok_or_else(bad)
}

/// `GET /v2/account/portfolio/history`: `period` (default 1M), `timeframe`
/// (1Min, 5Min, 15Min, 1H or 1D; by default 1Min under 7 days, 15Min under
/// 30, else 1D), `start`, `end` (two of start, end and period at most),
/// `cashflow_types` (ALL, NONE, or a comma-separated list).
async fn portfolio_history(
    State(ex): State<Exchange>,
    Extension(id): Extension<AccountId>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let now = ex.now();
    let (start, end, period) = (
        time_param(&q, "start")?,
        time_param(&q, "end")?,
        q.get("period"),
    );
    if start.is_some() && end.is_some() && period.is_some() {
        return Err(Refusal::invalid(
            "only two of start, end and period can be specified",
        ));
    }
    let (start, end) = match (start, end, period) {
        (Some(s), Some(e), _) => (s, e),
        (Some(s), None, Some(p)) => {
            // The period forward from start: end is where a period back lands on start.
            let span = now - period_start(p, now)?;
            (s, s + span)
        }
        (Some(s), None, None) => (s, now),
        (None, e, p) => {
            let e = e.unwrap_or(now);
            (period_start(p.map_or("1M", String::as_str), e)?, e)
        }
    };
    if end < start {
        return Err(Refusal::invalid("end must not be before start"));
    }
    let days = (end - start).num_days();
    let step_minutes = match q.get("timeframe").map(String::as_str) {
        None if days < 7 => Some(1),
        None if days < 30 => Some(15),
        None | Some("1D") => None,
        Some("1Min") => Some(1),
        Some("5Min") => Some(5),
        Some("15Min") => Some(15),
        Some("1H") => Some(60),
        Some(t) => return Err(Refusal::invalid(format!("invalid timeframe: {t}"))),
    };
    if step_minutes.is_some() && days > 30 {
        return Err(Refusal::invalid(
            "for intraday timeframes only 30 days or less can be queried",
        ));
    }
    let cashflow_types: Vec<String> = match q.get("cashflow_types").map(String::as_str) {
        None | Some("NONE") => Vec::new(),
        Some("ALL") => ["CSD", "CSW", "DIV", "FEE", "JNLC"]
            .map(str::to_owned)
            .to_vec(),
        Some(list) => list
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let query = ledger::HistoryQuery {
        start,
        end,
        step_minutes,
    };
    ok(on_account(&ex, id, |a, now| {
        Ok(a.portfolio_history(&query, now, &cashflow_types))
    })?)
}

async fn get_clock(State(ex): State<Exchange>) -> Reply {
    ok(serde_json::to_value(clock::clock(ex.now())).unwrap_or(Value::Null))
}

fn date_param(q: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>, Refusal> {
    q.get(name)
        .map(|s| {
            NaiveDate::from_str(s)
                .or_else(|_| DateTime::parse_from_rfc3339(s).map(|t| t.date_naive()))
                .map_err(|_| Refusal::invalid(format!("invalid {name}: {s}")))
        })
        .transpose()
}

async fn get_calendar(
    State(ex): State<Exchange>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let today = ledger::new_york_date(ex.now());
    let start = date_param(&q, "start")?.unwrap_or(market::history_start());
    let end = date_param(&q, "end")?.unwrap_or(today + Duration::days(365));
    if end < start {
        return Err(Refusal::invalid("end must not be before start"));
    }
    if (end - start).num_days() > 366 * 40 {
        return Err(Refusal::invalid("the date range is too long"));
    }
    ok(serde_json::to_value(clock::calendar_days(start, end)).unwrap_or(Value::Null))
}

async fn assets(Query(q): Query<HashMap<String, String>>) -> Reply {
    let status = q.get("status").map(String::as_str);
    let list: Vec<Value> = market::UNIVERSE
        .iter()
        .filter(|a| match status {
            Some("active") => a.tradable,
            Some("inactive") => !a.tradable,
            _ => true,
        })
        .map(wire::asset)
        .collect();
    ok(Value::Array(list))
}

async fn asset(Path(symbol): Path<String>) -> Reply {
    market::asset(&symbol)
        .map(|a| Json(wire::asset(a)).into_response())
        .ok_or_else(|| Refusal::new(404, 40410000, "asset not found"))
}
