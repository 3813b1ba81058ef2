//! The header with navigation (aware of who is signed in) and the footer with
//! the disclaimer, shared by every page.

use crate::api::auth::{LogOut, Me, whoami};
use crate::domain::legal::DISCLAIMER;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// The header: the brand, and navigation for who is asking. Signed out:
/// Pricing, Log in, Sign up. Signed in: the app's pages, notifications with
/// the unread count, and an account menu with the e-mail and Log out; Admin
/// only for admins. Rendered on the server with the session (a blocking
/// resource), so the first HTML is already right; asked again on every
/// navigation, so signing in or out and reading notifications show at once.
/// On narrow screens the links fold into a Menu button.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let location = use_location();
    let me = Resource::new_blocking(move || location.pathname.get(), |_| whoami());
    let open = RwSignal::new(false);
    // Any navigation closes the compact menu.
    Effect::new(move |_| {
        location.pathname.track();
        open.set(false);
    });
    view! {
        <header class="site-header">
            <nav class="nav" aria-label="Main">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">
                        "◔"
                    </span>
                    " Dripfeed"
                </A>
                <button
                    type="button"
                    class="nav-toggle"
                    aria-controls="nav-links"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    "Menu"
                </button>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let me = me.await.ok().flatten();
                        view! { <NavLinks me open /> }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}

#[component]
fn NavLinks(me: Option<Me>, open: RwSignal<bool>) -> impl IntoView {
    let close_on_escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    };
    let links = match me {
        None => view! {
            <li>
                <A href="/pricing">"Pricing"</A>
            </li>
            <li>
                <A href="/login">"Log in"</A>
            </li>
            <li>
                <A href="/signup" attr:class="button primary small">
                    "Sign up"
                </A>
            </li>
        }
        .into_any(),
        Some(me) => view! {
            <li>
                <A href="/dashboard">"Dashboard"</A>
            </li>
            <li>
                <A href="/plans">"Plans"</A>
            </li>
            <li>
                <A href="/recommendations">"Recommendations"</A>
            </li>
            <li>
                <A href="/history">"History"</A>
                <A href="/backtest">"Backtest"</A>
            </li>
            <li>
                <A href="/brokerage">"Brokerage"</A>
            </li>
            <li>
                <A href="/notifications">
                    "Notifications"
                    {(me.unread_notifications > 0).then(|| view! {
                        " "
                        <span class="count" data-testid="unread-count">
                            {me.unread_notifications}
                            <span class="sr-only">" unread"</span>
                        </span>
                    })}
                </A>
            </li>
            <li>
                <A href="/billing">"Billing"</A>
            </li>
            {me.is_admin.then(|| view! {
                <li>
                    <A href="/admin/users">"Admin"</A>
                </li>
            })}
            <li>
                <AccountMenu email=me.email />
            </li>
        }
        .into_any(),
    };
    view! {
        <ul id="nav-links" class="nav-links" class:open=move || open.get() on:keydown=close_on_escape>
            {links}
        </ul>
    }
}

/// The signed-in user's e-mail, opening onto their account pages and Log out.
#[component]
fn AccountMenu(email: String) -> impl IntoView {
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <details class="account-menu" data-testid="account-menu">
            <summary>
                <span class="sr-only">"Signed in as "</span>
                <span data-testid="header-email">{email}</span>
            </summary>
            <ul>
                <li>
                    <A href="/account">"Account"</A>
                </li>
                <li>
                    <A href="/account/security">"Security"</A>
                </li>
                <li>
                    <A href="/account/settings">"Settings"</A>
                </li>
                <li>
                    <ActionForm action=log_out>
                        <button type="submit" class="button small-plain">
                            "Log out"
                        </button>
                    </ActionForm>
                </li>
            </ul>
        </details>
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
                " · "
                <a href="/whats-new">"What's new"</a>
                " · "
                <a href="/api">"API"</a>
                " · Market data in demo mode is simulated."
            </p>
        </footer>
    }
}
