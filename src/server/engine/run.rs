//! Running one claimed slot: pre-flight, intents, submission, follow-up and
//! the slot's outcome. See the module above for the rules.

use super::{Engine, FOLLOW_EVERY};
use crate::domain::calendar;
use crate::domain::plan::Mode;
use crate::domain::strategy::{self, Gate};
use crate::server::broker::{
    Amount, Broker, BrokerError, Order, OrderKind, OrderRequest, OrderStatus, Side, TimeInForce,
};
use crate::server::connections::broker_for;
use crate::server::db::rows::{PlanRow, SlotOrderRow, SlotRow};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::HashSet;
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

/// What pre-flight decided.
enum Preflight {
    Buy(Vec<(String, Decimal)>),
    Skip(String),
}

/// Runs a claimed slot; `Ok(true)` once it has reached its outcome.
pub async fn run(engine: &Engine, slot: &SlotRow, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let state = engine.state();
    let store = &state.store;
    let owner = engine.owner.as_str();
    let Some(plan) = store.plan_by_id(slot.plan_id).await? else {
        return Ok(false);
    };
    let mut orders = store.slot_orders(slot.id).await?;
    let mut fresh: HashSet<i64> = HashSet::new();

    let connection = match plan.connection_id {
        Some(id) => store.connection_by_id(id).await?,
        None => None,
    };
    if orders.is_empty() {
        let decision = match &connection {
            None => Preflight::Skip("The plan has no brokerage connection.".into()),
            Some(_) if plan.status != "active" => {
                Preflight::Skip(format!("The plan was {} before this run.", plan.status))
            }
            Some(c) if c.status != "active" => Preflight::Skip(
                "Alpaca no longer accepts this connection's credentials; reconnect it to resume buying."
                    .into(),
            ),
            Some(c) => {
                let (broker, _) = broker_for(state, c)?;
                match preflight(engine, &plan, slot, &broker).await {
                    Ok(d) => d,
                    Err(BrokerError::Unauthorized { .. }) => {
                        store.set_connection_status(c.id, "reconnect_needed").await?;
                        Preflight::Skip(
                            "Alpaca refused this connection's credentials; reconnect it to resume buying."
                                .into(),
                        )
                    }
                    Err(e) => {
                        let closed = calendar::trading_day(slot.trading_date)
                            .is_none_or(|d| d.close_at() <= now);
                        if closed {
                            let reason = format!(
                                "The broker could not be reached before the session closed ({e})."
                            );
                            finish(engine, &plan, slot, "failed", Some(&reason)).await?;
                            return Ok(true);
                        }
                        // Try again when the lease runs out.
                        tracing::warn!(slot_id = slot.id, error = %e, "pre-flight could not reach the broker");
                        return Ok(false);
                    }
                }
            }
        };
        match decision {
            Preflight::Skip(reason) => {
                finish(engine, &plan, slot, "skipped", Some(&reason)).await?;
                return Ok(true);
            }
            Preflight::Buy(buys) => {
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
                store.insert_intents(plan.id, slot.id, &intents).await?;
                orders = store.slot_orders(slot.id).await?;
                fresh = orders.iter().map(|o| o.id).collect();
            }
        }
    }

    if let Some(c) = &connection {
        let (broker, _) = broker_for(state, c)?;
        for order in orders.iter().filter(|o| !is_terminal(&o.status)) {
            advance(engine, &broker, c.id, order, fresh.contains(&order.id), now).await?;
        }
    } else {
        for order in orders.iter().filter(|o| !is_terminal(&o.status)) {
            if order.status == "intent" {
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
                    .await?;
            }
        }
    }

    let orders = store.slot_orders(slot.id).await?;
    if orders.iter().all(|o| is_terminal(&o.status)) {
        let (status, reason) = outcome(&orders);
        finish(engine, &plan, slot, status, reason.as_deref()).await?;
        Ok(true)
    } else {
        store.park_slot(slot.id, owner, now + FOLLOW_EVERY).await?;
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

/// Checks the account and each symbol, applies smart DCA and the plan's
/// total, and says what to buy.
async fn preflight(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    broker: &dyn Broker,
) -> Result<Preflight, BrokerError> {
    let store = &engine.state().store;
    let internal = |e: anyhow::Error| BrokerError::Decode(format!("{e:#}"));
    let account = broker.account().await?;
    if account.status != "ACTIVE" || account.trading_blocked {
        return Ok(Preflight::Skip(format!(
            "The brokerage account is not open for trading (status {}).",
            account.status
        )));
    }
    let mode: Mode = serde_json::from_str(&plan.mode).unwrap_or(Mode::Pure);
    let legs = store.legs_with_carry(plan.id).await.map_err(internal)?;
    let mut buys = Vec::new();
    let mut skipped = Vec::new();
    for (leg, carry) in &legs {
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
    let total: Decimal = buys.iter().map(|(_, a)| *a).sum();
    if account.non_marginable_buying_power < total {
        return Ok(Preflight::Skip(format!(
            "Not enough cash: this run needs {}, the account has {} available (Dripfeed never buys on margin).",
            money(total),
            money(account.non_marginable_buying_power)
        )));
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
) -> anyhow::Result<()> {
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
/// refresh its fills.
async fn advance(
    engine: &Engine,
    broker: &dyn Broker,
    connection_id: i64,
    row: &SlotOrderRow,
    fresh: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let store = &engine.state().store;
    if row.status == "submitted"
        && let Some(id) = &row.broker_order_id
    {
        match broker.order(id).await {
            Ok(o) => record(engine, row, &o, now).await?,
            Err(e) => {
                tracing::warn!(order = %row.client_order_id, error = %e, "could not refresh an order")
            }
        }
        return Ok(());
    }
    // An intent from an earlier attempt, or a send with no answer: ask the
    // broker before anything else.
    if !fresh {
        match broker.order_by_client_id(&row.client_order_id).await {
            Ok(Some(o)) => return record(engine, row, &o, now).await,
            Ok(None) if row.status == "unknown" && now - row.updated_at < Duration::minutes(1) => {
                // Possibly still in flight at the broker: look again later.
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(order = %row.client_order_id, error = %e, "could not look an order up");
                return Ok(());
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
    match broker.submit_order(&req).await {
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
                .await?;
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
                .await?;
        }
        Err(BrokerError::RateLimited { .. }) | Err(BrokerError::Unreachable(_)) => {
            // Never reached the broker's order book: the intent stands and
            // is sent (with the same client order id) on a later pass.
        }
        Err(e) => {
            mark_unknown(engine, row, &e.to_string(), now).await?;
            if let Ok(Some(o)) = broker.order_by_client_id(&row.client_order_id).await {
                record(engine, row, &o, now).await?;
            }
        }
    }
    Ok(())
}

async fn mark_unknown(
    engine: &Engine,
    row: &SlotOrderRow,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
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
