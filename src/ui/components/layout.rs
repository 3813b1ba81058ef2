//! The header with navigation and the footer with the disclaimer, shared by every
//! page.

use crate::domain::legal::DISCLAIMER;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <nav class="nav" aria-label="Main">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">
                        "◔"
                    </span>
                    " Dripfeed"
                </A>
                <ul class="nav-links">
                    <li>
                        <A href="/pricing">"Pricing"</A>
                    </li>
                    <li>
                        <A href="/terms">"Terms"</A>
                    </li>
                    <li>
                        <A href="/dashboard">"Dashboard"</A>
                    </li>
                    <li>
                        <A href="/plans">"Plans"</A>
                    </li>
                    <li>
                        <A href="/billing">"Billing"</A>
                    </li>
                    <li>
                        <A href="/account">"Account"</A>
                    </li>
                    <li>
                        <A href="/login">"Log in"</A>
                    </li>
                    <li>
                        <A href="/signup" attr:class="button primary small">
                            "Sign up"
                        </A>
                    </li>
                </ul>
            </nav>
        </header>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p class="disclaimer" data-testid="disclaimer">
                <strong>"Disclaimer. "</strong>
                {DISCLAIMER}
            </p>
            <p class="footer-links">
                <a href="/terms">"Terms of Service"</a>
                " · Market data in demo mode is simulated."
            </p>
        </footer>
    }
}
