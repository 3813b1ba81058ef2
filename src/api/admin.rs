//! Admin-only: the user list and disabling or re-enabling a user. Every
//! function refuses anyone who is not an admin.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::admin::*;

#[server]
pub async fn admin_list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_admin().await?;
    admin::list_users(&ctx.state.store, &user).await
}

#[server]
pub async fn admin_set_user_disabled(user_id: i64, disabled: bool) -> Result<(), AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_admin().await?;
    admin::set_disabled(
        &ctx.state.store,
        &ctx.client,
        Some(user.id),
        user_id,
        disabled,
    )
    .await
}

/// The audit log for admins, newest first, optionally for one user's email
/// and for actions starting with `action` (e.g. `login`).
#[server]
pub async fn admin_audit(email: String, action: String) -> Result<Vec<AuditEntryView>, AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_admin().await?;
    admin::audit_log(&ctx.state.store, &user, &email, &action).await
}
