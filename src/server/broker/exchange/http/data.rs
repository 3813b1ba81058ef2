//! Market Data v2: historical bars (one or many symbols, paged), latest
//! trades and quotes, and snapshots.

use super::{Reply, ok};

use crate::server::broker::exchange::ledger::{self, Refusal};
use crate::server::broker::exchange::{Exchange, market, wire};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::str::FromStr;

pub(super) fn routes() -> Router<Exchange> {
    Router::new()
        .route("/v2/stocks/bars", get(bars_multi))
        .route("/v2/stocks/{symbol}/bars", get(bars_single))
        .route("/v2/stocks/trades/latest", get(trades_latest_multi))
        .route(
            "/v2/stocks/{symbol}/trades/latest",
            get(trade_latest_single),
        )
        .route("/v2/stocks/quotes/latest", get(quotes_latest_multi))
        .route(
            "/v2/stocks/{symbol}/quotes/latest",
            get(quote_latest_single),
        )
        .route("/v2/stocks/snapshots", get(snapshots_multi))
        .route("/v2/stocks/{symbol}/snapshot", get(snapshot_single))
}

fn data_invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(400, 40010001, message)
}

fn symbols_param(q: &HashMap<String, String>) -> Result<Vec<&'static market::AssetSpec>, Refusal> {
    let raw = q
        .get("symbols")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| data_invalid("missing symbols"))?;
    let mut out = Vec::new();
    for s in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(a) = market::asset(s)
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    Ok(out)
}

fn time_param(q: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    q.get(name)
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDate::from_str(s)
                        .map(|d| crate::domain::calendar::new_york_instant(d, NaiveTime::MIN))
                })
                .map_err(|_| data_invalid(format!("invalid {name}: {s}")))
        })
        .transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timeframe {
    Minute,
    Day,
}

/// The bars a request asks for, across symbols in order, and the page token
/// for what did not fit in `limit`.
struct BarQuery {
    timeframe: Timeframe,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: usize,
    /// Resume point: (symbol, first bar time to include).
    resume: Option<(String, DateTime<Utc>)>,
    descending: bool,
}

fn bar_query(q: &HashMap<String, String>, now: DateTime<Utc>) -> Result<BarQuery, Refusal> {
    let timeframe = match q.get("timeframe").map(String::as_str) {
        Some("1Min" | "1T" | "1Minute") => Timeframe::Minute,
        Some("1Day" | "1D") => Timeframe::Day,
        Some(t) => {
            return Err(Refusal::new(
                422,
                42210000,
                format!("unsupported timeframe {t} (this exchange serves 1Min and 1Day)"),
            ));
        }
        None => return Err(data_invalid("missing timeframe")),
    };
    let today_start =
        crate::domain::calendar::new_york_instant(ledger::new_york_date(now), NaiveTime::MIN);
    let start = time_param(q, "start")?.unwrap_or(today_start);
    let end = time_param(q, "end")?.unwrap_or(now).min(now);
    let limit = match q.get("limit") {
        None => 1000,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=10_000).contains(l))
            .ok_or_else(|| data_invalid("invalid limit"))?,
    };
    let resume = match q.get("page_token") {
        None => None,
        Some(t) => {
            let raw = B64
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| data_invalid("invalid page_token"))?;
            let (sym, at) = raw
                .split_once('|')
                .ok_or_else(|| data_invalid("invalid page_token"))?;
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| data_invalid("invalid page_token"))?
                .with_timezone(&Utc);
            Some((sym.to_owned(), at))
        }
    };
    let descending = matches!(q.get("sort").map(String::as_str), Some("desc"));
    // Simulated history has no corporate actions, so every adjustment gives
    // the same bars; an unknown one is refused as Alpaca refuses it.
    if let Some(a) = q.get("adjustment")
        && !a
            .split(',')
            .all(|p| matches!(p, "raw" | "split" | "dividend" | "spin-off" | "all"))
    {
        return Err(data_invalid(format!("invalid adjustment: {a}")));
    }
    Ok(BarQuery {
        timeframe,
        start,
        end,
        limit,
        resume,
        descending,
    })
}

/// Bars for one symbol in the query's window, as (start time, bar).
fn symbol_bars(symbol: &str, bq: &BarQuery, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, wire::Bar)> {
    let ny = |t: DateTime<Utc>| ledger::new_york_date(t);
    let mut out: Vec<(DateTime<Utc>, wire::Bar)> = match bq.timeframe {
        Timeframe::Day => wire::daily_bars_as_of(symbol, ny(bq.start), ny(bq.end), now)
            .iter()
            .map(|b| (wire::daily_bar_start(b), wire::daily_bar(b)))
            .filter(|(t, _)| *t >= bq.start - Duration::days(1) && *t <= bq.end)
            .collect(),
        Timeframe::Minute => {
            // At most 40 sessions of minutes per request keeps a response bounded.
            let from = ny(bq.start).max(ny(bq.end) - Duration::days(60));
            crate::domain::calendar::trading_days(from, ny(bq.end))
                .flat_map(|d| market::minute_bars(symbol, &d).to_vec())
                .filter(|m| {
                    m.start >= bq.start && m.start + Duration::minutes(1) <= bq.end.min(now)
                })
                .map(|m| (m.start, wire::minute_bar(&m)))
                .collect()
        }
    };
    if bq.descending {
        out.reverse();
    }
    out
}

