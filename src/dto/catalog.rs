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

/// One operation of the REST API, for the in-app API page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiOperation {
    /// `GET`, `POST`, `PUT`.
    pub method: String,
    /// `/api/v1/plans/{id}`.
    pub path: String,
    /// The group it belongs to (`plans`, `account`, ...).
    pub tag: String,
    pub operation_id: String,
    /// What it does, from the handler's documentation.
    pub summary: String,
    /// Query, path and header parameters: (name, where, description).
    pub parameters: Vec<(String, String, String)>,
    /// The request body's schema name, if it takes one.
    pub request: Option<String>,
    /// The success status and its schema name (e.g. `200`, `Page_PlanSummary`).
    pub success: Option<(String, String)>,
    /// Needs a token with the `trade` scope.
    pub needs_trade: bool,
}

/// The REST API as the API page shows it, generated from the same
/// document as `/api/v1/openapi.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub document_url: String,
    pub operations: Vec<ApiOperation>,
}
