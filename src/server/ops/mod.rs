//! Operating Dripfeed: the system health page ([`health`]), the alerts to
//! administrators ([`alerts`]), and the recent outcomes they read
//! ([`stats`]).

pub mod alerts;
pub mod health;
pub mod stats;
