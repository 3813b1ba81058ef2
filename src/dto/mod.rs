//! Wire types: what server functions send and receive, grouped by feature.
//! Plain serde structs over `domain` values; they compile for both targets and
//! import nothing but `domain`, so the server's use-cases can build them without
//! depending on the server-function layer (`api` re-exports each module).

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
pub mod stamp;
pub mod tokens;
