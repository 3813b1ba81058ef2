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
