//! `/api/v1/recommendations`: the inbox, Execute and Ignore, through the
//! same use-cases (and so every rail, the kill switches and the live
//! confirmation) as the Recommendations page.

use super::error::ApiError;
use super::{Page, PageQuery, id_key, page};
use crate::dto::recommendations::{ExecuteOutcome, RecommendationDto};
use crate::dto::tokens::TokenScope;
use crate::server::auth::ClientInfo;
use crate::server::engine::engine_now;
use crate::server::recommendations;
use crate::server::state::AppState;
use crate::server::tokens::ApiCaller;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The caller's recommendations, newest first, decided ones included.
#[utoipa::path(get, operation_id = "listRecommendations", path = "/api/v1/recommendations", tag = "recommendations", params(PageQuery),
    responses((status = 200, description = "A page of recommendations", body = Page<RecommendationDto>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<RecommendationDto>>, ApiError> {
    let Query(q) = q?;
    let inbox = recommendations::page(&state, &caller.user, engine_now(&state)).await?;
    Ok(Json(page(inbox.recommendations, |r| id_key(r.id), &q)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ExecuteRequest {
    /// A live account needs the phrase `I UNDERSTAND THE RISKS`, exactly.
    #[serde(default)]
    pub confirmation: Option<String>,
}

/// Executes a pending recommendation now, after every rail. Needs `trade`.
#[utoipa::path(post, operation_id = "executeRecommendation", path = "/api/v1/recommendations/{id}/execute", tag = "recommendations",
    request_body(content = Option<ExecuteRequest>, description = "Optional; live accounts need `confirmation`"),
    params(("id" = i64, Path, description = "The recommendation's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "The order placed", body = ExecuteOutcome)))]
pub async fn execute(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(client): Extension<ClientInfo>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Option<Json<ExecuteRequest>>, JsonRejection>,
) -> Result<Json<ExecuteOutcome>, ApiError> {
    caller.need(TokenScope::Trade)?;
    let Path(id) = id?;
    let body = body?.map(|Json(b)| b).unwrap_or_default();
    let now = engine_now(&state);
    Ok(Json(
        recommendations::execute(&state, &caller.user, &client, id, body.confirmation, now).await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IgnoreRequest {
    /// Why, for your own records (kept in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ignored {
    pub id: i64,
    /// Always `ignored`.
    pub state: String,
}

/// Declines a pending recommendation. Needs `trade`.
#[utoipa::path(post, operation_id = "ignoreRecommendation", path = "/api/v1/recommendations/{id}/ignore", tag = "recommendations",
    request_body(content = Option<IgnoreRequest>, description = "Optional reason"),
    params(("id" = i64, Path, description = "The recommendation's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "Ignored", body = Ignored)))]
pub async fn ignore(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(client): Extension<ClientInfo>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Option<Json<IgnoreRequest>>, JsonRejection>,
) -> Result<Json<Ignored>, ApiError> {
    caller.need(TokenScope::Trade)?;
    let Path(id) = id?;
    let body = body?.map(|Json(b)| b).unwrap_or_default();
    let now = engine_now(&state);
    recommendations::ignore(&state, &caller.user, &client, id, body.reason, now).await?;
    Ok(Json(Ignored {
        id,
        state: "ignored".into(),
    }))
}
