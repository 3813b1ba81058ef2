//! Billing: the signed-in user's plan and subscription, starting a Checkout,
//! opening the Billing Portal, and an admin's tier override.

use crate::domain::tier::TierId;
use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::billing::*;

#[server]
pub async fn get_billing() -> Result<BillingStatus, AppError> {
    use crate::server::{auth, billing};

    let (ctx, user) = auth::require_user().await?;
    billing::status(&ctx.state, &user).await
}

/// The same for whoever is signed in, or `None` for a visitor (the pricing
/// page asks without requiring a sign-in).
#[server]
pub async fn my_billing() -> Result<Option<BillingStatus>, AppError> {
    use crate::server::{auth, billing};

    let ctx = auth::request_context().await?;
    match auth::current_user(&ctx.state, &ctx.session).await? {
        Some(user) => Ok(Some(billing::status(&ctx.state, &user).await?)),
        None => Ok(None),
    }
}

/// Creates a Checkout Session for `tier`; the browser goes to the returned URL.
#[server]
pub async fn start_checkout(tier: TierId) -> Result<String, AppError> {
    use crate::server::{auth, billing};

    let (ctx, user) = auth::require_user().await?;
    billing::start_checkout(&ctx.state, &user, &ctx.client, tier).await
}

/// Opens the Stripe Billing Portal; the browser goes to the returned URL.
#[server]
pub async fn open_billing_portal() -> Result<String, AppError> {
    use crate::server::{auth, billing};

    let (ctx, user) = auth::require_user().await?;
    billing::portal(&ctx.state, &user).await
}

/// Admin: sets a user's tier regardless of billing (`tier` empty clears it).
#[server]
pub async fn admin_set_tier(user_id: i64, tier: String) -> Result<(), AppError> {
    use crate::server::{auth, billing};

    let (ctx, user) = auth::require_user().await?;
    let tier = match tier.trim() {
        "" => None,
        t => Some(
            t.parse::<TierId>()
                .map_err(|e| AppError::invalid("tier", e))?,
        ),
    };
    billing::set_override(&ctx.state, &user, &ctx.client, user_id, tier).await
}
