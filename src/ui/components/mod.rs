//! Reusable, prop-driven view pieces.

pub mod layout;
pub mod tier_card;
