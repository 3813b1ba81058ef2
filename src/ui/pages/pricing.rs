//! The pricing page: the tier table as this instance is configured.

use crate::api::catalog::get_pricing;
use crate::ui::components::tier_card::TierCard;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PricingPage() -> impl IntoView {
    let pricing = Resource::new(|| (), |_| get_pricing());
    view! {
        <Title text="Pricing" />
        <section class="page">
            <h1>"Pricing"</h1>
            <p class="lead">
                "Every tier uses your own Alpaca account: Dripfeed never holds your money. "
                "Cancel any time."
            </p>
            <Suspense fallback=|| view! { <p aria-busy="true">"Loading prices…"</p> }>
                {move || Suspend::new(async move {
                    match pricing.await {
                        Ok(p) => {
                            let note = (!p.billing_enabled)
                                .then(|| {
                                    view! {
                                        <p class="notice info">
                                            "This instance runs without billing: every account has the "
                                            <strong>{p.default_tier.to_string()}</strong>
                                            " tier's features."
                                        </p>
                                    }
                                });
                            let default_tier = p.default_tier;
                            let billing = p.billing_enabled;
                            view! {
                                {note}
                                <div class="tier-grid">
                                    {p
                                        .tiers
                                        .into_iter()
                                        .map(|tier| {
                                            let current = !billing && tier.id == default_tier;
                                            view! { <TierCard tier current /> }
                                        })
                                        .collect_view()}
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
