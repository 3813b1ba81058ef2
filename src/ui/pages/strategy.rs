//! The Strategy backtest page: the MA crossover (the live strategy's own
//! code) over one symbol, or a sweep of fast × slow windows shown as a
//! heatmap (a table, so it reads without colour too), with the best pair's
//! equity, metrics and trades. A GET form, like the Backtest page.

use crate::api::backtest::{StrategyQuery, StrategyReport, Sweep, run_strategy};
use crate::domain::backtest::chart::month_ends;
use crate::error::AppError;
use crate::ui::components::chart::{Line, LineChart, Unit};
use crate::ui::components::form_fields::{Choice, TextField};
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

const RANKS: [(&str, &str); 7] = [
    ("final_value", "Final value"),
    ("sharpe", "Sharpe ratio"),
    ("sortino", "Sortino ratio"),
    ("calmar", "Calmar ratio"),
    ("max_drawdown_pct", "Shallowest drawdown"),
    ("win_rate_pct", "Win rate"),
    ("profit_factor", "Profit factor"),
];

fn query_of(m: &leptos_router::params::ParamsMap) -> StrategyQuery {
    let text = |k: &str| m.get(k).unwrap_or_default();
    StrategyQuery {
        symbol: text("symbol"),
        fast: text("fast"),
        slow: text("slow"),
        cash: text("cash"),
        fill: text("fill"),
        sizing: text("sizing"),
        trend_filter: text("trend_filter"),
        volume_filter: text("volume_filter"),
        stop_loss_pct: text("stop_loss_pct"),
        take_profit_pct: text("take_profit_pct"),
        from: text("from"),
        to: text("to"),
        rank_by: text("rank_by"),
    }
}

