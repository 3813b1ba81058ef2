//! Reusable, prop-driven view pieces.

pub mod action_errors;
pub mod chart;
pub mod field;
pub mod form_fields;
pub mod format;
pub mod getting_started;
pub mod layout;
pub mod tier_card;
