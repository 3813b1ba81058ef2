//! The wizard's steps, one component each, all on the same [`Draft`]. A step
//! is shown while `step` is its number; `go` moves to another step.

use super::draft::Draft;
use super::{STEPS, step_of};
use crate::api::broker::brokerage_overview;
use crate::api::plans::{PlanInput, SchedulePreview, search_assets};
use crate::api::security::get_settings;
use crate::error::AppError;
use crate::ui::components::format::{When, money};
use leptos::prelude::*;
use leptos_router::components::A;

/// 1. Which account buys.
#[component]
pub(super) fn AccountStep(
    draft: Draft,
    step: RwSignal<usize>,
    go: Callback<usize>,
) -> impl IntoView {
    let Draft { connection, .. } = draft;
    let go = move |to: usize| go.run(to);
    let overview = Resource::new(|| (), |_| brokerage_overview());
    view! {
        <div class="wizard-step" hidden=move || step.get() != 0>
            <h2>"Which account buys?"</h2>
            <Suspense fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) if o.connections.is_empty() => view! {
                            <p>"Connect a brokerage account first. " <A href="/brokerage">"Connect an account"</A></p>
                        }.into_any(),
                        Ok(o) => view! {
                            <fieldset class="choices">
                                <legend>"Account"</legend>
                                {o.connections.into_iter().map(|c| {
                                    let id = c.id;
                                    view! {
                                        <label class="choice">
                                            <input type="radio" name="connection" value=id.to_string()
                                                prop:checked=move || connection.get() == Some(id)
                                                on:change=move |_| connection.set(Some(id)) />
                                            {c.label.clone()}
                                            {(c.environment == "live").then(|| view! { <span class="badge warn">"Live: real money"</span> })}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        }.into_any(),
                        Err(AppError::Unauthenticated) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A></p>
                        }.into_any(),
                        Err(e) => view! { <p class="notice error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <button class="button primary" disabled=move || connection.get().is_none() on:click=move |_| go(1)>"Next: symbols"</button>
        </div>
    }
}

/// 2. The symbols, and dollars per run: an amount each or a total by weight.
#[component]
pub(super) fn SymbolsStep(
    draft: Draft,
    step: RwSignal<usize>,
    go: Callback<usize>,
) -> impl IntoView {
    let Draft {
        connection,
        legs,
        split,
        total,
        ..
    } = draft;
    let go = move |to: usize| go.run(to);
    let query = RwSignal::new(String::new());
    let results = Resource::new(
        move || (connection.get(), query.get()),
        |(c, q)| async move {
            match c {
                Some(c) => search_assets(c, q).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let add_symbol = move |symbol: String| draft.add_symbol(symbol);
    view! {
        <div class="wizard-step" hidden=move || step.get() != 1>
            <h2>"What does it buy?"</h2>
            <div class="field">
                <label for="symbol-search">"Find a symbol"</label>
                <input id="symbol-search" type="search" autocomplete="off" placeholder="VTI, S&P 500, Apple…" bind:value=query />
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(list) => view! {
                            <ul class="results" data-testid="symbol-results">
                                {list.into_iter().map(|a| {
                                    let symbol = a.symbol.clone();
                                    view! {
                                        <li>
                                            <button type="button" class="button small-plain" disabled=!a.fractionable
                                                on:click=move |_| add_symbol(symbol.clone())>
                                                "Add " {a.symbol.clone()}
                                            </button>
                                            " " {a.name.clone()} " "
                                            {if a.fractionable {
                                                view! { <span class="badge">"fractional"</span> }.into_any()
                                            } else {
                                                view! { <span class="badge warn" title="Dollar amounts cannot buy whole-share-only assets">"whole shares only"</span> }.into_any()
                                            }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="notice error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Dollars per run"</h3>
            <fieldset class="choices">
                <legend>"Amounts"</legend>
                <label class="choice">
                    <input type="radio" name="split" prop:checked=move || !split.get() on:change=move |_| split.set(false) />
                    "An amount for each symbol"
                </label>
                <label class="choice">
                    <input type="radio" name="split" prop:checked=move || split.get() on:change=move |_| split.set(true) />
                    "A total per run, split by weight"
                </label>
            </fieldset>
            <div class="field" hidden=move || !split.get()>
                <label for="per-run-total">"Total per run ($)"</label>
                <input id="per-run-total" type="text" inputmode="decimal" size="10" bind:value=total />
            </div>
            {move || legs.get().is_empty().then(|| view! { <p class="hint">"Add at least one symbol."</p> })}
            <ul class="legs" data-testid="legs">
                {move || legs.get().into_iter().enumerate().map(|(i, l)| {
                    let by_weight = split.get();
                    let input_id = format!("{}-{}", if by_weight { "weight" } else { "amount" }, l.symbol);
                    view! {
                        <li>
                            <label for=input_id.clone()>{l.symbol.clone()} {if by_weight { " weight" } else { " $" }}</label>
                            <input id=input_id type="text" inputmode="decimal" size="8"
                                value=if by_weight { l.weight.clone() } else { l.amount.clone() }
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    legs.update(|all| if let Some(x) = all.get_mut(i) {
                                        if by_weight { x.weight = v; } else { x.amount = v; }
                                    });
                                } />
                            <button type="button" class="button small-plain" on:click=move |_| legs.update(|all| { all.remove(i); })>
                                "Remove"
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button class="button" on:click=move |_| go(0)>"Back"</button>
            " "
            <button class="button primary" disabled=move || legs.get().is_empty() on:click=move |_| go(2)>"Next: schedule"</button>
        </div>
    }
}

/// 3. When it buys: cadence, time of day, zone, start and end.
#[component]
pub(super) fn ScheduleStep(
    draft: Draft,
    step: RwSignal<usize>,
    go: Callback<usize>,
) -> impl IntoView {
    let Draft {
        cadence,
        weekday_sel,
        month_day,
        cron,
        time_kind,
        time,
        minutes,
        time_zone,
        start_date,
        end_date,
        ..
    } = draft;
    let go = move |to: usize| go.run(to);
    let settings = Resource::new(|| (), |_| get_settings());
    view! {
        <div class="wizard-step" hidden=move || step.get() != 2>
            <h2>"When does it buy?"</h2>
            <div class="field">
                <label for="cadence">"How often"</label>
                <select id="cadence" on:change=move |ev| cadence.set(event_target_value(&ev)) prop:value=move || cadence.get()>
                    <option value="daily">"Every trading day"</option>
                    <option value="weekly">"Every week"</option>
                    <option value="biweekly">"Every two weeks"</option>
                    <option value="monthly">"Every month"</option>
                    <option value="custom">"Custom (cron)"</option>
                </select>
            </div>
            <div class="field" hidden=move || !matches!(cadence.get().as_str(), "weekly" | "biweekly")>
                <label for="weekday">"On"</label>
                <select id="weekday" on:change=move |ev| weekday_sel.set(event_target_value(&ev)) prop:value=move || weekday_sel.get()>
                    <option value="Mon">"Monday"</option>
                    <option value="Tue">"Tuesday"</option>
                    <option value="Wed">"Wednesday"</option>
                    <option value="Thu">"Thursday"</option>
                    <option value="Fri">"Friday"</option>
                </select>
            </div>
            <div class="field" hidden=move || cadence.get() != "monthly">
                <label for="month-day">"On day"</label>
                <select id="month-day" on:change=move |ev| month_day.set(event_target_value(&ev)) prop:value=move || month_day.get()>
                    <option value="first">"First trading day"</option>
                    {(1..=28).map(|d| view! { <option value=d.to_string()>{d.to_string()}</option> }).collect_view()}
                    <option value="last">"Last trading day"</option>
                </select>
                <p class="hint">"Days 29–31 are not offered: not every month has them."</p>
            </div>
            <div class="field" hidden=move || cadence.get() != "custom">
                <label for="cron">"Cron expression (minute hour day month weekday)"</label>
                <input id="cron" type="text" bind:value=cron />
            </div>
            <div class="field" hidden=move || cadence.get() == "custom">
                <label for="time-kind">"Time"</label>
                <select id="time-kind" on:change=move |ev| time_kind.set(event_target_value(&ev)) prop:value=move || time_kind.get()>
                    <option value="local">"At a time of day"</option>
                    <option value="after_open">"Minutes after the market opens"</option>
                </select>
            </div>
            <div class="field" hidden=move || cadence.get() == "custom" || time_kind.get() != "local">
                <label for="time">"At (HH:MM, your time zone)"</label>
                <input id="time" type="time" bind:value=time />
            </div>
            <div class="field" hidden=move || cadence.get() == "custom" || time_kind.get() != "after_open">
                <label for="minutes">"Minutes after the open"</label>
                <input id="minutes" type="number" min="0" max="375" bind:value=minutes />
            </div>
            <div class="field">
                <label for="time-zone">"Time zone"</label>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let mine = settings.await.map(|s| s.time_zone).unwrap_or_default();
                        view! { <p class="hint">"Leave empty for your own: " {mine}</p> }
                    })}
                </Suspense>
                <input id="time-zone" type="text" placeholder="America/New_York" bind:value=time_zone />
            </div>
            <div class="field">
                <label for="start-date">"Start (optional, YYYY-MM-DD)"</label>
                <input id="start-date" type="date" bind:value=start_date />
            </div>
            <div class="field">
                <label for="end-date">"End (optional)"</label>
                <input id="end-date" type="date" bind:value=end_date />
            </div>
            <button class="button" on:click=move |_| go(1)>"Back"</button>
            " "
            <button class="button primary" on:click=move |_| go(3)>"Next: strategy"</button>
        </div>
    }
}

/// 4. Pure or smart DCA, the missed-run policy, a total to stop at, a name.
#[component]
pub(super) fn StrategyStep(
    draft: Draft,
    step: RwSignal<usize>,
    go: Callback<usize>,
) -> impl IntoView {
    let Draft {
        mode,
        sma_days,
        carry,
        catch_up,
        max_total,
        name,
        ..
    } = draft;
    let go = move |to: usize| go.run(to);
    view! {
        <div class="wizard-step" hidden=move || step.get() != 3>
            <h2>"Always buy, or only on dips?"</h2>
            <fieldset class="choices">
                <legend>"Strategy"</legend>
                <label class="choice">
                    <input type="radio" name="mode" value="pure" prop:checked=move || mode.get() == "pure" on:change=move |_| mode.set("pure".into()) />
                    "Pure DCA: buy every run"
                </label>
                <label class="choice">
                    <input type="radio" name="mode" value="smart" prop:checked=move || mode.get() == "smart" on:change=move |_| mode.set("smart".into()) />
                    "Smart DCA: buy only when the last close is at or below its moving average"
                </label>
            </fieldset>
            <div hidden=move || mode.get() != "smart">
                <div class="field">
                    <label for="sma-days">"Days in the average"</label>
                    <input id="sma-days" type="number" min="5" max="200" bind:value=sma_days />
                </div>
                <label class="choice">
                    <input type="checkbox" bind:checked=carry />
                    "Add a skipped run's amount to the next run that buys"
                </label>
            </div>
            <div class="field">
                <label for="catch-up">"If Dripfeed is down at a run's time, buy when back within (minutes, optional)"</label>
                <input id="catch-up" type="number" min="1" max="390" inputmode="numeric" placeholder="the same trading session" bind:value=catch_up />
                <p class="hint">"Empty: any time the same trading session. Later than that the run is marked missed and you are told."</p>
            </div>
            <div class="field">
                <label for="max-total">"Stop after investing (optional, $)"</label>
                <input id="max-total" type="text" inputmode="decimal" bind:value=max_total />
            </div>
            <div class="field">
                <label for="plan-name">"Name"</label>
                <input id="plan-name" type="text" maxlength="60" placeholder="Core ETFs" bind:value=name />
            </div>
            <button class="button" on:click=move |_| go(2)>"Back"</button>
            " "
            <button class="button primary" on:click=move |_| go(4)>"Review"</button>
        </div>
    }
}

/// 5. The server's preview (next runs, monthly spend) or every problem it
/// found, each with a way back to its step; then create or save.
#[component]
pub(super) fn ReviewStep(
    draft: Draft,
    step: RwSignal<usize>,
    go: Callback<usize>,
    preview: Action<PlanInput, Result<SchedulePreview, AppError>>,
    create: Action<PlanInput, Result<i64, AppError>>,
    editing: Option<i64>,
    local_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let go = move |to: usize| go.run(to);
    let build = move || draft.build();
    // The server's field errors from the last preview or create, if any.
    let server_errors = move || -> Vec<(String, String)> {
        let from = |e: AppError| match e {
            AppError::Invalid(list) => list.into_iter().map(|f| (f.field, f.message)).collect(),
            other => vec![("form".to_owned(), other.to_string())],
        };
        match (create.value().get(), preview.value().get()) {
            (Some(Err(e)), _) => from(e),
            (_, Some(Err(e))) => from(e),
            _ => Vec::new(),
        }
    };
    view! {
        <div class="wizard-step" hidden=move || step.get() != 4>
            <h2>"Review"</h2>
            {move || {
                let errors = server_errors();
                (!errors.is_empty()).then(|| view! {
                    <div class="notice error" role="alert" data-testid="plan-errors">
                        <ul>
                            {errors.into_iter().map(|(field, message)| {
                                let to = step_of(&field);
                                view! {
                                    <li>{message} " "
                                        {(to < 4).then(|| view! {
                                            <button type="button" class="button small-plain" on:click=move |_| go(to)>
                                                "Fix in " {STEPS[to]}
                                            </button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                })
            }}
            {move || preview.value().get().and_then(|r| r.ok()).map(|p| view! {
                <p data-testid="monthly-spend">{money(p.per_run)} " per run, about " <strong>{money(p.monthly_spend)}</strong> " a month."</p>
                <h3>"Next runs"</h3>
                <ol data-testid="next-runs">
                    {p.runs.into_iter().map(|r| view! {
                        <li><When at=r.at /> {r.note.map(|n| view! { " " <span class="hint">"(" {n} ")"</span> })}</li>
                    }).collect_view()}
                </ol>
            })}
            <button class="button" on:click=move |_| go(3)>"Back"</button>
            " "
            <button class="button primary" data-testid="create-plan"
                disabled=move || create.pending().get() || !matches!(preview.value().get(), Some(Ok(_)))
                on:click=move |_| match build() {
                    Ok(input) => { create.dispatch(input); }
                    Err(e) => local_error.set(Some(e)),
                }>
                {if editing.is_some() { "Save changes" } else { "Create plan" }}
            </button>
            <p class="hint">"Orders are market orders for dollar amounts (fractional shares) placed in your own account. Not investment advice."</p>
        </div>
    }
}