#[component]
pub fn StrategyPage() -> impl IntoView {
    let params = use_query_map();
    let query = move || params.with(query_of);
    let report = Resource::new(query, |q| async move {
        if q.symbol.trim().is_empty() {
            Ok::<_, AppError>(None)
        } else {
            run_strategy(q).await.map(Some)
        }
    });
    view! {
        <Title text="Strategy backtest" />
        <section class="page wide">
            <p><A href="/backtest">"← Plan backtests"</A></p>
            <h1>"Strategy backtest"</h1>
            <p class="hint">
                "The moving-average crossover Dripfeed's recommendations use, over one symbol's daily bars: it buys "
                "when the fast average crosses above the slow one and sells when it crosses below. Give a range "
                "(5..20) for either window to sweep every pair."
            </p>
            {move || view! { <StrategyForm q=query() /> }}
            <Transition fallback=|| view! { <p aria-busy="true">"Running the backtest…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(Some(r)) => view! { <StrategyResult r /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StrategyForm(q: StrategyQuery) -> impl IntoView {
    view! {
        <form method="get" action="/backtest/strategy" class="backtest-form" data-testid="strategy-form">
            <div class="field-row">
                <TextField name="symbol" label="Symbol" value=q.symbol.clone() or="SPY" />
                <TextField name="fast" label="Fast average (bars)" value=q.fast.clone() or="5" placeholder="5 or 5..20" />
                <TextField name="slow" label="Slow average (bars)" value=q.slow.clone() or="20" placeholder="20 or 20..60:5" />
                <TextField name="cash" label="Starting cash ($)" value=q.cash.clone() or="10000" />
            </div>
            <div class="field-row">
                <TextField name="trend_filter" label="Trend filter (bars, optional)" value=q.trend_filter.clone() placeholder="200" />
                <TextField name="volume_filter" label="Volume filter (bars, optional)" value=q.volume_filter.clone() placeholder="20" />
                <TextField name="stop_loss_pct" label="Stop-loss % (optional)" value=q.stop_loss_pct.clone() />
                <TextField name="take_profit_pct" label="Take-profit % (optional)" value=q.take_profit_pct.clone() />
            </div>
            <div class="field-row">
                <TextField name="from" label="From" kind="date" value=q.from.clone() />
                <TextField name="to" label="To" kind="date" value=q.to.clone() />
                <Choice name="fill" label="Orders fill at" selected=q.fill.clone() options=vec![
                    ("next-open", "the next bar's open"),
                    ("close", "the signal bar's close"),
                ] />
                <Choice name="sizing" label="Shares" selected=q.sizing.clone() options=vec![
                    ("whole", "whole shares"),
                    ("fractional", "fractional shares"),
                ] />
                <Choice name="rank_by" label="A sweep ranks by" options=RANKS.to_vec() selected=q.rank_by.clone() />
            </div>
            <button type="submit" data-testid="run-strategy">"Run backtest"</button>
        </form>
    }
}

#[component]
fn Heatmap(s: Sweep) -> impl IntoView {
    let best = s.cells.first().map(|c| (c.fast, c.slow));
    let cells = s.cells.clone();
    let cell =
        move |f: usize, sl: usize| cells.iter().find(|c| c.fast == f && c.slow == sl).cloned();
    let fasts: Vec<usize> = s
        .fasts
        .iter()
        .copied()
        .filter(|f| s.slows.iter().any(|sl| f < sl))
        .collect();
    view! {
        <h2>{format!("Sweep: {} of {} pairs", s.rank_label, s.cells.len())}</h2>
        <p class="hint">"Rows are the fast average, columns the slow one; darker is better, the best pair is starred."</p>
        <div class="table-scroll">
            <table class="table heatmap" data-testid="heatmap">
                <caption class="sr-only">{format!("{} by fast and slow average", s.rank_label)}</caption>
                <thead><tr>
                    <th scope="col">"fast \\ slow"</th>
                    {s.slows.iter().map(|sl| view! { <th scope="col">{sl.to_string()}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {fasts.into_iter().map(|f| view! {
                        <tr>
                            <th scope="row">{f.to_string()}</th>
                            {s.slows.iter().map(|&sl| match cell(f, sl) {
                                Some(c) => {
                                    let star = best == Some((c.fast, c.slow));
                                    view! {
                                        <td class=format!("heat-{}", c.shade) data-best=star.then_some("true")>
                                            {c.shown.clone()}{star.then_some(" ★")}
                                        </td>
                                    }.into_any()
                                }
                                None => view! { <td class="heat-none">"—"</td> }.into_any(),
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn StrategyResult(r: StrategyReport) -> impl IntoView {
    let link = r.query.clone();
    let rows = month_ends(&r.dates);
    view! {
        <h2 data-testid="strategy-title">{r.title.clone()}</h2>
        <p>{format!("{} to {}", r.from, r.to)}</p>
        <p class="headline" data-testid="strategy-headline">{r.headline.clone()}</p>
        {r.simulated.then(|| view! {
            <p class="notice info">"These prices are the demo exchange's simulated history, not market data."</p>
        })}
        {r.sweep.clone().map(|s| view! { <Heatmap s /> })}
        <LineChart
            title="Account value".into()
            src=r.chart_src.clone()
            dates=r.dates.clone()
            lines=vec![Line { name: "Account value".into(), values: r.equity.clone(), reference: false }]
            unit=Unit::Dollars
            table_rows=rows
            testid="equity-chart"
        />
        <h2>"Metrics"</h2>
        <table class="table" data-testid="strategy-metrics">
            <tbody>
                {r.metrics.iter().map(|m| view! {
                    <tr data-metric=m.key.clone()><th scope="row">{m.label.clone()}</th><td>{m.shown.clone()}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Downloads"</h2>
        <ul class="plain downloads" data-testid="strategy-downloads">
            <li><a href=format!("/backtest/strategy/report.json?{link}") rel="external" download>"Everything as JSON"</a></li>
            {["metrics", "trades", "sweep"].into_iter().map(|t| view! {
                <li><a href=format!("/backtest/strategy/export/{t}.csv?{link}") rel="external" download>{format!("The {t} table as CSV")}</a></li>
            }).collect_view()}
        </ul>
        <h2>{format!("Trades ({})", r.trades.len())}</h2>
        <table class="table" data-testid="trades">
            <thead><tr>
                <th scope="col">"Entry"</th><th scope="col">"Exit"</th><th scope="col">"Entry price"</th>
                <th scope="col">"Exit price"</th><th scope="col">"Shares"</th><th scope="col">"Profit or loss"</th><th scope="col">"Why it closed"</th>
            </tr></thead>
            <tbody>
                {r.trades.iter().map(|t| view! {
                    <tr>
                        <th scope="row">{t.entry_date.to_string()}</th><td>{t.exit_date.to_string()}</td>
                        <td>{t.entry_price.clone()}</td><td>{t.exit_price.clone()}</td><td>{t.quantity.clone()}</td>
                        <td>{t.pnl.clone()}</td><td>{t.exit_reason.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
