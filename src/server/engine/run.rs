//! Running claimed slots: pre-flight (per account and minute, then per run),
//! intents, submission, follow-up and each slot's outcome. See the module
//! above for the rules.

use super::{Engine, FOLLOW_EVERY, TooLate, too_late};
use crate::domain::calendar;
use crate::domain::plan::Mode;
use crate::domain::strategy::{self, Gate};
use crate::server::broker::alpaca::AlpacaBroker;
use crate::server::broker::{
    Amount, Broker, BrokerError, Order, OrderKind, OrderRequest, OrderStatus, Side, TimeInForce,
};
use crate::server::connections::broker_for;
use crate::server::db::rows::{ConnectionRow, PlanLegRow, PlanRow, SlotOrderRow, SlotRow};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// The idempotency key of one order: derived from the plan, the slot's
/// instant and the symbol, so it is the same on every attempt and after any
/// crash. At most 3 + 19 + 1 + 10 + 1 + 10 = 44 characters (Alpaca allows 48
/// for ours); `df-` marks orders Dripfeed placed.
pub fn client_order_id(plan_id: i64, at: DateTime<Utc>, symbol: &str) -> String {
    format!("df-{plan_id}-{}-{symbol}", at.timestamp())
}

const TERMINAL: [&str; 6] = [
    "filled",
    "canceled",
    "expired",
    "rejected",
    "not_placed",
    "failed",
];

fn is_terminal(status: &str) -> bool {
    TERMINAL.contains(&status)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

fn money(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
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

/// What pre-flight decided.
enum Preflight {
    Buy(Buys),
    Skip(String),
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
        async move { run_group(&engine, connection, group, now).await }
    });
    Ok(super::bounded(concurrency, work).await.into_iter().sum())
}

