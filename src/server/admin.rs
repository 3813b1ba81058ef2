//! Administration use-cases, shared by the `dripfeed admin …` command line and
//! the admin pages: the user list, creating users, disabling and re-enabling
//! them, and the audit log. Functions taking an admin `CurrentUser` refuse
//! anyone else, whoever calls them.

use crate::dto::admin::{AuditEntryView, UserSummary};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::{
    ClientInfo, CurrentUser, audit, check_new_credentials, create_account, normalize_email,
};
use crate::server::db::Store;
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;

/// How many audit entries one page of the admin audit log shows.
const AUDIT_PAGE: i64 = 500;

fn ensure_admin(admin: &CurrentUser) -> Result<(), AppError> {
    if admin.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The users whose e-mail contains `query` (every user when it is empty),
/// for the admin user list.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn list_users(
    store: &Store,
    admin: &CurrentUser,
    query: &str,
) -> Result<Vec<UserSummary>, AppError> {
    ensure_admin(admin)?;
    let (zone, now) = (admin.zone()?, Utc::now());
    let query = query.trim().to_lowercase();
    let activity = store.user_activity().await?;
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| query.is_empty() || u.email_normalized.contains(&query))
        .map(|u| UserSummary {
            last_login: activity
                .get(&u.id)
                .and_then(|a| a.0)
                .map(|t| Stamp::new(t, zone, now)),
            connections: activity.get(&u.id).map_or(0, |a| a.1),
            id: u.id,
            email: u.email,
            is_admin: u.role == "admin",
            disabled: u.disabled_at.is_some(),
            two_factor: u.totp_enabled_at.is_some(),
            created_at: Stamp::new(u.created_at, zone, now),
            tier: u.applied_tier,
            tier_override: u.tier_override,
        })
        .collect())
}

/// The newest audit entries, optionally only those about the user with
/// `email` and only `action`; actors and subjects are named by e-mail.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn audit_log(
    store: &Store,
    admin: &CurrentUser,
    email: &str,
    action: &str,
) -> Result<Vec<AuditEntryView>, AppError> {
    ensure_admin(admin)?;
    let user_id = match email.trim() {
        "" => None,
        e => match normalize_email(e) {
            Ok(n) => match store.user_by_email(&n).await? {
                Some(u) => Some(u.id),
                None => return Err(AppError::invalid("email", "No user has that email.")),
            },
            Err(message) => return Err(AppError::invalid("email", message)),
        },
    };
    let action = action.trim();
    let (zone, now) = (admin.zone()?, Utc::now());
    let rows = store
        .audit_entries(user_id, (!action.is_empty()).then_some(action), AUDIT_PAGE)
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
            occurred_at: Stamp::new(r.occurred_at, zone, now),
            actor: name(r.actor_user_id),
            subject: name(r.subject_user_id),
            action: r.action,
            detail: r.detail,
            ip: r.ip,
        })
        .collect())
}

/// Creates a user with the same rules as sign-up. `actor` is the admin doing it
/// (`None` from the command line).
#[tracing::instrument(skip_all, fields(actor_id = ?actor))]
pub async fn create_user(
    store: &Store,
    client: &ClientInfo,
    actor: Option<i64>,
    email: &str,
    new_password: String,
    admin: bool,
) -> Result<i64, AppError> {
    let mut errors = Vec::new();
    let normalized = check_new_credentials(email, &new_password, &mut errors);
    let Some(normalized) = normalized.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let role = if admin { "admin" } else { "user" };
    let id = create_account(store, email, &normalized, new_password, role).await?;
    audit(
        store,
        client,
        actor,
        Some(id),
        "admin.user_created",
        json!({ "role": role }),
    )
    .await?;
    Ok(id)
}

/// Disables or re-enables `user_id`. Disabling ends all their sessions. An
/// admin cannot disable themselves (so the last admin cannot lock everyone out).
#[tracing::instrument(skip_all, fields(actor_id = ?actor, subject_id = user_id))]
pub async fn set_disabled(
    store: &Store,
    client: &ClientInfo,
    actor: Option<i64>,
    user_id: i64,
    disabled: bool,
) -> Result<(), AppError> {
    if disabled && actor == Some(user_id) {
        return Err(AppError::Conflict(
            "You cannot disable your own account.".into(),
        ));
    }
    if !store.set_user_disabled(user_id, disabled).await? {
        return Err(AppError::NotFound);
    }
    let action = if disabled {
        "admin.user_disabled"
    } else {
        "admin.user_enabled"
    };
    audit(store, client, actor, Some(user_id), action, json!({})).await?;
    Ok(())
}

/// Checks the audit log's hash chain (as `dripfeed admin verify-audit`).
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn verify_audit(
    store: &Store,
    admin: &CurrentUser,
) -> Result<crate::dto::admin::AuditChainCheck, AppError> {
    ensure_admin(admin)?;
    let report = store.verify_audit_chain().await?;
    Ok(match report.first_broken {
        None => crate::dto::admin::AuditChainCheck {
            entries: report.entries,
            intact: true,
            message: format!(
                "The audit log is intact: {} entries checked.",
                report.entries
            ),
        },
        Some((id, why)) => crate::dto::admin::AuditChainCheck {
            entries: report.entries,
            intact: false,
            message: format!(
                "The audit log was altered: entry {id} {why} ({} entries checked).",
                report.entries
            ),
        },
    })
}

/// The audit log as CSV (the same filter as the page): id, time (UTC),
/// actor, subject, action, detail, IP.
pub async fn audit_csv(
    store: &Store,
    admin: &CurrentUser,
    email: &str,
    action: &str,
) -> Result<String, AppError> {
    let rows = audit_log(store, admin, email, action).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "id",
        "occurred_at_utc",
        "actor",
        "subject",
        "action",
        "detail",
        "ip",
    ])
    .map_err(anyhow::Error::from)?;
    for r in rows {
        out.write_record([
            r.id.to_string(),
            r.occurred_at.utc,
            r.actor.unwrap_or_default(),
            r.subject.unwrap_or_default(),
            r.action,
            r.detail,
            r.ip.unwrap_or_default(),
        ])
        .map_err(anyhow::Error::from)?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}
