//! Wire types for admin: what its server functions and pages exchange.

use crate::dto::stamp::Stamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub two_factor: bool,
    pub created_at: Stamp,
    /// The tier last applied to the user's plans.
    pub tier: Option<String>,
    /// An admin's override, if any.
    pub tier_override: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub occurred_at: Stamp,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
}
