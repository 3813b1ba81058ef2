//! `/api/v1/accounts`: each connected account with its positions and recent
//! orders (the dashboard's use-case), its ledger, and every purchase the
//! caller's plans made.

use super::error::ApiError;
use super::{Page, PageQuery, id_key, page};
use crate::dto::broker::DashboardDto;
use crate::dto::performance::LedgerEntryDto;
use crate::dto::plans::PurchaseDto;
use crate::server::state::AppState;
use crate::server::tokens::ApiCaller;
use crate::server::{plans, portfolio};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Accounts {
    pub data: Vec<DashboardDto>,
}

/// Every account the caller connected: balances, positions, recent orders,
/// the market's hours; or why the broker could not be asked.
#[utoipa::path(get, operation_id = "listAccounts", path = "/api/v1/accounts", tag = "account",
    responses((status = 200, description = "The caller's accounts", body = Accounts)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Json<Accounts>, ApiError> {
    Ok(Json(Accounts {
        data: portfolio::dashboards(&state, &caller.user).await?,
    }))
}

/// An account's ledger as its broker reports it (fills, deposits,
/// dividends, fees, splits), newest first.
#[utoipa::path(get, operation_id = "listLedger", path = "/api/v1/accounts/{id}/ledger", tag = "account",
    params(("id" = i64, Path, description = "The connection's id"), PageQuery),
    responses((status = 200, description = "A page of activities", body = Page<LedgerEntryDto>)))]
pub async fn ledger(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<LedgerEntryDto>>, ApiError> {
    let (Path(id), Query(q)) = (id?, q?);
    let entries = portfolio::ledger::of_user(&state, &caller.user, id).await?;
    Ok(Json(page(
        entries,
        |e| format!("{}|{}", e.date, e.activity_id),
        &q,
    )?))
}

/// Every order the caller's plans placed, newest first.
#[utoipa::path(get, operation_id = "listPurchases", path = "/api/v1/purchases", tag = "plans", params(PageQuery),
    responses((status = 200, description = "A page of purchases", body = Page<PurchaseDto>)))]
pub async fn purchases(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<PurchaseDto>>, ApiError> {
    let Query(q) = q?;
    let all = plans::history(&state, &caller.user).await?;
    Ok(Json(page(
        all,
        |p| format!("{}|{}|{}", p.scheduled_at.utc, id_key(p.plan_id), p.symbol),
        &q,
    )?))
}
