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
    /// The tier last applied to the user's plans.
    pub tier: Option<String>,
    /// An admin's override, if any.
    pub tier_override: Option<String>,
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
            tier: u.applied_tier,
            tier_override: u.tier_override,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
}

/// The audit log for admins, newest first, optionally for one user's email
/// and for actions starting with `action` (e.g. `login`).
#[server]
pub async fn admin_audit(email: String, action: String) -> Result<Vec<AuditEntryView>, AppError> {
    use crate::server::auth;
    use std::collections::HashMap;

    let (ctx, user) = auth::require_user().await?;
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let store = &ctx.state.store;
    let user_id = match email.trim() {
        "" => None,
        e => match auth::normalize_email(e) {
            Ok(n) => match store.user_by_email(&n).await? {
                Some(u) => Some(u.id),
                None => return Err(AppError::invalid("email", "No user has that email.")),
            },
            Err(message) => return Err(AppError::invalid("email", message)),
        },
    };
    let action = action.trim();
    let rows = store
        .audit_entries(user_id, (!action.is_empty()).then_some(action), 500)
        .await?;
    let emails: HashMap<i64, String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let name = |id: Option<i64>| {
        id.map(|id| {
            emails
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("user #{id}"))
        })
    };
    Ok(rows
        .into_iter()
        .map(|r| AuditEntryView {
            id: r.id,
            occurred_at: r
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor: name(r.actor_user_id),
            subject: name(r.subject_user_id),
            action: r.action,
            detail: r.detail,
            ip: r.ip,
        })
        .collect())
}
