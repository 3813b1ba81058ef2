//! Downloads: a plan's runs as CSV. Signed-in owners only.

use crate::error::AppError;
use crate::server::auth::current_user;
use crate::server::plans;
use crate::server::state::AppState;
use axum::extract::{Path, State};
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
