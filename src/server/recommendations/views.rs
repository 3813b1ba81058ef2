//! What the Recommendations and Scorecard pages show.

use super::{execute::paper_days, rails_for, settings_row, watchlist};
use crate::domain::entitlement::{self, Feature};
use crate::domain::recommendation::State;
use crate::domain::recommendation::rails::Rails;
use crate::domain::recommendation::scorecard::{self, Outcome};
use crate::dto::recommendations::{
    AccountChoice, AiAnalysisDto, LiveGateDto, RailsDto, RecommendationDto,
    RecommendationSettingsInput, RecommendationsPage, ScorecardDto,
};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::db::recommendations::{RecommendationRow, RecommendationSettingsRow};
use crate::server::db::rows::stored_decimal;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// How many recommendations the page lists.
const LISTED: i64 = 500;

fn rails_dto(r: &Rails) -> RailsDto {
    RailsDto {
        max_position_pct: r.max_position_pct,
        max_open_positions: r.max_open_positions,
        min_equity: r.min_equity,
        max_drift_pct: r.max_drift_pct,
    }
}

/// `Ok` while the recommendation may still be decided at `now`; otherwise
/// why not, in the reader's zone.
pub(crate) fn still_open_at(
    rec: &RecommendationRow,
    now: DateTime<Utc>,
    user: &CurrentUser,
) -> Result<(), AppError> {
    if rec.state != State::Pending {
        return Err(AppError::Conflict(format!(
            "This recommendation was already {}; nothing changed.",
            rec.state
        )));
    }
    if now >= rec.expires_at {
        let zone = user.zone().unwrap_or(chrono_tz::UTC);
        return Err(AppError::Conflict(format!(
            "This recommendation expired {}; nothing changed.",
            crate::domain::when::local(rec.expires_at, zone, now)
        )));
    }
    Ok(())
}

fn optional(what: &str, v: &Option<String>) -> anyhow::Result<Option<Decimal>> {
    v.as_deref().map(|t| stored_decimal(what, t)).transpose()
}

