//! Reusable, prop-driven view pieces.

pub mod field;
pub mod layout;
pub mod tier_card;
