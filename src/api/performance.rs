//! How the caller's plans really did. Every function reads only the
//! caller's own plans and connections.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::performance::*;

/// The equity chart of the caller's connection `connection_id` over
/// `period` (1D, 1W, 1M, 1A or all; empty: 1M) and its returns since it
/// opened beside `benchmark` (a symbol, `cash`, or empty for SPY) bought
/// with the same deposits on the same days.
#[server]
pub async fn get_account_performance(
    connection_id: i64,
    #[server(default)] period: String,
    #[server(default)] benchmark: String,
) -> Result<AccountPerformance, AppError> {
    use crate::server::{auth, portfolio::account, portfolio::performance};
    let (ctx, user) = auth::require_user().await?;
    let benchmark = performance::benchmark_choice(Some(&benchmark))?;
    let period = if period.trim().is_empty() {
        Period::default()
    } else {
        Period::parse(period.trim()).ok_or_else(|| {
            AppError::invalid(
                "period",
                format!("{period:?} is not one of 1D, 1W, 1M, 1A or all."),
            )
        })?
    };
    account::account_performance(&ctx.state, &user, connection_id, period, benchmark).await
}

/// A row per plan of the caller's for the dashboard: contributed, value,
/// gain, and how it stands against SPY bought on the same days.
#[server]
pub async fn plan_summary_rows() -> Result<Vec<PlanSummaryRow>, AppError> {
    use crate::server::{auth, portfolio::performance};
    let (ctx, user) = auth::require_user().await?;
    performance::plan_rows(&ctx.state, &user).await
}

/// Plan `id`'s contributions, value, returns and purchases beside
/// `benchmark` (a symbol, `cash`, or empty for the default, SPY) bought
/// with the same dollars on the same days.
#[server]
pub async fn get_plan_performance(
    id: i64,
    #[server(default)] benchmark: String,
) -> Result<PlanPerformance, AppError> {
    use crate::server::{auth, portfolio::performance};
    let (ctx, user) = auth::require_user().await?;
    let benchmark = performance::benchmark_choice(Some(&benchmark))?;
    performance::plan_performance(&ctx.state, &user, id, benchmark).await
}
