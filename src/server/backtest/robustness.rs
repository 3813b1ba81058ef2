//! The Backtest page's robustness runs, on the same prepared question as the
//! comparison (`report::prepare`: the caller's plan, their tier, their bars).
//!
//! - Monte Carlo in slices: the page asks for paths `first..first + count`
//!   and sums them itself with the domain's own `summarize`, so a long run
//!   shows progress, can be cancelled between slices, and holds no job on
//!   the server (any instance can answer any slice). The tier's path limit
//!   is checked on every slice.
//! - Rolling start dates: the comparison from every `step`-th trading day,
//!   each start given at least a year.

use super::report::{blocking, prepare};
use crate::domain::backtest::monte_carlo::{History, run_path};
use crate::domain::backtest::rolling::{Rolling, every, rolling};
use crate::domain::tier::Tier;
use crate::dto::backtest::{
    BacktestQuery, MONTE_CARLO_SLICE as SLICE_PATHS, MonteCarloChunk, PathResults,
};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::state::AppState;
use rayon::prelude::*;

/// The most start dates one rolling run compares.
pub const MAX_STARTS: usize = 400;

fn cheapest_with_paths(table: &[Tier]) -> String {
    table
        .iter()
        .filter(|t| t.backtesting().monte_carlo_paths > 0)
        .min_by_key(|t| t.monthly_price)
        .map(|t| format!(" They are included from {} ({}).", t.name, t.price_label()))
        .unwrap_or_default()
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn monte_carlo_slice(
    state: &AppState,
    user: &CurrentUser,
    q: &BacktestQuery,
    slice: MonteCarloChunk,
) -> Result<PathResults, AppError> {
    let tier = crate::server::billing::tier_of(state, user.id).await?;
    let max = tier.backtesting().monte_carlo_paths;
    if max == 0 {
        return Err(AppError::Locked(format!(
            "Monte Carlo runs are not included in your {} plan.{}",
            tier.name,
            cheapest_with_paths(state.settings.tiers.tiers())
        )));
    }
    if slice.count == 0 || slice.count > SLICE_PATHS {
        return Err(AppError::invalid(
            "paths",
            format!("Ask for 1 to {SLICE_PATHS} paths at a time."),
        ));
    }
    if u64::from(slice.first) + u64::from(slice.count) > u64::from(max) {
        return Err(AppError::Locked(format!(
            "Your {} plan runs up to {max} Monte Carlo paths.",
            tier.name
        )));
    }
    if !(1..=250).contains(&slice.block_days) {
        return Err(AppError::invalid(
            "block_days",
            "A block is 1 to 250 trading days.",
        ));
    }
    let p = prepare(state, user, q).await?;
    blocking(move || {
        let symbols: Vec<String> = p.legs.iter().map(|(s, _)| s.clone()).collect();
        let history = History::new(&p.bars, &symbols, p.from, p.to)?;
        let input = p.input();
        let block = slice.block_days as usize;
        (u64::from(slice.first)..u64::from(slice.first) + u64::from(slice.count))
            .into_par_iter()
            .map(|i| run_path(&input, &history, &p.mode, slice.seed, i, block))
            .collect()
    })
    .await
}

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn rolling_starts(
    state: &AppState,
    user: &CurrentUser,
    q: &BacktestQuery,
    step: u32,
) -> Result<Rolling, AppError> {
    if !(1..=250).contains(&step) {
        return Err(AppError::invalid(
            "step",
            "Step 1 to 250 trading days between start dates.",
        ));
    }
    let p = prepare(state, user, q).await?;
    let last_start = p.to - chrono::Duration::days(365);
    if last_start < p.from {
        return Err(AppError::invalid(
            "from",
            "Rolling start dates need more than a year between From and To.",
        ));
    }
    let dates: Vec<chrono::NaiveDate> = p
        .bars
        .get(&p.legs[0].0)
        .map(|b| b.iter().map(|b| b.date).collect())
        .unwrap_or_default();
    let starts = every(&dates, p.from, last_start, step as usize);
    if starts.len() > MAX_STARTS {
        return Err(AppError::invalid(
            "step",
            format!(
                "That is {} start dates; take a longer step (at most {MAX_STARTS}).",
                starts.len()
            ),
        ));
    }
    blocking(move || rolling(&p.input(), &p.bars, &p.mode, Some(&p.benchmark), &starts)).await
}
