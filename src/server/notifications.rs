//! Telling users what happened to their plans' runs: in the app, and by
//! e-mail (SMTP or the outbox folder). Fill and skip notices follow the
//! user's preferences; misses and failures are always sent.

use crate::dto::notifications::NotificationDto;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::db::rows::PlanRow;
use crate::server::state::AppState;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// How many of the newest notifications the page shows.
const SHOWN: i64 = 100;

/// The user's newest notifications, newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<NotificationDto>, AppError> {
    Ok(state
        .store
        .notifications_of(user.id, SHOWN)
        .await?
        .into_iter()
        .map(|n| NotificationDto {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            plan_id: n.plan_id,
            created_at: n.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            read: n.read_at.is_some(),
        })
        .collect())
}

/// Marks every notification of the user read; how many were unread.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn mark_all_read(state: &AppState, user: &CurrentUser) -> Result<u64, AppError> {
    Ok(state.store.mark_notifications_read(user.id).await?)
}

/// Records the outcome of one run for the plan's owner.
pub async fn run_outcome(
    state: &AppState,
    plan: &PlanRow,
    at: DateTime<Utc>,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let Some(user) = state.store.user_by_id(plan.user_id).await? else {
        return Ok(());
    };
    let name = &plan.name;
    let (kind, wanted, title) = match status {
        "filled" => (
            "fill",
            user.notify_on_fill,
            format!("Bought for \u{201c}{name}\u{201d}"),
        ),
        "partially_filled" => (
            "fill",
            user.notify_on_fill,
            format!("Partly bought for \u{201c}{name}\u{201d}"),
        ),
        "skipped" => (
            "skip",
            user.notify_on_skip,
            format!("Skipped a run of \u{201c}{name}\u{201d}"),
        ),
        "missed" => (
            "miss",
            true,
            format!("Missed a run of \u{201c}{name}\u{201d}"),
        ),
        _ => (
            "failure",
            true,
            format!("A run of \u{201c}{name}\u{201d} did not buy"),
        ),
    };
    if !wanted {
        return Ok(());
    }
    let zone: Tz = plan.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let when = at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M (%Z)");
    let body = match reason {
        Some(r) => format!("{when}: {r}"),
        None => format!("{when}: every order filled."),
    };
    state
        .store
        .insert_notification(user.id, kind, &title, &body, Some(plan.id))
        .await?;
    // E-mail is best effort: a mail problem never holds up the engine.
    let to = user.notification_email.as_deref().unwrap_or(&user.email);
    let text = format!(
        "{body}\n\nSee the plan: {}/plans/{}\n\nNot investment advice. {}",
        state.public_url.as_str().trim_end_matches('/'),
        plan.id,
        "Change which notices you get in Settings."
    );
    // Sent in the background: a slow mail server never holds up the engine.
    let mailer = state.mailer.clone();
    let to = to.to_owned();
    tokio::spawn(async move {
        if let Err(e) = mailer.send(&to, &title, &text).await {
            tracing::warn!(error.cause_chain = ?e, "could not send a notification e-mail");
        }
    });
    Ok(())
}
