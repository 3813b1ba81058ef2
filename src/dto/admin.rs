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
    /// When they last signed in.
    pub last_login: Option<Stamp>,
    /// Brokerage connections they have.
    pub connections: i64,
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

/// The operators' health page: everything at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemHealth {
    pub checked_at: Stamp,
    pub database: DatabaseHealth,
    /// Engine instances that finished a pass in the last hour.
    pub engines: Vec<EngineInstanceView>,
    pub runs: RunsHealth,
    pub jobs: JobsHealth,
    /// Broker requests this process made in the last 15 minutes, per
    /// environment (`demo`, `paper`, `live`, and `data` for market data).
    pub brokers: Vec<BrokerHealth>,
    pub stripe: StripeHealth,
    pub ai: AiHealth,
    pub mail: MailHealth,
    /// Set while an administrator has stopped all trading: who and why.
    pub kill_switch: Option<String>,
    /// Open alerts first, then the latest cleared ones.
    pub alerts: Vec<AlertView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Reachable and every migration applied.
    pub ready: bool,
    pub migrations_applied: usize,
    pub migrations_expected: usize,
    pub size_bytes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInstanceView {
    pub name: String,
    pub started_at: Stamp,
    pub last_pass_at: Stamp,
    pub passes: i64,
    /// No pass for over a minute: stopped, or stuck.
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsHealth {
    /// Due now and not yet started.
    pub due: i64,
    /// Started or sent, not yet resolved.
    pub in_flight: i64,
    /// Still unresolved this long after their time (the alert's line).
    pub unresolved: i64,
    pub unresolved_after_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsHealth {
    pub last_go: Option<Stamp>,
    pub last_analyze: Option<Stamp>,
    /// Today is a trading day (New York).
    pub trading_day: bool,
    /// GO ran today for someone.
    pub go_today: bool,
    /// When GO and ANALYZE run, New York time.
    pub go_at: String,
    pub analyze_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHealth {
    pub environment: String,
    pub requests: u64,
    pub errors: u64,
    /// Failures by HTTP status or kind (`500`, `timeout`), most first.
    pub by_code: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeHealth {
    pub enabled: bool,
    pub last_event_at: Option<Stamp>,
    /// Seconds between Stripe creating the latest event and its arrival.
    pub lag_secs: Option<i64>,
    pub deliveries_last_hour: u64,
    pub failures_last_hour: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiHealth {
    pub enabled: bool,
    pub calls_today: i64,
    pub failures_today: i64,
    pub daily_budget: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailHealth {
    /// `smtp`, or `outbox` (files in the data folder).
    pub mode: String,
    /// Messages waiting in the outbox folder (outbox mode).
    pub outbox_files: Option<u64>,
    pub sent_last_hour: u64,
    pub failed_last_hour: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    /// `go_missed`, `runs_unresolved`, `broker_errors`, `webhook_failures`,
    /// `database_not_ready`, `outbox_backlog`.
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub raised_at: Stamp,
    pub last_seen_at: Stamp,
    pub cleared_at: Option<Stamp>,
    pub emailed: bool,
}

/// The audit log's hash chain, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChainCheck {
    pub entries: u64,
    /// Every entry checks out.
    pub intact: bool,
    /// The first entry that does not, and why.
    pub message: String,
}
