//! The user interface. `components` are reusable and prop-driven and never call
//! server functions; `pages` are one per route and own their data loading.

pub mod components;
pub mod error_template;
pub mod pages;
