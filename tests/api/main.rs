//! The integration suite: the real app on a real database, over real HTTP.
//! Runs on SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` is a
//! `postgres://` URL (each test then gets its own fresh database).

mod abuse;
mod access_sweep;
mod alpaca_contract;
mod assets;
mod auth;
mod backtest_cli;
mod backtests;
mod billing;
mod brokerage;
mod cli;
mod engine;
mod engine_processes;
mod fuzz;
mod health;
mod helpers;
mod metrics;
mod operations;
mod pages;
mod performance;
mod plans;
mod pricing;
mod public_api;
mod recommendations;
mod secret_scan;
mod security;
#[path = "../support/seed.rs"]
mod seed;
mod status_codes;
mod strategy_backtests;
mod stream;
mod subscriptions;
mod time_zones;
mod transport;
