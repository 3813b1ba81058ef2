//! The pricing page: the tier table as this instance is configured, and,
//! with billing on, a Subscribe button per paid tier that opens Stripe
//! Checkout. Subscribing grants nothing by itself: the tier changes when
//! Stripe confirms the payment (see the Billing pages).

use crate::api::billing::{BillingStatus, StartCheckout, my_billing};
use crate::api::catalog::get_pricing;
use crate::domain::tier::TierId;
use crate::error::AppError;
use crate::ui::components::tier_card::TierCard;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn PricingPage() -> impl IntoView {
    let pricing = Resource::new(|| (), |_| get_pricing());
    // Who is asking (a visitor's buttons say "Sign up").
    let mine = Resource::new(|| (), |_| my_billing());
    let checkout = ServerAction::<StartCheckout>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = checkout.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let query = use_query_map();
    let cancelled = move || query.with(|q| q.get("checkout").as_deref() == Some("cancelled"));
    view! {
        <Title text="Pricing" />
        <section class="page">
            <h1>"Pricing"</h1>
            <p class="lead">
                "Every tier uses your own Alpaca account: Dripfeed never holds your money. "
                "Cancel any time."
            </p>
            {move || cancelled().then(|| view! {
                <p class="notice info" data-testid="checkout-cancelled">"Checkout was cancelled: nothing was charged and your plan is unchanged."</p>
            })}
            {move || checkout.value().get().and_then(Result::err).map(|error: AppError| view! { <ErrorNotice error /> })}
            <Suspense fallback=|| view! { <p aria-busy="true">"Loading prices…"</p> }>
                {move || Suspend::new(async move {
                    let mine = mine.await.ok().flatten();
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
                            let trial = (p.billing_enabled && p.trial_days > 0).then(|| {
                                let days = p.trial_days;
                                let tier = p
                                    .tiers
                                    .iter()
                                    .find(|t| t.id == p.trial_tier)
                                    .map(|t| t.name.clone())
                                    .unwrap_or_default();
                                view! {
                                    <p class="notice info" data-testid="trial-offer">
                                        "New accounts get " {days} " days of " <strong>{tier}</strong>
                                        " free, no card needed. Afterwards you stay on Free unless you subscribe."
                                    </p>
                                }
                            });
                            let default_tier = p.default_tier;
                            let billing = p.billing_enabled;
                            view! {
                                {note}
                                {trial}
                                <div class="tier-grid">
                                    {p
                                        .tiers
                                        .into_iter()
                                        .map(|tier| {
                                            let id = tier.id;
                                            let current = match &mine {
                                                Some(b) if billing => b.tier == id,
                                                _ => !billing && id == default_tier,
                                            };
                                            let action = subscribe_button(billing, id, mine.as_ref(), checkout);
                                            view! { <div class="tier-slot"><TierCard tier current billing />{action}</div> }
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

/// The call to action under a tier card.
fn subscribe_button(
    billing: bool,
    tier: TierId,
    mine: Option<&BillingStatus>,
    checkout: ServerAction<StartCheckout>,
) -> Option<AnyView> {
    if !billing || tier == TierId::Free {
        return None;
    }
    let Some(mine) = mine else {
        return Some(
            view! { <A href="/signup" attr:class="button">"Sign up to subscribe"</A> }.into_any(),
        );
    };
    if !mine.choices.iter().any(|c| c.tier == tier && c.purchasable) {
        return None;
    }
    if mine.has_subscription() {
        return Some(
            view! { <A href="/billing" attr:class="button">"Change in Billing"</A> }.into_any(),
        );
    }
    let test_id = format!("subscribe-{tier}");
    Some(
        view! {
            <ActionForm action=checkout>
                <input type="hidden" name="tier" value=tier.as_str() />
                <button type="submit" class="button primary" data-testid=test_id disabled=move || checkout.pending().get()>
                    "Subscribe"
                </button>
            </ActionForm>
        }
        .into_any(),
    )
}
