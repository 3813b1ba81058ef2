//! ANALYZE: after the close, positions opened from recommendations are
//! checked against the stop-loss and take-profit set at entry, with the
//! broker's positions as they are now. A level reached becomes an exit
//! recommendation (valid until the next session's close); if the user
//! switched automatic exits on, its order is placed at once (one order,
//! deterministic client order id, audited), unless a kill switch is on.

use super::execute::{self, client_order_id, trading_halt};
use crate::domain::calendar::{self, TradingDay};
use crate::domain::money::{cents, dollars};
use crate::domain::recommendation::{Side, Signal, exit_reached};
use crate::domain::strategy::risk::Levels;
use crate::server::broker::Broker;
use crate::server::connections::broker_for;
use crate::server::db::audit::NewAuditEntry;
use crate::server::db::recommendations::{
    Decision, NewRecommendation, RecommendationRow, RecommendationSettingsRow,
};
use crate::server::db::rows::stored_decimal;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;

fn level(what: &str, v: &Option<String>) -> anyhow::Result<Option<Decimal>> {
    v.as_deref().map(|t| stored_decimal(what, t)).transpose()
}

/// Runs ANALYZE for one user for `day`; (exit orders placed, what happened).
#[tracing::instrument(name = "analyze", skip_all, fields(user_id = row.user_id, day = %day.date))]
pub async fn analyze_for(
    state: &AppState,
    row: &RecommendationSettingsRow,
    day: TradingDay,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, String)> {
    let user_id = row.user_id;
    let mut by_connection: BTreeMap<i64, Vec<RecommendationRow>> = BTreeMap::new();
    for entry in state.store.open_entries(user_id).await? {
        by_connection
            .entry(entry.connection_id)
            .or_default()
            .push(entry);
    }
    let tier = crate::server::billing::tier_of(state, user_id).await?;
    let halt = trading_halt(state, user_id).await?;
    let automatic = row.auto_exits && tier.recommendations && halt.is_none();
    let next = calendar::next_trading_day_from(day.date + Duration::days(1));
    let (mut proposed, mut placed) = (Vec::new(), 0);
    for (connection_id, entries) in by_connection {
        let Some(connection) = state.store.connection_of(user_id, connection_id).await? else {
            continue;
        };
        if connection.status != "active" {
            continue;
        }
        let (broker, _) = broker_for(state, &connection)?;
        let positions = broker.positions().await?;
        for entry in entries {
            let Some(position) = positions.iter().find(|p| p.symbol == entry.symbol) else {
                continue;
            };
            let Some(price) = position.current_price else {
                continue;
            };
            let levels = Levels {
                stop: level("stop_loss", &entry.stop_loss)?,
                target: level("take_profit", &entry.take_profit)?,
            };
            let Some(signal) = exit_reached(&levels, price) else {
                continue;
            };
            let bought = level("filled_qty", &entry.filled_qty)?
                .filter(|q| !q.is_zero())
                .unwrap_or(stored_decimal("quantity", &entry.quantity)?);
            let quantity = bought.min(position.qty);
            if quantity <= Decimal::ZERO {
                continue;
            }
            let (name, mark) = match signal {
                Signal::StopLoss => ("stop-loss", levels.stop),
                _ => ("take-profit", levels.target),
            };
            let mark = mark.unwrap_or(price);
            let reason = format!(
                "{} is at {}, {} the {name} of {} set when you bought it; selling {} shares closes the position.",
                entry.symbol,
                dollars(price),
                if signal == Signal::StopLoss {
                    "at or below"
                } else {
                    "at or above"
                },
                dollars(mark),
                quantity.normalize()
            );
            let new = NewRecommendation {
                user_id,
                connection_id,
                trading_date: day.date,
                symbol: entry.symbol.clone(),
                signal,
                side: Side::Sell,
                filters: entry.filters.clone(),
                quantity: quantity.normalize().to_string(),
                notional: cents(quantity * price).to_string(),
                reference_price: price.normalize().to_string(),
                bar_date: day.date,
                stop_loss: None,
                take_profit: None,
                reason: reason.clone(),
                snapshot: serde_json::to_string(&vec![
                    ("Price".to_owned(), price),
                    (format!("{name} level"), mark),
                ])?,
                ai_analysis: None,
                created_at: now,
                expires_at: next.close_at(),
                entry_id: Some(entry.id),
            };
            let Some(id) = state.store.insert_recommendation(&new).await? else {
                continue;
            };
            let mut line = format!(
                "Sell {} {} ({name} reached)",
                quantity.normalize(),
                entry.symbol
            );
            if automatic && place_exit(state, &broker, user_id, id, &new, now).await? {
                placed += 1;
                line.push_str(", sold automatically as you chose");
            }
            proposed.push((id, line));
        }
    }
    if let Some((first, _)) = proposed.first() {
        let lines: Vec<String> = proposed.iter().map(|(_, l)| l.clone()).collect();
        let title = if proposed.len() == 1 {
            "An exit to review".to_owned()
        } else {
            format!("{} exits to review", proposed.len())
        };
        super::notify(state, user_id, "recommendation", &title, &lines, *first).await?;
    }
    let scored = super::settle::fill_forward_returns(state, user_id, now).await?;
    Ok((
        placed,
        format!(
            "{} exits proposed, {placed} placed automatically, {scored} scored",
            proposed.len()
        ),
    ))
}

/// Executes an exit under the user's automatic-exit rule: decided (and
/// audited) once, then one order; `false` if it was already decided.
async fn place_exit(
    state: &AppState,
    broker: &dyn Broker,
    user_id: i64,
    id: i64,
    new: &NewRecommendation,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let cid = client_order_id(id);
    let entry = NewAuditEntry {
        actor_user_id: None,
        subject_user_id: Some(user_id),
        action: "recommendation.auto_exit".into(),
        detail: json!({
            "recommendation_id": id,
            "entry_id": new.entry_id,
            "symbol": new.symbol,
            "signal": new.signal.as_str(),
            "quantity": new.quantity,
            "reference_price": new.reference_price,
            "reason": new.reason,
            "client_order_id": cid,
        }),
        ip: None,
    };
    let decided = state
        .store
        .decide_recommendation(
            user_id,
            id,
            Decision::Execute {
                client_order_id: &cid,
                automatic: true,
            },
            now,
            entry,
        )
        .await?;
    if !decided {
        return Ok(false);
    }
    let Some(rec) = state.store.recommendation_of(user_id, id).await? else {
        return Ok(false);
    };
    let quantity = stored_decimal("quantity", &rec.quantity)?;
    execute::place(state, broker, &rec, quantity, now).await?;
    Ok(true)
}