/// Collects bars for `symbols` up to the limit; returns them per symbol and
/// the next page token.
fn collect_bars(
    symbols: &[&'static market::AssetSpec],
    bq: &BarQuery,
    now: DateTime<Utc>,
) -> (Vec<(&'static str, Vec<wire::Bar>)>, Option<String>) {
    let mut out = Vec::new();
    let mut left = bq.limit;
    let mut sorted: Vec<&'static market::AssetSpec> = symbols.to_vec();
    sorted.sort_by_key(|a| a.symbol);
    let mut skipping = bq.resume.is_some();
    for spec in sorted {
        if skipping {
            match &bq.resume {
                Some((sym, _)) if sym != spec.symbol => continue,
                _ => {}
            }
        }
        let mut bars = symbol_bars(spec.symbol, bq, now);
        if skipping {
            if let Some((_, at)) = &bq.resume {
                bars.retain(|(t, _)| if bq.descending { t <= at } else { t >= at });
            }
            skipping = false;
        }
        if bars.len() > left {
            let next = bars[left].0;
            bars.truncate(left);
            out.push((spec.symbol, bars.into_iter().map(|(_, b)| b).collect()));
            let token = B64.encode(format!("{}|{}", spec.symbol, wire::time(next)));
            return (out, Some(token));
        }
        left -= bars.len();
        out.push((spec.symbol, bars.into_iter().map(|(_, b)| b).collect()));
        if left == 0 {
            break;
        }
    }
    (out, None)
}

async fn bars_multi(State(ex): State<Exchange>, Query(q): Query<HashMap<String, String>>) -> Reply {
    let now = ex.now();
    let symbols = symbols_param(&q)?;
    let bq = bar_query(&q, now)?;
    let (bars, token) = collect_bars(&symbols, &bq, now);
    let map: serde_json::Map<String, Value> = bars
        .into_iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(s, b)| (s.to_owned(), serde_json::to_value(b).unwrap_or(Value::Null)))
        .collect();
    ok(json!({ "bars": map, "next_page_token": token }))
}

async fn bars_single(
    State(ex): State<Exchange>,
    Path(symbol): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let now = ex.now();
    let bq = bar_query(&q, now)?;
    let symbol = symbol.to_ascii_uppercase();
    let (bars, token) = match market::asset(&symbol) {
        Some(spec) => collect_bars(&[spec], &bq, now),
        None => (Vec::new(), None),
    };
    let list: Vec<wire::Bar> = bars.into_iter().flat_map(|(_, b)| b).collect();
    ok(json!({ "bars": list, "symbol": symbol, "next_page_token": token }))
}

fn latest_map(
    q: &HashMap<String, String>,
    f: impl Fn(&str) -> Option<Value>,
) -> Result<serde_json::Map<String, Value>, Refusal> {
    Ok(symbols_param(q)?
        .into_iter()
        .filter_map(|a| f(a.symbol).map(|v| (a.symbol.to_owned(), v)))
        .collect())
}

async fn trades_latest_multi(
    State(ex): State<Exchange>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let now = ex.now();
    ok(json!({ "trades": latest_map(&q, |s| wire::trade(s, now))? }))
}

fn unknown_symbol(symbol: &str) -> Refusal {
    Refusal::new(404, 40410000, format!("no trade found for {symbol}"))
}

async fn trade_latest_single(State(ex): State<Exchange>, Path(symbol): Path<String>) -> Reply {
    let spec = market::asset(&symbol).ok_or_else(|| unknown_symbol(&symbol))?;
    let trade = wire::trade(spec.symbol, ex.now()).ok_or_else(|| unknown_symbol(&symbol))?;
    ok(json!({ "symbol": spec.symbol, "trade": trade }))
}

async fn quotes_latest_multi(
    State(ex): State<Exchange>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let now = ex.now();
    ok(json!({ "quotes": latest_map(&q, |s| wire::quote(s, now))? }))
}

async fn quote_latest_single(State(ex): State<Exchange>, Path(symbol): Path<String>) -> Reply {
    let spec = market::asset(&symbol).ok_or_else(|| unknown_symbol(&symbol))?;
    let quote = wire::quote(spec.symbol, ex.now()).ok_or_else(|| unknown_symbol(&symbol))?;
    ok(json!({ "symbol": spec.symbol, "quote": quote }))
}

async fn snapshots_multi(
    State(ex): State<Exchange>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let now = ex.now();
    let map = latest_map(&q, |s| {
        wire::snapshot(s, now).map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("symbol");
            }
            v
        })
    })?;
    ok(Value::Object(map))
}

async fn snapshot_single(State(ex): State<Exchange>, Path(symbol): Path<String>) -> Reply {
    wire::snapshot(&symbol, ex.now())
        .map(|v| Json(v).into_response())
        .ok_or_else(|| unknown_symbol(&symbol))
}
