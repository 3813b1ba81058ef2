//! The exchange's HTTP API: Trading API v2 and Market Data v2 on one router,
//! plus the fake OAuth pages. Every `/v2` request passes [`gate`]: injected
//! faults, then authentication (API-key headers or an OAuth bearer token),
//! then Alpaca's rate limit of 200 requests a minute per credential with the
//! `X-RateLimit-*` headers.

use super::ledger::{self, NewOrder, OrderType, Refusal, Side, StatusFilter, TimeInForce};
pub use super::oauth::ConsentPolicy;
use super::{Exchange, Fault, KeyPolicy, clock, market, oauth, wire};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

/// Alpaca's documented limit.
pub const RATE_LIMIT_PER_MINUTE: u32 = 200;

/// Requests counted per credential per clock minute.
#[derive(Debug, Default)]
pub struct RateWindows {
    windows: HashMap<String, (i64, u32)>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(wire::error(self.code, &self.message))).into_response()
    }
}

type Reply = Result<Response, Refusal>;

fn ok(v: Value) -> Reply {
    Ok(Json(v).into_response())
}

/// What the exchange serves besides Alpaca's own API.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The simulated OAuth consent page and token endpoint (`/oauth/...`)
    /// and the redirect URIs it accepts; an instance with a real Alpaca
    /// OAuth app has no use for them.
    pub oauth_fake: Option<oauth::ConsentPolicy>,
    /// `POST /_control/clock` to move the clock (demos and end-to-end tests
    /// only), and who may call it.
    pub control: Option<ControlAccess>,
}

/// Who may move the exchange's clock.
#[derive(Debug, Clone)]
pub enum ControlAccess {
    /// Anyone who can reach the listener (the standalone `dripfeed exchange`
    /// on a loopback address).
    Open,
    /// Requests carrying `Authorization: Bearer <token>` (the exchange
    /// mounted in the app, whose listener users reach).
    Token(std::sync::Arc<secrecy::SecretString>),
}

impl ControlAccess {
    fn allows(&self, headers: &HeaderMap) -> bool {
        use sha2::{Digest, Sha256};
        let ControlAccess::Token(token) = self else {
            return true;
        };
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests compared, so the comparison's timing says nothing of the token.
        Sha256::digest(given.as_bytes())
            == Sha256::digest(secrecy::ExposeSecret::expose_secret(token.as_ref()).as_bytes())
    }
}

#[derive(Debug, serde::Deserialize)]
struct ClockControl {
    at: DateTime<Utc>,
    #[serde(default)]
    speed: i32,
}

async fn control_clock(State(ex): State<Exchange>, Json(c): Json<ClockControl>) -> Reply {
    if !(0..=10_000).contains(&c.speed) {
        return Err(Refusal::invalid("speed must be between 0 and 10000"));
    }
    ex.set_clock(c.at, c.speed);
    ok(serde_json::to_value(clock::clock(ex.now())).unwrap_or(Value::Null))
}

/// The router, with paths as Alpaca has them (`/v2/...`), plus `extras`.
pub fn router(exchange: Exchange, extras: Extras) -> Router {
    let v2 = Router::new()
        .route("/v2/account", get(account))
        .route("/v2/positions", get(positions))
        .route("/v2/positions/{symbol}", get(position))
        .route("/v2/orders", get(list_orders).post(submit_order))
        .route("/v2/orders/{id}", get(get_order).delete(cancel_order))
        .route("/v2/orders:by_client_order_id", get(order_by_client_id))
        .route("/v2/clock", get(get_clock))
        .route("/v2/calendar", get(get_calendar))
        .route("/v2/assets", get(assets))
        .route("/v2/assets/{symbol}", get(asset))
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
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(exchange.clone(), gate));
    let mut router = Router::new().merge(v2);
    if let Some(policy) = extras.oauth_fake {
        router = router.merge(oauth::router(policy));
    }
    if let Some(access) = extras.control {
        let guard = move |req: Request, next: Next| {
            let allowed = access.allows(req.headers());
            async move {
                if allowed {
                    next.run(req).await
                } else {
                    Refusal::unauthorized().into_response()
                }
            }
        };
        router = router.route(
            "/_control/clock",
            axum::routing::post(control_clock).route_layer(middleware::from_fn(guard)),
        );
    }
    router.with_state(exchange)
}

async fn not_found() -> Refusal {
    Refusal::new(404, 40410000, "endpoint not found")
}

