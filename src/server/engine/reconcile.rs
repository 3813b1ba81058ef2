//! Reconciliation and the dead-man check, run at start-up and every few
//! minutes. Slots in flight are resolved by the normal lease takeover; this
//! pass reports what should never happen: an order at the broker carrying
//! Dripfeed's client-order-id prefix that Dripfeed has no record of, and a
//! slot still unresolved well past its time. Each finding is logged as an
//! error and written to the audit log (admins see it there), once.

use super::Engine;
use crate::domain::calendar;
use crate::domain::run::RunStatus;
use crate::server::auth::{ClientInfo, audit};
use crate::server::broker::{Broker as _, OrderFilter};
use crate::server::connections::broker_for;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Pending or running this long after its time, a slot is stuck.
pub const STUCK_AFTER: Duration = Duration::minutes(30);
/// Submitted this long after its session closed, a slot is stuck (day
/// orders end at the close).
pub const STUCK_AFTER_CLOSE: Duration = Duration::hours(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Client order ids found at a broker without a record here.
    pub unknown_orders: Vec<String>,
    /// Slots unresolved past their time.
    pub stuck_slots: Vec<i64>,
}

pub async fn reconcile(engine: &Engine, now: DateTime<Utc>) -> anyhow::Result<Findings> {
    let state = engine.state();
    let store = &state.store;
    let mut findings = Findings::default();
    let system = ClientInfo::default();

    // Every connection's orders, several brokers at a time.
    let ids = store.plan_connection_ids().await?;
    let connections = store.connections_by_ids(&ids).await?;
    let work = connections.into_iter().map(|connection| {
        let state = state.clone();
        async move {
            let connection_id = connection.id;
            let broker = match broker_for(&state, &connection) {
                Ok((b, _)) => b,
                Err(e) => {
                    tracing::warn!(connection_id, error.cause_chain = ?e, "reconciliation has no broker");
                    return None;
                }
            };
            match broker.orders(OrderFilter::All, 500).await {
                Ok(orders) => Some((connection, orders)),
                Err(e) => {
                    tracing::warn!(connection_id, error = %e, "reconciliation could not list orders");
                    None
                }
            }
        }
    });
    let listed = super::bounded(state.settings.engine_concurrency, work).await;

    for (connection, orders) in listed.into_iter().flatten() {
        let connection_id = connection.id;
        let ours: Vec<String> = orders
            .iter()
            .filter(|o| o.client_order_id.starts_with("df-"))
            .map(|o| o.client_order_id.clone())
            .collect();
        let known = store.known_client_order_ids(&ours).await?;
        for order in orders
            .iter()
            .filter(|o| o.client_order_id.starts_with("df-") && !known.contains(&o.client_order_id))
        {
            findings.unknown_orders.push(order.client_order_id.clone());
            if engine.first_report(&format!("order:{}", order.client_order_id)) {
                tracing::error!(
                    connection_id,
                    client_order_id = %order.client_order_id,
                    broker_order_id = %order.id,
                    "an order with Dripfeed's prefix exists at the broker without a record here"
                );
                audit(
                    store,
                    &system,
                    None,
                    Some(connection.user_id),
                    "engine.unknown_order",
                    json!({
                        "connection_id": connection_id,
                        "client_order_id": order.client_order_id,
                        "broker_order_id": order.id,
                        "symbol": order.symbol,
                    }),
                )
                .await?;
            }
        }
    }

    for slot in store.unfinished_slots().await? {
        let stuck = match slot.status {
            RunStatus::Submitted => calendar::trading_day(slot.trading_date)
                .is_none_or(|d| now > d.close_at() + STUCK_AFTER_CLOSE),
            _ => now > slot.scheduled_at + STUCK_AFTER,
        };
        if !stuck {
            continue;
        }
        findings.stuck_slots.push(slot.id);
        if engine.first_report(&format!("slot:{}", slot.id)) {
            tracing::error!(slot_id = slot.id, plan_id = slot.plan_id, status = %slot.status,
                scheduled_at = %slot.scheduled_at, "a slot is still unresolved well past its time");
            let user = store.plan_by_id(slot.plan_id).await?.map(|p| p.user_id);
            audit(
                store,
                &system,
                None,
                user,
                "engine.slot_stuck",
                json!({
                    "slot_id": slot.id,
                    "plan_id": slot.plan_id,
                    "status": slot.status.as_str(),
                    "scheduled_at": slot.scheduled_at,
                }),
            )
            .await?;
        }
    }
    Ok(findings)
}
