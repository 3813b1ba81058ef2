//! Wire types for notifications: what its server functions and pages exchange.

use crate::dto::stamp::Stamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationDto {
    pub id: i64,
    /// `fill`, `skip`, `miss` or `failure`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub plan_id: Option<i64>,
    pub created_at: Stamp,
    pub read: bool,
}