/// Which account a request acts for.
#[derive(Debug, Clone, Copy)]
struct AccountId(Uuid);

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authenticate(ex: &Exchange, headers: &HeaderMap) -> Result<(Uuid, String), Refusal> {
    if let Some(token) = header(headers, "authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    }) {
        let id = ex
            .with_ledger(|l| l.by_token(token.trim()))
            .map_err(internal)?
            .ok_or_else(Refusal::unauthorized)?;
        return Ok((id, ledger::digest(token)));
    }
    let (Some(key), Some(secret)) = (
        header(headers, "apca-api-key-id"),
        header(headers, "apca-api-secret-key"),
    ) else {
        return Err(Refusal::unauthorized());
    };
    let policy = ex.policy();
    let now = ex.now();
    let id = ex
        .with_ledger(|l| match l.by_key(key, secret) {
            Some(id) => Some(id),
            None if policy == KeyPolicy::OpenOnFirstUse && !l.knows_key(key) => {
                Some(l.open_with_key(key, secret, ledger::default_funding(), now))
            }
            None => None,
        })
        .map_err(internal)?
        .ok_or_else(Refusal::unauthorized)?;
    Ok((id, ledger::digest(key)))
}

fn internal(e: anyhow::Error) -> Refusal {
    tracing::error!(error.cause_chain = ?e, "paper exchange failure");
    Refusal::new(500, 50010000, "internal server error")
}

fn status_refusal(status: u16) -> Refusal {
    match status {
        429 => Refusal::new(429, 42910000, "rate limit exceeded"),
        503 => Refusal::new(503, 50310000, "service unavailable"),
        401 => Refusal::unauthorized(),
        s => Refusal::new(s, u32::from(s) * 100_000, "internal server error"),
    }
}

/// Faults, authentication and the rate limit, in that order.
async fn gate(State(ex): State<Exchange>, mut req: Request, next: Next) -> Response {
    ex.count_request();
    let (latency, fault, random_error) = {
        let mut f = ex.faults();
        let fault = f.queue.pop_front();
        let random_error = f
            .error_rate
            .filter(|(_, rate)| random_unit() < *rate)
            .map(|(s, _)| s);
        (f.latency, fault, random_error)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = random_error {
        return status_refusal(status).into_response();
    }
    let mut drop_after = false;
    match fault {
        Some(Fault::Status(s)) => return status_refusal(s).into_response(),
        Some(Fault::Refuse {
            status,
            code,
            message,
        }) => return Refusal::new(status, code, message).into_response(),
        Some(Fault::RateLimited { reset_in_secs }) => {
            let mut r = status_refusal(429).into_response();
            let reset = Utc::now().timestamp() + reset_in_secs;
            set_rate_headers(r.headers_mut(), 0, reset);
            return r;
        }
        Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
        Some(Fault::DropAfterCommit) => drop_after = true,
        Some(Fault::Pass) | None => {}
    }
    let (account, credential) = match authenticate(&ex, req.headers()) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let minute = Utc::now().timestamp() / 60;
    let reset = (minute + 1) * 60;
    let used = {
        let mut rate = ex.rate();
        let entry = rate.windows.entry(credential).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1
    };
    if used > RATE_LIMIT_PER_MINUTE {
        let mut r = status_refusal(429).into_response();
        set_rate_headers(r.headers_mut(), 0, reset);
        return r;
    }
    req.extensions_mut().insert(AccountId(account));
    let mut response = next.run(req).await;
    set_rate_headers(response.headers_mut(), RATE_LIMIT_PER_MINUTE - used, reset);
    if drop_after {
        // The work is done (an order is placed); the caller never hears so.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other(
                "connection dropped by fault injection",
            ))
        });
        let mut r = Response::new(Body::from_stream(broken));
        *r.status_mut() = StatusCode::OK;
        r.headers_mut()
            .insert("content-length", HeaderValue::from_static("1000"));
        return r;
    }
    response
}

/// A uniform draw from [0, 1) for the error-rate fault.
fn random_unit() -> f64 {
    (Uuid::new_v4().as_u128() & 0xFFFF_FFFF) as f64 / 4_294_967_296.0
}

fn set_rate_headers(h: &mut HeaderMap, remaining: u32, reset: i64) {
    h.insert(
        "x-ratelimit-limit",
        HeaderValue::from(RATE_LIMIT_PER_MINUTE),
    );
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

/// Runs `f` on the caller's account, brought up to date first.
fn on_account<T>(
    ex: &Exchange,
    id: AccountId,
    f: impl FnOnce(&mut ledger::Account, DateTime<Utc>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let now = ex.now();
    ex.with_ledger(|l| {
        let account = l.account_mut(id.0).ok_or_else(Refusal::unauthorized)?;
        account.settle(now);
        f(account, now)
    })
    .map_err(internal)?
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

// --- Market Data v2 -----------------------------------------------------

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
