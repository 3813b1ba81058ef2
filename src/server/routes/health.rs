//! Liveness and readiness probes for load balancers and orchestrators.
//!
//! `/healthz` answers whenever the process can serve HTTP. `/readyz` answers 200
//! only when the database is reachable and carries every migration this binary
//! knows; otherwise 503 with which check failed. Neither shows error text.

use crate::server::db::Store;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn readyz(State(store): State<Store>) -> (StatusCode, Json<Value>) {
    let backend = store.backend();
    let ping = tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await;
    if !matches!(ping, Ok(Ok(()))) {
        match ping {
            Ok(Err(e)) => tracing::warn!(error.cause_chain = ?e, "readiness: database unreachable"),
            _ => tracing::warn!("readiness: database ping timed out"),
        }
        return not_ready(json!({ "backend": backend, "database": "unreachable" }));
    }
    match tokio::time::timeout(CHECK_TIMEOUT, store.migration_status()).await {
        Ok(Ok(status)) if status.is_current() => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "checks": { "backend": backend, "database": "ok", "migrations": "current" },
                "migrations": status,
            })),
        ),
        Ok(Ok(status)) => not_ready(json!({
            "backend": backend, "database": "ok", "migrations": "pending", "detail": status,
        })),
        Ok(Err(e)) => {
            tracing::warn!(error.cause_chain = ?e, "readiness: cannot read migration status");
            not_ready(json!({ "backend": backend, "database": "ok", "migrations": "unknown" }))
        }
        Err(_) => {
            not_ready(json!({ "backend": backend, "database": "ok", "migrations": "unknown" }))
        }
    }
}

fn not_ready(checks: Value) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not_ready", "checks": checks })),
    )
}
