//! Everything that only runs on the server: configuration, storage, HTTP routes,
//! and (in later modules) the engine and integrations. Compiled with `ssr` only.

pub mod admin;
pub mod auth;
pub mod billing;
pub mod broker;
pub mod cli;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod csp;
pub mod db;
pub mod engine;
pub mod mail;
pub mod notifications;
pub mod plans;
pub mod portfolio;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
