//! `/api/v1/backtests`: a plan (or an ad-hoc one) against the other DCA
//! mode, a lump sum and a benchmark bought on the same days; the MA
//! crossover on one symbol, or a sweep of window pairs. The Backtest page's
//! use-cases, within the caller's tier. Backtests trade nothing, so the
//! `read` scope runs them.

use super::error::ApiError;
use super::{Page, PageQuery, id_key, page};
use crate::dto::backtest::{
    BacktestJob, BacktestQuery, BacktestReport, StrategyQuery, StrategyReport,
};
use crate::server::backtest;
use crate::server::state::AppState;
use crate::server::tokens::ApiCaller;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{HeaderName, LOCATION};
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

/// Starts the MA crossover strategy, or a sweep, in the background: the
/// question is checked and its bars fetched first (a bad one is refused
/// here), then `getBacktestJob` shows the sweep's progress and, once done,
/// the report. At most two run at once per user.
#[utoipa::path(post, operation_id = "startBacktestJob", path = "/api/v1/backtests/jobs", tag = "backtests", request_body = StrategyQuery,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 202, description = "The job, started", body = BacktestJob,
        headers(("Location" = String, description = "Where to follow the job")))))]
pub async fn start_job(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: Result<Json<StrategyQuery>, JsonRejection>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<BacktestJob>), ApiError> {
    let Json(q) = body?;
    let job = backtest::jobs::start(&state, &caller.user, &q).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(LOCATION, format!("/api/v1/backtests/jobs/{}", job.id))],
        Json(job),
    ))
}

/// The caller's background backtests, newest first (without reports).
#[utoipa::path(get, operation_id = "listBacktestJobs", path = "/api/v1/backtests/jobs", tag = "backtests", params(PageQuery),
    responses((status = 200, description = "A page of jobs", body = Page<BacktestJob>)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<BacktestJob>>, ApiError> {
    let Query(q) = q?;
    let jobs = backtest::jobs::list(&state, &caller.user).await?;
    Ok(Json(page(jobs, |j| id_key(j.id), &q)?))
}

/// One background backtest: running with its progress (`pairs_done` of
/// `pairs_total`), done with its report, or failed with the reason.
#[utoipa::path(get, operation_id = "getBacktestJob", path = "/api/v1/backtests/jobs/{id}", tag = "backtests",
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = BacktestJob)))]
pub async fn get_job(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<BacktestJob>, ApiError> {
    let Path(id) = id?;
    Ok(Json(backtest::jobs::get(&state, &caller.user, id).await?))
}
