//! Browser-only code (the `hydrate` build): bindings to JavaScript libraries
//! the pages use. Components reach it from their effects only, so the server
//! render never depends on it.

pub mod events;
pub mod uplot;
