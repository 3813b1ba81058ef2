//! A plan's real performance: what was put in, what it is worth, and how it
//! did beside a benchmark (or cash) bought with the same dollars on the same
//! days; then the holdings, purchases and dividends behind the figures. The
//! benchmark is a plain GET form, so a comparison is a link.

use crate::api::performance::{Figures, PlanPerformance, get_plan_performance};
use crate::error::AppError;
use crate::ui::components::chart::{Line, LineChart, Unit};
use crate::ui::components::form_fields::TextField;
use crate::ui::components::format::{When, gain_text, money, money_or_dash, pct_or_dash, qty};
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// One approach's series of the chart (empty when the chart lacks it).
fn nth(series: &[Vec<Option<f64>>], i: usize) -> Vec<Option<f64>> {
    series.get(i).cloned().unwrap_or_default()
}

#[component]
pub fn PlanPerformancePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let raw_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let id = move || raw_id().parse::<i64>().ok();
    let benchmark = move || query.with(|q| q.get("benchmark").unwrap_or_default());
    let performance = Resource::new(
        move || (id(), benchmark()),
        |(id, benchmark)| async move {
            match id {
                Some(id) => get_plan_performance(id, benchmark).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Performance" />
        <section class="page wide">
            <p><A href=move || format!("/plans/{}", raw_id())>"← Back to the plan"</A></p>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match performance.await {
                        Ok(p) => view! { <Performance p /> }.into_any(),
                        Err(error) => {
                            // A benchmark that was refused can be put right here.
                            let form = (error != AppError::Unauthenticated).then(|| {
                                let plan_id = params.with_untracked(|p| p.get("id").unwrap_or_default());
                                let value = query.with_untracked(|q| q.get("benchmark").unwrap_or_default());
                                view! { <BenchmarkForm plan_id value /> }
                            });
                            view! { <ErrorNotice error /> {form} }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// What the plan is set beside: a symbol, or cash.
#[component]
fn BenchmarkForm(plan_id: String, value: String) -> impl IntoView {
    view! {
        <form method="get" action=format!("/plans/{plan_id}/performance") class="backtest-form" data-testid="benchmark-form">
            <TextField name="benchmark" label="Compare with" value=value placeholder="SPY, any symbol, or cash" />
            <button type="submit" data-testid="compare">"Compare"</button>
        </form>
    }
}

#[component]
fn Performance(p: PlanPerformance) -> impl IntoView {
    let benchmark = p.benchmark.clone().unwrap_or_else(|| "cash".into());
    let plan_id = p.plan_id.to_string();
    let heading = format!("{}: performance", p.plan_name);
    let body = match (p.nothing_yet, p.plan.clone(), p.shadow.clone()) {
        (false, Some(plan), Some(shadow)) => view! { <Bought p plan shadow /> }.into_any(),
        _ => view! {
            <p data-testid="nothing-yet">"Nothing bought yet: the figures start with the plan's first purchase."</p>
        }
        .into_any(),
    };
    view! {
        <h1>{heading}</h1>
        <BenchmarkForm plan_id value=benchmark />
        {body}
    }
}

/// The figures, charts and tables once something has been bought.
#[component]
fn Bought(p: PlanPerformance, plan: Figures, shadow: Figures) -> impl IntoView {
    let PlanPerformance {
        headline,
        holdings,
        purchases,
        dividends,
        chart,
        month_ends,
        chart_src,
        valued_at,
        prices_note,
        ..
    } = p;
    let value_lines = vec![
        Line {
            name: "Put in".into(),
            values: chart.contributed,
            reference: true,
        },
        Line {
            name: plan.name.clone(),
            values: nth(&chart.values, 0),
            reference: false,
        },
        Line {
            name: shadow.name.clone(),
            values: nth(&chart.values, 1),
            reference: false,
        },
    ];
    let drawdown_lines = vec![
        Line {
            name: plan.name.clone(),
            values: nth(&chart.drawdowns, 0),
            reference: false,
        },
        Line {
            name: shadow.name.clone(),
            values: nth(&chart.drawdowns, 1),
            reference: false,
        },
    ];
    let purchases_heading = format!("Purchases ({})", purchases.len());
    view! {
        <p class="headline" data-testid="versus">{headline}</p>
        <div class="table-scroll">
            <table class="table numeric" data-testid="performance-figures">
                <thead><tr>
                    <th scope="col"><span class="sr-only">"Figure"</span></th>
                    <th scope="col">{plan.name.clone()}</th>
                    <th scope="col">{shadow.name.clone()}</th>
                </tr></thead>
                <tbody>
                    <tr>
                        <th scope="row">"Put in"</th>
                        <td data-testid="plan-contributed">{money(plan.contributed)}</td>
                        <td data-testid="shadow-contributed">{money(shadow.contributed)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Worth now"</th>
                        <td data-testid="plan-value">{money(plan.value)}</td>
                        <td data-testid="shadow-value">{money(shadow.value)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Gain"</th>
                        <td data-testid="plan-gain">{gain_text(plan.gain, plan.gain_pct)}</td>
                        <td data-testid="shadow-gain">{gain_text(shadow.gain, shadow.gain_pct)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Time-weighted return"</th>
                        <td data-testid="plan-twr">{pct_or_dash(plan.twr_pct)}</td>
                        <td data-testid="shadow-twr">{pct_or_dash(shadow.twr_pct)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Money-weighted return (XIRR, a year)"</th>
                        <td data-testid="plan-xirr">{pct_or_dash(plan.xirr_pct)}</td>
                        <td data-testid="shadow-xirr">{pct_or_dash(shadow.xirr_pct)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Deepest fall"</th>
                        <td data-testid="plan-drawdown">{pct_or_dash(Some(plan.max_drawdown_pct))}</td>
                        <td data-testid="shadow-drawdown">{pct_or_dash(Some(shadow.max_drawdown_pct))}</td>
                    </tr>
                </tbody>
            </table>
        </div>
        <details open class="notice info" data-testid="returns-note">
            <summary>"Why these returns differ"</summary>
            <ul>
                <li>"Gain, in dollars, is what you have over what you put in."</li>
                <li>"Time-weighted return measures the investments alone, as if the money had all been there from the start, so your contributions don't distort it."</li>
                <li>"Money-weighted return (XIRR) is the yearly rate your own dollars earned, the timing of each purchase included: buying more before a rise lifts it, buying more before a fall lowers it."</li>
            </ul>
            <p>"The three agree only when there is a single contribution."</p>
        </details>
        {prices_note.map(|note| view! { <p class="hint" data-testid="prices-note">{note}</p> })}
        <p class="hint" data-testid="valued-at">"Valued " <When at=valued_at /></p>
        <LineChart
            title="Value and money put in".into()
            src=chart_src.clone()
            dates=chart.dates.clone()
            lines=value_lines
            unit=Unit::Dollars
            table_rows=month_ends.clone()
            testid="performance-value-chart"
        />
        <LineChart
            title="Fall from the peak (time-weighted)".into()
            src=chart_src
            dates=chart.dates
            lines=drawdown_lines
            unit=Unit::Percent
            table_rows=month_ends
            testid="performance-drawdown-chart"
        />
        <h2>"Holdings"</h2>
        <div class="table-scroll">
            <table class="table numeric" data-testid="holdings">
                <thead><tr>
                    <th scope="col">"Symbol"</th><th scope="col">"Shares"</th><th scope="col">"Cost"</th>
                    <th scope="col">"Average cost per share"</th><th scope="col">"Price now"</th><th scope="col">"Value"</th>
                </tr></thead>
                <tbody>
                    {holdings.into_iter().map(|h| view! {
                        <tr data-testid="holding">
                            <th scope="row">{h.symbol}</th>
                            <td>{qty(h.shares)}</td>
                            <td>{money(h.cost)}</td>
                            <td>{money_or_dash(h.average_cost)}</td>
                            <td>{money_or_dash(h.price)}</td>
                            <td>{money_or_dash(h.value)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <h2>{purchases_heading}</h2>
        <div class="table-scroll">
            <table class="table numeric" data-testid="purchases">
                <thead><tr>
                    <th scope="col">"Date"</th><th scope="col">"Symbol"</th><th scope="col">"Dollars"</th>
                    <th scope="col">"Shares"</th><th scope="col">"Price"</th>
                </tr></thead>
                <tbody>
                    {purchases.into_iter().map(|b| view! {
                        <tr data-testid="purchase">
                            <th scope="row">{b.date.to_string()}</th>
                            <td>{b.symbol}</td>
                            <td>{money(b.dollars)}</td>
                            <td>{qty(b.shares)}</td>
                            <td>{money(b.price)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="hint">"Shares and prices are in today's shares: a split restates earlier purchases, the dollars paid never change."</p>
        {(!dividends.is_empty()).then(|| view! {
            <h2>"Dividends"</h2>
            <table class="table numeric" data-testid="dividends">
                <thead><tr>
                    <th scope="col">"Date"</th><th scope="col">"Symbol"</th><th scope="col">"Amount"</th>
                </tr></thead>
                <tbody>
                    {dividends.into_iter().map(|d| view! {
                        <tr data-testid="dividend">
                            <th scope="row">{d.date.to_string()}</th>
                            <td>{d.symbol}</td>
                            <td>{money(d.amount)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}
