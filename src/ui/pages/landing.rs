//! The start page: what Dripfeed does, for whom, and how it keeps their money safe.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Invest a little, on schedule, in your own Alpaca account."</h1>
            <p class="lead">
                "Dripfeed buys the ETFs and stocks you choose, for the dollar amounts you choose, "
                "every day, week or month, with fractional shares. Your money never leaves your "
                "brokerage account: Dripfeed only places the orders you set up."
            </p>
            <p class="cta">
                <A href="/pricing" attr:class="button primary">
                    "See plans and pricing"
                </A>
                <A href="/terms" attr:class="button">
                    "Read the terms"
                </A>
            </p>
        </section>
        <section class="features-grid" aria-label="What Dripfeed does">
            <article>
                <h2>"Dollar-cost averaging, done for you"</h2>
                <p>
                    "Set up a plan in a few steps: symbols, amounts, a schedule in your own time "
                    "zone. Dripfeed places one notional market order per symbol, exactly once per "
                    "scheduled run, and skips market holidays."
                </p>
            </article>
            <article>
                <h2>"Pure or smart"</h2>
                <p>
                    "Pure plans always buy. Smart plans buy only when the price is at or below its "
                    "moving average, and can carry a skipped amount to the next run."
                </p>
            </article>
            <article>
                <h2>"Only what you set up"</h2>
                <p>
                    "Every order Dripfeed places belongs to a plan you created, at the time it "
                    "shows you in advance. Pause, resume or stop a plan at any time; every run, "
                    "order and fill is in your history and can be exported."
                </p>
            </article>
            <article>
                <h2>"Your account, your keys"</h2>
                <p>
                    "Start on paper with an Alpaca paper key, or with the built-in demo exchange. "
                    "Live trading needs you to sign in with Alpaca and a tier that includes it. "
                    "Credentials are encrypted at rest."
                </p>
            </article>
        </section>
    }
}
