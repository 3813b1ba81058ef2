//! Execute: the user approves one recommendation. Everything is checked
//! again on the server at that moment, and any refusal says which check and
//! its numbers, and changes nothing. Only then is the decision written (with
//! its audit entry, in one transaction) and one order placed under a
//! deterministic client order id, so a double click, a retry or a crash
//! between the two can never place a second order.

use super::{audit, rails_for, settings_row};
use crate::domain::entitlement::Feature;
use crate::domain::recommendation::Side;
use crate::domain::recommendation::rails::{self, Proposed, Rails};
use crate::domain::run::OrderState;
use crate::dto::recommendations::{ExecuteOutcome, LIVE_CONFIRMATION};
use crate::error::AppError;
use crate::server::auth::{ClientInfo, CurrentUser};
use crate::server::broker::{
    self, Amount, Broker, BrokerError, Order, OrderKind, OrderRequest, TimeInForce,
};
use crate::server::connections::{Environment, broker_for_page};
use crate::server::db::recommendations::{Decision, OrderOutcome, RecommendationRow};
use crate::server::db::rows::stored_decimal;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

/// The client order id of a recommendation's order: the same on every try.
pub fn client_order_id(recommendation_id: i64) -> String {
    format!("df-rec-{recommendation_id}")
}

/// Whole days of paper trading on Dripfeed since `first`, at `now`.
pub fn paper_days(first: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u32 {
    first.map_or(0, |f| {
        u32::try_from((now - f).num_days().max(0)).unwrap_or(u32::MAX)
    })
}

fn unavailable(e: &BrokerError) -> AppError {
    tracing::warn!(error = %e, "the broker could not be asked before an execution");
    AppError::Unavailable(
        "Your broker could not be reached to check the price and your account; nothing was ordered. Try again in a moment."
            .into(),
    )
}

/// The kill switches, the user's first.
pub(crate) async fn trading_halt(state: &AppState, user_id: i64) -> anyhow::Result<Option<String>> {
    if let Some(stop) = state.store.global_kill_switch().await? {
        return Ok(Some(format!(
            "An administrator stopped all trading on this Dripfeed{}; nothing was ordered.",
            if stop.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", stop.reason)
            }
        )));
    }
    if state.store.trading_stopped_at(user_id).await?.is_some() {
        return Ok(Some(
            "You stopped all trading. Reset the kill switch on this page to execute again; nothing was ordered."
                .into(),
        ));
    }
    Ok(None)
}

/// Executes one of the user's recommendations. `confirmation`: what the
/// user typed (live accounts need [`LIVE_CONFIRMATION`] exactly).
#[tracing::instrument(skip_all, fields(user_id = user.id, recommendation_id = id))]
pub async fn execute(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
    confirmation: Option<String>,
    now: DateTime<Utc>,
) -> Result<ExecuteOutcome, AppError> {
    // Whose, and still open.
    let Some(rec) = state.store.recommendation_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    super::views::still_open_at(&rec, now, user)?;
    crate::server::billing::require(state, user.id, Feature::Recommendations).await?;
    if let Some(why) = trading_halt(state, user.id).await? {
        return Err(AppError::Conflict(why));
    }
    let Some(connection) = state
        .store
        .connection_of(user.id, rec.connection_id)
        .await?
    else {
        return Err(AppError::Conflict(
            "The account this recommendation is for is no longer connected; nothing was ordered."
                .into(),
        ));
    };
    if connection.status != "active" {
        return Err(AppError::Conflict(
            "Your broker no longer accepts this account's credentials; reconnect it first. Nothing was ordered."
                .into(),
        ));
    }
    let live = Environment::parse(&connection.environment) == Some(Environment::Live);
    if live {
        let typed = confirmation.as_deref().map(str::trim).unwrap_or_default();
        if typed != LIVE_CONFIRMATION {
            return Err(AppError::invalid(
                "confirmation",
                format!("This is a live account: type {LIVE_CONFIRMATION} to execute this order."),
            ));
        }
        let required = state.settings.live_paper_days;
        let days = paper_days(state.store.first_paper_trade_at(user.id).await?, now);
        if days < required {
            return Err(AppError::Conflict(format!(
                "Live execution opens after {required} days of paper trading on Dripfeed; you have {days}, so {} to go. Nothing was ordered.",
                required - days
            )));
        }
    }

    // The account and the price as they are now.
    let (broker, _) = broker_for_page(state, &connection)?;
    let account = broker.account().await.map_err(|e| unavailable(&e))?;
    let positions = broker.positions().await.map_err(|e| unavailable(&e))?;
    let trades = broker
        .latest_trades(std::slice::from_ref(&rec.symbol))
        .await
        .map_err(|e| unavailable(&e))?;
    let Some(trade) = trades.get(&rec.symbol) else {
        return Err(AppError::Unavailable(format!(
            "No current price for {} is available; nothing was ordered.",
            rec.symbol
        )));
    };
    let current = trade.price;
    let reference = stored_decimal("reference_price", &rec.reference_price)?;
    let held = positions
        .iter()
        .find(|p| p.symbol == rec.symbol)
        .map_or(Decimal::ZERO, |p| p.qty);
    let mut quantity = stored_decimal("quantity", &rec.quantity)?;
    if rec.side == Side::Sell {
        if held <= Decimal::ZERO {
            return Err(AppError::Conflict(format!(
                "You no longer hold {}; nothing was ordered.",
                rec.symbol
            )));
        }
        quantity = quantity.min(held);
    }
    let settings = settings_row(state, user.id).await?;
    let rails = rails_for(state, &settings)?;
    let proposed = Proposed {
        side: rec.side,
        reference_price: reference,
        current_price: current,
        notional: crate::domain::money::cents(quantity * current),
        equity: account.equity,
        position_value: crate::domain::money::cents(held.max(Decimal::ZERO) * current),
        open_positions: u32::try_from(positions.iter().filter(|p| !p.qty.is_zero()).count())
            .unwrap_or(u32::MAX),
    };
    if let Err(refusal) = rails::check(&rails, &proposed) {
        return Err(AppError::Conflict(refusal.to_string()));
    }

    // The decision, audited with what was shown and the rails' numbers.
    let order_id = client_order_id(rec.id);
    let detail = decision_detail(&rec, &rails, &proposed, quantity, live, &order_id);
    let decided = state
        .store
        .decide_recommendation(
            user.id,
            rec.id,
            Decision::Execute {
                client_order_id: &order_id,
                automatic: false,
            },
            now,
            audit(user, client, "recommendation.executed", detail),
        )
        .await?;
    if !decided {
        return Err(AppError::Conflict(
            "This recommendation was decided or expired a moment ago; nothing was ordered.".into(),
        ));
    }
    let status = place(state, &broker, &rec, quantity, now).await?;
    let message = match status {
        OrderState::Rejected => {
            "Your broker refused the order; see the reason on the recommendation.".into()
        }
        OrderState::Unknown => {
            "The order was sent, but your broker's answer did not arrive; Dripfeed will look it up."
                .into()
        }
        _ => format!(
            "Ordered: {} {} {} at market.",
            rec.side.as_str(),
            quantity.normalize(),
            rec.symbol
        ),
    };
    Ok(ExecuteOutcome {
        order_status: status.as_str().to_owned(),
        message,
    })
}

