//! Wire types for billing: what its server functions and pages exchange.

use crate::domain::tier::TierId;
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
