//! Backtests on the server: bars from a CSV file or the user's broker
//! (cached in the database), handed to the pure backtester
//! (`domain::backtest`); the command line and the Backtest page's use-case.

pub mod cli;
pub mod csv;
#[cfg(test)]
mod csv_fuzz;
pub mod export;
pub mod history;
pub mod jobs;
pub mod labels;
pub mod monte_carlo;
pub mod plan_cli;
pub mod report;
pub mod robustness;
pub mod strategy;
pub mod sweep;
