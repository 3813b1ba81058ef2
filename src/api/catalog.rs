//! What Dripfeed sells: the tier table, for the pricing page. Public: no sign-in
//! is needed to read prices, and nothing here is per-user.

use crate::domain::tier::{Tier, TierId};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub tiers: Vec<Tier>,
    /// False on a self-hosted instance without Stripe: everyone has `default_tier`.
    pub billing_enabled: bool,
    pub default_tier: TierId,
    /// Days of the free trial new accounts get (0 without billing or trial).
    pub trial_days: u32,
    /// The tier the trial grants.
    pub trial_tier: TierId,
}

#[server]
pub async fn get_pricing() -> Result<Pricing, AppError> {
    use crate::server::state::app_state;

    let state = app_state()?;
    let settings = &state.settings;
    Ok(Pricing {
        tiers: settings.tiers.tiers().to_vec(),
        billing_enabled: settings.billing_enabled(),
        default_tier: settings.default_tier,
        trial_days: if settings.billing_enabled() {
            settings.trial_days
        } else {
            0
        },
        trial_tier: crate::domain::entitlement::TRIAL_TIER,
    })
}
