//! DCA plan use-cases: validate (every problem reported against its field),
//! preview the schedule, create (symbols checked with the user's broker, tier
//! limits enforced here on the server), edit, and pause / resume / stop.
//! Every change is audited. `validate` checks the form (pure); `views` builds
//! what the pages show (list, detail, history, CSV).

use crate::domain::entitlement::{self, Feature};
use crate::domain::plan::{self, Leg};
use crate::domain::tier::Tier;
use crate::dto::plans::{AssetDto, PlanInput, SchedulePreview};
use crate::error::{AppError, FieldError};
use crate::server::auth::{ClientInfo, CurrentUser, audit};
use crate::server::broker::{Broker, BrokerError};
use crate::server::connections::broker_for;
use crate::server::db::plans::NewPlan;
use crate::server::db::rows::PlanRow;
use crate::server::engine::engine_now;
use crate::server::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;

mod validate;
mod views;

use validate::{Rules, Validated, validate};
use views::run_preview;
pub use views::{catch_up_text, detail, history, list, runs_csv};

const NEXT_RUNS: usize = 5;

/// What `user`'s plans are held to on this instance, as of `now`.
fn rules<'a>(
    state: &'a AppState,
    user: &'a CurrentUser,
    tier: &'a Tier,
    now: DateTime<Utc>,
    kept_start: Option<NaiveDate>,
) -> Rules<'a> {
    Rules {
        max_amount_per_run: Decimal::from(state.settings.max_amount_per_run),
        tier,
        tiers: state.settings.tiers.tiers(),
        user_zone: &user.time_zone,
        now,
        kept_start,
    }
}

/// The limits of the user's tier (billing's one entitlement check).
async fn tier_of(state: &AppState, user: &CurrentUser) -> Result<Tier, AppError> {
    crate::server::billing::tier_of(state, user.id).await
}

/// The next runs and monthly spend of a plan as entered; `editing`: one of
/// the user's plans being edited (its start date may stay in the past).
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn preview(
    state: &AppState,
    user: &CurrentUser,
    input: &PlanInput,
    editing: Option<i64>,
) -> Result<SchedulePreview, AppError> {
    let kept_start = match editing {
        Some(id) => match state.store.plan_of(user.id, id).await? {
            Some(row) => Some(row.start_date),
            None => return Err(AppError::NotFound),
        },
        None => None,
    };
    let now = engine_now(state);
    let tier = tier_of(state, user).await?;
    let v = validate(input, &rules(state, user, &tier, now, kept_start))?;
    let per_run: Decimal = v.legs.iter().map(|l| l.amount).sum();
    let zone = v.schedule.zone();
    Ok(SchedulePreview {
        runs: v
            .schedule
            .next_runs(now, NEXT_RUNS)
            .iter()
            .map(|s| run_preview(s, zone, now))
            .collect(),
        per_run,
        monthly_spend: v.schedule.monthly_spend(now, per_run),
    })
}

