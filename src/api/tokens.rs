//! Personal API tokens for the REST API (`/api/v1`): list, create (the
//! token is shown once), revoke. Each acts only on the caller's own tokens.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::tokens::*;

#[server]
pub async fn list_api_tokens() -> Result<Vec<ApiTokenView>, AppError> {
    use crate::server::{auth, tokens};
    let (ctx, user) = auth::require_user().await?;
    tokens::list(&ctx.state, &user).await
}

/// `scope`: `read` or `trade`; `expires_in_days`: empty for no expiry.
#[server]
pub async fn create_api_token(
    name: String,
    scope: String,
    #[server(default)] expires_in_days: String,
) -> Result<CreatedApiToken, AppError> {
    use crate::server::{auth, tokens};
    let (ctx, user) = auth::require_user().await?;
    tokens::create(
        &ctx.state,
        &user,
        &ctx.client,
        &name,
        &scope,
        &expires_in_days,
    )
    .await
}

#[server]
pub async fn revoke_api_token(id: i64) -> Result<(), AppError> {
    use crate::server::{auth, tokens};
    let (ctx, user) = auth::require_user().await?;
    tokens::revoke(&ctx.state, &user, &ctx.client, id).await
}
