//! The HTML shell, the root `<App/>` with its route table, and the layout every
//! page shares (navigation, the disclaimer footer).

use crate::ui::components::layout::{SiteFooter, SiteHeader};
use crate::ui::pages::{
    AccountPage, AdminAuditPage, AdminHealthPage, AdminUsersPage, ApiReferencePage, BacktestPage,
    BillingPage, BillingSuccessPage, BrokeragePage, DashboardPage, HistoryPage, InboxPage,
    LandingPage, LogInPage, LoginCodePage, NotFoundPage, NotificationsPage, PlanDetailPage,
    PlanEditPage, PlanPerformancePage, PlanWizardPage, PlansPage, PricingPage, ScorecardPage,
    SecurityPage, SettingsPage, SignUpPage, StrategyPage, TermsPage, WhatsNewPage,
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{StaticSegment, path};

/// The document around the app, rendered on the server only. `stylesheet` is
/// the URL of the (content-hashed) stylesheet.
pub fn shell(options: LeptosOptions, stylesheet: std::sync::Arc<str>) -> impl IntoView {
    // Pages get a script policy that admits only our bundle and the inline
    // hydration scripts carrying this response's nonce.
    #[cfg(feature = "ssr")]
    crate::server::csp::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" id="leptos" href=stylesheet.to_string() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Dripfeed".to_owned() } else { format!("{page} · Dripfeed") }
        } />
        <Router>
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <SiteHeader />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=StaticSegment("") view=LandingPage />
                    <Route path=StaticSegment("pricing") view=PricingPage />
                    <Route path=StaticSegment("terms") view=TermsPage />
                    <Route path=path!("/whats-new") view=WhatsNewPage />
                    <Route path=StaticSegment("api") view=ApiReferencePage />
                    <Route path=StaticSegment("signup") view=SignUpPage />
                    <Route path=StaticSegment("login") view=LogInPage />
                    <Route path=StaticSegment("account") view=AccountPage />
                    <Route path=StaticSegment("brokerage") view=BrokeragePage />
                    <Route path=StaticSegment("dashboard") view=DashboardPage />
                    <Route path=StaticSegment("plans") view=PlansPage />
                    <Route path=StaticSegment("history") view=HistoryPage />
                    <Route path=StaticSegment("backtest") view=BacktestPage />
                    <Route path=path!("/backtest/strategy") view=StrategyPage />
                    <Route path=StaticSegment("notifications") view=NotificationsPage />
                    <Route path=StaticSegment("recommendations") view=InboxPage />
                    <Route path=path!("/recommendations/scorecard") view=ScorecardPage />
                    <Route path=path!("/plans/new") view=PlanWizardPage />
                    <Route path=path!("/plans/:id") view=PlanDetailPage />
                    <Route path=path!("/plans/:id/edit") view=PlanEditPage />
                    <Route path=path!("/plans/:id/performance") view=PlanPerformancePage />
                    <Route path=path!("/login/code") view=LoginCodePage />
                    <Route path=path!("/account/security") view=SecurityPage />
                    <Route path=path!("/account/settings") view=SettingsPage />
                    <Route path=StaticSegment("billing") view=BillingPage />
                    <Route path=path!("/billing/success") view=BillingSuccessPage />
                    <Route path=path!("/admin/users") view=AdminUsersPage />
                    <Route path=path!("/admin/audit") view=AdminAuditPage />
                    <Route path=path!("/admin/health") view=AdminHealthPage />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}
