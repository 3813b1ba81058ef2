//! Backtests: the caller's plan (or an ad-hoc one) compared with the other
//! DCA mode, a lump sum and a benchmark bought on the same days, within the
//! caller's tier.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

pub use crate::dto::backtest::*;

#[server(input = Json)]
pub async fn run_backtest(query: BacktestQuery) -> Result<BacktestReport, AppError> {
    use crate::server::{auth, backtest};
    let (ctx, user) = auth::require_user().await?;
    backtest::report::run(&ctx.state, &user, &query).await
}

/// Paths `slice.first..` of a Monte Carlo of the backtest `query` (the page
/// asks slice by slice, to show progress and to stop when asked).
#[server(input = Json)]
pub async fn monte_carlo_slice(
    query: BacktestQuery,
    slice: MonteCarloChunk,
) -> Result<PathResults, AppError> {
    use crate::server::{auth, backtest};
    let (ctx, user) = auth::require_user().await?;
    backtest::robustness::monte_carlo_slice(&ctx.state, &user, &query, slice).await
}

/// The comparison from every `step`-th trading day of the range.
#[server(input = Json)]
pub async fn rolling_starts(
    query: BacktestQuery,
    step: u32,
) -> Result<crate::domain::backtest::rolling::Rolling, AppError> {
    use crate::server::{auth, backtest};
    let (ctx, user) = auth::require_user().await?;
    backtest::robustness::rolling_starts(&ctx.state, &user, &query, step).await
}

/// The MA crossover over one symbol, or a sweep of fast × slow pairs.
#[server(input = Json)]
pub async fn run_strategy(query: StrategyQuery) -> Result<StrategyReport, AppError> {
    use crate::server::{auth, backtest};
    let (ctx, user) = auth::require_user().await?;
    backtest::strategy::run(&ctx.state, &user, &query).await
}
