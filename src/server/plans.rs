//! DCA plan use-cases: validate (every problem reported against its field),
//! preview the schedule, create (symbols checked with the user's broker, tier
//! limits enforced here on the server), list, and pause / resume / stop.
//! Every change is audited.

use crate::domain::entitlement::{self, Feature};
use crate::domain::plan::{self, Leg, Mode, Symbol};
use crate::domain::schedule::{Adjustment, Schedule, ScheduleError, Slot};
use crate::domain::tier::Tier;
use crate::dto::plans::{
    AssetDto, LegDto, PlanDetail, PlanInput, PlanSummary, PurchaseDto, RunPreview, SchedulePreview,
    SlotDto, SlotOrderDto,
};
use crate::error::{AppError, FieldError};
use crate::server::auth::{ClientInfo, CurrentUser, audit};
use crate::server::broker::{Broker, BrokerError};
use crate::server::connections::broker_for;
use crate::server::db::plans::NewPlan;
use crate::server::db::rows::{PlanRow, stored_decimal};
use crate::server::engine::{engine_now, plan_schedule};
use crate::server::state::AppState;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::{HashMap, HashSet};

const NEXT_RUNS: usize = 5;

/// A plan input that passed every check that needs no I/O.
struct Validated {
    name: String,
    legs: Vec<Leg>,
    schedule: Schedule,
    max_total: Option<Decimal>,
    mode: Mode,
    catch_up_minutes: Option<i64>,
}

/// The longest catch-up window that means anything: a whole session.
const MAX_CATCH_UP_MINUTES: i64 = 390;

/// A plan's missed-run policy, in words.
pub fn catch_up_text(minutes: Option<i64>) -> String {
    match minutes {
        None => "If Dripfeed is down at a run's time, it buys when back the same trading session; later, the run is marked missed.".into(),
        Some(m) => format!("If Dripfeed is down at a run's time, it buys when back within {m} minutes; later, the run is marked missed."),
    }
}

