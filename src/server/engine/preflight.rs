//! A run's own pre-flight: smart DCA's gate and carry, the plan's total, and
//! each symbol with the broker. It decides what the run buys, or why it is
//! skipped; nothing is written here (the carry is written with the run's
//! intents or its final skip).

use super::Engine;
use super::decide::money;
use super::run::dec;
use crate::domain::plan::Mode;
use crate::domain::strategy::dca::{LegDecision, decide_leg};
use crate::server::broker::{Asset, Broker, BrokerError};
use crate::server::db::rows::{PlanLegRow, PlanRow, SlotRow};
use chrono::Duration;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What to buy per symbol.
pub(super) type Buys = Vec<(String, Decimal)>;
/// Smart DCA's carry a run decided: per symbol, the amount it now carries
/// ("0" for a carry this run spends). Written only with the run's intents or
/// its final skip, so a retried run never adds to it twice.
pub(super) type Carries = Vec<(String, String)>;

/// What pre-flight decided.
pub(super) enum Preflight {
    Buy { buys: Buys, carries: Carries },
    Skip { reason: String, carries: Carries },
}

impl Preflight {
    pub(super) fn skip(reason: String) -> Self {
        Preflight::Skip {
            reason,
            carries: Vec::new(),
        }
    }
}

/// One symbol's answer, asked for once.
type AssetCell = OnceCell<Option<Asset>>;

/// What the broker said about each symbol during one batch, per trading
/// environment (every account of an environment sees the same assets): a
/// batch asks once per symbol, not once per run. Kept for one batch only,
/// seconds, so a halt announced since is still seen by the next pass; an
/// error is not kept.
#[derive(Default)]
pub(super) struct AssetMemo {
    seen: std::sync::Mutex<HashMap<(String, String), Arc<AssetCell>>>,
}

impl AssetMemo {
    /// The asset `symbol` in `environment`, asked of `broker` the first time.
    async fn asset(
        &self,
        environment: &str,
        symbol: &str,
        broker: &dyn Broker,
    ) -> Result<Option<Asset>, BrokerError> {
        let cell = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((environment.to_owned(), symbol.to_owned()))
            .or_default()
            .clone();
        cell.get_or_try_init(|| broker.asset(symbol)).await.cloned()
    }
}

/// The plan's mode, parsed; a stored mode that does not parse is an error,
/// never a different mode.
pub(super) fn plan_mode(plan: &PlanRow) -> anyhow::Result<Mode> {
    serde_json::from_str(&plan.mode)
        .map_err(|e| anyhow::anyhow!("plan {} has an unreadable mode: {e}", plan.id))
}

/// Checks each symbol, applies smart DCA and the plan's total, and says what
/// to buy (the account and its cash are checked for the whole group).
#[tracing::instrument(
    name = "preflight",
    skip_all,
    fields(run_id = slot.id, plan_id = plan.id, user_id = plan.user_id)
)]
pub(super) async fn preflight(
    engine: &Engine,
    plan: &PlanRow,
    slot: &SlotRow,
    legs: &[(PlanLegRow, String)],
    (broker, environment, assets): (&dyn Broker, &str, &AssetMemo),
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
        let closes = match mode {
            Mode::Smart { sma_days, .. } => {
                completed_closes(broker, &leg.symbol, slot, usize::from(sma_days)).await?
            }
            Mode::Pure => Vec::new(),
        };
        // The one decision the backtester makes too (domain::strategy::dca).
        match decide_leg(&mode, amount, stored, &closes) {
            LegDecision::Skip { reason, carry } => {
                if carry != stored {
                    carries.push((leg.symbol.clone(), carry.normalize().to_string()));
                }
                skipped.push(format!("{}: {reason}", leg.symbol));
            }
            LegDecision::Buy { spend } => {
                if !stored.is_zero() {
                    carries.push((leg.symbol.clone(), "0".into()));
                }
                buys.push((leg.symbol.clone(), spend));
            }
        }
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
        match assets.asset(environment, symbol, broker).await? {
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
pub(super) async fn completed_closes(
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
