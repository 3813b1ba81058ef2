//! Wire types for catalog: what its server functions and pages exchange.

use crate::domain::tier::{Tier, TierId};
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

/// One release of the release notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// "2026-12-02 — How your money is really doing".
    pub heading: String,
    /// The notes, rendered from the changelog (no raw HTML passes through).
    pub html: String,
}
