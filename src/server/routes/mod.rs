//! Plain axum routes: everything that is not a page or a server function.

pub mod alpaca_oauth;
pub mod exports;
pub mod health;
pub mod live;
pub mod v1;
