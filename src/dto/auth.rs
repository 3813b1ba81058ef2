//! Wire types for auth: what its server functions and pages exchange.

use crate::dto::stamp::Stamp;
use serde::{Deserialize, Serialize};

/// The signed-in user, as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub is_admin: bool,
    pub time_zone: String,
    /// Notifications not yet read (the header shows the count).
    #[serde(default)]
    pub unread_notifications: u64,
}

/// One line of a user's activity (their audit log entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: i64,
    pub occurred_at: Stamp,
    pub action: String,
    pub ip: Option<String>,
}

/// A new user's first steps, each done or not: connect an account, create a
/// plan, see its first purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSteps {
    pub connected: bool,
    pub planned: bool,
    pub bought: bool,
}

impl FirstSteps {
    pub fn done(&self) -> bool {
        self.connected && self.planned && self.bought
    }
}
