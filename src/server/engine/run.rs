//! Running claimed slots: the batch, one group per account and minute, the
//! group's checks (a usable connection and account, cash for every run due
//! together), each run's intents, and ending a run with its outcome. Each
//! run's own checks are in `preflight.rs`; sending and following its orders in
//! `orders.rs`; what every answer means in `decide.rs`. See the module above
//! for the rules.

use super::decide::{DISABLED, STOPPED, STOPPED_GLOBALLY, money};
use super::orders::{Sending, follow};
use super::preflight::{AssetMemo, Buys, Carries, Preflight, preflight};
use super::{Engine, TooLate, too_late};
use crate::domain::calendar;
use crate::domain::run::RunStatus;
use crate::server::broker::alpaca::AlpacaBroker;
use crate::server::broker::{Broker, BrokerError};
use crate::server::connections::broker_for;
use crate::server::db::rows::{ConnectionRow, PlanLegRow, PlanRow, SlotOrderRow, SlotRow};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The idempotency key of one order: derived from the plan, the slot's
/// instant and the symbol, so it is the same on every attempt and after any
/// crash. At most 3 + 19 + 1 + 10 + 1 + 10 = 44 characters (Alpaca allows 48
/// for ours); `df-` marks orders Dripfeed placed.
pub fn client_order_id(plan_id: i64, at: DateTime<Utc>, symbol: &str) -> String {
    format!("df-{plan_id}-{}-{symbol}", at.timestamp())
}

/// A stored amount, quantity or price; unreadable is an error, never zero.
pub(super) fn dec(s: &str) -> anyhow::Result<Decimal> {
    crate::server::db::rows::stored_decimal("an amount, quantity or price", s)
}

/// A claimed run, with what the batch read for it.
struct Claimed {
    slot: SlotRow,
    plan: PlanRow,
    /// Its orders so far (none unless an earlier attempt wrote intents).
    orders: Vec<SlotOrderRow>,
    /// The plan's symbols and amounts, with smart DCA's carried dollars.
    legs: Legs,
}
pub(super) type Legs = Vec<(PlanLegRow, String)>;
/// A run about to start: its slot, plan and legs.
type Fresh = (SlotRow, PlanRow, Legs);
/// A run that passed its own checks, waiting for the account's cash check.
struct Buying {
    slot: SlotRow,
    plan: PlanRow,
    legs: Legs,
    buys: Buys,
    carries: Carries,
}

