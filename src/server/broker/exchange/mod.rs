//! The embedded paper exchange. So far: its clock and calendar, its asset
//! universe and the simulated market data it trades at. Its HTTP API (Trading
//! API v2 and Market Data v2 shapes) comes next.

pub mod clock;
pub mod market;
