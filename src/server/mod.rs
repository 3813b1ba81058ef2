//! Everything that only runs on the server, compiled with `ssr` only: the
//! use-cases (`admin`, `auth`, `connections`, `plans`, `portfolio`,
//! `notifications`, `billing`), what they stand on (`db`, `engine`, `broker`,
//! `crypto`, `mail`), the plain HTTP `routes`, and the process (`cli`, `config`,
//! `serve`, `startup`, `state`, `telemetry`). Nothing here imports the server-function
//! or UI layers (wire types come from `dto`); `startup` alone mounts the app
//! and the routes.

pub mod admin;
pub mod analyst;
pub mod assets;
pub mod auth;
pub mod backtest;
pub mod billing;
pub mod broker;
pub mod changelog;
pub mod cli;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod csp;
pub mod db;
pub mod engine;
pub mod mail;
pub mod metrics;
pub mod notifications;
pub mod ops;
pub mod plans;
pub mod portfolio;
pub mod recommendations;
pub mod routes;
pub mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tokens;
