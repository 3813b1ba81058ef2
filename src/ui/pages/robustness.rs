//! The Backtest page's robustness panels: a Monte Carlo of the plan run slice
//! by slice from the browser (progress as the slices come back, Cancel between
//! slices, the summary computed here with the domain's own `summarize`), and
//! the comparison from rolling start dates.

use crate::api::backtest::{
    BacktestQuery, MONTE_CARLO_SLICE, MonteCarloChunk, monte_carlo_slice, rolling_starts,
};
use crate::domain::backtest::monte_carlo::summarize;
use crate::domain::backtest::rolling::Rolling;
use crate::error::AppError;
use crate::ui::components::chart::{Line, LineChart, Unit};
use crate::ui::components::format::{money, signed_money};
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Trading days per resampled block (about a month).
const BLOCK_DAYS: u32 = 20;

#[component]
pub fn MonteCarloPanel(q: BacktestQuery, max: u32) -> impl IntoView {
    if max == 0 {
        return view! {
            <section data-testid="monte-carlo">
                <h2>"Monte Carlo"</h2>
                <p class="hint">"Monte Carlo runs are included from the Basic plan; see "
                    <a href="/pricing">"Pricing"</a>"."</p>
            </section>
        }
        .into_any();
    }
    let paths = RwSignal::new(max.min(1_000));
    let seed = RwSignal::new(1_u64);
    let done = RwSignal::new(0_u32);
    let total = RwSignal::new(0_u32);
    let running = RwSignal::new(false);
    let cancelled = RwSignal::new(false);
    let results = RwSignal::new(Vec::<(Decimal, Decimal)>::new());
    let error = RwSignal::new(None::<AppError>);
    let run = move |_| {
        let q = q.clone();
        let (n, s) = (paths.get_untracked().clamp(1, max), seed.get_untracked());
        results.set(Vec::new());
        error.set(None);
        done.set(0);
        total.set(n);
        cancelled.set(false);
        running.set(true);
        leptos::task::spawn_local(async move {
            let mut first = 0;
            while first < n && !cancelled.get_untracked() {
                let count = (n - first).min(MONTE_CARLO_SLICE);
                let slice = MonteCarloChunk {
                    seed: s,
                    first,
                    count,
                    block_days: BLOCK_DAYS,
                };
                match monte_carlo_slice(q.clone(), slice).await {
                    Ok(mut got) => {
                        results.update(|all| all.append(&mut got));
                        first += count;
                        done.set(first);
                    }
                    Err(e) => {
                        error.set(Some(e));
                        break;
                    }
                }
            }
            running.set(false);
        });
    };
    let summary = Memo::new(move |_| {
        results.with(|r| summarize(r, BLOCK_DAYS as usize, seed.get_untracked()))
    });
    view! {
        <section data-testid="monte-carlo">
            <h2>"Monte Carlo"</h2>
            <p class="hint">
                "How much of the result was the luck of one history: each path rebuilds the plan's history from "
                "blocks of about a month of real days drawn at random, and runs the same plan on it. A seed gives the same answer every time."
            </p>
            <div class="field-row">
                <div class="field">
                    <label for="mc-paths">{format!("Paths (up to {max})")}</label>
                    <input id="mc-paths" type="number" min="1" max=max.to_string() prop:value=move || paths.get().to_string()
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { paths.set(n) } />
                </div>
                <div class="field">
                    <label for="mc-seed">"Seed"</label>
                    <input id="mc-seed" type="number" min="0" prop:value=move || seed.get().to_string()
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { seed.set(n) } />
                </div>
            </div>
            <p>
                <button type="button" class="button" data-testid="run-monte-carlo" disabled=move || running.get() on:click=run>
                    "Run Monte Carlo"
                </button>
                " "
                <button type="button" class="button" data-testid="cancel-monte-carlo" hidden=move || !running.get()
                    on:click=move |_| cancelled.set(true)>"Cancel"</button>
            </p>
            <Show when=move || { total.get() > 0 }>
                <p data-testid="monte-carlo-progress">
                    <progress max=move || total.get().to_string() value=move || done.get().to_string()
                        aria-label="Monte Carlo paths done"></progress>
                    " " {move || format!("{} of {} paths", done.get(), total.get())}
                    {move || (cancelled.get() && !running.get()).then_some(" (cancelled)")}
                </p>
            </Show>
            {move || error.get().map(|error| view! { <ErrorNotice error /> })}
            {move || summary.get().map(|m| view! {
                <table class="table" data-testid="monte-carlo-summary">
                    <thead><tr>
                        <th scope="col">"Final value"</th>
                        <th scope="col">"5th percentile"</th><th scope="col">"25th"</th><th scope="col">"Median"</th>
                        <th scope="col">"75th"</th><th scope="col">"95th"</th>
                    </tr></thead>
                    <tbody><tr>
                        <th scope="row">{format!("{} paths, {} paid in", m.paths, money(m.contributed))}</th>
                        {m.final_value.iter().map(|v| view! { <td>{money(*v)}</td> }).collect_view()}
                    </tr></tbody>
                </table>
                <p data-testid="monte-carlo-below">
                    {format!("{:.1}% of paths ended below the amount paid in.", m.below_contributed_pct)}
                </p>
            })}
        </section>
    }
    .into_any()
}

