//! A new user's first steps, each ticked once done: connect an account, create
//! the first plan, see the first purchase. Shown until all three are done.

use crate::api::auth::FirstSteps;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn GettingStartedSteps(steps: FirstSteps) -> impl IntoView {
    (!steps.done()).then(|| {
        let step = |done: bool, testid: &'static str, body: AnyView| {
            view! {
                <li class:done=done data-testid=testid data-done=done.to_string()>
                    <span class="tick" aria-hidden="true">{if done { "✓" } else { "○" }}</span>
                    <span class="sr-only">{if done { "Done: " } else { "To do: " }}</span>
                    {body}
                </li>
            }
        };
        view! {
            <section class="getting-started" data-testid="getting-started" aria-labelledby="getting-started-title">
                <h2 id="getting-started-title">"Getting started"</h2>
                <ol>
                    {step(steps.connected, "step-connect", view! {
                        <A href="/brokerage">"Connect a brokerage account"</A>
                        " (the demo paper account needs nothing)"
                    }.into_any())}
                    {step(steps.planned, "step-plan", view! {
                        <A href="/plans/new">"Create your first plan"</A>
                        ": symbols, dollars and a schedule"
                    }.into_any())}
                    {step(steps.bought, "step-purchase", view! {
                        <A href="/history">"See your first purchase"</A>
                        ", made at your plan's first run"
                    }.into_any())}
                </ol>
            </section>
        }
    })
}
