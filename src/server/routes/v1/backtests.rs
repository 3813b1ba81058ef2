//! `/api/v1/backtests`: a plan (or an ad-hoc one) against the other DCA
//! mode, a lump sum and a benchmark bought on the same days; the MA
//! crossover on one symbol, or a sweep of window pairs. The Backtest page's
//! use-cases, within the caller's tier. Backtests trade nothing, so the
//! `read` scope runs them.

use super::error::ApiError;
use crate::dto::backtest::{BacktestQuery, BacktestReport, StrategyQuery, StrategyReport};
use crate::server::backtest;
use crate::server::state::AppState;
use crate::server::tokens::ApiCaller;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};

/// Runs the DCA comparison.
#[utoipa::path(post, operation_id = "runBacktest", path = "/api/v1/backtests", tag = "backtests", request_body = BacktestQuery,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The comparison", body = BacktestReport)))]
pub async fn compare(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: Result<Json<BacktestQuery>, JsonRejection>,
) -> Result<Json<BacktestReport>, ApiError> {
    let Json(q) = body?;
    Ok(Json(backtest::report::run(&state, &caller.user, &q).await?))
}

/// Runs the MA crossover strategy, or a sweep when `fast` or `slow` is a
/// range (`5..20`, `20..60:5`).
#[utoipa::path(post, operation_id = "runStrategyBacktest", path = "/api/v1/backtests/strategy", tag = "backtests", request_body = StrategyQuery,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The strategy's run or sweep", body = StrategyReport)))]
pub async fn strategy(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: Result<Json<StrategyQuery>, JsonRejection>,
) -> Result<Json<StrategyReport>, ApiError> {
    let Json(q) = body?;
    Ok(Json(
        backtest::strategy::run(&state, &caller.user, &q).await?,
    ))
}
