//! Administration use-cases, shared by the `dripfeed admin …` command line and
//! the admin pages: creating users, disabling and re-enabling them.

use crate::error::AppError;
use crate::server::auth::{ClientInfo, audit, check_new_credentials, create_account};
use crate::server::db::Store;
use serde_json::json;

/// Creates a user with the same rules as sign-up. `actor` is the admin doing it
/// (`None` from the command line).
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
