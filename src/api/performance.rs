//! How the caller's plans really did. Every function reads only the
//! caller's own plans and connections.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::performance::*;

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
