//! Billing: the user's plan and subscription (`/billing`), and the page
//! Checkout returns to (`/billing/success`), which grants nothing itself: it
//! waits until Stripe's webhook has been applied.

use crate::api::billing::{BillingStatus, OpenBillingPortal, get_billing};
use crate::error::AppError;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The subscription facts, as a definition list.
#[component]
fn Subscription(b: BillingStatus) -> impl IntoView {
    let status = b.subscription_status.clone().map(|s| match s.as_str() {
        "active" => "Active".to_owned(),
        "trialing" => "Trial".to_owned(),
        "past_due" => "Payment failed (past due)".to_owned(),
        "canceled" => "Ended".to_owned(),
        other => other.replace('_', " "),
    });
    view! {
        <dl class="facts" data-testid="subscription">
            <dt>"Plan"</dt>
            <dd data-testid="billing-tier">{b.tier_name.clone()}</dd>
            <dt>"Why"</dt>
            <dd>{b.source.clone()}</dd>
            {status.map(|s| view! { <dt>"Subscription"</dt><dd data-testid="subscription-status">{s}</dd> })}
            {b.renews_on.clone().map(|d| view! { <dt>"Renews"</dt><dd data-testid="renews-at">{d}</dd> })}
            {b.cancels_on.clone().map(|d| view! { <dt>"Ends"</dt><dd data-testid="cancels-at">{d} " (cancelled; you keep it until then)"</dd> })}
        </dl>
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let portal = ServerAction::<OpenBillingPortal>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = portal.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let status = Resource::new(|| (), |_| get_billing());
    view! {
        <Title text="Billing" />
        <section class="page">
            <h1>"Billing"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(b) => {
                            let warning = b.warning.clone();
                            let enabled = b.billing_enabled;
                            let can_manage = b.can_manage;
                            let subscribed = b.has_subscription();
                            view! {
                                {warning.map(|w| view! { <p class="notice error" role="alert" data-testid="billing-warning">{w}</p> })}
                                <Subscription b=b.clone() />
                                {if !enabled {
                                    view! { <p class="notice info">"Billing is off on this instance: there is nothing to pay."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="actions">
                                            {can_manage.then(|| view! {
                                                <ActionForm action=portal>
                                                    <button type="submit" class="button" data-testid="manage-billing">"Manage billing"</button>
                                                </ActionForm>
                                            })}
                                            {(!subscribed).then(|| view! {
                                                <A href="/pricing" attr:class="button primary">"Choose a plan"</A>
                                            })}
                                        </div>
                                        {subscribed.then(|| view! {
                                            <p class="hint">"To switch to another plan or cancel, use Manage billing."</p>
                                        })}
                                        <p class="hint">"Payment methods, invoices, plan changes and cancellation are handled on Stripe's secure pages; Dripfeed never sees your card."</p>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
            {move || portal.value().get().and_then(Result::err).map(|error: AppError| view! { <ErrorNotice error /> })}
        </section>
    }
}

/// How long the success page waits for the webhook before saying so.
const CONFIRM_POLLS: u32 = 40;

#[component]
pub fn BillingSuccessPage() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let confirmed = RwSignal::new(false);
    let status = Resource::new(move || tick.get(), |_| get_billing());
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !confirmed.get_untracked() && tick.get_untracked() < CONFIRM_POLLS {
                    tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1500),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Confirming your subscription" />
        <section class="page">
            <h1>"Thank you"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Confirming your payment…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(b) if b.subscription_status.as_deref().is_some_and(|s| s == "active" || s == "trialing") && b.applied => {
                            confirmed.set(true);
                            let bought = b.subscribed_tier_name.clone().unwrap_or_else(|| b.tier_name.clone());
                            let note = (bought != b.tier_name).then(|| format!(
                                " Until your trial ends you keep {}'s features.", b.tier_name
                            ));
                            view! {
                            <p class="notice success" data-testid="subscription-confirmed">
                                "Your subscription to " <strong>{bought}</strong> " is active." {note}
                            </p>
                            <p><A href="/billing">"See billing"</A> " · " <A href="/plans">"Your plans"</A></p>
                        }.into_any()
                        }
                        Ok(_) if tick.get_untracked() >= CONFIRM_POLLS => view! {
                            <p class="notice info" data-testid="confirming-slow">
                                "Stripe has not confirmed the payment yet. Nothing more is needed from you: your plan changes as soon as it does. "
                                <A href="/billing">"Check billing"</A>
                            </p>
                        }.into_any(),
                        Ok(_) => view! {
                            <p aria-busy="true" data-testid="confirming">"Confirming your payment with Stripe…"</p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
