//! Sign-up, log-in, log-out, and what the signed-in user may see of their own
//! account.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::auth::*;

#[server]
pub async fn sign_up(
    email: String,
    password: String,
    accept_terms: Option<String>,
) -> Result<(), AppError> {
    use crate::server::auth::{self, SignUpForm};

    let ctx = auth::request_context().await?;
    let form = SignUpForm {
        email,
        password,
        accept_terms: matches!(accept_terms.as_deref(), Some("on" | "true" | "yes")),
    };
    auth::sign_up(&ctx.state, &ctx.session, &ctx.client, form).await?;
    leptos_axum::redirect("/account");
    Ok(())
}

#[server]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    use crate::server::auth;

    let ctx = auth::request_context().await?;
    match auth::log_in(&ctx.state, &ctx.session, &ctx.client, &email, password).await? {
        auth::LogInOutcome::SignedIn(_) => leptos_axum::redirect("/account"),
        auth::LogInOutcome::NeedsSecondFactor => leptos_axum::redirect("/login/code"),
    }
    Ok(())
}

/// The second step of signing in to an account with 2FA: a code from the
/// authenticator app, or a recovery code.
#[server]
pub async fn verify_login_code(code: String) -> Result<(), AppError> {
    use crate::server::auth::{self, security};

    let ctx = auth::request_context().await?;
    security::complete_second_factor(&ctx.state, &ctx.session, &ctx.client, &code).await?;
    leptos_axum::redirect("/account");
    Ok(())
}

#[server]
pub async fn log_out() -> Result<(), AppError> {
    use crate::server::auth;

    let ctx = auth::request_context().await?;
    auth::log_out(&ctx.state, &ctx.session, &ctx.client).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The signed-in user, or `None`. Anyone may ask; it reveals only the asker.
#[server]
pub async fn whoami() -> Result<Option<Me>, AppError> {
    use crate::server::auth;

    let ctx = auth::request_context().await?;
    auth::me(&ctx.state, &ctx.session).await
}

/// The signed-in user's own recent activity, newest first.
#[server]
pub async fn my_activity() -> Result<Vec<ActivityEntry>, AppError> {
    use crate::server::auth;

    let (ctx, user) = auth::require_user().await?;
    auth::activity(&ctx.state, &user).await
}

/// The signed-in user's first steps (connect, plan, first purchase).
#[server]
pub async fn getting_started() -> Result<FirstSteps, AppError> {
    use crate::server::auth;

    let (ctx, user) = auth::require_user().await?;
    auth::getting_started(&ctx.state, &user).await
}
