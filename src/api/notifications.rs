//! The caller's in-app notifications.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::notifications::*;

#[server]
pub async fn my_notifications() -> Result<Vec<NotificationDto>, AppError> {
    use crate::server::{auth, notifications};
    let (ctx, user) = auth::require_user().await?;
    notifications::list(&ctx.state, &user).await
}

#[server]
pub async fn mark_notifications_read() -> Result<u64, AppError> {
    use crate::server::{auth, notifications};
    let (ctx, user) = auth::require_user().await?;
    notifications::mark_all_read(&ctx.state, &user).await
}
