//! Running claimed slots: pre-flight (per account and minute, then per run),
//! intents, submission, follow-up and each slot's outcome. See the module
//! above for the rules.

use super::decide::{
    self, DISABLED, Limits, NotFound, OrderOutcome, SendCheck, SendFailure, money,
};
use super::{Engine, FOLLOW_EVERY, TooLate, too_late};
use crate::domain::calendar;
use crate::domain::plan::Mode;
use crate::domain::run::{OrderState, RunStatus};
use crate::domain::strategy::{self, Gate};
use crate::server::broker::alpaca::AlpacaBroker;
use crate::server::broker::{
    Amount, Broker, BrokerError, Order, OrderKind, OrderRequest, Side, TimeInForce,
};
use crate::server::connections::broker_for;
use crate::server::db::OrderUpdate;
use crate::server::db::rows::{ConnectionRow, PlanLegRow, PlanRow, SlotOrderRow, SlotRow};
use chrono::{DateTime, Duration, Utc};
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
fn dec(s: &str) -> anyhow::Result<Decimal> {
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
type Legs = Vec<(PlanLegRow, String)>;
/// A run about to start: its slot, plan and legs.
type Fresh = (SlotRow, PlanRow, Legs);
/// What to buy per symbol.
type Buys = Vec<(String, Decimal)>;
/// Smart DCA's carry a run decided: per symbol, the amount it now carries
/// ("0" for a carry this run spends). Written only with the run's intents or
/// its final skip, so a retried run never adds to it twice.
type Carries = Vec<(String, String)>;

/// What pre-flight decided.
enum Preflight {
    Buy { buys: Buys, carries: Carries },
    Skip { reason: String, carries: Carries },
}

impl Preflight {
    fn skip(reason: String) -> Self {
        Preflight::Skip {
            reason,
            carries: Vec::new(),
        }
    }
}

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
        // A disabled user's account places no orders, whatever their plans say.
        let may_send = connection
            .as_ref()
            .is_some_and(|c| !disabled.contains(&c.user_id));
        async move { run_group(&engine, connection, may_send, group, now).await }
    });
    Ok(super::bounded(concurrency, work).await.into_iter().sum())
}

