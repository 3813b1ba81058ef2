//! The pure domain: value types and rules with no I/O, shared by the server and
//! the browser. Nothing here imports from the rest of the app.

pub mod backtest;
pub mod calendar;
pub mod entitlement;
#[cfg(test)]
mod fuzz;
pub mod legal;
pub mod money;
pub mod plan;
pub mod recommendation;
pub mod run;
pub mod schedule;
pub mod strategy;
#[cfg(test)]
pub mod testing;
pub mod tier;
pub mod when;
