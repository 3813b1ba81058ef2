//! The caller's in-app notifications.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::notifications::*;

#[server]
pub async fn my_notifications() -> Result<Vec<NotificationDto>, AppError> {
    use crate::server::auth;
    let (ctx, user) = auth::require_user().await?;
    Ok(ctx
        .state
        .store
        .notifications_of(user.id, 100)
        .await?
        .into_iter()
        .map(|n| NotificationDto {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            plan_id: n.plan_id,
            created_at: n
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            read: n.read_at.is_some(),
        })
        .collect())
}

#[server]
pub async fn mark_notifications_read() -> Result<u64, AppError> {
    use crate::server::auth;
    let (ctx, user) = auth::require_user().await?;
    Ok(ctx.state.store.mark_notifications_read(user.id).await?)
}
