//! Recommendations: the inbox, Execute / Ignore, the settings, the kill
//! switches and the scorecard. Every function acts only on the caller's
//! own recommendations and accounts; the global kill switch is for admins.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::recommendations::*;

#[server]
pub async fn recommendations_inbox() -> Result<RecommendationsPage, AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    let now = crate::server::engine::engine_now(&ctx.state);
    recommendations::page(&ctx.state, &user, now).await
}

/// Executes one recommendation after every check, on the server, now.
/// `confirmation`: the typed phrase a live account needs.
#[server]
pub async fn execute_recommendation(
    id: i64,
    #[server(default)] confirmation: Option<String>,
) -> Result<ExecuteOutcome, AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    let now = crate::server::engine::engine_now(&ctx.state);
    recommendations::execute(&ctx.state, &user, &ctx.client, id, confirmation, now).await
}

#[server]
pub async fn ignore_recommendation(
    id: i64,
    #[server(default)] reason: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    let now = crate::server::engine::engine_now(&ctx.state);
    recommendations::ignore(&ctx.state, &user, &ctx.client, id, reason, now).await
}

/// Saves what the daily analysis does for the caller (the page's form:
/// checkboxes arrive only when ticked); their rails stay as they are.
#[server]
pub async fn save_recommendation_settings(
    watchlist: String,
    #[server(default)] enabled: Option<String>,
    #[server(default)] auto_exits: Option<String>,
    #[server(default)] connection_id: String,
) -> Result<(), AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    let connection_id = match connection_id.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| {
            AppError::invalid("connection_id", "Choose one of your connected accounts.")
        })?),
    };
    let input = RecommendationSettingsInput {
        enabled: enabled.is_some(),
        watchlist,
        auto_exits: auto_exits.is_some(),
        connection_id,
        ..recommendations::current_input(&ctx.state, &user).await?
    };
    recommendations::save_settings(&ctx.state, &user, &ctx.client, input).await
}

/// Saves the caller's own safety rails (each empty one: the instance's);
/// they can only be stricter than the instance's.
#[server]
pub async fn save_recommendation_rails(
    #[server(default)] max_position_pct: String,
    #[server(default)] max_open_positions: String,
    #[server(default)] min_equity: String,
    #[server(default)] max_drift_pct: String,
) -> Result<(), AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    let input = RecommendationSettingsInput {
        max_position_pct,
        max_open_positions,
        min_equity,
        max_drift_pct,
        ..recommendations::current_input(&ctx.state, &user).await?
    };
    recommendations::save_settings(&ctx.state, &user, &ctx.client, input).await
}

/// The caller's kill switch: `stop` true stops all their trading (and
/// with `cancel_orders` cancels open orders at their brokers); false resets it.
#[server]
pub async fn set_kill_switch(
    stop: bool,
    #[server(default)] cancel_orders: bool,
) -> Result<String, AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    recommendations::set_kill_switch(&ctx.state, &user, &ctx.client, stop, cancel_orders).await
}

/// The instance-wide kill switch (administrators only).
#[server]
pub async fn set_global_kill_switch(
    stop: bool,
    #[server(default)] reason: String,
) -> Result<bool, AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    recommendations::set_global_kill_switch(&ctx.state, &user, &ctx.client, stop, reason).await
}

#[server]
pub async fn recommendation_scorecard() -> Result<ScorecardDto, AppError> {
    use crate::server::{auth, recommendations};
    let (ctx, user) = auth::require_user().await?;
    recommendations::scorecard(&ctx.state, &user).await
}
