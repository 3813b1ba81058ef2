//! Orders whose outcome Dripfeed does not know yet, looked up at the broker
//! by their client order id (never sent blindly again), and the forward
//! returns the scorecard learns from.

use super::execute::{self, trading_halt};
use crate::domain::recommendation::forward_return;
use crate::domain::run::OrderState;
use crate::server::backtest::history::{Source, last_closed_day};
use crate::server::broker::Broker;
use crate::server::connections::broker_for;
use crate::server::db::recommendations::{OrderOutcome, RecommendationRow};
use crate::server::db::rows::stored_decimal;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};

/// How long after a decision, or a look-up, an order is looked up (again).
pub const SETTLE_AFTER: Duration = Duration::seconds(60);

async fn not_placed(
    state: &AppState,
    id: i64,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    state
        .store
        .set_recommendation_order(
            id,
            &OrderOutcome {
                at: now,
                broker_order_id: None,
                status: OrderState::NotPlaced,
                error: Some(why),
                filled_qty: None,
                filled_avg_price: None,
            },
        )
        .await
}

/// Looks up every unsettled recommendation order; how many changed state.
/// An approved order the broker never received (a crash between the
/// decision and the submission) is placed now under its same id while the
/// recommendation is still valid and no kill switch is on; otherwise it is
/// recorded as not placed, with why.
pub async fn settle(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut changed = 0;
    for rec in state
        .store
        .unsettled_recommendation_orders(now - SETTLE_AFTER)
        .await?
    {
        let Some(cid) = rec.client_order_id.clone() else {
            continue;
        };
        let Some(connection) = state
            .store
            .connection_of(rec.user_id, rec.connection_id)
            .await?
        else {
            not_placed(state, rec.id, "The account was disconnected.", now).await?;
            changed += 1;
            continue;
        };
        let (broker, _) = broker_for(state, &connection)?;
        let before = rec.order_status;
        let after = match broker.order_by_client_id(&cid).await {
            Ok(Some(order)) => execute::record(state, rec.id, &order, now).await?,
            Ok(None) => match (
                now < rec.expires_at,
                trading_halt(state, rec.user_id).await?,
            ) {
                (true, None) => {
                    let quantity = stored_decimal("quantity", &rec.quantity)?;
                    execute::place(state, &broker, &rec, quantity, now).await?
                }
                (false, _) => {
                    not_placed(
                        state,
                        rec.id,
                        "The recommendation expired before its order reached the broker.",
                        now,
                    )
                    .await?;
                    OrderState::NotPlaced
                }
                (true, Some(why)) => {
                    not_placed(state, rec.id, &why, now).await?;
                    OrderState::NotPlaced
                }
            },
            Err(e) => {
                tracing::warn!(recommendation_id = rec.id, error = %e, "could not look up a recommendation's order");
                continue;
            }
        };
        if Some(after) != before {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Fills in the forward returns of the user's decided and expired
/// recommendations as bars arrive: after 1, 5 and 20 trading days from the
/// bar the recommendation came from, against its reference price.
pub async fn fill_forward_returns(
    state: &AppState,
    user_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let through = last_closed_day(now);
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let mut filled = 0;
    let mut sources: std::collections::HashMap<i64, Option<Source>> = Default::default();
    for rec in state.store.unscored_recommendations(user_id).await? {
        if rec.bar_date >= through {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = sources.entry(rec.connection_id) {
            let source = match state
                .store
                .connection_of(user_id, rec.connection_id)
                .await?
            {
                Some(c) => {
                    let (broker, host) = broker_for(state, &c)?;
                    Some(Source::Broker {
                        broker: Box::new(broker),
                        host,
                    })
                }
                None => None,
            };
            slot.insert(source);
        }
        let Some(Some(source)) = sources.get(&rec.connection_id) else {
            continue;
        };
        let last = through.min(rec.bar_date + Duration::days(45));
        let bars = match source
            .daily_bars(
                &state.store,
                &rec.symbol,
                rec.bar_date + Duration::days(1),
                last,
                today,
            )
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(symbol = rec.symbol, error = %e, "no bars for a forward return");
                continue;
            }
        };
        if let Some(forward) = forward_of(&rec, &bars)? {
            state.store.set_forward_returns(rec.id, &forward).await?;
            filled += 1;
        }
    }
    Ok(filled)
}

/// The forward returns `bars` (the days after the recommendation's bar)
/// make known; `None` when they add nothing.
fn forward_of(
    rec: &RecommendationRow,
    bars: &[crate::domain::strategy::Bar],
) -> anyhow::Result<Option<[Option<String>; 3]>> {
    let reference = stored_decimal("reference_price", &rec.reference_price)?;
    let known = [&rec.forward_1d, &rec.forward_5d, &rec.forward_20d];
    let mut out: [Option<String>; 3] = Default::default();
    let mut any = false;
    for (i, days) in crate::domain::recommendation::scorecard::HORIZONS
        .iter()
        .enumerate()
    {
        if known[i].is_some() {
            continue;
        }
        if let Some(bar) = bars.get(*days as usize - 1)
            && let Some(r) = forward_return(rec.side, reference, bar.close)
        {
            out[i] = Some(r.normalize().to_string());
            any = true;
        }
    }
    Ok(any.then_some(out))
}
