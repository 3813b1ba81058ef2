//! Server functions, grouped by feature. Each one is a thin adapter: who is
//! asking, parse the input into domain types, call the server-side use-case.
//! The wire types they exchange live in `crate::dto`; each module here
//! re-exports its own, so `api::plans::PlanInput` still names it.

pub mod admin;
pub mod auth;
pub mod backtest;
pub mod billing;
pub mod broker;
pub mod catalog;
pub mod notifications;
pub mod performance;
pub mod plans;
pub mod recommendations;
pub mod security;
pub mod tokens;
