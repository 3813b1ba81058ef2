//! Dripfeed: self-hostable recurring investing on Alpaca.
//!
//! The crate is compiled twice. The `ssr` build is the server binary (axum, the
//! database, the scheduling engine); the `hydrate` build is the WASM library that
//! takes over the server-rendered pages in the browser. Everything under
//! `server/` is server-only; every other module compiles for both targets. This is
//! the only file with module-level `cfg` gates.
//!
//! Layers point one way: `ui` → `api` (server functions) → `server` (use-cases)
//! → `server::{db, engine, broker, billing}`; `dto` (wire types) and `domain`
//! (pure rules) sit below everything and import neither. `make layers` checks it.

// The embedded exchange writes Alpaca's ~40-field account object with `json!`.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod domain;
pub mod dto;
pub mod error;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
pub mod browser;

/// Entry point of the WASM bundle: hydrates the server-rendered page, then marks
/// `<body data-hydrated>` so tests (and people) can tell the app is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    if let Some(body) = leptos::prelude::document().body() {
        // Failing to set a test marker must not break the page.
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