/// The limits of the user's tier (billing's one entitlement check).
async fn tier_of(state: &AppState, user: &CurrentUser) -> Result<Tier, AppError> {
    crate::server::billing::tier_of(state, user.id).await
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn parse_date(raw: &str, name: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match raw.trim().parse::<NaiveDate>() {
        Ok(d) => Some(d),
        Err(_) => {
            field(
                errors,
                name,
                format!("{} is not a date (use YYYY-MM-DD).", raw.trim()),
            );
            None
        }
    }
}

/// Checks a plan as entered. `kept_start`: an edited plan's start date, which
/// may stay in the past.
fn validate(
    state: &AppState,
    user: &CurrentUser,
    tier: &Tier,
    input: &PlanInput,
    now: DateTime<Utc>,
    kept_start: Option<NaiveDate>,
) -> Result<Validated, AppError> {
    let mut errors = Vec::new();
    let cap = Decimal::from(state.settings.max_amount_per_run);
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 60 {
        field(
            &mut errors,
            "name",
            "Give the plan a name of 1 to 60 characters.",
        );
    }

    let legs = validate_legs(input, cap, &mut errors);

    let zone_name = if input.time_zone.trim().is_empty() {
        user.time_zone.clone()
    } else {
        input.time_zone.trim().to_owned()
    };
    let zone: Option<Tz> = zone_name.parse().ok();
    let today = now
        .with_timezone(&zone.unwrap_or(chrono_tz::UTC))
        .date_naive();
    let start = if input.start_date.trim().is_empty() {
        Some(today)
    } else {
        parse_date(&input.start_date, "start_date", &mut errors)
    };
    if start.is_some_and(|s| s < today && Some(s) != kept_start) {
        field(&mut errors, "start_date", "The start date is in the past.");
    }
    let end = input
        .end_date
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_date(s, "end_date", &mut errors));

    let per_run: Decimal = legs.iter().map(|l| l.amount).sum();
    let max_total = match input.max_total.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw
            .trim_start_matches('$')
            .replace(',', "")
            .parse::<Decimal>()
        {
            Ok(t) if t >= per_run && t > Decimal::ZERO => Some(t.round_dp(2)),
            Ok(_) => {
                field(
                    &mut errors,
                    "max_total",
                    "The total must be at least one run's amount.",
                );
                None
            }
            Err(_) => {
                field(
                    &mut errors,
                    "max_total",
                    format!("{raw} is not a dollar amount."),
                );
                None
            }
        },
    };

    let mode = match input.mode {
        Mode::Pure => Some(Mode::Pure),
        Mode::Smart {
            sma_days,
            carry_skipped,
        } => match Mode::smart(sma_days, carry_skipped) {
            Ok(m) => Some(m),
            Err(e) => {
                field(&mut errors, "mode", e);
                None
            }
        },
    };

    let kind = input.cadence.kind();
    if let Err(message) =
        entitlement::check(Feature::Cadence(kind), tier, state.settings.tiers.tiers())
    {
        field(&mut errors, "schedule", message);
    }
    let schedule = start.and_then(|start| {
        match Schedule::new(input.cadence.clone(), input.time, &zone_name, start, end) {
            Ok(s) => Some(s),
            Err(e) => {
                let name = match e {
                    ScheduleError::UnknownZone(_) => "time_zone",
                    ScheduleError::TimeOutsideSession(_) | ScheduleError::AfterOpenTooLate => {
                        "time"
                    }
                    ScheduleError::EndBeforeStart => "end_date",
                    _ => "schedule",
                };
                field(&mut errors, name, e.to_string());
                None
            }
        }
    });

    let catch_up_minutes = match input.catch_up_minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(m) if (1..=MAX_CATCH_UP_MINUTES).contains(&m) => Some(m),
            _ => {
                field(
                    &mut errors,
                    "catch_up_minutes",
                    format!(
                        "Catch up within 1 to {MAX_CATCH_UP_MINUTES} minutes, or leave it empty to catch up any time the same session."
                    ),
                );
                None
            }
        },
    };

    match (errors.is_empty(), schedule, mode) {
        (true, Some(schedule), Some(mode)) => Ok(Validated {
            name,
            legs,
            schedule,
            max_total,
            mode,
            catch_up_minutes,
        }),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// The symbols and what each buys per run: an amount per symbol, or a total
/// per run split by weight.
fn validate_legs(input: &PlanInput, cap: Decimal, errors: &mut Vec<FieldError>) -> Vec<Leg> {
    if input.legs.is_empty() {
        field(errors, "symbols", "Add at least one symbol.");
    }
    if input.legs.len() > plan::MAX_SYMBOLS_PER_PLAN {
        field(
            errors,
            "symbols",
            format!(
                "A plan can hold at most {} symbols; this one has {}.",
                plan::MAX_SYMBOLS_PER_PLAN,
                input.legs.len()
            ),
        );
        return Vec::new();
    }
    let mut symbols = Vec::new();
    let mut seen = HashSet::new();
    for leg in &input.legs {
        match Symbol::parse(&leg.symbol) {
            Ok(symbol) if !seen.insert(symbol.clone()) => {
                field(errors, "symbols", format!("{symbol} is listed twice."));
            }
            Ok(symbol) => symbols.push((symbol, leg)),
            Err(e) => field(errors, "symbols", e),
        }
    }
    let total = input
        .per_run_total
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(raw_total) = total else {
        let mut legs = Vec::new();
        for (symbol, leg) in symbols {
            match plan::parse_amount(&leg.amount, cap) {
                Ok(amount) => legs.push(Leg { symbol, amount }),
                Err(e) => field(errors, "amounts", format!("{symbol}: {e}")),
            }
        }
        return legs;
    };
    // A total split by weight: the total is checked like an amount with a
    // cap of one symbol's cap per symbol, then each share on its own.
    let count = Decimal::from(symbols.len().max(1));
    let total = match plan::parse_amount(raw_total, cap * count) {
        Ok(t) => Some(t),
        Err(e) => {
            field(errors, "amounts", format!("Total per run: {e}"));
            None
        }
    };
    let mut weights = Vec::new();
    for (symbol, leg) in &symbols {
        match plan::parse_weight(leg.weight.as_deref().unwrap_or_default()) {
            Ok(w) => weights.push(w),
            Err(e) => field(errors, "amounts", format!("{symbol}: {e}")),
        }
    }
    let Some(total) = total.filter(|_| weights.len() == symbols.len()) else {
        return Vec::new();
    };
    let mut legs = Vec::new();
    for ((symbol, _), amount) in symbols.into_iter().zip(plan::split_total(total, &weights)) {
        if amount < Decimal::ONE {
            field(
                errors,
                "amounts",
                format!(
                    "{symbol}: its share is ${amount:.2}, below Alpaca's $1.00 minimum order; raise the total or its weight."
                ),
            );
        } else if amount > cap {
            field(
                errors,
                "amounts",
                format!(
                    "{symbol}: its share is ${amount:.2}, above the ${cap} per symbol per run this instance allows."
                ),
            );
        } else {
            legs.push(Leg { symbol, amount });
        }
    }
    legs
}

fn adjustment_note(a: Adjustment) -> &'static str {
    match a {
        Adjustment::NextTradingDay => "moved: the market is closed that day",
        Adjustment::ToOpen => "moved to the open",
        Adjustment::BeforeClose => "moved before the close (early close)",
    }
}

