//! Server functions, grouped by feature, and the wire types they exchange. Each
//! one is a thin adapter: who is asking, parse the input into domain types, call
//! the server-side use-case, map the result to a DTO.

pub mod admin;
pub mod auth;
pub mod billing;
pub mod broker;
pub mod catalog;
pub mod notifications;
pub mod plans;
pub mod security;
