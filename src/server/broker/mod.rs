//! Brokerage. Later modules add the `Broker` trait the rest of the app uses and
//! the Alpaca client; `exchange` is the embedded Alpaca-compatible paper
//! exchange (the demo broker and the test fake).

pub mod exchange;
