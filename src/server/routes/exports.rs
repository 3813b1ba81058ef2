//! Downloads: a plan's runs as CSV; a backtest's tables as CSV, its report as
//! JSON and as one HTML file. Signed-in owners only.

use crate::dto::backtest::{BacktestQuery, StrategyQuery};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::auth::current_user;
use crate::server::backtest::{export, report, strategy};
use crate::server::plans;
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

/// `GET /plans/{id}/runs.csv`.
pub async fn plan_runs_csv(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    let user = match current_user(&state, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Sign in to download this.").into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    match plans::runs_csv(&state, &user, id).await {
        Ok(csv) => {
            let mut r = csv.into_response();
            let headers = r.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"plan-{id}-runs.csv\""))
            {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn signed_in(state: &AppState, session: &Session) -> Result<CurrentUser, Response> {
    match current_user(state, session).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err((StatusCode::UNAUTHORIZED, "Sign in to download this.").into_response()),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

fn download(body: String, content_type: &'static str, filename: &str) -> Response {
    let mut r = body.into_response();
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The backtest `q` asks for, for whoever is signed in on `session`, or the
/// response that says why not.
async fn backtest_for(
    state: &AppState,
    session: &Session,
    q: &BacktestQuery,
) -> Result<crate::dto::backtest::BacktestReport, Response> {
    let user = signed_in(state, session).await?;
    report::run(state, &user, q)
        .await
        .map_err(IntoResponse::into_response)
}

/// `GET /backtest/export/{table}.csv?<the page's query>`: one of the
/// report's tables.
pub async fn backtest_csv(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    Query(q): Query<BacktestQuery>,
) -> Result<Response, Response> {
    let Some(table) = file
        .strip_suffix(".csv")
        .filter(|t| export::TABLES.contains(t))
    else {
        return Err(AppError::NotFound.into_response());
    };
    let r = backtest_for(&state, &session, &q).await?;
    let csv = export::csv(&r, table).map_err(|e| AppError::from(e).into_response())?;
    Ok(download(
        csv,
        "text/csv; charset=utf-8",
        &format!("backtest-{table}.csv"),
    ))
}

/// `GET /backtest/report.json?<query>`: the whole report.
pub async fn backtest_json(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<BacktestQuery>,
) -> Result<Response, Response> {
    let r = backtest_for(&state, &session, &q).await?;
    let json = serde_json::to_string_pretty(&r)
        .map_err(|e| AppError::from(anyhow::Error::from(e)).into_response())?;
    Ok(download(json, "application/json", "backtest.json"))
}

/// `GET /backtest/report.html?<query>`: a self-contained report to keep or
/// print.
pub async fn backtest_html(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<BacktestQuery>,
) -> Result<Response, Response> {
    let r = backtest_for(&state, &session, &q).await?;
    let file = state
        .settings
        .site_root
        .join(state.chart_src.trim_start_matches('/'));
    let js = tokio::fs::read_to_string(&file).await.ok();
    Ok(download(
        export::html(&r, js.as_deref()),
        "text/html; charset=utf-8",
        "backtest-report.html",
    ))
}

/// `GET /backtest/strategy/export/{table}.csv?<the page's query>`.
pub async fn strategy_csv(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    Query(q): Query<StrategyQuery>,
) -> Result<Response, Response> {
    let Some(table) = file
        .strip_suffix(".csv")
        .filter(|t| export::STRATEGY_TABLES.contains(t))
    else {
        return Err(AppError::NotFound.into_response());
    };
    let user = signed_in(&state, &session).await?;
    let r = strategy::run(&state, &user, &q)
        .await
        .map_err(IntoResponse::into_response)?;
    let csv = export::strategy_csv(&r, table).map_err(|e| AppError::from(e).into_response())?;
    Ok(download(
        csv,
        "text/csv; charset=utf-8",
        &format!("strategy-{table}.csv"),
    ))
}

/// `GET /backtest/strategy/report.json?<query>`.
pub async fn strategy_json(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<StrategyQuery>,
) -> Result<Response, Response> {
    let user = signed_in(&state, &session).await?;
    let r = strategy::run(&state, &user, &q)
        .await
        .map_err(IntoResponse::into_response)?;
    let json = serde_json::to_string_pretty(&r)
        .map_err(|e| AppError::from(anyhow::Error::from(e)).into_response())?;
    Ok(download(json, "application/json", "strategy.json"))
}

#[derive(Debug, serde::Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub action: String,
}

/// `GET /admin/audit.csv?email=&action=`: the audit log page's rows as CSV
/// (admins only).
pub async fn audit_csv(
    State(state): State<AppState>,
    session: Session,
    Query(f): Query<AuditFilter>,
) -> Response {
    let user = match current_user(&state, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Sign in to download this.").into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    match crate::server::admin::audit_csv(&state.store, &user, &f.email, &f.action).await {
        Ok(csv) => download(csv, "text/csv; charset=utf-8", "audit-log.csv"),
        Err(e) => e.into_response(),
    }
}
