//! The exchange's HTTP API: Trading API v2 and Market Data v2 on one router,
//! plus the fake OAuth pages. Every `/v2` request passes [`gate`]: injected
//! faults, then authentication (API-key headers or an OAuth bearer token),
//! then Alpaca's rate limit of 200 requests a minute per credential with the
//! `X-RateLimit-*` headers.
//! `trading.rs` serves the Trading API (account, positions, orders, clock,
//! calendar, assets), `data.rs` Market Data (bars, latest trades and quotes,
//! snapshots); both sit behind the same gate.

mod data;
mod stream;
mod trading;

use super::ledger::{self, Refusal};
pub use super::oauth::ConsentPolicy;
use super::{Exchange, Fault, clock, oauth, wire};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
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
    /// `POST /_control/clock` to move the clock and `POST /_control/latency`
    /// to slow every request (demos and end-to-end tests only), and who may
    /// call them.
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

#[derive(Debug, serde::Deserialize)]
struct LatencyControl {
    ms: u64,
}

/// The most latency the control adds to each request.
const MAX_CONTROL_LATENCY_MS: u64 = 30_000;

/// Adds `ms` to every Trading and Market Data request from now on (0 ends
/// it): a slow broker, for demos and end-to-end tests.
async fn control_latency(State(ex): State<Exchange>, Json(c): Json<LatencyControl>) -> Reply {
    if c.ms > MAX_CONTROL_LATENCY_MS {
        return Err(Refusal::invalid(
            "ms must be between 0 and 30000 (30 seconds)",
        ));
    }
    ex.faults().latency = std::time::Duration::from_millis(c.ms);
    ok(serde_json::json!({ "latency_ms": c.ms }))
}

/// The router, with paths as Alpaca has them (`/v2/...`), plus `extras`.
pub fn router(exchange: Exchange, extras: Extras) -> Router {
    let v2 = Router::new()
        .merge(trading::routes())
        .merge(data::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(exchange.clone(), gate));
    let mut router = Router::new()
        .merge(v2)
        .route("/stream", axum::routing::get(stream::stream));
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
        let control = Router::new()
            .route("/_control/clock", axum::routing::post(control_clock))
            .route("/_control/latency", axum::routing::post(control_latency))
            .route_layer(middleware::from_fn(guard));
        router = router.merge(control);
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
            .read(|l| l.by_token(token.trim()))
            .ok_or_else(Refusal::unauthorized)?;
        return Ok((id, ledger::digest(token)));
    }
    let (Some(key), Some(secret)) = (
        header(headers, "apca-api-key-id"),
        header(headers, "apca-api-secret-key"),
    ) else {
        return Err(Refusal::unauthorized());
    };
    let id = ex
        .account_for_key(key, secret)
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