/// What the audit log keeps of an execution: the recommendation as shown,
/// the rails and the numbers they were checked against.
fn decision_detail(
    rec: &RecommendationRow,
    rails: &Rails,
    p: &Proposed,
    quantity: Decimal,
    live: bool,
    client_order_id: &str,
) -> serde_json::Value {
    json!({
        "recommendation_id": rec.id,
        "symbol": rec.symbol,
        "signal": rec.signal.as_str(),
        "side": rec.side.as_str(),
        "quantity": quantity.normalize().to_string(),
        "reference_price": rec.reference_price,
        "stop_loss": rec.stop_loss,
        "take_profit": rec.take_profit,
        "reason": rec.reason,
        "snapshot": serde_json::from_str::<serde_json::Value>(&rec.snapshot).unwrap_or_default(),
        "checked": {
            "current_price": p.current_price.to_string(),
            "notional": p.notional.to_string(),
            "equity": p.equity.to_string(),
            "position_value": p.position_value.to_string(),
            "open_positions": p.open_positions,
        },
        "rails": {
            "max_position_pct": rails.max_position_pct.to_string(),
            "max_open_positions": rails.max_open_positions,
            "min_equity": rails.min_equity.to_string(),
            "max_drift_pct": rails.max_drift_pct.to_string(),
        },
        "live": live,
        "client_order_id": client_order_id,
    })
}

/// Places the recommendation's order once and records what the broker said;
/// the order's status as recorded.
pub(crate) async fn place(
    state: &AppState,
    broker: &dyn Broker,
    rec: &RecommendationRow,
    quantity: Decimal,
    now: DateTime<Utc>,
) -> anyhow::Result<OrderState> {
    let request = OrderRequest {
        symbol: rec.symbol.clone(),
        side: match rec.side {
            Side::Buy => broker::Side::Buy,
            Side::Sell => broker::Side::Sell,
        },
        amount: Amount::Qty(quantity),
        kind: OrderKind::Market,
        time_in_force: TimeInForce::Day,
        client_order_id: client_order_id(rec.id),
    };
    let outcome = match broker.submit_order(&request).await {
        Ok(order) => return record(state, rec.id, &order, now).await,
        // A reused id (the order was placed before and its answer lost), or
        // an answer that never came: the broker is asked, never sent again.
        Err(BrokerError::Api {
            code: Some(broker::INVALID_REQUEST),
            ..
        })
        | Err(BrokerError::Uncertain(_))
        | Err(BrokerError::Timeout) => {
            match broker.order_by_client_id(&request.client_order_id).await {
                Ok(Some(order)) => return record(state, rec.id, &order, now).await,
                Ok(None) | Err(_) => (OrderState::Unknown, None),
            }
        }
        Err(BrokerError::Api { message, .. }) => (OrderState::Rejected, Some(message)),
        Err(e) => (OrderState::Unknown, Some(e.to_string())),
    };
    state
        .store
        .set_recommendation_order(
            rec.id,
            &OrderOutcome {
                at: now,
                broker_order_id: None,
                status: outcome.0,
                error: outcome.1.as_deref(),
                filled_qty: None,
                filled_avg_price: None,
            },
        )
        .await?;
    Ok(outcome.0)
}

/// Records the broker's view of the order; its status as recorded.
pub(crate) async fn record(
    state: &AppState,
    id: i64,
    order: &Order,
    now: DateTime<Utc>,
) -> anyhow::Result<OrderState> {
    let status = crate::server::engine::broker_state(&order.status);
    state
        .store
        .set_recommendation_order(
            id,
            &OrderOutcome {
                at: now,
                broker_order_id: Some(&order.id),
                status,
                error: None,
                filled_qty: Some(order.filled_qty.normalize().to_string()),
                filled_avg_price: order.filled_avg_price.map(|p| p.normalize().to_string()),
            },
        )
        .await?;
    Ok(status)
}
