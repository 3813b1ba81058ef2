//! Prometheus metrics through the `metrics` facade, rendered by
//! `metrics-exporter-prometheus` from an axum route on its own listener
//! (`DRIPFEED_METRICS_LISTEN`; none by default, never the public one).
//!
//! Series (all prefixed `dripfeed_`):
//! - `http_requests_total{method,route,status}` and
//!   `http_request_duration_seconds{method,route}`: by matched route, never
//!   the raw path (ids and tokens stay out of labels);
//! - `engine_runs_total{outcome}`: runs ended, by outcome;
//! - `order_submit_seconds`: how long the broker took to take an order;
//! - `broker_errors_total{host,kind,status}`: broker failures by HTTP status;
//! - `webhook_events_total{type,result}`: Stripe events received;
//! - `ai_calls_total{result}`: AI analyst calls;
//! - `active_sessions`: signed-in sessions not yet expired (at each scrape).

use crate::server::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Latency buckets in seconds, 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process, shared
/// by every `Application` in it, as in the test suite).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        handle
    })
}

/// Counts and times each request by its matched route.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("dripfeed_http_request_duration_seconds",
        "method" => method.clone(), "route" => route.clone())
    .record(started.elapsed().as_secs_f64());
    metrics::counter!("dripfeed_http_requests_total",
        "method" => method, "route" => route, "status" => status)
    .increment(1);
    response
}

pub fn run_ended(outcome: &str) {
    metrics::counter!("dripfeed_engine_runs_total", "outcome" => outcome.to_owned()).increment(1);
}

pub fn order_submitted(seconds: f64) {
    metrics::histogram!("dripfeed_order_submit_seconds").record(seconds);
}

/// A broker failure as a short code: its HTTP status, or its kind.
pub fn broker_error_code(error: &crate::server::broker::BrokerError) -> String {
    use crate::server::broker::BrokerError as E;
    match error {
        E::Unauthorized { .. } => "401".into(),
        E::Api { status, .. } => status.to_string(),
        E::RateLimited { .. } => "429".into(),
        E::Timeout => "timeout".into(),
        E::Unreachable(_) => "unreachable".into(),
        E::Decode(_) => "decode".into(),
        E::Uncertain(_) => "uncertain".into(),
    }
}

pub fn broker_error(host: &'static str, error: &crate::server::broker::BrokerError) {
    use crate::server::broker::BrokerError as E;
    let (kind, status) = match error {
        E::Unauthorized { .. } => ("unauthorized", "401".to_owned()),
        E::Api { status, .. } => ("api", status.to_string()),
        E::RateLimited { .. } => ("rate_limited", "429".to_owned()),
        E::Timeout => ("timeout", "none".to_owned()),
        E::Unreachable(_) => ("unreachable", "none".to_owned()),
        E::Decode(_) => ("decode", "none".to_owned()),
        E::Uncertain(_) => ("uncertain", "none".to_owned()),
    };
    metrics::counter!("dripfeed_broker_errors_total",
        "host" => host, "kind" => kind, "status" => status)
    .increment(1);
}

pub fn webhook_event(kind: &str, result: &'static str) {
    metrics::counter!("dripfeed_webhook_events_total",
        "type" => kind.to_owned(), "result" => result)
    .increment(1);
}

pub fn alert_raised(kind: &'static str) {
    metrics::counter!("dripfeed_alerts_raised_total", "kind" => kind).increment(1);
}

pub fn ai_call(result: &'static str) {
    metrics::counter!("dripfeed_ai_calls_total", "result" => result).increment(1);
}

/// `GET /metrics`: the gauges read now, then everything in Prometheus' text
/// format.
pub async fn render(State(state): State<AppState>) -> Response {
    match state.store.active_session_count().await {
        Ok(n) => metrics::gauge!("dripfeed_active_sessions").set(n as f64),
        Err(e) => tracing::warn!(error.cause_chain = ?e, "could not count sessions for /metrics"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// The metrics listener's router.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}