/// Runs claimed slots, `concurrency` broker accounts at a time; returns how
/// many reached their outcome. Each account's runs due in the same minute
/// are one group, done in order by one task, so the cash check covers all of
/// them together. What every run needs from the database is read for the
/// whole batch at once. A run that fails here is logged and left to its lease.
pub async fn run_batch(
    engine: &Engine,
    claimed: Vec<SlotRow>,
    now: DateTime<Utc>,
    concurrency: usize,
) -> anyhow::Result<usize> {
    let store = &engine.state().store;
    let plan_ids: Vec<i64> = claimed.iter().map(|s| s.plan_id).collect();
    let slot_ids: Vec<i64> = claimed.iter().map(|s| s.id).collect();
    let plans: HashMap<i64, PlanRow> = store
        .plans_by_ids(&plan_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut orders: HashMap<i64, Vec<SlotOrderRow>> = HashMap::new();
    for o in store.orders_of_slots(&slot_ids).await? {
        orders.entry(o.slot_id).or_default().push(o);
    }
    let mut legs: HashMap<i64, Legs> = HashMap::new();
    for (leg, carry) in store.legs_with_carry_of(&plan_ids).await? {
        legs.entry(leg.plan_id).or_default().push((leg, carry));
    }
    let connection_ids: Vec<i64> = plans.values().filter_map(|p| p.connection_id).collect();
    let connections: HashMap<i64, ConnectionRow> = store
        .connections_by_ids(&connection_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let owners: Vec<i64> = connections.values().map(|c| c.user_id).collect();
    let disabled: HashSet<i64> = store.disabled_user_ids(&owners).await?;
    let stopped: HashSet<i64> = store.trading_stopped_user_ids(&owners).await?;
    let stopped_globally = store.global_kill_switch().await?.is_some();
    let assets = std::sync::Arc::new(AssetMemo::default());

    let mut groups: BTreeMap<(Option<i64>, i64), Vec<Claimed>> = BTreeMap::new();
    for slot in claimed {
        let Some(plan) = plans.get(&slot.plan_id) else {
            continue;
        };
        let minute = slot.scheduled_at.timestamp().div_euclid(60);
        groups
            .entry((plan.connection_id, minute))
            .or_default()
            .push(Claimed {
                orders: orders.remove(&slot.id).unwrap_or_default(),
                legs: legs.get(&plan.id).cloned().unwrap_or_default(),
                plan: plan.clone(),
                slot,
            });
    }
    let work = groups.into_iter().map(|((connection_id, _), group)| {
        let engine = engine.clone();
        let connection = connection_id.and_then(|id| connections.get(&id).cloned());
        // A disabled user's account places no orders, whatever their plans
        // say, and neither does anyone's while a kill switch is on.
        let halt = connection.as_ref().and_then(|c| {
            if disabled.contains(&c.user_id) {
                Some(DISABLED)
            } else if stopped_globally {
                Some(STOPPED_GLOBALLY)
            } else if stopped.contains(&c.user_id) {
                Some(STOPPED)
            } else {
                None
            }
        });
        let assets = assets.clone();
        async move { run_group(&engine, (connection, halt), &assets, group, now).await }
    });
    Ok(super::bounded(concurrency, work).await.into_iter().sum())
}

/// One account's runs due in one minute (one group of [`run_batch`]).
/// `halt`: why nothing may be sent for the account (its owner is disabled,
/// or a kill switch is on).
async fn run_group(
    engine: &Engine,
    (connection, halt): (Option<ConnectionRow>, Option<&'static str>),
    assets: &AssetMemo,
    group: Vec<Claimed>,
    now: DateTime<Utc>,
) -> usize {
    let broker = match &connection {
        Some(c) => match broker_for(engine.state(), c) {
            Ok((b, _)) => Some((b, c.id)),
            Err(e) => {
                tracing::error!(connection_id = c.id, error.cause_chain = ?e, "no broker for a connection");
                return 0;
            }
        },
        None => None,
    };
    let known = broker.as_ref().map(|(b, id)| (b as &dyn Broker, *id));
    let mut fresh = Vec::new();
    let mut finished = 0;
    for run in group {
        if run.orders.is_empty() {
            fresh.push((run.slot, run.plan, run.legs));
            continue;
        }
        // Started before (this engine's earlier pass, or one that died): its
        // intents stand, and are followed up.
        let Claimed {
            slot,
            plan,
            orders,
            legs,
        } = run;
        let sending = Sending {
            known,
            halt,
            fresh: &HashSet::new(),
        };
        match follow(engine, (&slot, &plan, &legs), orders, sending, now).await {
            Ok(true) => finished += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(slot_id = slot.id, error.cause_chain = ?e, "slot run failed"),
        }
    }
    if !fresh.is_empty() {
        let connection = connection.as_ref().zip(broker.as_ref().map(|(b, _)| b));
        match start(engine, (connection, halt), assets, fresh, now).await {
            Ok(n) => finished += n,
            Err(e) => tracing::error!(error.cause_chain = ?e, "runs could not start"),
        }
    }
    finished
}

/// Pre-flight for runs that have sent nothing yet, then their intents and
/// orders. Returns how many reached their outcome.
async fn start(
    engine: &Engine,
    (connection, halt): (
        Option<(&ConnectionRow, &AlpacaBroker)>,
        Option<&'static str>,
    ),
    assets: &AssetMemo,
    fresh: Vec<Fresh>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let store = &engine.state().store;
    let mut finished = 0;
    // Whole-group refusals first: no usable connection or account.
    let group_skip: Option<String> = match &connection {
        None => Some("The plan has no brokerage connection.".into()),
        Some(_) if halt.is_some() => halt.map(str::to_owned),
        Some((c, _)) if c.status != "active" => Some(
            "Alpaca no longer accepts this connection's credentials; reconnect it to resume buying."
                .into(),
        ),
        Some(_) => None,
    };
    if let Some(reason) = group_skip {
        for (slot, plan, _) in &fresh {
            finish(engine, plan, slot, RunStatus::Skipped, Some(&reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }
    let Some((connection, broker)) = connection else {
        return Ok(finished);
    };
    let account = match broker.account().await {
        Ok(a) => a,
        Err(e) => {
            let runs: Vec<(&SlotRow, &PlanRow)> = fresh.iter().map(|(s, p, _)| (s, p)).collect();
            return broker_trouble(engine, connection, &runs, e, now).await;
        }
    };
    if account.status != "ACTIVE" || account.trading_blocked {
        let reason = format!(
            "The brokerage account is not open for trading (status {}).",
            account.status
        );
        for (slot, plan, _) in &fresh {
            finish(engine, plan, slot, RunStatus::Skipped, Some(&reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }

    // Each run's own checks.
    let mut buying: Vec<Buying> = Vec::new();
    for (slot, plan, legs) in fresh {
        // Written in time but not run until later (the engine stopped in
        // between): the plan's missed-run policy decides.
        if let Some(late) = too_late(&plan, slot.scheduled_at, slot.trading_date, now) {
            let reason = match late {
                TooLate::SessionClosed => {
                    "Dripfeed could not run it before that trading session closed.".to_owned()
                }
                TooLate::Window(m) => format!(
                    "Dripfeed could not run it within this plan's {m}-minute catch-up window."
                ),
            };
            finish(engine, &plan, &slot, RunStatus::Missed, Some(&reason)).await?;
            finished += 1;
            continue;
        }
        let decision = if plan.status != "active" {
            Ok(Preflight::skip(format!(
                "The plan was {} before this run.",
                plan.status
            )))
        } else {
            let asking = (
                broker as &dyn Broker,
                connection.environment.as_str(),
                assets,
            );
            preflight(engine, &plan, &slot, &legs, asking).await
        };
        match decision {
            Ok(Preflight::Skip { reason, carries }) => {
                finish_carrying(
                    engine,
                    &plan,
                    &slot,
                    RunStatus::Skipped,
                    Some(&reason),
                    &carries,
                )
                .await?;
                finished += 1;
            }
            Ok(Preflight::Buy { buys, carries }) => {
                buying.push(Buying {
                    slot,
                    plan,
                    legs,
                    buys,
                    carries,
                });
            }
            Err(e) => {
                finished += broker_trouble(engine, connection, &[(&slot, &plan)], e, now).await?;
            }
        }
    }
    if buying.is_empty() {
        return Ok(finished);
    }

    // Cash for everything due on this account in this minute, never margin.
    let total: Decimal = buying
        .iter()
        .flat_map(|run| run.buys.iter().map(|(_, a)| *a))
        .sum();
    if account.non_marginable_buying_power < total {
        let available = money(account.non_marginable_buying_power);
        let reason = if buying.len() == 1 {
            format!(
                "Not enough cash: this run needs {}, the account has {available} available (Dripfeed never buys on margin).",
                money(total)
            )
        } else {
            format!(
                "Not enough cash: the {} runs due on this account at this time need {} together, the account has {available} available (Dripfeed never buys on margin).",
                buying.len(),
                money(total)
            )
        };
        for run in &buying {
            finish(
                engine,
                &run.plan,
                &run.slot,
                RunStatus::Skipped,
                Some(&reason),
            )
            .await?;
            finished += 1;
        }
        return Ok(finished);
    }

    for Buying {
        slot,
        plan,
        legs,
        buys,
        carries,
    } in buying
    {
        let intents: Vec<(String, String, String)> = buys
            .iter()
            .map(|(symbol, amount)| {
                (
                    symbol.clone(),
                    amount.normalize().to_string(),
                    client_order_id(plan.id, slot.scheduled_at, symbol),
                )
            })
            .collect();
        let outcome = async {
            let orders = store
                .insert_intents(plan.id, slot.id, &intents, &carries)
                .await?;
            let fresh: HashSet<i64> = orders.iter().map(|o| o.id).collect();
            let sending = Sending {
                known: Some((broker, connection.id)),
                halt,
                fresh: &fresh,
            };
            follow(engine, (&slot, &plan, &legs), orders, sending, now).await
        }
        .await;
        match outcome {
            Ok(true) => finished += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(slot_id = slot.id, error.cause_chain = ?e, "slot run failed"),
        }
    }
    Ok(finished)
}

/// Pre-flight could not reach the broker: credentials refused (skip, and
/// mark the connection), or unreachable (retry when the lease lapses, or fail
/// once the session has closed).
async fn broker_trouble(
    engine: &Engine,
    connection: &ConnectionRow,
    runs: &[(&SlotRow, &PlanRow)],
    e: BrokerError,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let store = &engine.state().store;
    let mut finished = 0;
    if let BrokerError::Unauthorized { .. } = e {
        store
            .set_connection_status(connection.id, "reconnect_needed")
            .await?;
        let reason = "Alpaca refused this connection's credentials; reconnect it to resume buying.";
        for (slot, plan) in runs {
            finish(engine, plan, slot, RunStatus::Skipped, Some(reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }
    for (slot, plan) in runs {
        let closed = calendar::trading_day(slot.trading_date).is_none_or(|d| d.close_at() <= now);
        if closed {
            let reason =
                format!("The broker could not be reached before the session closed ({e}).");
            finish(engine, plan, slot, RunStatus::Failed, Some(&reason)).await?;
            finished += 1;
        } else {
            // Try again when the lease runs out.
            tracing::warn!(slot_id = slot.id, error = %e, "pre-flight could not reach the broker");
        }
    }
    Ok(finished)
}

/// Ends the slot with its outcome and tells the owner, once: only the call
/// that actually ends it notifies.
pub(super) async fn finish(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    status: RunStatus,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    finish_carrying(engine, plan, slot, status, reason, &[]).await
}

/// [`finish`], writing the carry the run decided with its outcome.
#[tracing::instrument(
    name = "run_end",
    skip_all,
    fields(run_id = slot.id, plan_id = plan.id, user_id = plan.user_id, %status)
)]
pub(super) async fn finish_carrying(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    status: RunStatus,
    reason: Option<&str>,
    carries: &[(String, String)],
) -> anyhow::Result<()> {
    slot.status
        .transition(status)
        .map_err(|e| anyhow::anyhow!("run {}: {e}", slot.id))?;
    let state = engine.state();
    if state
        .store
        .finish_slot(
            slot.id,
            &engine.owner,
            status,
            reason,
            Some((plan.id, carries)),
        )
        .await?
    {
        crate::server::metrics::run_ended(status.as_str());
        tracing::info!(reason, "run ended");
        crate::server::notifications::run_outcome(
            state,
            plan,
            Some(slot.id),
            slot.scheduled_at,
            status.as_str(),
            reason,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_ids_are_deterministic_and_short_enough() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = client_order_id(i64::MAX, at, "ABCDEFGHIJ");
        assert!(id.len() <= 48, "{id}");
        assert_eq!(client_order_id(7, at, "VTI"), "df-7-1795446000-VTI");
        assert_eq!(client_order_id(7, at, "VTI"), client_order_id(7, at, "VTI"));
        assert_ne!(client_order_id(7, at, "VTI"), client_order_id(8, at, "VTI"));
    }
}
