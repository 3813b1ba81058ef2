//! The signed-in user's security settings: two-factor authentication, password,
//! sessions, and personal settings. Every function acts only on the caller's
//! own account.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::security::*;

#[server]
pub async fn security_overview() -> Result<SecurityStatus, AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    let (two_factor_enabled, recovery_codes_left) =
        security::two_factor_status(&ctx.state, &user).await?;
    let current = security::current_session_row(&ctx.state, &ctx.session).await?;
    let (zone, now) = (user.zone()?, chrono::Utc::now());
    let fmt = |t| crate::dto::stamp::Stamp::new(t, zone, now);
    let sessions = ctx
        .state
        .store
        .sessions_of(user.id)
        .await?
        .into_iter()
        .map(|s| SessionInfo {
            id: s.id,
            created_at: fmt(s.created_at),
            last_seen_at: fmt(s.last_seen_at),
            user_agent: s.user_agent,
            ip: s.ip,
            current: Some(s.id) == current,
        })
        .collect();
    Ok(SecurityStatus {
        two_factor_enabled,
        recovery_codes_left,
        sessions,
    })
}

#[server]
pub async fn begin_two_factor() -> Result<TwoFactorEnrollment, AppError> {
    use crate::server::auth::{self, security};
    use secrecy::ExposeSecret;

    let (ctx, user) = auth::require_user().await?;
    let enrollment = security::begin_two_factor(&ctx.state, &ctx.client, &user).await?;
    Ok(TwoFactorEnrollment {
        qr_svg: enrollment.qr_svg,
        secret: enrollment.secret_base32.expose_secret().to_owned(),
    })
}

/// Confirms enrolment; returns the recovery codes (shown once).
#[server]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    security::confirm_two_factor(&ctx.state, &ctx.session, &ctx.client, &user, &code).await
}

#[server]
pub async fn disable_two_factor(current_password: String, code: String) -> Result<(), AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    security::disable_two_factor(&ctx.state, &ctx.client, &user, current_password, &code).await
}

/// Changes the password; returns how many other sessions were ended.
#[server]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<u64, AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    security::change_password(
        &ctx.state,
        &ctx.session,
        &ctx.client,
        &user,
        current_password,
        new_password,
    )
    .await
}

#[server]
pub async fn revoke_session(id: i64) -> Result<(), AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    security::revoke_session(&ctx.state, &ctx.client, &user, id).await
}

#[server]
pub async fn get_settings() -> Result<UserSettingsDto, AppError> {
    use crate::server::auth;

    let (ctx, user) = auth::require_user().await?;
    let row = ctx
        .state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(UserSettingsDto {
        time_zone: row.time_zone,
        notification_email_pending: row.pending_notification_email.is_some(),
        notification_email: row
            .pending_notification_email
            .or(row.notification_email)
            .unwrap_or_default(),
        notify_on_fill: row.notify_on_fill,
        notify_on_skip: row.notify_on_skip,
        notify_security: row.notify_security,
    })
}

/// Checkboxes arrive only when ticked.
#[server]
pub async fn save_settings(
    time_zone: String,
    notification_email: String,
    notify_on_fill: Option<String>,
    notify_on_skip: Option<String>,
    notify_security: Option<String>,
) -> Result<(), AppError> {
    use crate::server::auth::{self, security};

    let (ctx, user) = auth::require_user().await?;
    let form = security::SettingsForm {
        time_zone,
        notification_email,
        notify_on_fill: notify_on_fill.is_some(),
        notify_on_skip: notify_on_skip.is_some(),
        notify_security: notify_security.is_some(),
    };
    security::update_settings(&ctx.state, &ctx.client, &user, form).await
}
