//! The plan wizard: account → symbols and amounts → schedule → strategy →
//! review (the next five runs, the monthly spend, every problem the server
//! found, with a way back to the step it belongs to) → confirm.
//!
//! The steps live in the browser; the server checks everything again on
//! preview and on create. The same wizard edits a plan (`/plans/:id/edit`),
//! starting from the plan as saved. `draft.rs` holds the one draft every step
//! shares; `steps.rs` one component per step.

mod draft;
mod steps;

use crate::api::plans::{PlanInput, create_plan, preview_plan, saved_plan_input, update_plan};
use crate::error::AppError;
use draft::Draft;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use steps::{AccountStep, ReviewStep, ScheduleStep, StrategyStep, SymbolsStep};

const STEPS: [&str; 5] = ["Account", "Symbols", "Schedule", "Strategy", "Review"];

/// Which step a server-side field error belongs to.
fn step_of(field: &str) -> usize {
    match field {
        "connection_id" => 0,
        "symbols" | "amounts" => 1,
        "schedule" | "time" | "time_zone" | "start_date" | "end_date" => 2,
        "mode" | "max_total" | "catch_up_minutes" => 3,
        _ => 4,
    }
}

#[component]
pub fn PlanWizardPage() -> impl IntoView {
    view! { <PlanWizard edit=None /> }
}

/// The wizard on a saved plan.
#[component]
pub fn PlanEditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let input = Resource::new(id, saved_plan_input);
    view! {
        <Suspense fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match input.await {
                    Ok(plan) => view! { <PlanWizard edit=Some((id(), plan)) /> }.into_any(),
                    Err(AppError::Unauthenticated) => view! {
                        <section class="page"><p>"You are not signed in. " <A href="/login">"Log in"</A></p></section>
                    }.into_any(),
                    Err(e) => view! { <section class="page"><p class="notice error">{e.to_string()}</p></section> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The wizard: a new plan, or `edit`: (id, the plan as saved).
#[component]
fn PlanWizard(edit: Option<(i64, PlanInput)>) -> impl IntoView {
    let editing = edit.as_ref().map(|(id, _)| *id);
    let draft = Draft::new(edit.as_ref().map(|(_, input)| input));
    let step = RwSignal::new(0usize);
    let local_error = RwSignal::new(None::<String>);

    let preview = Action::new(move |input: &PlanInput| {
        let input = input.clone();
        async move { preview_plan(input, editing).await }
    });
    let create = Action::new(move |input: &PlanInput| {
        let input = input.clone();
        async move {
            match editing {
                Some(id) => update_plan(id, input).await.map(|()| id),
                None => create_plan(input).await,
            }
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/plans/{id}"), Default::default());
        }
    });

    // Moving to the review asks the server for a preview first.
    let go = Callback::new(move |to: usize| {
        local_error.set(None);
        if to == 4 {
            match draft.build() {
                Ok(input) => {
                    preview.dispatch(input);
                }
                Err(e) => {
                    local_error.set(Some(e));
                    return;
                }
            }
        }
        step.set(to);
    });

    view! {
        <Title text=if editing.is_some() { "Edit plan" } else { "New plan" } />
        <section class="page">
            <p><A href="/plans">"← Your plans"</A></p>
            <h1>{if editing.is_some() { "Edit plan" } else { "New plan" }}</h1>
            {editing.is_some().then(|| view! {
                <p class="hint">"Changes apply from the next run on; runs already made stay as they were."</p>
            })}
            <ol class="steps" aria-label="Steps">
                {STEPS.iter().enumerate().map(|(i, label)| view! {
                    <li class:current=move || step.get() == i aria-current=move || (step.get() == i).then_some("step")>
                        {*label}
                    </li>
                }).collect_view()}
            </ol>
            {move || local_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <AccountStep draft step go />
            <SymbolsStep draft step go />
            <ScheduleStep draft step go />
            <StrategyStep draft step go />
            <ReviewStep draft step go preview create editing local_error />
        </section>
    }
}
