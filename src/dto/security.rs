//! Wire types for security: what its server functions and pages exchange.

use crate::dto::stamp::Stamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: Stamp,
    pub last_seen_at: Stamp,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this request came from.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityStatus {
    pub two_factor_enabled: bool,
    pub recovery_codes_left: i64,
    pub sessions: Vec<SessionInfo>,
}

/// What the enrolment step shows: the QR code and the same secret as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorEnrollment {
    pub qr_svg: String,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettingsDto {
    pub time_zone: String,
    /// The address as last entered (confirmed or waiting for confirmation).
    pub notification_email: String,
    /// The entered address waits for its confirmation link; notices go to
    /// the previous address (or the sign-in one) until it is opened.
    #[serde(default)]
    pub notification_email_pending: bool,
    pub notify_on_fill: bool,
    pub notify_on_skip: bool,
    pub notify_security: bool,
}
