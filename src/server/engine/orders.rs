//! Following a run's orders: send each intent, find out what happened to it or
//! refresh its fills, record every move (checked against the order state
//! machine), and end the run once every order has ended. What each broker
//! answer means is decided in `decide.rs`.

use super::decide::{self, Limits, NotFound, OrderOutcome, SendCheck, SendFailure};
use super::preflight::plan_mode;
use super::run::{Legs, dec, finish};
use super::{Engine, FOLLOW_EVERY};
use crate::domain::run::{OrderState, RunStatus};
use crate::server::broker::{Amount, Broker, Order, OrderKind, OrderRequest, Side, TimeInForce};
use crate::server::connections::broker_for;
use crate::server::db::OrderUpdate;
use crate::server::db::rows::{PlanRow, SlotOrderRow, SlotRow};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// How one pass may send a run's orders.
pub(super) struct Sending<'a> {
    /// The plan's broker and connection id, when the caller has them (else
    /// they are looked up).
    pub(super) known: Option<(&'a dyn Broker, i64)>,
    /// False when the account's owner is disabled.
    pub(super) halt: Option<&'static str>,
    /// The orders this pass wrote as intents (sent for the first time).
    pub(super) fresh: &'a HashSet<i64>,
}

/// Moves a run's orders forward and ends the run once every order has; a
/// run still waiting on the broker is parked for a later check. `Ok(true)`
/// once it has reached its outcome.
#[tracing::instrument(
    name = "run",
    skip_all,
    fields(run_id = slot.id, plan_id = plan.id, user_id = plan.user_id)
)]
pub(super) async fn follow(
    engine: &Engine,
    (slot, plan, legs): (&SlotRow, &PlanRow, &Legs),
    orders: Vec<SlotOrderRow>,
    sending: Sending<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Sending { known, halt, fresh } = sending;
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
                let limits = Limits { ceiling, halt };
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

/// The most each symbol of the plan may buy in one run (its amount plus
/// the carry the plan's rules allow): the hard ceiling checked at send time.
pub(super) fn per_run_ceilings(
    plan: &PlanRow,
    legs: &Legs,
) -> anyhow::Result<HashMap<String, Decimal>> {
    let mode = plan_mode(plan)?;
    legs.iter()
        .map(|(leg, _)| Ok((leg.symbol.clone(), mode.per_run_ceiling(dec(&leg.amount)?))))
        .collect()
}

/// Ends an order that nothing was bought for (not placed, or refused),
/// saying why.
pub(super) async fn end_unsent(
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
pub(super) async fn move_order(
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

pub(super) async fn record(
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
pub(super) async fn advance(
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
        if limits.halt.is_none() {
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
    let sent = std::time::Instant::now();
    let answer = broker.submit_order(&req).await;
    crate::server::metrics::order_submitted(sent.elapsed().as_secs_f64());
    let e = match answer {
        Ok(o) => {
            tracing::info!(order = %row.client_order_id, symbol = %row.symbol, %notional, "order submitted");
            return record(engine, row, &o, now).await;
        }
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

pub(super) async fn mark_unknown(
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
pub(super) fn outcome(orders: &[SlotOrderRow]) -> anyhow::Result<(RunStatus, Option<String>)> {
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
