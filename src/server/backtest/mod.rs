//! Backtests on the server: bars from a CSV file (or, later, the broker),
//! handed to the pure backtester (`domain::backtest`), and the command line.

pub mod cli;
pub mod csv;
pub mod monte_carlo;
pub mod plan_cli;
pub mod sweep;
