//! Billing with Stripe (issue #6). So far: webhook signature verification.

pub mod signature;
