//! DCA plans: preview a schedule, create, edit, list, pause, resume, stop.
//! Every function acts only on the caller's own plans and connections.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

pub use crate::dto::plans::*;

/// Every order across the caller's plans, newest first.
#[server]
pub async fn purchase_history() -> Result<Vec<PurchaseDto>, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::history(&ctx.state, &user).await
}

/// Tradable assets of the connection's broker matching `query` (symbol or
/// name), best matches first.
#[server]
pub async fn search_assets(connection_id: i64, query: String) -> Result<Vec<AssetDto>, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::search_assets(&ctx.state, &user, connection_id, &query).await
}

#[server]
pub async fn get_plan(id: i64) -> Result<PlanDetail, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::detail(&ctx.state, &user, id).await
}

/// The next five runs and the monthly spend, without saving anything.
/// `editing`: the id of the caller's plan being edited, if any.
#[server(input = Json)]
pub async fn preview_plan(
    input: PlanInput,
    #[server(default)] editing: Option<i64>,
) -> Result<SchedulePreview, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::preview(&ctx.state, &user, &input, editing).await
}

#[server(input = Json)]
pub async fn create_plan(input: PlanInput) -> Result<i64, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::create(&ctx.state, &user, &ctx.client, input).await
}

/// Changes a plan. Runs already made or under way stay as they are; the
/// change applies from the next run on.
#[server(input = Json)]
pub async fn update_plan(id: i64, input: PlanInput) -> Result<(), AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::update(&ctx.state, &user, &ctx.client, id, input).await
}

/// A plan as the wizard edits it.
#[server]
pub async fn saved_plan_input(id: i64) -> Result<PlanInput, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::input_of(&ctx.state, &user, id).await
}

#[server]
pub async fn list_plans() -> Result<Vec<PlanSummary>, AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::list(&ctx.state, &user).await
}

#[server]
pub async fn pause_plan(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::change_status(
        &ctx.state,
        &user,
        &ctx.client,
        id,
        plans::StatusChange::Pause,
    )
    .await
}

#[server]
pub async fn resume_plan(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::change_status(
        &ctx.state,
        &user,
        &ctx.client,
        id,
        plans::StatusChange::Resume,
    )
    .await
}

#[server]
pub async fn stop_plan(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, plans};
    let (ctx, user) = auth::require_user().await?;
    plans::change_status(
        &ctx.state,
        &user,
        &ctx.client,
        id,
        plans::StatusChange::Stop,
    )
    .await
}