/// Checks every symbol with the connection's broker.
async fn check_symbols(broker: &dyn Broker, legs: &[Leg]) -> Result<(), AppError> {
    let mut errors = Vec::new();
    for leg in legs {
        let symbol = leg.symbol.as_str();
        match broker.asset(symbol).await {
            Ok(Some(a)) if !a.tradable => {
                errors.push((format!("{symbol} cannot be traded at your broker right now."), "symbols"));
            }
            Ok(Some(a)) if !a.fractionable => errors.push((
                format!(
                    "{symbol} cannot be bought in fractional shares, so a dollar amount cannot buy it (Dripfeed does not round to whole shares)."
                ),
                "symbols",
            )),
            Ok(Some(_)) => {}
            Ok(None) => errors.push((format!("{symbol} is not offered by your broker."), "symbols")),
            Err(e) => {
                tracing::warn!(error = %e, "could not check a symbol with the broker");
                let why = match e {
                    BrokerError::Unauthorized { .. } => "the broker no longer accepts this connection; reconnect it".to_owned(),
                    _ => "the broker could not be reached".to_owned(),
                };
                return Err(AppError::invalid(
                    "form",
                    format!("Could not check the symbols: {why}. Nothing was saved."),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(
            errors
                .into_iter()
                .map(|(message, f)| FieldError {
                    field: f.into(),
                    message,
                })
                .collect(),
        ))
    }
}

/// Everything a plan must pass before it is saved: the form's checks, the
/// tier's limits (`active_besides`: the user's other running plans), a usable
/// connection of the user's, and each symbol with that broker.
async fn check_plan(
    state: &AppState,
    user: &CurrentUser,
    input: &PlanInput,
    now: DateTime<Utc>,
    kept_start: Option<NaiveDate>,
    active_besides: usize,
) -> Result<(Validated, i64), AppError> {
    let tier = tier_of(state, user).await?;
    let v = validate(input, &rules(state, user, &tier, now, kept_start))?;
    let over = plan::check_tier(&tier, v.legs.len(), active_besides);
    if !over.is_empty() {
        return Err(AppError::Invalid(
            over.into_iter()
                .map(|(f, message)| FieldError {
                    field: f.into(),
                    message,
                })
                .collect(),
        ));
    }
    let Some(connection) = state
        .store
        .connection_of(user.id, input.connection_id)
        .await?
    else {
        return Err(AppError::invalid(
            "connection_id",
            "Choose one of your brokerage connections.",
        ));
    };
    if connection.status != "active" {
        return Err(AppError::invalid(
            "connection_id",
            "This connection needs reconnecting before a plan can use it.",
        ));
    }
    if connection.environment == "live"
        && let Err(message) =
            entitlement::check(Feature::LiveTrading, &tier, state.settings.tiers.tiers())
    {
        return Err(AppError::invalid("connection_id", message));
    }
    let (broker, _) = broker_for(state, &connection)?;
    check_symbols(&broker, &v.legs).await?;
    Ok((v, connection.id))
}

/// The stored form of a checked plan.
struct Stored {
    cadence: String,
    time: String,
    mode: String,
    zone: String,
}

fn stored(v: &Validated) -> Result<Stored, AppError> {
    let text = |r: serde_json::Result<String>| r.map_err(anyhow::Error::from);
    Ok(Stored {
        cadence: text(serde_json::to_string(v.schedule.cadence()))?,
        time: text(serde_json::to_string(&v.schedule.time()))?,
        mode: text(serde_json::to_string(&v.mode))?,
        zone: v.schedule.zone().name().to_owned(),
    })
}

fn new_plan<'a>(
    user: &CurrentUser,
    connection_id: i64,
    v: &'a Validated,
    s: &'a Stored,
    now: DateTime<Utc>,
) -> NewPlan<'a> {
    NewPlan {
        user_id: user.id,
        connection_id,
        name: &v.name,
        cadence: &s.cadence,
        time_of_day: &s.time,
        time_zone: &s.zone,
        start_date: v.schedule.start(),
        end_date: v.schedule.end(),
        max_total: v.max_total.map(|t| t.normalize().to_string()),
        mode: &s.mode,
        active_since: now,
        legs: v
            .legs
            .iter()
            .map(|l| (l.symbol.to_string(), l.amount.normalize().to_string()))
            .collect(),
        catch_up_minutes: v.catch_up_minutes,
    }
}

fn plan_audit(id: i64, connection_id: i64, v: &Validated) -> serde_json::Value {
    json!({
        "plan_id": id,
        "connection_id": connection_id,
        "symbols": v.legs.iter().map(|l| l.symbol.to_string()).collect::<Vec<_>>(),
        "per_run": v.legs.iter().map(|l| l.amount).sum::<Decimal>().to_string(),
        "cadence": v.schedule.cadence().kind().label(),
    })
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    input: PlanInput,
) -> Result<i64, AppError> {
    let now = engine_now(state);
    let active =
        usize::try_from(state.store.active_plan_count(user.id).await?).unwrap_or(usize::MAX);
    let (v, connection_id) = check_plan(state, user, &input, now, None, active).await?;
    let s = stored(&v)?;
    let id = state
        .store
        .insert_plan(&new_plan(user, connection_id, &v, &s, now))
        .await?;
    state.store.mark_entitlement_review(user.id).await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "plan.created",
        plan_audit(id, connection_id, &v),
    )
    .await?;
    Ok(id)
}

