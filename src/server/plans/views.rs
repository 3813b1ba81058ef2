//! What the plan pages show: the plans list with what each has invested and
//! is worth now, a plan's runs and orders, the purchase history, and a plan's
//! runs as CSV. Every read is of the caller's own plans only.

use crate::domain::plan::Mode;
use crate::domain::schedule::{Adjustment, Schedule, Slot};
use crate::domain::when;
use crate::dto::plans::{
    LegDto, PlanDetail, PlanSummary, PurchaseDto, RunPreview, SlotDto, SlotOrderDto,
};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::broker::Broker;
use crate::server::connections::broker_for;
use crate::server::db::rows::{PlanRow, stored_decimal};
use crate::server::engine::{engine_now, plan_schedule};
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// A plan's missed-run policy, in words.
pub fn catch_up_text(minutes: Option<i64>) -> String {
    match minutes {
        None => "If Dripfeed is down at a run's time, it buys when back the same trading session; later, the run is marked missed.".into(),
        Some(m) => format!("If Dripfeed is down at a run's time, it buys when back within {m} minutes; later, the run is marked missed."),
    }
}

fn adjustment_note(a: Adjustment) -> &'static str {
    match a {
        Adjustment::NextTradingDay => "moved: the market is closed that day",
        Adjustment::ToOpen => "moved to the open",
        Adjustment::BeforeClose => "moved before the close (early close)",
    }
}

pub(super) fn run_preview(slot: &Slot, zone: Tz, now: DateTime<Utc>) -> RunPreview {
    let notes: Vec<&str> = slot
        .adjustments
        .iter()
        .flatten()
        .map(|a| adjustment_note(*a))
        .collect();
    RunPreview {
        at: Stamp::new(slot.at, zone, now),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
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
                        .map(|slot| run_preview(slot, s.zone(), now))
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
    let zone = plan_zone(&summary.time_zone)?;
    let (slots, invested) = slots_of(state, id, zone, engine_now(state)).await?;
    Ok(PlanDetail {
        plan: summary,
        slots,
        invested,
    })
}

/// A plan's stored zone (validated when saved; one that no longer parses is an error).
fn plan_zone(name: &str) -> anyhow::Result<Tz> {
    name.parse()
        .map_err(|_| anyhow::anyhow!("a plan's time zone is not known to this build: {name:?}"))
}

/// A plan's runs with their orders, newest first, and the dollars spent;
/// their times in `zone`.
async fn slots_of(
    state: &AppState,
    plan_id: i64,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<(Vec<SlotDto>, Decimal), AppError> {
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
            scheduled_at: Stamp::new(slot.scheduled_at, zone, now),
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
    let (zone, now) = (user.zone()?, engine_now(state));
    let mut rows = Vec::new();
    for plan in state.store.plans_of(user.id).await? {
        let (slots, _) = slots_of(state, plan.id, zone, now).await?;
        for slot in slots {
            for o in slot.orders {
                rows.push(PurchaseDto {
                    plan_id: plan.id,
                    plan_name: plan.name.clone(),
                    scheduled_at: slot.scheduled_at.clone(),
                    symbol: o.symbol,
                    notional: o.notional,
                    status: o.status,
                    filled_qty: o.filled_qty,
                    filled_avg_price: o.filled_avg_price,
                });
            }
        }
    }
    // RFC 3339 in UTC to the second sorts as the instants do.
    rows.sort_by(|a, b| b.scheduled_at.utc.cmp(&a.scheduled_at.utc));
    Ok(rows)
}

/// A plan's runs as CSV: one line per order, or per run without orders.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn runs_csv(state: &AppState, user: &CurrentUser, id: i64) -> Result<String, AppError> {
    let d = detail(state, user, id).await?;
    let zone = plan_zone(&d.plan.time_zone)?;
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
        let at = slot
            .scheduled_at
            .instant()
            .ok_or_else(|| anyhow::anyhow!("a run's time did not read back"))?;
        let base = [
            when::rfc3339(at),
            when::local_dated(at, zone),
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
