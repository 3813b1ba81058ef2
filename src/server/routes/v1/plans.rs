//! `/api/v1/plans`: list, create, get, update, pause, resume, stop; a
//! plan's runs and its real returns. The use-cases are `server::plans` and
//! `server::portfolio::performance`, as for the pages.

use super::error::ApiError;
use super::{Page, PageQuery, id_key, page};
use crate::dto::performance::PlanPerformance;
use crate::dto::plans::{PlanDetail, PlanInput, PlanSummary, SlotDto};
use crate::dto::tokens::TokenScope;
use crate::server::auth::ClientInfo;
use crate::server::plans::{self, StatusChange};
use crate::server::portfolio::performance;
use crate::server::state::AppState;
use crate::server::tokens::ApiCaller;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::IntoParams;

type Caller = Extension<ApiCaller>;
type Client = Extension<ClientInfo>;

/// The caller's plans, newest first.
#[utoipa::path(get, operation_id = "listPlans", path = "/api/v1/plans", tag = "plans", params(PageQuery),
    responses((status = 200, description = "A page of plans", body = Page<PlanSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Caller,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<PlanSummary>>, ApiError> {
    let Query(q) = q?;
    let plans = plans::list(&state, &caller.user).await?;
    Ok(Json(page(plans, |p| id_key(p.id), &q)?))
}

/// Creates a plan (the wizard's rules: tier, symbols, schedule, amounts).
/// Needs the `trade` scope.
#[utoipa::path(post, operation_id = "createPlan", path = "/api/v1/plans", tag = "plans", request_body = PlanInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key: a repeat gets the first answer")),
    responses((status = 201, description = "The new plan", body = PlanDetail)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(client): Client,
    body: Result<Json<PlanInput>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<PlanDetail>), ApiError> {
    caller.need(TokenScope::Trade)?;
    let Json(input) = body?;
    let id = plans::create(&state, &caller.user, &client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(plans::detail(&state, &caller.user, id).await?),
    ))
}

/// One plan with its runs, newest first.
#[utoipa::path(get, operation_id = "getPlan", path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    responses((status = 200, description = "The plan", body = PlanDetail)))]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Caller,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanDetail>, ApiError> {
    let Path(id) = id?;
    Ok(Json(plans::detail(&state, &caller.user, id).await?))
}

/// Changes a plan; runs made or under way stay as they are. Needs `trade`.
#[utoipa::path(put, operation_id = "updatePlan", path = "/api/v1/plans/{id}", tag = "plans", request_body = PlanInput,
    params(("id" = i64, Path, description = "The plan's id")),
    responses((status = 200, description = "The plan as changed", body = PlanDetail)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(client): Client,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    body: Result<Json<PlanInput>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<PlanDetail>, ApiError> {
    caller.need(TokenScope::Trade)?;
    let Path(id) = id?;
    let Json(input) = body?;
    plans::update(&state, &caller.user, &client, id, input).await?;
    Ok(Json(plans::detail(&state, &caller.user, id).await?))
}

async fn change(
    state: AppState,
    caller: ApiCaller,
    client: ClientInfo,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    to: StatusChange,
) -> Result<Json<PlanDetail>, ApiError> {
    caller.need(TokenScope::Trade)?;
    let Path(id) = id?;
    plans::change_status(&state, &caller.user, &client, id, to).await?;
    Ok(Json(plans::detail(&state, &caller.user, id).await?))
}

/// Pauses an active plan. Needs `trade`.
#[utoipa::path(post, operation_id = "pausePlan", path = "/api/v1/plans/{id}/pause", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The paused plan", body = PlanDetail)))]
pub async fn pause(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(client): Client,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanDetail>, ApiError> {
    change(state, caller, client, id, StatusChange::Pause).await
}

/// Resumes a paused plan (within the tier). Needs `trade`.
#[utoipa::path(post, operation_id = "resumePlan", path = "/api/v1/plans/{id}/resume", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The resumed plan", body = PlanDetail)))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(client): Client,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanDetail>, ApiError> {
    change(state, caller, client, id, StatusChange::Resume).await
}

/// Ends a plan for good. Needs `trade`.
#[utoipa::path(post, operation_id = "stopPlan", path = "/api/v1/plans/{id}/stop", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The ended plan", body = PlanDetail)))]
pub async fn stop(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(client): Client,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanDetail>, ApiError> {
    change(state, caller, client, id, StatusChange::Stop).await
}

/// A plan's runs and their orders, newest first.
#[utoipa::path(get, operation_id = "listPlanRuns", path = "/api/v1/plans/{id}/runs", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"), PageQuery),
    responses((status = 200, description = "A page of runs", body = Page<SlotDto>)))]
pub async fn runs(
    State(state): State<AppState>,
    Extension(caller): Caller,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<SlotDto>>, ApiError> {
    let (Path(id), Query(q)) = (id?, q?);
    let detail = plans::detail(&state, &caller.user, id).await?;
    Ok(Json(page(
        detail.slots,
        |s| s.scheduled_at.utc.clone(),
        &q,
    )?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenchmarkQuery {
    /// A symbol, or `cash`; SPY when absent.
    pub benchmark: Option<String>,
}

/// What the plan's money really did, against a benchmark bought with the
/// same dollars on the same days.
#[utoipa::path(get, operation_id = "getPlanPerformance", path = "/api/v1/plans/{id}/performance", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"), BenchmarkQuery),
    responses((status = 200, description = "The plan's returns", body = PlanPerformance)))]
pub async fn performance(
    State(state): State<AppState>,
    Extension(caller): Caller,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    q: Result<Query<BenchmarkQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PlanPerformance>, ApiError> {
    let (Path(id), Query(q)) = (id?, q?);
    let benchmark = performance::benchmark_choice(q.benchmark.as_deref())?;
    Ok(Json(
        performance::plan_performance(&state, &caller.user, id, benchmark).await?,
    ))
}
