//! One pricing tier as a card.

use crate::domain::tier::Tier;
use leptos::prelude::*;

#[component]
pub fn TierCard(
    tier: Tier,
    #[prop(optional)] current: bool,
    /// Billing is on: the current tier is the user's own, not the instance's.
    #[prop(optional)]
    billing: bool,
) -> impl IntoView {
    let heading_id = format!("tier-{}-name", tier.id);
    let labelled_by = heading_id.clone();
    let test_id = format!("tier-{}", tier.id);
    view! {
        <section
            class="tier-card"
            class:current=current
            aria-labelledby=labelled_by
            data-testid=test_id
        >
            <h2 id=heading_id>{tier.name.clone()}</h2>
            <p class="price">{tier.price_label()}</p>
            {current.then(|| {
                let label = if billing { "Your plan" } else { "Included on this instance" };
                view! { <p class="badge">{label}</p> }
            })}
            <ul class="features">
                {tier.features().into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
            </ul>
        </section>
    }
}