#[component]
pub fn RollingPanel(q: BacktestQuery, src: String) -> impl IntoView {
    let compare = Action::new(move |step: &u32| rolling_starts(q.clone(), *step));
    let step = RwSignal::new(21_u32);
    view! {
        <section data-testid="rolling">
            <h2>"Rolling start dates"</h2>
            <p class="hint">"The same comparison started on every step through the range (each start given at least a year), "
                "so one lucky or unlucky start does not decide the verdict."</p>
            <div class="field">
                <label for="rolling-step">"Start every"</label>
                <select id="rolling-step" on:change=move |ev| if let Ok(n) = event_target_value(&ev).parse() { step.set(n) }>
                    <option value="5">"week (5 trading days)"</option>
                    <option value="21" selected>"month (21 trading days)"</option>
                    <option value="63">"quarter (63 trading days)"</option>
                </select>
            </div>
            <p><button type="button" class="button" data-testid="run-rolling" disabled=move || compare.pending().get()
                on:click=move |_| { compare.dispatch(step.get_untracked()); }>"Compare every start"</button></p>
            {move || compare.pending().get().then(|| view! { <p aria-busy="true">"Comparing…"</p> })}
            {move || compare.value().get().map(|r| match r {
                Ok(r) => view! { <RollingResult r src=src.clone() /> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn RollingResult(r: Rolling, src: String) -> impl IntoView {
    let against = r.wins.last().map(|w| w.0.clone()).unwrap_or_default();
    let plan = r.wins.first().map(|w| w.0.clone()).unwrap_or_default();
    let dates: Vec<_> = r.leads.iter().map(|(d, _)| *d).collect();
    let rows: Vec<usize> = (0..dates.len()).collect();
    let lead = Line {
        name: format!("{plan} less {against}"),
        values: r.leads.iter().map(|(_, v)| v.to_f64()).collect(),
        reference: false,
    };
    view! {
        <p>{format!("{} start dates from {} to {}.", r.starts.len(),
            r.starts.first().map(|d| d.to_string()).unwrap_or_default(),
            r.starts.last().map(|d| d.to_string()).unwrap_or_default())}</p>
        <table class="table" data-testid="rolling-wins">
            <thead><tr><th scope="col">"Approach"</th><th scope="col">"Ended ahead on"</th></tr></thead>
            <tbody>
                {r.wins.iter().map(|(name, pct)| view! {
                    <tr><th scope="row">{name.clone()}</th><td>{format!("{pct:.1}% of start dates")}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        {r.lead_quartiles.map(|q| view! {
            <table class="table" data-testid="rolling-leads">
                <thead><tr>
                    <th scope="col">{format!("{plan} vs {against}")}</th>
                    <th scope="col">"Worst"</th><th scope="col">"25th percentile"</th><th scope="col">"Median"</th>
                    <th scope="col">"75th"</th><th scope="col">"Best"</th>
                </tr></thead>
                <tbody><tr>
                    <th scope="row">"Final value difference"</th>
                    {q.iter().map(|v| view! { <td>{signed_money(*v)}</td> }).collect_view()}
                </tr></tbody>
            </table>
        })}
        <LineChart
            title=format!("{plan} less {against}, by start date")
            src
            dates
            lines=vec![lead]
            unit=Unit::Dollars
            table_rows=rows
            testid="rolling-chart"
        />
    }
}
