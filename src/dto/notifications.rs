//! Wire types for notifications: what its server functions and pages exchange.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationDto {
    pub id: i64,
    /// `fill`, `skip`, `miss` or `failure`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub plan_id: Option<i64>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub read: bool,
}
