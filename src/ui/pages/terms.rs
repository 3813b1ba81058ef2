//! The Terms of Service. Acceptance is recorded against `TERMS_VERSION`.

use crate::domain::legal::{DISCLAIMER, TERMS_VERSION};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TermsPage() -> impl IntoView {
    view! {
        <Title text="Terms of Service" />
        <article class="page prose">
            <h1>"Terms of Service"</h1>
            <p class="meta">"Version " {TERMS_VERSION}</p>

            <h2>"1. What Dripfeed is"</h2>
            <p>
                "Dripfeed is software that places orders in a brokerage account you own, on a "
                "schedule you define. It is a tool, not a financial adviser, broker or fiduciary. "
                "Dripfeed never holds, receives or transfers your funds."
            </p>

            <h2>"2. Not investment advice"</h2>
            <p>{DISCLAIMER}</p>
            <p>
                "Strategy recommendations, signals, backtests and any AI-written rationale are "
                "informational output of software. They are not a recommendation to buy or sell "
                "any security. You decide whether to act on them, and nothing discretionary is "
                "traded without your explicit action."
            </p>

            <h2>"3. Your brokerage account"</h2>
            <p>
                "You connect your own Alpaca account and remain bound by Alpaca's terms. You are "
                "responsible for keeping enough cash in the account for the buys you schedule. "
                "Orders are subject to market hours, holidays, the broker's acceptance, and "
                "market conditions; fills and prices are not guaranteed."
            </p>

            <h2>"4. Live trading"</h2>
            <p>
                "Live trading requires signing in with Alpaca, completing a paper-trading period, "
                "and typing a confirmation. You can pause or stop any plan at any time."
            </p>

            <h2>"5. Security"</h2>
            <p>
                "Keep your password and two-factor codes private. Brokerage credentials are "
                "encrypted at rest. Tell the operator of this instance at once if you suspect "
                "misuse of your account."
            </p>

            <h2>"6. Subscriptions"</h2>
            <p>
                "Paid tiers renew monthly until cancelled through the billing portal. Limits of "
                "each tier are shown on the pricing page and enforced by the service."
            </p>

            <h2>"7. No warranty; limitation of liability"</h2>
            <p>
                "The software is provided as is. To the extent the law allows, the operator is "
                "not liable for trading losses, missed or delayed orders, or broker outages."
            </p>

            <h2>"8. Changes"</h2>
            <p>
                "When these terms change, the version above changes and you will be asked to "
                "accept the new version before continuing."
            </p>
        </article>
    }
}
