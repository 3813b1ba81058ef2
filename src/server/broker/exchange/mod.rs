//! The embedded paper exchange. So far: its asset universe and the simulated
//! market data it trades at.

pub mod market;
