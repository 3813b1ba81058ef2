//! Wire types for recommendations: the inbox, its settings, the decisions
//! and the scorecard.

use crate::domain::recommendation::scorecard::{Month, Row, Versus};
use crate::domain::recommendation::{Side, Signal, State};
use crate::dto::stamp::Stamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The phrase a live execution must be confirmed with, typed exactly.
pub const LIVE_CONFIRMATION: &str = "I UNDERSTAND THE RISKS";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecommendationDto {
    pub id: i64,
    pub symbol: String,
    pub signal: Signal,
    /// "MA crossover entry", "Stop-loss reached"…
    pub signal_label: String,
    pub side: Side,
    pub state: State,
    pub quantity: Decimal,
    pub notional: Decimal,
    pub reference_price: Decimal,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub reason: String,
    /// The indicator values behind it (name, value).
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<(String, String)>))]
    pub values: Vec<(String, Decimal)>,
    pub filters: String,
    /// The AI analyst's view, labelled as AI-written on the page.
    pub ai: Option<AiAnalysisDto>,
    pub created_at: Stamp,
    pub expires_at: Stamp,
    pub decided_at: Option<Stamp>,
    pub ignore_reason: Option<String>,
    /// The account it is for.
    pub connection_label: String,
    /// `demo`, `paper` or `live`.
    pub environment: String,
    pub order_status: Option<String>,
    pub order_error: Option<String>,
    /// Placed by the user's automatic-exit rule.
    pub automatic: bool,
    /// Forward returns in percent after 1, 5 and 20 trading days.
    pub forward: [Option<Decimal>; 3],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AiAnalysisDto {
    pub rationale: String,
    pub risks: Vec<String>,
    /// 0 to 100.
    pub confidence: u8,
    pub model: String,
}

/// The user's settings as the form shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationSettingsInput {
    pub enabled: bool,
    /// Symbols separated by commas or spaces.
    pub watchlist: String,
    pub auto_exits: bool,
    pub connection_id: Option<i64>,
    /// The user's own, tighter rails (empty: the instance's).
    #[serde(default)]
    pub max_position_pct: String,
    #[serde(default)]
    pub max_open_positions: String,
    #[serde(default)]
    pub min_equity: String,
    #[serde(default)]
    pub max_drift_pct: String,
}

/// The rails as they apply to this user (the instance's, tightened by theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RailsDto {
    pub max_position_pct: Decimal,
    pub max_open_positions: u32,
    pub min_equity: Decimal,
    pub max_drift_pct: Decimal,
}

/// Why live execution is not open yet, per live account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGateDto {
    pub required_days: u32,
    pub paper_days: u32,
    pub days_left: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    pub id: i64,
    pub label: String,
    pub environment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationsPage {
    pub settings: RecommendationSettingsInput,
    pub rails: RailsDto,
    pub instance_rails: RailsDto,
    pub accounts: Vec<AccountChoice>,
    pub recommendations: Vec<RecommendationDto>,
    /// The tier includes recommendations.
    pub allowed: bool,
    /// Why not, naming the tier that does.
    pub locked_reason: Option<String>,
    pub trading_stopped_at: Option<Stamp>,
    /// An administrator stopped trading for everyone.
    pub global_stop: Option<String>,
    /// The reader may set or reset the instance-wide kill switch.
    pub is_admin: bool,
    /// `None` once live execution is open (or there is no live account).
    pub live_gate: Option<LiveGateDto>,
    /// When GO and ANALYZE run, New York time.
    pub go_at: String,
    pub analyze_at: String,
}

/// What Execute did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecuteOutcome {
    pub order_status: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorecardDto {
    pub rows: Vec<Row>,
    /// The same over time, a row per month of signals.
    pub months: Vec<Month>,
    pub versus: Versus,
    pub scored: u32,
    pub waiting: u32,
}
