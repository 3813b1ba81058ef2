//! Billing: the signed-in user's plan and subscription, starting a Checkout,
//! opening the Billing Portal, and an admin's tier override.

use crate::domain::tier::TierId;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A tier as the Billing and Pricing pages offer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChoice {
    pub tier: TierId,
    /// Sold through Stripe on this instance.
    pub purchasable: bool,
    pub current: bool,
}

/// The user's plan, why they have it, and their subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingStatus {
    pub billing_enabled: bool,
    pub tier: TierId,
    pub tier_name: String,
    /// What the tier includes, in words (as the pricing page lists it).
    pub limits: Vec<String>,
    /// Why the user has this tier, in words.
    pub source: String,
    /// Shown prominently (a failed payment's grace period).
    pub warning: Option<String>,
    /// Stripe's status of the subscription that matters most.
    pub subscription_status: Option<String>,
    pub subscribed_tier: Option<TierId>,
    pub subscribed_tier_name: Option<String>,
    /// The next renewal, as a date in the user's time zone.
    pub renews_on: Option<String>,
    /// When a cancelled subscription ends, as a date in the user's time zone.
    pub cancels_on: Option<String>,
    pub ended: bool,
    /// The user has a Stripe customer, so the Billing Portal can open.
    pub can_manage: bool,
    /// The tier is applied to the user's plans (false for a moment after a change).
    pub applied: bool,
    pub choices: Vec<TierChoice>,
}

impl BillingStatus {
    /// The user has a running subscription (changes go through the Portal).
    pub fn has_subscription(&self) -> bool {
        self.subscription_status
            .as_deref()
            .is_some_and(crate::domain::entitlement::SubscriptionStatus::is_current)
    }
}

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
