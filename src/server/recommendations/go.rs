//! GO: the morning analysis for one user. The strategy layer's rules (the
//! MA crossover with its volume and trend filters, ATR sizing against the
//! account's equity, stop and target levels) run over each watchlist symbol's
//! daily bars through the last close; each signal becomes a pending
//! recommendation that expires at that day's close. Then the user is told.

use super::{settings_row_connection, watchlist};
use crate::domain::calendar::TradingDay;
use crate::domain::recommendation::{self, Rules, Side, Signal};
use crate::domain::strategy::Bar;
use crate::server::backtest::history::{Source, last_closed_day};
use crate::server::broker::Broker;
use crate::server::connections::broker_for;
use crate::server::db::recommendations::{NewRecommendation, RecommendationSettingsRow};
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Calendar days of bars a GO reads: enough for the 200-day trend filter.
const HISTORY_DAYS: i64 = 450;

/// Runs GO for one user on `day`; (recommendations created, what happened).
#[tracing::instrument(name = "go", skip_all, fields(user_id = row.user_id, day = %day.date))]
pub async fn go_for(
    state: &AppState,
    row: &RecommendationSettingsRow,
    day: TradingDay,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, String)> {
    let tier = crate::server::billing::tier_of(state, row.user_id).await?;
    if !tier.recommendations {
        return Ok((0, "the tier does not include recommendations".into()));
    }
    let Some(connection) = settings_row_connection(state, row).await? else {
        return Ok((0, "no connected account".into()));
    };
    let (broker, host) = broker_for(state, &connection)?;
    let account = broker.account().await?;
    let held: HashMap<String, Decimal> = broker
        .positions()
        .await?
        .into_iter()
        .map(|p| (p.symbol, p.qty))
        .collect();
    let source = Source::Broker {
        broker: Box::new(broker),
        host,
    };
    let through = last_closed_day(now);
    let from = through - Duration::days(HISTORY_DAYS);
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let rules = Rules::default();
    let filters = recommendation::filters_label(&rules);
    let mut created = Vec::new();
    for symbol in watchlist(row) {
        let bars: Vec<Bar> = match source
            .daily_bars(&state.store, &symbol, from, through, today)
            .await
        {
            Ok(bars) => bars,
            Err(e) => {
                tracing::warn!(symbol, error = %e, "no bars for a watchlist symbol");
                continue;
            }
        };
        let held = held.get(&symbol).copied().unwrap_or_default();
        let Some(c) = recommendation::candidate(&symbol, &bars, &rules, account.equity, held)
        else {
            continue;
        };
        let ai = super::analysis::analysis_for(state, &c, &bars, tier.ai_analyst, now).await;
        let new = NewRecommendation {
            user_id: row.user_id,
            connection_id: connection.id,
            trading_date: day.date,
            symbol: c.symbol.clone(),
            signal: c.signal,
            side: c.side,
            filters: filters.to_owned(),
            quantity: c.quantity.normalize().to_string(),
            notional: c.notional.to_string(),
            reference_price: c.reference_price.normalize().to_string(),
            bar_date: c.date,
            stop_loss: c.levels.stop.map(|v| v.round_dp(2).normalize().to_string()),
            take_profit: c
                .levels
                .target
                .map(|v| v.round_dp(2).normalize().to_string()),
            reason: c.reason.clone(),
            snapshot: serde_json::to_string(&c.values)?,
            ai_analysis: ai,
            created_at: now,
            expires_at: day.close_at(),
            entry_id: None,
        };
        if let Some(id) = state.store.insert_recommendation(&new).await? {
            created.push((id, c));
        }
    }
    if !created.is_empty() {
        let lines: Vec<String> = created
            .iter()
            .map(|(_, c)| {
                format!(
                    "{} {} {} ({}, about {})",
                    match c.side {
                        Side::Buy => "Buy",
                        Side::Sell => "Sell",
                    },
                    c.quantity.normalize(),
                    c.symbol,
                    match c.signal {
                        Signal::Entry => "a moving-average cross up",
                        _ => "a moving-average cross down",
                    },
                    crate::domain::money::dollars(c.notional)
                )
            })
            .collect();
        let n = created.len();
        let title = if n == 1 {
            "1 new recommendation".to_owned()
        } else {
            format!("{n} new recommendations")
        };
        super::notify(
            state,
            row.user_id,
            "recommendation",
            &title,
            &lines,
            created[0].0,
        )
        .await?;
    }
    Ok((
        created.len(),
        format!("{} symbols analysed", watchlist(row).len()),
    ))
}
