//! Admin-only: the user list and disabling or re-enabling a user. Every
//! function refuses anyone who is not an admin.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub two_factor: bool,
    pub created_at: String,
}

#[server]
pub async fn admin_list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::server::auth;

    let (ctx, user) = auth::require_user().await?;
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    Ok(ctx
        .state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserSummary {
            id: u.id,
            email: u.email,
            is_admin: u.role == "admin",
            disabled: u.disabled_at.is_some(),
            two_factor: u.totp_enabled_at.is_some(),
            created_at: u
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect())
}

#[server]
pub async fn admin_set_user_disabled(user_id: i64, disabled: bool) -> Result<(), AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_user().await?;
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    admin::set_disabled(
        &ctx.state.store,
        &ctx.client,
        Some(user.id),
        user_id,
        disabled,
    )
    .await
}