/// A stored recommendation as the page shows it; `now` decides whether a
/// pending one has expired already (the job marks it a moment later).
pub(crate) fn dto(
    r: &RecommendationRow,
    connection: Option<(&str, &str)>,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<RecommendationDto> {
    let values: Vec<(String, Decimal)> = serde_json::from_str(&r.snapshot)
        .map_err(|e| anyhow::anyhow!("recommendation {} has an unreadable snapshot: {e}", r.id))?;
    let ai = r
        .ai_analysis
        .as_deref()
        .map(serde_json::from_str::<AiAnalysisDto>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("recommendation {} has an unreadable analysis: {e}", r.id))?;
    let state = if r.state == State::Pending && now >= r.expires_at {
        State::Expired
    } else {
        r.state
    };
    let (label, environment) = connection.unwrap_or(("A disconnected account", "demo"));
    Ok(RecommendationDto {
        id: r.id,
        symbol: r.symbol.clone(),
        signal: r.signal,
        signal_label: r.signal.label().to_owned(),
        side: r.side,
        state,
        quantity: stored_decimal("quantity", &r.quantity)?,
        notional: stored_decimal("notional", &r.notional)?,
        reference_price: stored_decimal("reference_price", &r.reference_price)?,
        stop_loss: optional("stop_loss", &r.stop_loss)?,
        take_profit: optional("take_profit", &r.take_profit)?,
        reason: r.reason.clone(),
        values,
        filters: r.filters.clone(),
        ai,
        created_at: Stamp::new(r.created_at, zone, now),
        expires_at: Stamp::new(r.expires_at, zone, now),
        decided_at: r.decided_at.map(|at| Stamp::new(at, zone, now)),
        ignore_reason: r.ignore_reason.clone(),
        connection_label: label.to_owned(),
        environment: environment.to_owned(),
        order_status: r.order_status.map(|s| s.as_str().to_owned()),
        order_error: r.order_error.clone(),
        automatic: r.automatic,
        forward: [
            optional("forward_1d", &r.forward_1d)?,
            optional("forward_5d", &r.forward_5d)?,
            optional("forward_20d", &r.forward_20d)?,
        ],
    })
}

/// The stored settings as the form shows them.
pub(crate) fn input_of(settings: &RecommendationSettingsRow) -> RecommendationSettingsInput {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    RecommendationSettingsInput {
        enabled: settings.enabled,
        watchlist: watchlist(settings).join(", "),
        auto_exits: settings.auto_exits,
        connection_id: settings.connection_id,
        max_position_pct: text(&settings.max_position_pct),
        max_open_positions: settings
            .max_open_positions
            .map(|n| n.to_string())
            .unwrap_or_default(),
        min_equity: text(&settings.min_equity),
        max_drift_pct: text(&settings.max_drift_pct),
    }
}

/// The user's settings as the form shows them.
pub async fn current_input(
    state: &AppState,
    user: &CurrentUser,
) -> Result<RecommendationSettingsInput, AppError> {
    Ok(input_of(&settings_row(state, user.id).await?))
}

/// The Recommendations page for the signed-in user.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn page(
    state: &AppState,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<RecommendationsPage, AppError> {
    let zone = user.zone()?;
    let settings = settings_row(state, user.id).await?;
    let rails = rails_for(state, &settings)?;
    let connections = state.store.connections_of(user.id).await?;
    let by_id: HashMap<i64, (&str, &str)> = connections
        .iter()
        .map(|c| (c.id, (c.label.as_str(), c.environment.as_str())))
        .collect();
    let rows = state.store.recommendations_of(user.id, LISTED).await?;
    let recommendations = rows
        .iter()
        .map(|r| dto(r, by_id.get(&r.connection_id).copied(), zone, now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tier = crate::server::billing::tier_of(state, user.id).await?;
    let locked_reason = entitlement::check(
        Feature::Recommendations,
        &tier,
        state.settings.tiers.tiers(),
    )
    .err();
    let global_stop = state.store.global_kill_switch().await?.map(|g| {
        if g.reason.is_empty() {
            "An administrator stopped all trading on this Dripfeed.".to_owned()
        } else {
            format!(
                "An administrator stopped all trading on this Dripfeed: {}",
                g.reason
            )
        }
    });
    let has_live = connections.iter().any(|c| c.environment == "live");
    let required = state.settings.live_paper_days;
    let live_gate = if has_live {
        let days = paper_days(state.store.first_paper_trade_at(user.id).await?, now);
        (days < required).then(|| LiveGateDto {
            required_days: required,
            paper_days: days,
            days_left: required - days,
        })
    } else {
        None
    };
    Ok(RecommendationsPage {
        settings: input_of(&settings),
        rails: rails_dto(&rails),
        instance_rails: rails_dto(&state.settings.rails()),
        accounts: connections
            .iter()
            .map(|c| AccountChoice {
                id: c.id,
                label: c.label.clone(),
                environment: c.environment.clone(),
            })
            .collect(),
        recommendations,
        allowed: locked_reason.is_none(),
        locked_reason,
        trading_stopped_at: state
            .store
            .trading_stopped_at(user.id)
            .await?
            .map(|at| Stamp::new(at, zone, now)),
        global_stop,
        is_admin: user.is_admin,
        live_gate,
        go_at: state.settings.go_at.clone(),
        analyze_at: state.settings.analyze_at.clone(),
    })
}

/// The Scorecard: how the user's recommendations did.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn scorecard(state: &AppState, user: &CurrentUser) -> Result<ScorecardDto, AppError> {
    let rows = state.store.recommendations_of(user.id, i64::MAX).await?;
    let outcomes = rows
        .iter()
        .map(|r| {
            Ok(Outcome {
                signal: r.signal,
                filters: r.filters.clone(),
                state: r.state,
                notional: stored_decimal("notional", &r.notional)?,
                forward: [
                    optional("forward_1d", &r.forward_1d)?,
                    optional("forward_5d", &r.forward_5d)?,
                    optional("forward_20d", &r.forward_20d)?,
                ],
                date: r.bar_date,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scored = outcomes.iter().filter(|o| o.forward[0].is_some()).count();
    let waiting = outcomes
        .iter()
        .filter(|o| o.state != State::Pending && o.forward[0].is_none())
        .count();
    Ok(ScorecardDto {
        rows: scorecard::rows(&outcomes),
        months: scorecard::by_month(&outcomes),
        versus: scorecard::versus(&outcomes),
        scored: u32::try_from(scored).unwrap_or(u32::MAX),
        waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
    })
}