/// Changes one of the user's open plans. Runs already written (made, under
/// way or due this minute) are history and stay as they are; the new
/// schedule owes runs from now on only.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
    input: PlanInput,
) -> Result<(), AppError> {
    let Some(row) = state.store.plan_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    if row.status == "ended" {
        return Err(AppError::Conflict(
            "This plan has ended; create a new plan instead.".into(),
        ));
    }
    let now = engine_now(state);
    // Editing a paused plan does not start it, so only a running one counts
    // against the plan limit.
    let active_besides = if row.status == "active" {
        usize::try_from(state.store.active_plan_count(user.id).await?)
            .unwrap_or(usize::MAX)
            .saturating_sub(1)
    } else {
        0
    };
    let (v, connection_id) = check_plan(
        state,
        user,
        &input,
        now,
        Some(row.start_date),
        active_besides,
    )
    .await?;
    let s = stored(&v)?;
    if !state
        .store
        .update_plan(id, &new_plan(user, connection_id, &v, &s, now))
        .await?
    {
        return Err(AppError::Conflict(
            "This plan has ended; create a new plan instead.".into(),
        ));
    }
    let mut detail = plan_audit(id, connection_id, &v);
    detail["before"] = json!({
        "connection_id": row.connection_id,
        "cadence": row.cadence,
        "time_of_day": row.time_of_day,
        "time_zone": row.time_zone,
        "mode": row.mode,
    });
    state.store.mark_entitlement_review(user.id).await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "plan.updated",
        detail,
    )
    .await?;
    Ok(())
}