fn run_preview(slot: &Slot, zone: Tz) -> RunPreview {
    let local = slot.at.with_timezone(&zone);
    let notes: Vec<&str> = slot
        .adjustments
        .iter()
        .flatten()
        .map(|a| adjustment_note(*a))
        .collect();
    RunPreview {
        at: slot.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        local: local.format("%a %-d %b %Y, %H:%M (%Z)").to_string(),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
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
    let v = validate(state, user, &tier, input, now, kept_start)?;
    let per_run: Decimal = v.legs.iter().map(|l| l.amount).sum();
    let zone = v.schedule.zone();
    Ok(SchedulePreview {
        runs: v
            .schedule
            .next_runs(now, NEXT_RUNS)
            .iter()
            .map(|s| run_preview(s, zone))
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
    let v = validate(state, user, &tier, input, now, kept_start)?;
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

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<PlanSummary>, AppError> {
    let rows = state.store.plans_of(user.id).await?;
    summaries(state, user, rows).await
}

/// Summaries of the given plans of `user` (legs, account label, next run).
async fn summaries(
    state: &AppState,
    user: &CurrentUser,
    rows: Vec<PlanRow>,
) -> Result<Vec<PlanSummary>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut legs: HashMap<i64, Vec<LegDto>> = HashMap::new();
    for leg in state.store.legs_of(&ids).await? {
        legs.entry(leg.plan_id).or_default().push(LegDto {
            symbol: leg.symbol,
            amount: leg.amount.parse().unwrap_or_default(),
        });
    }
    let labels: HashMap<i64, String> = state
        .store
        .connections_of(user.id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect();
    let (invested, values) = holdings(state, user, &rows).await?;
    let now = engine_now(state);
    Ok(rows
        .into_iter()
        .map(|row| {
            let schedule = plan_schedule(&row).ok();
            let next_run = schedule
                .as_ref()
                .filter(|_| row.status == "active")
                .and_then(|s| {
                    s.next_runs(now, 1)
                        .first()
                        .map(|slot| run_preview(slot, s.zone()))
                });
            let mode = match serde_json::from_str::<Mode>(&row.mode) {
                Ok(Mode::Smart { sma_days, .. }) => {
                    format!("Smart: buy at or below the {sma_days}-day average")
                }
                Ok(Mode::Pure) => "Pure: buy every run".to_owned(),
                // Shown as unreadable, never as a mode it is not (the engine
                // refuses to run such a plan).
                Err(e) => {
                    tracing::error!(plan_id = row.id, error = %e, "a plan's stored mode is unreadable");
                    "Unreadable: this plan's mode is damaged; it will not buy".to_owned()
                }
            };
            PlanSummary {
                id: row.id,
                name: row.name.clone(),
                status: row.status.clone(),
                connection_label: row.connection_id.and_then(|c| labels.get(&c).cloned()),
                legs: legs.remove(&row.id).unwrap_or_default(),
                schedule: schedule
                    .as_ref()
                    .map(Schedule::describe)
                    .unwrap_or_else(|| "Schedule no longer valid: edit the plan".into()),
                mode,
                time_zone: row.time_zone.clone(),
                next_run,
                invested: invested.get(&row.id).copied().unwrap_or_default(),
                current_value: values.get(&row.id).copied().unwrap_or(Some(Decimal::ZERO)),
                catch_up: catch_up_text(row.catch_up_minutes),
                paused_by_tier: row.paused_by_tier,
            }
        })
        .collect())
}

/// What each plan has spent, and what its shares are worth at the latest
/// prices (`None` for a plan whose broker could not be asked).
async fn holdings(
    state: &AppState,
    user: &CurrentUser,
    rows: &[PlanRow],
) -> Result<(HashMap<i64, Decimal>, HashMap<i64, Option<Decimal>>), AppError> {
    let wanted: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let dec = |s: &str| stored_decimal("a filled quantity or price", s);
    let mut invested: HashMap<i64, Decimal> = HashMap::new();
    let mut shares: HashMap<i64, HashMap<String, Decimal>> = HashMap::new();
    for (plan_id, symbol, qty, price) in state.store.plan_fills(user.id).await? {
        if !wanted.contains(&plan_id) {
            continue;
        }
        let qty = dec(&qty)?;
        if let Some(price) = price.as_deref().map(dec).transpose()? {
            *invested.entry(plan_id).or_default() += (qty * price).round_dp(2);
        }
        *shares
            .entry(plan_id)
            .or_default()
            .entry(symbol)
            .or_default() += qty;
    }
    // Latest prices per connection (cached and shared between users).
    let mut values: HashMap<i64, Option<Decimal>> = HashMap::new();
    let mut by_connection: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
    for row in rows.iter().filter(|r| shares.contains_key(&r.id)) {
        by_connection
            .entry(row.connection_id)
            .or_default()
            .push(row.id);
    }
    for (connection_id, plan_ids) in by_connection {
        let symbols: Vec<String> = plan_ids
            .iter()
            .flat_map(|id| shares[id].keys().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let connection = match connection_id {
            Some(c) => state.store.connection_of(user.id, c).await?,
            None => None,
        };
        let prices = match connection {
            Some(c) => match broker_for(state, &c) {
                Ok((broker, host)) => state
                    .trade_cache
                    .latest(&host, &broker as &dyn Broker, &symbols)
                    .await
                    .map_err(|e| tracing::warn!(error = %e, "no prices for the plans list"))
                    .ok(),
                Err(e) => {
                    tracing::warn!(error.cause_chain = ?e, "no broker for the plans list");
                    None
                }
            },
            None => None,
        };
        for id in plan_ids {
            let value = prices.as_ref().and_then(|p| {
                shares[&id]
                    .iter()
                    .map(|(s, q)| p.get(s).map(|t| (t.price * q).round_dp(2)))
                    .sum::<Option<Decimal>>()
            });
            values.insert(id, value);
        }
    }
    Ok((invested, values))
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

/// One plan with every slot and order, newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn detail(state: &AppState, user: &CurrentUser, id: i64) -> Result<PlanDetail, AppError> {
    let Some(row) = state.store.plan_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let summary = summaries(state, user, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let (slots, invested) = slots_of(state, id, &summary.time_zone).await?;
    Ok(PlanDetail {
        plan: summary,
        slots,
        invested,
    })
}

/// A plan's runs with their orders, newest first, and the dollars spent.
async fn slots_of(
    state: &AppState,
    plan_id: i64,
    time_zone: &str,
) -> Result<(Vec<SlotDto>, Decimal), AppError> {
    let zone: Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let dec = |s: &str| stored_decimal("an order's amount, quantity or price", s);
    let mut invested = Decimal::ZERO;
    let mut slots = Vec::new();
    for slot in state.store.plan_slots(plan_id).await? {
        let mut orders = Vec::new();
        for o in state.store.slot_orders(slot.id).await? {
            let filled = dec(&o.filled_qty)?;
            let price = o.filled_avg_price.as_deref().map(dec).transpose()?;
            invested += price.map_or(Decimal::ZERO, |p| (p * filled).round_dp(2));
            orders.push(SlotOrderDto {
                symbol: o.symbol,
                notional: dec(&o.notional)?,
                status: o.status.as_str().to_owned(),
                filled_qty: filled,
                filled_avg_price: price,
                broker_order_id: o.broker_order_id,
                client_order_id: o.client_order_id,
            });
        }
        slots.push(SlotDto {
            scheduled_at: slot.scheduled_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            local: slot
                .scheduled_at
                .with_timezone(&zone)
                .format("%a %-d %b %Y, %H:%M (%Z)")
                .to_string(),
            status: slot.status.as_str().to_owned(),
            reason: slot.reason,
            orders,
        });
    }
    Ok((slots, invested))
}

/// Every order across the user's plans, newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn history(state: &AppState, user: &CurrentUser) -> Result<Vec<PurchaseDto>, AppError> {
    let mut rows = Vec::new();
    for plan in state.store.plans_of(user.id).await? {
        let (slots, _) = slots_of(state, plan.id, &plan.time_zone).await?;
        for slot in slots {
            for o in slot.orders {
                rows.push(PurchaseDto {
                    plan_id: plan.id,
                    plan_name: plan.name.clone(),
                    scheduled_at: slot.scheduled_at.clone(),
                    local: slot.local.clone(),
                    symbol: o.symbol,
                    notional: o.notional,
                    status: o.status,
                    filled_qty: o.filled_qty,
                    filled_avg_price: o.filled_avg_price,
                });
            }
        }
    }
    rows.sort_by(|a, b| b.scheduled_at.cmp(&a.scheduled_at));
    Ok(rows)
}

/// A plan's runs as CSV: one line per order, or per run without orders.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn runs_csv(state: &AppState, user: &CurrentUser, id: i64) -> Result<String, AppError> {
    let d = detail(state, user, id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, record: &[String]| {
        out.write_record(record).map_err(anyhow::Error::from)
    };
    write(
        &mut out,
        &[
            "scheduled_at_utc",
            "scheduled_local",
            "run_status",
            "reason",
            "symbol",
            "notional",
            "order_status",
            "filled_qty",
            "filled_avg_price",
            "client_order_id",
            "broker_order_id",
        ]
        .map(str::to_owned),
    )?;
    for slot in d.slots {
        let base = [
            slot.scheduled_at.clone(),
            slot.local.clone(),
            slot.status.clone(),
            slot.reason.clone().unwrap_or_default(),
        ];
        if slot.orders.is_empty() {
            let mut record = base.to_vec();
            record.extend(std::iter::repeat_n(String::new(), 7));
            write(&mut out, &record)?;
        }
        for o in slot.orders {
            let mut record = base.to_vec();
            record.extend([
                o.symbol,
                o.notional.to_string(),
                o.status,
                o.filled_qty.normalize().to_string(),
                o.filled_avg_price
                    .map(|p| p.normalize().to_string())
                    .unwrap_or_default(),
                o.client_order_id,
                o.broker_order_id.unwrap_or_default(),
            ]);
            write(&mut out, &record)?;
        }
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}
