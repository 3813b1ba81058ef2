//! What Dripfeed sells and what is new in it: the tier table for the pricing
//! page, and the release notes. Public: no sign-in is needed, and nothing here
//! is per-user.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::dto::catalog::*;

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

/// This build's release notes, newest first ("What's new"). Public, like
/// the prices: nothing in them is per-user.
#[server]
pub async fn whats_new() -> Result<Vec<Release>, AppError> {
    Ok(crate::server::changelog::releases())
}

/// The REST API's operations, for the API page (public, like the document).
#[server]
pub async fn get_api_reference() -> Result<ApiReference, AppError> {
    Ok(crate::server::routes::v1::reference()?)
}