/// One account's runs due in one minute (one group of [`run_batch`]).
/// `may_send`: false when the account's owner is disabled.
async fn run_group(
    engine: &Engine,
    connection: Option<ConnectionRow>,
    may_send: bool,
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
            may_send,
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
        match start(engine, connection, may_send, fresh, now).await {
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
    connection: Option<(&ConnectionRow, &AlpacaBroker)>,
    may_send: bool,
    fresh: Vec<Fresh>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let store = &engine.state().store;
    let mut finished = 0;
    // Whole-group refusals first: no usable connection or account.
    let group_skip: Option<String> = match &connection {
        None => Some("The plan has no brokerage connection.".into()),
        Some(_) if !may_send => Some(DISABLED.into()),
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
            preflight(engine, &plan, &slot, &legs, broker).await
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
                may_send,
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

/// How one pass may send a run's orders.
struct Sending<'a> {
    /// The plan's broker and connection id, when the caller has them (else
    /// they are looked up).
    known: Option<(&'a dyn Broker, i64)>,
    /// False when the account's owner is disabled.
    may_send: bool,
    /// The orders this pass wrote as intents (sent for the first time).
    fresh: &'a HashSet<i64>,
}

/// Moves a run's orders forward and ends the run once every order has; a
/// run still waiting on the broker is parked for a later check. `Ok(true)`
/// once it has reached its outcome.
#[tracing::instrument(
    name = "run",
    skip_all,
    fields(run_id = slot.id, plan_id = plan.id, user_id = plan.user_id)
)]
async fn follow(
    engine: &Engine,
    (slot, plan, legs): (&SlotRow, &PlanRow, &Legs),
    orders: Vec<SlotOrderRow>,
    sending: Sending<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Sending {
        known,
        may_send,
        fresh,
    } = sending;
    let state = engine.state();
    let store = &state.store;
    let loaded;
    let broker = match known {
        Some(k) => Some(k),
        None => match plan.connection_id {
            Some(id) => match store.connection_by_id(id).await? {
                Some(c) => {
                    loaded = broker_for(state, &c)?.0;
                    Some((&loaded as &dyn Broker, c.id))
                }
                None => None,
            },
            None => None,
        },
    };
    let ceilings = per_run_ceilings(plan, legs)?;
    let mut orders = orders;
    for order in orders.iter_mut().filter(|o| !o.status.is_terminal()) {
        let updated = match broker {
            Some((broker, connection_id)) => {
                let fresh = fresh.contains(&order.id);
                let ceiling = ceilings.get(&order.symbol).copied().unwrap_or_default();
                let limits = Limits { ceiling, may_send };
                advance(engine, broker, connection_id, order, limits, fresh, now).await?
            }
            None if order.status == OrderState::Intent => {
                end_unsent(
                    store,
                    order,
                    OrderState::NotPlaced,
                    "the brokerage connection was removed",
                    now,
                )
                .await?
            }
            None => {
                // Sent, but its outcome can no longer be asked for (a
                // connection removed by an older version, or by hand): the
                // run still ends, saying what is not known.
                move_order(
                    store,
                    order,
                    OrderUpdate {
                        filled_qty: &order.filled_qty,
                        reason: Some(
                            "the brokerage connection was removed before its outcome was confirmed; check the order in Alpaca",
                        ),
                        ..OrderUpdate::to(OrderState::Failed)
                    },
                    now,
                )
                .await?
            }
        };
        if let Some(updated) = updated {
            *order = updated;
        }
    }

    if orders.iter().all(|o| o.status.is_terminal()) {
        let (status, reason) = outcome(&orders)?;
        finish(engine, plan, slot, status, reason.as_deref()).await?;
        Ok(true)
    } else {
        store
            .park_slot(slot.id, &engine.owner, now + FOLLOW_EVERY)
            .await?;
        Ok(false)
    }
}

/// The plan's mode, parsed; a stored mode that does not parse is an error,
/// never a different mode.
fn plan_mode(plan: &PlanRow) -> anyhow::Result<Mode> {
    serde_json::from_str(&plan.mode)
        .map_err(|e| anyhow::anyhow!("plan {} has an unreadable mode: {e}", plan.id))
}

/// The most each symbol of the plan may buy in one run (its amount plus
/// the carry the plan's rules allow): the hard ceiling checked at send time.
fn per_run_ceilings(plan: &PlanRow, legs: &Legs) -> anyhow::Result<HashMap<String, Decimal>> {
    let mode = plan_mode(plan)?;
    legs.iter()
        .map(|(leg, _)| Ok((leg.symbol.clone(), mode.per_run_ceiling(dec(&leg.amount)?))))
        .collect()
}

/// Ends the slot with its outcome and tells the owner, once: only the call
/// that actually ends it notifies.
async fn finish(
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
async fn finish_carrying(
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
        crate::server::notifications::run_outcome(
            state,
            plan,
            slot.scheduled_at,
            status.as_str(),
            reason,
        )
        .await?;
    }
    Ok(())
}

/// Checks each symbol, applies smart DCA and the plan's total, and says what
/// to buy (the account and its cash are checked for the whole group).
#[tracing::instrument(
    name = "preflight",
    skip_all,
    fields(run_id = slot.id, plan_id = plan.id, user_id = plan.user_id)
)]
async fn preflight(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    legs: &[(PlanLegRow, String)],
    broker: &dyn Broker,
) -> Result<Preflight, BrokerError> {
    let store = &engine.state().store;
    let internal = |e: anyhow::Error| BrokerError::Decode(format!("{e:#}"));
    let mode = plan_mode(plan).map_err(internal)?;
    let mut buys = Vec::new();
    let mut skipped = Vec::new();
    // Nothing is written here: what this run carries is written with its
    // intents or its final skip (a retried pre-flight starts from scratch).
    let mut carries: Carries = Vec::new();
    for (leg, stored) in legs {
        let amount = dec(&leg.amount).map_err(internal)?;
        let stored = dec(stored).map_err(internal)?;
        // More than the plan's rules allow is never carried, whatever is stored.
        let carried = stored.clamp(Decimal::ZERO, mode.carry_ceiling(amount));
        if let Mode::Smart { sma_days, .. } = mode {
            let closes = completed_closes(broker, &leg.symbol, slot, usize::from(sma_days)).await?;
            if let Gate::Skip { reason } = strategy::smart_dca(&closes, usize::from(sma_days)) {
                let next = mode.carry_after_skip(amount, carried);
                if next != stored {
                    carries.push((leg.symbol.clone(), next.normalize().to_string()));
                }
                skipped.push(format!("{}: {reason}", leg.symbol));
                continue;
            }
        }
        if !stored.is_zero() {
            carries.push((leg.symbol.clone(), "0".into()));
        }
        buys.push((leg.symbol.clone(), amount + carried));
    }
    if buys.is_empty() {
        return Ok(Preflight::Skip {
            reason: format!("Smart DCA skipped this run ({}).", skipped.join("; ")),
            carries,
        });
    }

    if let Some(max_total) = plan
        .max_total
        .as_deref()
        .map(dec)
        .transpose()
        .map_err(internal)?
    {
        let mut invested = Decimal::ZERO;
        for o in store.plan_orders(plan.id).await.map_err(internal)? {
            if let Some(price) = o.filled_avg_price.as_deref() {
                let qty = dec(&o.filled_qty).map_err(internal)?;
                invested += (qty * dec(price).map_err(internal)?).round_dp(2);
            }
        }
        let remaining = max_total - invested;
        let total: Decimal = buys.iter().map(|(_, a)| *a).sum();
        if remaining < Decimal::ONE {
            store.end_plan(plan.id).await.map_err(internal)?;
            return Ok(Preflight::skip(format!(
                "The plan reached its total of {} and has ended.",
                money(max_total)
            )));
        }
        if remaining < total {
            buys = buys
                .into_iter()
                .map(|(s, a)| (s, (a * remaining / total).trunc_with_scale(2)))
                .filter(|(_, a)| *a >= Decimal::ONE)
                .collect();
        }
    }

    for (symbol, amount) in &buys {
        match broker.asset(symbol).await? {
            None => {
                return Ok(Preflight::skip(format!(
                    "{symbol} is no longer offered by the broker."
                )));
            }
            Some(a) if !a.tradable => {
                return Ok(Preflight::skip(format!(
                    "{symbol} cannot be traded right now."
                )));
            }
            Some(a) if !a.fractionable => {
                return Ok(Preflight::skip(format!(
                    "{symbol} is not fractionable, so a dollar amount cannot buy it."
                )));
            }
            Some(_) => {}
        }
        if *amount < Decimal::ONE {
            return Ok(Preflight::skip(format!(
                "{symbol}: {} is below Alpaca's $1.00 minimum.",
                money(*amount)
            )));
        }
    }
    Ok(Preflight::Buy { buys, carries })
}

