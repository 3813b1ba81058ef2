//! Wire types for plans: what its server functions and pages exchange.

use crate::domain::plan::Mode;
use crate::domain::schedule::{Cadence, TimeOfDay};
use crate::dto::stamp::Stamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LegInput {
    pub symbol: String,
    /// Dollars per run, as typed ("25", "$1,000.50"). Ignored when the plan
    /// splits a total by weight.
    pub amount: String,
    /// This symbol's weight ("60", "33.3%") when the plan splits a total.
    #[serde(default)]
    pub weight: Option<String>,
}

/// What the wizard submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanInput {
    pub name: String,
    pub connection_id: i64,
    pub legs: Vec<LegInput>,
    pub cadence: Cadence,
    pub time: TimeOfDay,
    /// IANA zone; the user's own zone when empty.
    pub time_zone: String,
    /// `YYYY-MM-DD` in the plan's zone; today when empty.
    pub start_date: String,
    pub end_date: Option<String>,
    /// Stop after investing this many dollars in total.
    pub max_total: Option<String>,
    pub mode: Mode,
    /// Dollars per run for the whole plan, split between the symbols by
    /// their weights (instead of an amount per symbol).
    #[serde(default)]
    pub per_run_total: Option<String>,
    /// Missed-run policy: when Dripfeed was down at a run's time, catch up
    /// only within this many minutes of it (empty: any time the same trading
    /// session), otherwise mark the run missed.
    #[serde(default)]
    pub catch_up_minutes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunPreview {
    /// In the plan's zone, relative to the engine's clock.
    pub at: Stamp,
    /// Why it is not at the nominal time, if it is not.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchedulePreview {
    pub runs: Vec<RunPreview>,
    pub per_run: Decimal,
    pub monthly_spend: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LegDto {
    pub symbol: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    pub id: i64,
    pub name: String,
    /// `active`, `paused` or `ended`.
    pub status: String,
    pub connection_label: Option<String>,
    pub legs: Vec<LegDto>,
    pub schedule: String,
    pub mode: String,
    pub time_zone: String,
    pub next_run: Option<RunPreview>,
    /// Dollars spent so far (filled quantity × average price).
    pub invested: Decimal,
    /// What the shares bought so far are worth at the latest trade prices;
    /// `None` when the broker could not be asked.
    pub current_value: Option<Decimal>,
    /// The plan's missed-run policy, in words.
    pub catch_up: String,
    /// Paused because the user's tier does not allow it; resumes on upgrade.
    pub paused_by_tier: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetDto {
    pub symbol: String,
    pub name: String,
    pub fractionable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SlotOrderDto {
    pub symbol: String,
    pub notional: Decimal,
    pub status: String,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub broker_order_id: Option<String>,
    pub client_order_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SlotDto {
    /// In the plan's zone.
    pub scheduled_at: Stamp,
    pub status: String,
    pub reason: Option<String>,
    pub orders: Vec<SlotOrderDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanDetail {
    pub plan: PlanSummary,
    /// Newest first.
    pub slots: Vec<SlotDto>,
    /// Dollars actually spent (filled quantity × average price).
    pub invested: Decimal,
}

/// One order of the purchase history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PurchaseDto {
    pub plan_id: i64,
    pub plan_name: String,
    /// In the user's zone (the history mixes plans of several zones).
    pub scheduled_at: Stamp,
    pub symbol: String,
    pub notional: Decimal,
    pub status: String,
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
}
