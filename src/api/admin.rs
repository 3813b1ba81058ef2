//! Admin-only: the user list (searchable), disabling or re-enabling a user,
//! the audit log and its check, and the system health page. Every
//! function refuses anyone who is not an admin.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::admin::*;

#[server]
pub async fn admin_list_users(
    #[server(default)] query: String,
) -> Result<Vec<UserSummary>, AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_admin().await?;
    admin::list_users(&ctx.state.store, &user, &query).await
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

/// The system health page: database, engines, runs, jobs, brokers, Stripe,
/// the AI analyst, e-mail, the kill switch and the alerts.
#[server]
pub async fn admin_system_health() -> Result<SystemHealth, AppError> {
    use crate::server::{auth, engine, ops};

    let (ctx, user) = auth::require_admin().await?;
    let now = engine::engine_now(&ctx.state);
    ops::health::system_health(&ctx.state, &user, now).await
}

/// Checks the audit log's hash chain now.
#[server]
pub async fn admin_verify_audit() -> Result<AuditChainCheck, AppError> {
    use crate::server::{admin, auth};

    let (ctx, user) = auth::require_admin().await?;
    admin::verify_audit(&ctx.state.store, &user).await
}
