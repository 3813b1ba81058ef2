//! Brokerage connections and the portfolio dashboard. Every function acts
//! only on the caller's own connections; amounts cross the wire as exact
//! decimals (strings).

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::broker::*;

#[server]
pub async fn brokerage_overview() -> Result<BrokerageSummary, AppError> {
    use crate::server::{auth, portfolio};
    let (ctx, user) = auth::require_user().await?;
    portfolio::overview(&ctx.state, &user).await
}

#[server]
pub async fn connect_demo_account() -> Result<i64, AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    connections::connect_demo(&ctx.state, &user, &ctx.client).await
}

#[server]
pub async fn connect_paper_keys(key_id: String, secret: String) -> Result<i64, AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    let secret = secrecy::SecretString::from(secret);
    connections::connect_paper_keys(&ctx.state, &user, &ctx.client, &key_id, &secret).await
}

#[server]
pub async fn disconnect_broker(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, connections};
    let (ctx, user) = auth::require_user().await?;
    connections::disconnect(&ctx.state, &user, &ctx.client, id).await
}

/// Dashboards of all the caller's connections.
#[server]
pub async fn portfolio_dashboards() -> Result<Vec<DashboardDto>, AppError> {
    use crate::server::{auth, portfolio};
    let (ctx, user) = auth::require_user().await?;
    portfolio::dashboards(&ctx.state, &user).await
}
