//! The plan wizard: account → symbols and amounts → schedule → strategy →
//! review (the next five runs, the monthly spend, every problem the server
//! found, with a way back to the step it belongs to) → confirm.
//!
//! The steps live in the browser; the server checks everything again on
//! preview and on create. The same wizard edits a plan (`/plans/:id/edit`),
//! starting from the plan as saved.

use crate::api::broker::brokerage_overview;
use crate::api::plans::{
    LegInput, PlanInput, create_plan, preview_plan, saved_plan_input, search_assets, update_plan,
};
use crate::api::security::get_settings;
use crate::domain::plan::Mode;
use crate::domain::schedule::{Cadence, MonthDay, TimeOfDay};
use crate::error::AppError;
use crate::ui::components::format::money;
use chrono::{NaiveTime, Weekday};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

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

#[derive(Clone, Debug, PartialEq, Eq)]
struct LegRow {
    symbol: String,
    amount: String,
    weight: String,
}

fn weekday(s: &str) -> Weekday {
    s.parse().unwrap_or(Weekday::Mon)
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

/// The wizard's fields as text, from a saved plan or the defaults.
struct Fields {
    cadence: &'static str,
    weekday: String,
    month_day: String,
    cron: String,
    time_kind: &'static str,
    time: String,
    minutes: String,
    mode: &'static str,
    sma_days: String,
    carry: bool,
}

impl Fields {
    fn of(input: Option<&PlanInput>) -> Self {
        let mut f = Fields {
            cadence: "weekly",
            weekday: "Mon".into(),
            month_day: "1".into(),
            cron: "35 9 * * 1-5".into(),
            time_kind: "local",
            time: "10:00".into(),
            minutes: "5".into(),
            mode: "pure",
            sma_days: "20".into(),
            carry: true,
        };
        let Some(input) = input else {
            return f;
        };
        match &input.cadence {
            Cadence::Daily => f.cadence = "daily",
            Cadence::Weekly { weekday } => {
                f.cadence = "weekly";
                f.weekday = weekday.to_string();
            }
            Cadence::Biweekly { weekday } => {
                f.cadence = "biweekly";
                f.weekday = weekday.to_string();
            }
            Cadence::Monthly { day } => {
                f.cadence = "monthly";
                f.month_day = match day {
                    MonthDay::FirstTradingDay => "first".into(),
                    MonthDay::LastTradingDay => "last".into(),
                    MonthDay::Day(d) => d.to_string(),
                };
            }
            Cadence::Custom { cron } => {
                f.cadence = "custom";
                f.cron = cron.clone();
            }
        }
        match input.time {
            TimeOfDay::Local(t) => f.time = t.format("%H:%M").to_string(),
            TimeOfDay::AfterOpen(m) => {
                f.time_kind = "after_open";
                f.minutes = m.to_string();
            }
        }
        if let Mode::Smart {
            sma_days,
            carry_skipped,
        } = input.mode
        {
            f.mode = "smart";
            f.sma_days = sma_days.to_string();
            f.carry = carry_skipped;
        }
        f
    }
}

/// The wizard: a new plan, or `edit`: (id, the plan as saved).
#[component]
fn PlanWizard(edit: Option<(i64, PlanInput)>) -> impl IntoView {
    let overview = Resource::new(|| (), |_| brokerage_overview());
    let settings = Resource::new(|| (), |_| get_settings());
    let editing = edit.as_ref().map(|(id, _)| *id);
    let saved = edit.map(|(_, input)| input);
    let f = Fields::of(saved.as_ref());

    let step = RwSignal::new(0usize);
    let connection = RwSignal::new(saved.as_ref().map(|s| s.connection_id));
    let legs = RwSignal::new(
        saved
            .as_ref()
            .map(|s| {
                s.legs
                    .iter()
                    .map(|l| LegRow {
                        symbol: l.symbol.clone(),
                        amount: l.amount.clone(),
                        weight: String::new(),
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let split = RwSignal::new(false);
    let total = RwSignal::new("100".to_owned());
    let query = RwSignal::new(String::new());
    let cadence = RwSignal::new(f.cadence.to_owned());
    let weekday_sel = RwSignal::new(f.weekday);
    let month_day = RwSignal::new(f.month_day);
    let cron = RwSignal::new(f.cron);
    let time_kind = RwSignal::new(f.time_kind.to_owned());
    let time = RwSignal::new(f.time);
    let minutes = RwSignal::new(f.minutes);
    let text = |get: fn(&PlanInput) -> Option<String>| {
        RwSignal::new(saved.as_ref().and_then(get).unwrap_or_default())
    };
    let time_zone = text(|s| Some(s.time_zone.clone()));
    let start_date = text(|s| Some(s.start_date.clone()));
    let end_date = text(|s| s.end_date.clone());
    let max_total = text(|s| s.max_total.clone());
    let catch_up = text(|s| s.catch_up_minutes.clone());
    let mode = RwSignal::new(f.mode.to_owned());
    let sma_days = RwSignal::new(f.sma_days);
    let carry = RwSignal::new(f.carry);
    let name = text(|s| Some(s.name.clone()));
    let local_error = RwSignal::new(None::<String>);

    let results = Resource::new(
        move || (connection.get(), query.get()),
        |(c, q)| async move {
            match c {
                Some(c) => search_assets(c, q).await,
                None => Ok(Vec::new()),
            }
        },
    );

    let build = move || -> Result<PlanInput, String> {
        let connection_id = connection.get().ok_or("Choose an account first.")?;
        let cadence = match cadence.get().as_str() {
            "daily" => Cadence::Daily,
            "biweekly" => Cadence::Biweekly {
                weekday: weekday(&weekday_sel.get()),
            },
            "monthly" => Cadence::Monthly {
                day: match month_day.get().as_str() {
                    "first" => MonthDay::FirstTradingDay,
                    "last" => MonthDay::LastTradingDay,
                    d => MonthDay::Day(d.parse().unwrap_or(1)),
                },
            },
            "custom" => Cadence::Custom { cron: cron.get() },
            _ => Cadence::Weekly {
                weekday: weekday(&weekday_sel.get()),
            },
        };
        let time = if time_kind.get() == "after_open" {
            TimeOfDay::AfterOpen(
                minutes
                    .get()
                    .trim()
                    .parse()
                    .map_err(|_| "Minutes after the open must be a whole number.")?,
            )
        } else {
            TimeOfDay::Local(
                NaiveTime::parse_from_str(time.get().trim(), "%H:%M")
                    .map_err(|_| "Enter the time as HH:MM, e.g. 10:00.")?,
            )
        };
        let mode = if mode.get() == "smart" {
            Mode::Smart {
                sma_days: sma_days
                    .get()
                    .trim()
                    .parse()
                    .map_err(|_| "The moving average needs a whole number of days.")?,
                carry_skipped: carry.get(),
            }
        } else {
            Mode::Pure
        };
        let opt = |s: String| (!s.trim().is_empty()).then_some(s);
        Ok(PlanInput {
            name: name.get(),
            connection_id,
            legs: legs
                .get()
                .into_iter()
                .map(|l| LegInput {
                    symbol: l.symbol,
                    amount: l.amount,
                    weight: split.get().then_some(l.weight),
                })
                .collect(),
            cadence,
            time,
            time_zone: time_zone.get(),
            start_date: start_date.get(),
            end_date: opt(end_date.get()),
            max_total: opt(max_total.get()),
            mode,
            per_run_total: split.get().then(|| total.get()),
            catch_up_minutes: opt(catch_up.get()),
        })
    };

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

    let go = move |to: usize| {
        local_error.set(None);
        if to == 4 {
            match build() {
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
    };

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

    let add_symbol = move |symbol: String| {
        legs.update(|l| {
            if !l.iter().any(|x| x.symbol == symbol) {
                l.push(LegRow {
                    symbol,
                    amount: "25".into(),
                    weight: "1".into(),
                });
            }
        });
    };

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

            // 1. Account
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

            // 2. Symbols and amounts
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

            // 3. Schedule
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

            // 4. Strategy
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

            // 5. Review
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
                            <li>{r.local} {r.note.map(|n| view! { " " <span class="hint">"(" {n} ")"</span> })}</li>
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
        </section>
    }
}
