//! The Backtest page: what a plan (one of yours, or one typed here) would have
//! done, beside the other DCA mode, the same money as a lump sum, and a
//! benchmark bought on the same days. The form is a plain GET form, so a
//! backtest is a link that can be shared, bookmarked and downloaded.

use crate::api::backtest::{BacktestQuery, BacktestReport, run_backtest};
use crate::error::AppError;
use crate::ui::components::chart::{Line, LineChart, Unit};
use crate::ui::components::form_fields::{Choice, TextField};
use crate::ui::error_template::ErrorNotice;
use crate::ui::pages::robustness::{MonteCarloPanel, RollingPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

const SCHEDULES: [(&str, &str); 6] = [
    ("weekly:mon", "Weekly, Mondays"),
    ("biweekly:mon", "Every two weeks, Mondays"),
    ("monthly:1", "Monthly, on the 1st"),
    ("monthly:first", "Monthly, first trading day"),
    ("monthly:last", "Monthly, last trading day"),
    ("daily", "Every trading day"),
];

fn query_of(m: &leptos_router::params::ParamsMap) -> BacktestQuery {
    let text = |k: &str| m.get(k).unwrap_or_default();
    BacktestQuery {
        plan: m.get("plan").and_then(|p| p.parse().ok()),
        legs: text("legs"),
        every: text("every"),
        mode: text("mode"),
        from: text("from"),
        to: text("to"),
        benchmark: text("benchmark"),
        fill: text("fill"),
    }
}

#[component]
pub fn BacktestPage() -> impl IntoView {
    let params = use_query_map();
    let query = move || params.with(query_of);
    let query_untracked = move || params.with_untracked(query_of);
    let report = Resource::new(query, |q| async move {
        if q.plan.is_none() && q.legs.trim().is_empty() {
            Ok::<_, AppError>(None)
        } else {
            run_backtest(q).await.map(Some)
        }
    });
    view! {
        <Title text="Backtest" />
        <section class="page wide">
            <h1>"Backtest"</h1>
            <p class="hint">
                "What a plan would have done: pure and smart DCA, the same money as a lump sum on day one, "
                "and a benchmark bought with the same contributions on the same days. "
                <A href="/backtest/strategy">"Backtest a trading strategy instead"</A>
            </p>
            {move || view! { <BacktestForm q=query() /> }}
            <Transition fallback=|| view! { <p aria-busy="true" data-testid="running">"Running the backtest…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(Some(r)) => view! { <Report r q=query_untracked() /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn BacktestForm(q: BacktestQuery) -> impl IntoView {
    view! {
        <form method="get" action="/backtest" class="backtest-form" data-testid="backtest-form">
            {match q.plan {
                Some(id) => view! {
                    <input type="hidden" name="plan" value=id.to_string() />
                    <p>"Backtesting your plan as it is set up. "
                        <A href="/backtest">"Try another plan instead"</A></p>
                }.into_any(),
                None => view! {
                    <div class="field">
                        <label for="legs">"Symbols and dollars per run"</label>
                        <p class="hint">"SYMBOL:dollars, comma separated, as VTI:100, BND:50"</p>
                        <input id="legs" name="legs" type="text" value=q.legs.clone() placeholder="VTI:100" required />
                    </div>
                    <Choice name="every" label="Schedule" options=SCHEDULES.to_vec() selected=q.every.clone() />
                    <Choice name="mode" label="Strategy" selected=q.mode.clone() options=vec![
                        ("pure", "Pure DCA: buy every run"),
                        ("smart", "Smart DCA: skip runs above the 20-day average"),
                    ] />
                }.into_any(),
            }}
            <div class="field-row">
                <TextField name="from" label="From" kind="date" value=q.from.clone() />
                <TextField name="to" label="To" kind="date" value=q.to.clone() />
                <TextField name="benchmark" label="Benchmark" value=q.benchmark.clone() or="SPY" />
                <Choice name="fill" label="Buys fill at" selected=q.fill.clone() options=vec![
                    ("next-open", "the run day's open"),
                    ("close", "the run day's close"),
                ] />
            </div>
            <p class="hint">"Leave the dates empty for the last five years."</p>
            <button type="submit" data-testid="run-backtest">"Run backtest"</button>
        </form>
    }
}

#[component]
fn Report(r: BacktestReport, q: BacktestQuery) -> impl IntoView {
    let names = r.approaches.clone();
    let mut value_lines = vec![Line {
        name: "Paid in".into(),
        values: r.chart.contributed.clone(),
        reference: true,
    }];
    value_lines.extend(names.iter().zip(&r.chart.values).map(|(n, v)| Line {
        name: n.clone(),
        values: v.clone(),
        reference: false,
    }));
    let drawdown_lines: Vec<Line> = names
        .iter()
        .zip(&r.chart.drawdowns)
        .map(|(n, v)| Line {
            name: n.clone(),
            values: v.clone(),
            reference: false,
        })
        .collect();
    let link = r.query.clone();
    let plan_index = r.plan_index;
    view! {
        <h2 data-testid="report-title">{r.title.clone()}</h2>
        <p>{format!("{} to {}, benchmark {}", r.from, r.to, r.benchmark)}</p>
        <p class="headline" data-testid="headline">{r.headline.clone()}</p>
        {r.simulated.then(|| view! {
            <p class="notice info">"These prices are the demo exchange's simulated history, not market data."</p>
        })}
        <LineChart
            title="Value and money paid in".into()
            src=r.chart_src.clone()
            dates=r.chart.dates.clone()
            lines=value_lines
            unit=Unit::Dollars
            table_rows=r.month_ends.clone()
            testid="value-chart"
        />
        <LineChart
            title="Drawdown on the time-weighted index".into()
            src=r.chart_src.clone()
            dates=r.chart.dates.clone()
            lines=drawdown_lines
            unit=Unit::Percent
            table_rows=r.month_ends.clone()
            testid="drawdown-chart"
        />
        <h2>"Metrics"</h2>
        <div class="table-scroll">
            <table class="table" data-testid="metrics">
                <thead><tr>
                    <th scope="col">"Metric"</th>
                    {names.iter().enumerate().map(|(i, n)| view! {
                        <th scope="col">{n.clone()}{(i == plan_index).then_some(" (your plan)")}</th>
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    {r.metrics.iter().map(|m| view! {
                        <tr data-metric=m.key.clone()>
                            <th scope="row">{m.label.clone()}</th>
                            {m.shown.iter().map(|s| view! { <td>{s.clone()}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="hint">
            "Why these returns differ: the time-weighted return measures the investments, whatever the timing of "
            "the contributions; the money-weighted return (XIRR) is the yearly rate your own dollars earned, timing "
            "included; the dollar gain is the final value less everything paid in. CAGR is shown only for the lump "
            "sum: with contributions it would mislead."
        </p>
        <RollingPanel q=q.clone() src=r.chart_src.clone() />
        <MonteCarloPanel q max=r.max_monte_carlo_paths />
        <h2>"Downloads"</h2>
        <ul class="plain downloads" data-testid="downloads">
            <li><a href=format!("/backtest/report.html?{link}") rel="external" download>"Report (HTML, prints to PDF)"</a></li>
            <li><a href=format!("/backtest/report.json?{link}") rel="external" download>"Everything as JSON"</a></li>
            {["metrics", "buys", "skipped", "chart"].into_iter().map(|t| view! {
                <li><a href=format!("/backtest/export/{t}.csv?{link}") rel="external" download>{format!("The {t} table as CSV")}</a></li>
            }).collect_view()}
        </ul>
        <h2>{format!("Skipped buys ({})", r.skipped.len())}</h2>
        {if r.skipped.is_empty() {
            view! { <p>"None: every run bought."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="skipped">
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Symbol"</th><th scope="col">"Dollars"</th><th scope="col">"Why"</th></tr></thead>
                    <tbody>
                        {r.skipped.iter().map(|s| view! {
                            <tr><th scope="row">{s.date.to_string()}</th><td>{s.symbol.clone()}</td><td>{s.dollars.clone()}</td><td>{s.reason.clone()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <details>
            <summary>{format!("Your plan's buys ({})", r.buys.len())}</summary>
            <table class="table" data-testid="buys">
                <thead><tr><th scope="col">"Date"</th><th scope="col">"Symbol"</th><th scope="col">"Dollars"</th><th scope="col">"Shares"</th><th scope="col">"Price"</th></tr></thead>
                <tbody>
                    {r.buys.iter().map(|b| view! {
                        <tr><th scope="row">{b.date.to_string()}</th><td>{b.symbol.clone()}</td><td>{b.dollars.clone()}</td><td>{b.quantity.clone()}</td><td>{b.price.clone()}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}