/// Closes of the sessions before the slot's trading day, oldest first.
async fn completed_closes(
    broker: &dyn Broker,
    symbol: &str,
    slot: &SlotRow,
    days: usize,
) -> Result<Vec<Decimal>, BrokerError> {
    let end = slot.trading_date - Duration::days(1);
    // Calendar days enough to hold `days` sessions, with holidays to spare.
    let start = end - Duration::days(i64::try_from(days).unwrap_or(200) * 2 + 10);
    let bars = broker.daily_bars(symbol, start, end).await?;
    Ok(bars
        .iter()
        .filter(|b| {
            b.time
                .with_timezone(&chrono_tz::America::New_York)
                .date_naive()
                < slot.trading_date
        })
        .map(|b| b.close)
        .collect())
}

/// Ends an order that nothing was bought for (not placed, or refused),
/// saying why.
async fn end_unsent(
    store: &crate::server::db::Store,
    row: &SlotOrderRow,
    to: OrderState,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    let update = OrderUpdate {
        reason: Some(why),
        ..OrderUpdate::to(to)
    };
    move_order(store, row, update, now).await
}

/// Records an order's new state, after checking the move is allowed (a
/// terminal order never changes; nothing goes back to `intent`).
async fn move_order(
    store: &crate::server::db::Store,
    row: &SlotOrderRow,
    update: OrderUpdate<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    row.status
        .transition(update.state)
        .map_err(|e| anyhow::anyhow!("order {}: {e}", row.client_order_id))?;
    store.update_order(row.id, &update, now).await
}

async fn record(
    engine: &Engine,
    row: &SlotOrderRow,
    o: &Order,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    let filled_qty = o.filled_qty.normalize().to_string();
    let filled_avg_price = o.filled_avg_price.map(|p| p.normalize().to_string());
    let update = OrderUpdate {
        broker_order_id: Some(&o.id),
        filled_qty: &filled_qty,
        filled_avg_price: filled_avg_price.as_deref(),
        ..OrderUpdate::to(decide::broker_state(&o.status))
    };
    move_order(&engine.state().store, row, update, now).await
}

