//! The Content-Security-Policy of rendered pages. Leptos gives every SSR
//! response a fresh nonce and puts it on the inline scripts it writes
//! (hydration, streamed resources); the policy admits those scripts, our own
//! bundle, and WebAssembly compilation, and nothing else.

use axum::http::{HeaderValue, header};
use leptos::prelude::use_context;

/// The policy for a page rendered with `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

/// Sets the page policy on the current SSR response.
pub fn set_page_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}