/// One account's runs due in one minute (one group of [`run_batch`]).
async fn run_group(
    engine: &Engine,
    connection: Option<ConnectionRow>,
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
            slot, plan, orders, ..
        } = run;
        match follow(engine, &plan, &slot, orders, &HashSet::new(), now, known).await {
            Ok(true) => finished += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(slot_id = slot.id, error.cause_chain = ?e, "slot run failed"),
        }
    }
    if !fresh.is_empty() {
        let connection = connection.as_ref().zip(broker.as_ref().map(|(b, _)| b));
        match start(engine, connection, fresh, now).await {
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
    fresh: Vec<Fresh>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let store = &engine.state().store;
    let mut finished = 0;
    // Whole-group refusals first: no usable connection or account.
    let group_skip: Option<String> = match &connection {
        None => Some("The plan has no brokerage connection.".into()),
        Some((c, _)) if c.status != "active" => Some(
            "Alpaca no longer accepts this connection's credentials; reconnect it to resume buying."
                .into(),
        ),
        Some(_) => None,
    };
    if let Some(reason) = group_skip {
        for (slot, plan, _) in &fresh {
            finish(engine, plan, slot, "skipped", Some(&reason)).await?;
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
            finish(engine, plan, slot, "skipped", Some(&reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }

    // Each run's own checks.
    let mut buying: Vec<(SlotRow, PlanRow, Buys, Vec<String>)> = Vec::new();
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
            finish(engine, &plan, &slot, "missed", Some(&reason)).await?;
            finished += 1;
            continue;
        }
        let decision = if plan.status != "active" {
            Ok(Preflight::Skip(format!(
                "The plan was {} before this run.",
                plan.status
            )))
        } else {
            preflight(engine, &plan, &slot, &legs, broker).await
        };
        match decision {
            Ok(Preflight::Skip(reason)) => {
                finish(engine, &plan, &slot, "skipped", Some(&reason)).await?;
                finished += 1;
            }
            Ok(Preflight::Buy(buys)) => {
                // Carried dollars this run spends are cleared with its intents.
                let carried: Vec<String> = legs
                    .iter()
                    .filter(|(leg, carry)| {
                        !dec(carry).is_zero() && buys.iter().any(|(s, _)| *s == leg.symbol)
                    })
                    .map(|(leg, _)| leg.symbol.clone())
                    .collect();
                buying.push((slot, plan, buys, carried));
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
        .flat_map(|(_, _, buys, _)| buys.iter().map(|(_, a)| *a))
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
        for (slot, plan, _, _) in &buying {
            finish(engine, plan, slot, "skipped", Some(&reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }

    for (slot, plan, buys, carried) in buying {
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
                .insert_intents(plan.id, slot.id, &intents, &carried)
                .await?;
            let fresh: HashSet<i64> = orders.iter().map(|o| o.id).collect();
            let known: (&dyn Broker, i64) = (broker, connection.id);
            follow(engine, &plan, &slot, orders, &fresh, now, Some(known)).await
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
            finish(engine, plan, slot, "skipped", Some(reason)).await?;
            finished += 1;
        }
        return Ok(finished);
    }
    for (slot, plan) in runs {
        let closed = calendar::trading_day(slot.trading_date).is_none_or(|d| d.close_at() <= now);
        if closed {
            let reason =
                format!("The broker could not be reached before the session closed ({e}).");
            finish(engine, plan, slot, "failed", Some(&reason)).await?;
            finished += 1;
        } else {
            // Try again when the lease runs out.
            tracing::warn!(slot_id = slot.id, error = %e, "pre-flight could not reach the broker");
        }
    }
    Ok(finished)
}

/// Moves a run's orders forward and ends the run once every order has; a
/// run still waiting on the broker is parked for a later check. `known`: the
/// plan's broker and connection id, when the caller has them. `Ok(true)` once
/// it has reached its outcome.
async fn follow(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    orders: Vec<SlotOrderRow>,
    fresh: &HashSet<i64>,
    now: DateTime<Utc>,
    known: Option<(&dyn Broker, i64)>,
) -> anyhow::Result<bool> {
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
    let mut orders = orders;
    for order in orders.iter_mut().filter(|o| !is_terminal(&o.status)) {
        let updated = match broker {
            Some((broker, connection_id)) => {
                let fresh = fresh.contains(&order.id);
                advance(engine, broker, connection_id, order, fresh, now).await?
            }
            None if order.status == "intent" => {
                store
                    .update_order(
                        order.id,
                        "not_placed",
                        None,
                        "0",
                        None,
                        Some("the brokerage connection was removed"),
                        now,
                    )
                    .await?
            }
            None => None,
        };
        if let Some(updated) = updated {
            *order = updated;
        }
    }

    if orders.iter().all(|o| is_terminal(&o.status)) {
        let (status, reason) = outcome(&orders);
        finish(engine, plan, slot, status, reason.as_deref()).await?;
        Ok(true)
    } else {
        store
            .park_slot(slot.id, &engine.owner, now + FOLLOW_EVERY)
            .await?;
        Ok(false)
    }
}

/// Ends the slot with its outcome and tells the owner, once: only the call
/// that actually ends it notifies.
async fn finish(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let state = engine.state();
    if state
        .store
        .finish_slot(slot.id, &engine.owner, status, reason)
        .await?
    {
        crate::server::notifications::run_outcome(state, plan, slot.scheduled_at, status, reason)
            .await?;
    }
    Ok(())
}

/// Checks each symbol, applies smart DCA and the plan's total, and says what
/// to buy (the account and its cash are checked for the whole group).
async fn preflight(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    legs: &[(PlanLegRow, String)],
    broker: &dyn Broker,
) -> Result<Preflight, BrokerError> {
    let store = &engine.state().store;
    let internal = |e: anyhow::Error| BrokerError::Decode(format!("{e:#}"));
    let mode: Mode = serde_json::from_str(&plan.mode).unwrap_or(Mode::Pure);
    let mut buys = Vec::new();
    let mut skipped = Vec::new();
    for (leg, carry) in legs {
        let amount = dec(&leg.amount) + dec(carry);
        if let Mode::Smart {
            sma_days,
            carry_skipped,
        } = mode
        {
            let closes = completed_closes(broker, &leg.symbol, slot, usize::from(sma_days)).await?;
            if let Gate::Skip { reason } = strategy::smart_dca(&closes, usize::from(sma_days)) {
                if carry_skipped {
                    store
                        .set_leg_carry(plan.id, &leg.symbol, &amount.normalize().to_string())
                        .await
                        .map_err(internal)?;
                }
                skipped.push(format!("{}: {reason}", leg.symbol));
                continue;
            }
        }
        buys.push((leg.symbol.clone(), amount));
    }
    if buys.is_empty() {
        return Ok(Preflight::Skip(format!(
            "Smart DCA skipped this run ({}).",
            skipped.join("; ")
        )));
    }

    if let Some(max_total) = plan.max_total.as_deref().map(dec) {
        let invested: Decimal = store
            .plan_orders(plan.id)
            .await
            .map_err(internal)?
            .iter()
            .map(
                |o| match (dec(&o.filled_qty), o.filled_avg_price.as_deref().map(dec)) {
                    (q, Some(p)) => (q * p).round_dp(2),
                    _ => Decimal::ZERO,
                },
            )
            .sum();
        let remaining = max_total - invested;
        let total: Decimal = buys.iter().map(|(_, a)| *a).sum();
        if remaining < Decimal::ONE {
            store.end_plan(plan.id).await.map_err(internal)?;
            return Ok(Preflight::Skip(format!(
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
                return Ok(Preflight::Skip(format!(
                    "{symbol} is no longer offered by the broker."
                )));
            }
            Some(a) if !a.tradable => {
                return Ok(Preflight::Skip(format!(
                    "{symbol} cannot be traded right now."
                )));
            }
            Some(a) if !a.fractionable => {
                return Ok(Preflight::Skip(format!(
                    "{symbol} is not fractionable, so a dollar amount cannot buy it."
                )));
            }
            Some(_) => {}
        }
        if *amount < Decimal::ONE {
            return Ok(Preflight::Skip(format!(
                "{symbol}: {} is below Alpaca's $1.00 minimum.",
                money(*amount)
            )));
        }
    }
    Ok(Preflight::Buy(buys))
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

fn order_status(o: &Order) -> &'static str {
    match o.status {
        OrderStatus::Filled => "filled",
        OrderStatus::Canceled => "canceled",
        OrderStatus::Expired => "expired",
        OrderStatus::Rejected => "rejected",
        _ => "submitted",
    }
}

async fn record(
    engine: &Engine,
    row: &SlotOrderRow,
    o: &Order,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    engine
        .state()
        .store
        .update_order(
            row.id,
            order_status(o),
            Some(&o.id),
            &o.filled_qty.normalize().to_string(),
            o.filled_avg_price
                .map(|p| p.normalize().to_string())
                .as_deref(),
            None,
            now,
        )
        .await
}

/// Moves one order forward: send it, find out what happened to it, or
/// refresh its fills. Returns the order as it now stands if it changed.
async fn advance(
    engine: &Engine,
    broker: &dyn Broker,
    connection_id: i64,
    row: &SlotOrderRow,
    fresh: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SlotOrderRow>> {
    let store = &engine.state().store;
    if row.status == "submitted"
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
            Ok(None) if row.status == "unknown" && now - row.updated_at < Duration::minutes(1) => {
                // Possibly still in flight at the broker: look again later.
                return Ok(None);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(order = %row.client_order_id, error = %e, "could not look an order up");
                return Ok(None);
            }
        }
    }
    let req = OrderRequest {
        symbol: row.symbol.clone(),
        side: Side::Buy,
        amount: Amount::Notional(dec(&row.notional)),
        kind: OrderKind::Market,
        time_in_force: TimeInForce::Day,
        client_order_id: row.client_order_id.clone(),
    };
    Ok(match broker.submit_order(&req).await {
        Ok(o) => record(engine, row, &o, now).await?,
        Err(BrokerError::Api {
            status: 422,
            message,
            ..
        }) if message.contains("client_order_id") => {
            // The broker has it already: an earlier send did arrive.
            match broker.order_by_client_id(&row.client_order_id).await {
                Ok(Some(o)) => record(engine, row, &o, now).await?,
                _ => mark_unknown(engine, row, "the broker reports it as a duplicate", now).await?,
            }
        }
        Err(BrokerError::Api {
            status: status @ (400..=499),
            message,
            ..
        }) if status != 429 => {
            store
                .update_order(row.id, "rejected", None, "0", None, Some(&message), now)
                .await?
        }
        Err(BrokerError::Unauthorized { .. }) => {
            store
                .set_connection_status(connection_id, "reconnect_needed")
                .await?;
            store
                .update_order(
                    row.id,
                    "not_placed",
                    None,
                    "0",
                    None,
                    Some("Alpaca refused the connection's credentials"),
                    now,
                )
                .await?
        }
        Err(BrokerError::RateLimited { .. }) | Err(BrokerError::Unreachable(_)) => {
            // Never reached the broker's order book: the intent stands and
            // is sent (with the same client order id) on a later pass.
            None
        }
        Err(e) => {
            let unknown = mark_unknown(engine, row, &e.to_string(), now).await?;
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
    engine
        .state()
        .store
        .update_order(
            row.id,
            "unknown",
            None,
            &row.filled_qty,
            None,
            Some(why),
            now,
        )
        .await
}

/// The slot's outcome from its orders' outcomes.
fn outcome(orders: &[SlotOrderRow]) -> (&'static str, Option<String>) {
    if orders.iter().all(|o| o.status == "filled") {
        return ("filled", None);
    }
    let problems: Vec<String> = orders
        .iter()
        .filter(|o| o.status != "filled")
        .map(|o| {
            let why = o
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let filled = dec(&o.filled_qty);
            if filled.is_zero() {
                format!("{} {}{why}", o.symbol, o.status.replace('_', " "))
            } else {
                format!(
                    "{} {} after filling {} shares{why}",
                    o.symbol,
                    o.status.replace('_', " "),
                    filled.normalize()
                )
            }
        })
        .collect();
    let reason = Some(problems.join("; "));
    if orders.iter().any(|o| !dec(&o.filled_qty).is_zero()) {
        return ("partially_filled", reason);
    }
    let first = orders
        .iter()
        .find(|o| o.status != "filled")
        .map(|o| o.status.as_str());
    let all_same = orders.iter().all(|o| Some(o.status.as_str()) == first);
    let status = match first {
        Some("rejected") if all_same => "rejected",
        Some("canceled") if all_same => "canceled",
        Some("expired") if all_same => "expired",
        _ => "failed",
    };
    (status, reason)
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