/// One of the user's plans as the wizard's input, to edit it.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn input_of(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<PlanInput, AppError> {
    let Some(row) = state.store.plan_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let legs = state.store.legs_of(&[id]).await?;
    let bad = |e: serde_json::Error| AppError::from(anyhow::Error::from(e));
    Ok(PlanInput {
        name: row.name,
        connection_id: row.connection_id.unwrap_or_default(),
        legs: legs
            .into_iter()
            .map(|l| crate::dto::plans::LegInput {
                symbol: l.symbol,
                amount: l.amount,
                weight: None,
            })
            .collect(),
        cadence: serde_json::from_str(&row.cadence).map_err(bad)?,
        time: serde_json::from_str(&row.time_of_day).map_err(bad)?,
        time_zone: row.time_zone,
        start_date: row.start_date.to_string(),
        end_date: row.end_date.map(|d| d.to_string()),
        max_total: row.max_total,
        mode: serde_json::from_str(&row.mode).map_err(bad)?,
        per_run_total: None,
        catch_up_minutes: row.catch_up_minutes.map(|m| m.to_string()),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Pause,
    Resume,
    Stop,
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn change_status(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
    change: StatusChange,
) -> Result<(), AppError> {
    let Some(row) = state.store.plan_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let (from, to, action): (&[&str], &str, &str) = match change {
        StatusChange::Pause => (&["active"], "paused", "plan.paused"),
        StatusChange::Resume => (&["paused"], "active", "plan.resumed"),
        StatusChange::Stop => (&["active", "paused"], "ended", "plan.ended"),
    };
    if change == StatusChange::Resume {
        if row.connection_id.is_none() {
            return Err(AppError::Conflict(
                "This plan's brokerage connection was removed; create a new plan on another connection."
                    .into(),
            ));
        }
        check_resume(state, user, &row).await?;
    }
    if !state
        .store
        .set_plan_status(user.id, id, from, to, engine_now(state))
        .await?
    {
        return Err(AppError::Conflict(format!(
            "The plan is {} and cannot be {}.",
            row.status,
            match change {
                StatusChange::Pause => "paused",
                StatusChange::Resume => "resumed",
                StatusChange::Stop => "stopped",
            }
        )));
    }
    if change == StatusChange::Resume {
        state.store.mark_entitlement_review(user.id).await?;
    }
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        action,
        json!({ "plan_id": id }),
    )
    .await?;
    Ok(())
}

/// Refuses to resume a plan the user's tier does not allow: its cadence,
/// symbols, live connection, or one active plan too many.
async fn check_resume(state: &AppState, user: &CurrentUser, row: &PlanRow) -> Result<(), AppError> {
    let tier = tier_of(state, user).await?;
    let table = state.settings.tiers.tiers();
    let cadence: crate::domain::schedule::Cadence =
        serde_json::from_str(&row.cadence).map_err(anyhow::Error::from)?;
    entitlement::check(Feature::Cadence(cadence.kind()), &tier, table).map_err(AppError::Locked)?;
    if let Some(connection_id) = row.connection_id
        && let Some(c) = state.store.connection_of(user.id, connection_id).await?
        && c.environment == "live"
    {
        entitlement::check(Feature::LiveTrading, &tier, table).map_err(AppError::Locked)?;
    }
    let legs = state.store.legs_of(&[row.id]).await?.len();
    // Running plans besides this one.
    let active = usize::try_from(state.store.active_plan_count(user.id).await?)
        .unwrap_or(usize::MAX)
        .saturating_sub(usize::from(row.status == "active"));
    let over = plan::check_tier(&tier, legs, active);
    if let Some((_, message)) = over.into_iter().next() {
        return Err(AppError::Locked(message));
    }
    Ok(())
}

/// Tradable assets matching `query`, from the connection's broker (cached).
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn search_assets(
    state: &AppState,
    user: &CurrentUser,
    connection_id: i64,
    query: &str,
) -> Result<Vec<AssetDto>, AppError> {
    let Some(connection) = state.store.connection_of(user.id, connection_id).await? else {
        return Err(AppError::NotFound);
    };
    let (broker, _) = broker_for(state, &connection)?;
    let env = crate::server::connections::Environment::parse(&connection.environment)
        .unwrap_or(crate::server::connections::Environment::Paper);
    let host = format!(
        "{}#{}",
        env.as_str(),
        crate::server::connections::endpoints(state, env).0
    );
    let assets = match state.asset_cache.assets(&host, &broker).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the broker's assets");
            return Err(AppError::invalid(
                "symbols",
                "Could not load the broker's symbols just now; type the ticker instead.",
            ));
        }
    };
    let q = query.trim().to_ascii_uppercase();
    let rank = |a: &crate::server::broker::Asset| -> Option<u8> {
        let name = a.name.as_deref().unwrap_or_default().to_ascii_uppercase();
        if q.is_empty() {
            Some(3)
        } else if a.symbol == q {
            Some(0)
        } else if a.symbol.starts_with(&q) {
            Some(1)
        } else if name.contains(&q) {
            Some(2)
        } else {
            None
        }
    };
    let mut found: Vec<(u8, usize, &crate::server::broker::Asset)> = assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.tradable)
        .filter_map(|(i, a)| rank(a).map(|r| (r, i, a)))
        .collect();
    found.sort_by_key(|(r, i, _)| (*r, *i));
    Ok(found
        .into_iter()
        .take(12)
        .map(|(_, _, a)| AssetDto {
            symbol: a.symbol.clone(),
            name: a.name.clone().unwrap_or_default(),
            fractionable: a.fractionable,
        })
        .collect())
}