/// Moves one order forward: send it, find out what happened to it, or
/// refresh its fills. Returns the order as it now stands if it changed.
#[tracing::instrument(name = "order", skip_all, fields(client_order_id = %row.client_order_id))]
async fn advance(
    engine: &Engine,
    broker: &dyn Broker,
    connection_id: i64,
    row: &SlotOrderRow,
    limits: Limits,
    fresh: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    let store = &engine.state().store;
    if row.status == OrderState::Submitted
        && let Some(id) = &row.broker_order_id
    {
        return match broker.order(id).await {
            Ok(o) => record(engine, row, &o, now).await,
            Err(e) => {
                tracing::warn!(order = %row.client_order_id, error = %e, "could not refresh an order");
                Ok(None)
            }
        };
    }
    // An intent from an earlier attempt, or a send with no answer: ask the
    // broker before anything else.
    if !fresh {
        match broker.order_by_client_id(&row.client_order_id).await {
            Ok(Some(o)) => return record(engine, row, &o, now).await,
            Ok(None) => match decide::not_found(row.status, now - row.updated_at) {
                NotFound::LookAgainLater => return Ok(None),
                NotFound::Send => {}
            },
            Err(e) => {
                tracing::warn!(order = %row.client_order_id, error = %e, "could not look an order up");
                return Ok(None);
            }
        }
    }
    let notional = dec(&row.notional)?;
    if let SendCheck::NotPlaced(why) = decide::check_send(&row.symbol, notional, limits) {
        if limits.may_send {
            tracing::error!(order = %row.client_order_id, %notional, ceiling = %limits.ceiling, "an intent above the plan's per-run maximum was not sent");
        }
        return end_unsent(store, row, OrderState::NotPlaced, &why, now).await;
    }
    let req = OrderRequest {
        symbol: row.symbol.clone(),
        side: Side::Buy,
        amount: Amount::Notional(notional),
        kind: OrderKind::Market,
        time_in_force: TimeInForce::Day,
        client_order_id: row.client_order_id.clone(),
    };
    let e = match broker.submit_order(&req).await {
        Ok(o) => return record(engine, row, &o, now).await,
        Err(e) => e,
    };
    Ok(match decide::on_send_error(&e, fresh) {
        SendFailure::LookUpElseReject { message } => {
            match broker.order_by_client_id(&row.client_order_id).await {
                Ok(Some(o)) => record(engine, row, &o, now).await?,
                Ok(None) => end_unsent(store, row, OrderState::Rejected, &message, now).await?,
                Err(e) => {
                    let why = format!(
                        "the broker refused a resend ({message}) and the look-up failed ({e})"
                    );
                    mark_unknown(engine, row, &why, now).await?
                }
            }
        }
        SendFailure::Reject { message } => {
            end_unsent(store, row, OrderState::Rejected, &message, now).await?
        }
        SendFailure::Reconnect { then, why } => {
            store
                .set_connection_status(connection_id, "reconnect_needed")
                .await?;
            if then == OrderState::Unknown {
                // An earlier send may have been placed: it is looked up once
                // the connection works again.
                mark_unknown(engine, row, why, now).await?
            } else {
                end_unsent(store, row, then, why, now).await?
            }
        }
        SendFailure::RetryLater => None,
        SendFailure::UnknownThenLookUp { why } => {
            let unknown = mark_unknown(engine, row, &why, now).await?;
            match broker.order_by_client_id(&row.client_order_id).await {
                Ok(Some(o)) => record(engine, row, &o, now).await?,
                _ => unknown,
            }
        }
    })
}

async fn mark_unknown(
    engine: &Engine,
    row: &SlotOrderRow,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    tracing::warn!(order = %row.client_order_id, why, "order outcome unknown; will look it up");
    let update = OrderUpdate {
        filled_qty: &row.filled_qty,
        reason: Some(why),
        ..OrderUpdate::to(OrderState::Unknown)
    };
    move_order(&engine.state().store, row, update, now).await
}

/// The slot's outcome from its orders' outcomes (see [`decide::run_outcome`]).
fn outcome(orders: &[SlotOrderRow]) -> anyhow::Result<(RunStatus, Option<String>)> {
    let filled: Vec<Decimal> = orders
        .iter()
        .map(|o| dec(&o.filled_qty))
        .collect::<anyhow::Result<_>>()?;
    let views: Vec<OrderOutcome<'_>> = orders
        .iter()
        .zip(filled)
        .map(|(o, filled_qty)| OrderOutcome {
            symbol: &o.symbol,
            state: o.status,
            filled_qty,
            reason: o.reason.as_deref(),
        })
        .collect();
    Ok(decide::run_outcome(&views))
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
