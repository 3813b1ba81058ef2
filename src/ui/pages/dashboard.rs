//! The portfolio dashboard: per connection, the account, P&L, positions and
//! recent orders, with the account's value over a chosen period; above them,
//! how each plan stands. Refreshes itself every 30 seconds without reloading
//! the page (the plans and the account charts load once), and says plainly
//! when the market is closed, the connection needs reconnecting, or the
//! broker cannot be reached.

use crate::api::auth::getting_started;
use crate::api::broker::{DashboardDto, DashboardState, portfolio_dashboards};
use crate::api::performance::{
    AccountPerformance, Period, PlanSummaryRow, get_account_performance, plan_summary_rows,
};
use crate::api::plans::list_plans;
use crate::error::AppError;
use crate::ui::components::chart::{Line, LineChart, Unit};
use crate::ui::components::format::{
    When, gain_text, money, money_or_dash, pct_or_dash, qty, signed_money, signed_pct,
};
use crate::ui::components::getting_started::GettingStartedSteps;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use rust_decimal::Decimal;
use std::collections::HashMap;

pub const REFRESH_SECS: u64 = 30;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let dashboards = Resource::new(move || tick.get(), |_| portfolio_dashboards());
    let plans = Resource::new(move || tick.get(), |_| list_plans());
    // Once per visit: the steps change only by what the user does elsewhere.
    let steps = Resource::new(|| (), |_| getting_started());
    // Once per visit too: valuing every plan is slow, and moves little in 30 s.
    let plan_rows = Resource::new(|| (), |_| plan_summary_rows());
    let charts = AccountCharts::new();
    // Whether the live stream is up (else the 30 s refresh is all there is).
    let live = RwSignal::new(false);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|n| *n += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        ) {
            on_cleanup(move || handle.clear());
        }
        follow_updates(tick, live);
    });
    view! {
        <Title text="Dashboard" />
        <section class="page wide">
            <h1>"Dashboard"</h1>
            <p class="hint" data-testid="live-state">
                {move || if live.get() {
                    "Live: orders and fills appear as they happen.".to_owned()
                } else {
                    format!("Updates every {REFRESH_SECS} seconds.")
                }}
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    steps.await.ok().map(|steps| view! { <GettingStartedSteps steps /> })
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let next = plans.await.ok().and_then(|list| {
                        list.into_iter()
                            .filter_map(|p| p.next_run.clone().map(|r| (r, p)))
                            .min_by(|a, b| a.0.at.utc.cmp(&b.0.at.utc))
                    });
                    next.map(|(run, p)| {
                        let total: Decimal = p.legs.iter().map(|l| l.amount).sum();
                        view! {
                            <p class="notice info" data-testid="next-purchase">
                                "Next purchase: " <strong>{p.name.clone()}</strong>  ", " <When at=run.at /> " (" {money(total)} "). "
                                <A href="/plans">"All plans"</A>
                            </p>
                        }
                    })
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    plan_rows
                        .await
                        .ok()
                        .filter(|rows| !rows.is_empty())
                        .map(|rows| view! { <PlanRows rows /> })
                })}
            </Transition>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboards.await {
                        Ok(list) if list.is_empty() => view! {
                            <p data-testid="no-connections">"Connect a brokerage account to see it here. "
                                <A href="/brokerage">"Connect an account"</A></p>
                        }.into_any(),
                        Ok(list) => list.into_iter().map(|d| view! { <ConnectionDashboard d charts /> }).collect_view().into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A connection's chosen period and the chart of it.
#[derive(Clone, Copy)]
struct AccountChart {
    connection_id: i64,
    period: RwSignal<Period>,
    /// What the account is set beside: a symbol, `cash`, or empty for SPY.
    benchmark: RwSignal<String>,
    performance: Resource<Result<AccountPerformance, AppError>>,
}

/// The connections' account charts, owned by the page rather than by the
/// dashboards it redraws every 30 seconds: a refresh neither resets the
/// chosen period nor fetches the chart again.
#[derive(Clone, Copy)]
struct AccountCharts {
    /// The page's owner (weakly: the map below is in its keeping).
    owner: StoredValue<WeakOwner>,
    charts: StoredValue<HashMap<i64, AccountChart>>,
}

impl AccountCharts {
    fn new() -> Self {
        Self {
            owner: StoredValue::new(Owner::current().unwrap_or_default().downgrade()),
            charts: StoredValue::new(HashMap::new()),
        }
    }

    /// Connection `connection_id`'s chart, made the first time it is asked for.
    fn for_connection(self, connection_id: i64) -> AccountChart {
        if let Some(chart) = self.charts.with_value(|m| m.get(&connection_id).copied()) {
            return chart;
        }
        let make = move || {
            let period = RwSignal::new(Period::Month);
            let benchmark = RwSignal::new(String::new());
            let performance = Resource::new(
                move || (connection_id, period.get(), benchmark.get()),
                |(id, period, benchmark)| {
                    get_account_performance(id, period.code().to_string(), benchmark)
                },
            );
            AccountChart {
                connection_id,
                period,
                benchmark,
                performance,
            }
        };
        let chart = match self.owner.get_value().upgrade() {
            Some(owner) => owner.with(make),
            None => make(),
        };
        self.charts.update_value(|m| {
            m.insert(connection_id, chart);
        });
        chart
    }
}

/// The points of a `len`-point account chart its table lists (there are no
/// month ends to go by): all of a short chart, else every fifth and the last.
fn sampled_rows(len: usize) -> Vec<usize> {
    if len <= 31 {
        return (0..len).collect();
    }
    let mut rows: Vec<usize> = (0..len).step_by(5).collect();
    if rows.last() != Some(&(len - 1)) {
        rows.push(len - 1);
    }
    rows
}

/// Each plan: what went in, what it is worth, and how it stands against SPY.
#[component]
fn PlanRows(rows: Vec<PlanSummaryRow>) -> impl IntoView {
    view! {
        <h2>"Your plans"</h2>
        <div class="table-scroll">
            <table class="table numeric" data-testid="plan-rows">
                <thead><tr>
                    <th scope="col">"Plan"</th><th scope="col">"Put in"</th><th scope="col">"Worth now"</th>
                    <th scope="col">"Gain"</th><th scope="col">"Versus SPY on the same days"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr data-testid="plan-row">
                            <th scope="row"><A href=format!("/plans/{}/performance", r.plan_id)>{r.plan_name}</A></th>
                            <td>{money(r.contributed)}</td>
                            <td>{money_or_dash(r.value)}</td>
                            <td class=r.gain.map(gain_class).unwrap_or_default()>{r.gain.map(signed_money).unwrap_or_else(|| "—".into())}</td>
                            <td>{r.versus.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Follows `/events`: each update (an order changed, or the stream came
/// back and anything missed must be re-read) refreshes the dashboard; a
/// stream that is down leaves the 30 s refresh to do the work.
#[cfg(feature = "hydrate")]
fn follow_updates(tick: RwSignal<u64>, live: RwSignal<bool>) {
    let id = crate::browser::events::follow(
        "/events",
        move |data| {
            if data.contains("\"kind\":\"down\"") {
                live.set(false);
            } else {
                live.set(true);
                tick.update(|n| *n += 1);
            }
        },
        move |up| live.set(up),
    );
    if let Some(id) = id {
        on_cleanup(move || crate::browser::events::close(id));
    }
}

#[cfg(not(feature = "hydrate"))]
fn follow_updates(_: RwSignal<u64>, _: RwSignal<bool>) {}

fn gain_class(d: Decimal) -> &'static str {
    if d > Decimal::ZERO {
        "gain"
    } else if d < Decimal::ZERO {
        "loss"
    } else {
        ""
    }
}

#[component]
fn ConnectionDashboard(d: DashboardDto, charts: AccountCharts) -> impl IntoView {
    let live = d.connection.environment == "live";
    view! {
        <article class="card dashboard" data-testid="dashboard">
            <header class="dashboard-head">
                <h2>{d.connection.label.clone()}</h2>
                {live.then(|| view! { <span class="badge warn">"Live: real money"</span> })}
                <span class="hint" data-testid="fetched-at">"As of " <When at=d.fetched_at.clone() /></span>
            </header>
            {match d.state.clone() {
                DashboardState::ReconnectNeeded => view! {
                    <p class="notice error" role="alert" data-testid="reconnect-needed">
                        "Alpaca no longer accepts this connection's credentials. "
                        <A href="/brokerage">"Reconnect the account"</A>
                        " to keep trading."
                    </p>
                }.into_any(),
                DashboardState::BrokerUnreachable(why) => view! {
                    <p class="notice error" role="alert" data-testid="broker-unreachable">
                        "Broker unreachable: " {why} " We will try again at the next refresh."
                    </p>
                }.into_any(),
                DashboardState::Ok => view! { <DashboardBody d=d.clone() charts /> }.into_any(),
            }}
        </article>
    }
}

#[component]
fn DashboardBody(d: DashboardDto, charts: AccountCharts) -> impl IntoView {
    let market = d.market.clone().map(|m| {
        if m.is_open {
            view! { <p class="market open" data-testid="market-status">"Market open · closes " <When at=m.next_close.clone() /></p> }.into_any()
        } else {
            view! { <p class="market closed" data-testid="market-status">"Market closed · opens " <When at=m.next_open.clone() /> ". Orders placed now fill at the open."</p> }.into_any()
        }
    });
    let account = d.account.clone().map(|a| view! {
        <dl class="figures" data-testid="account">
            <div><dt>"Equity"</dt><dd data-testid="equity">{money(a.equity)}</dd></div>
            <div><dt>"Cash"</dt><dd data-testid="cash">{money(a.cash)}</dd></div>
            <div><dt>"Buying power"</dt><dd data-testid="buying-power">{money(a.buying_power)}</dd></div>
            <div><dt>"Non-marginable buying power"</dt><dd>{money(a.non_marginable_buying_power)}</dd></div>
            <div><dt>"Today's P&L"</dt><dd class=gain_class(a.today_pl) data-testid="today-pl">
                {signed_money(a.today_pl)} {a.today_pl_pct.map(|p| format!(" ({})", signed_pct(p)))}</dd></div>
            <div><dt>"Total unrealized P&L"</dt><dd class=gain_class(a.total_pl) data-testid="total-pl">
                {signed_money(a.total_pl)} {a.total_pl_pct.map(|p| format!(" ({})", signed_pct(p)))}</dd></div>
            <div><dt>"Account status"</dt><dd>{a.status.clone()} " · " {a.number.clone()}</dd></div>
        </dl>
    });
    let chart = charts.for_connection(d.connection.id);
    view! {
        {market}
        {account}
        <AccountValue chart />
        <h3>"Positions"</h3>
        {if d.positions.is_empty() {
            view! { <p data-testid="no-positions">"No positions yet."</p> }.into_any()
        } else {
            view! {
                <table class="table numeric" data-testid="positions">
                    <thead><tr>
                        <th scope="col">"Symbol"</th><th scope="col">"Quantity"</th><th scope="col">"Avg entry"</th>
                        <th scope="col">"Last"</th><th scope="col">"Market value"</th><th scope="col">"Unrealized P&L"</th>
                    </tr></thead>
                    <tbody>
                        {d.positions.iter().cloned().map(|p| {
                            let pl = p.unrealized_pl.unwrap_or_default();
                            view! {
                                <tr data-testid="position">
                                    <th scope="row">{p.symbol}</th>
                                    <td>{qty(p.qty)}</td>
                                    <td>{money(p.avg_entry_price)}</td>
                                    <td>{p.last_price.map(money).unwrap_or_else(|| "—".into())}</td>
                                    <td>{p.market_value.map(money).unwrap_or_else(|| "—".into())}</td>
                                    <td class=gain_class(pl)>{p.unrealized_pl.map(signed_money).unwrap_or_else(|| "—".into())}
                                        {p.unrealized_pl_pct.map(|x| format!(" ({})", signed_pct(x)))}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <h3>"Recent orders"</h3>
        {if d.orders.is_empty() {
            view! { <p data-testid="no-orders">"No orders yet."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="orders">
                    <thead><tr>
                        <th scope="col">"Placed"</th><th scope="col">"Symbol"</th><th scope="col">"Side"</th>
                        <th scope="col">"Amount"</th><th scope="col">"Status"</th><th scope="col">"Filled"</th>
                    </tr></thead>
                    <tbody>
                        {d.orders.iter().cloned().map(|o| view! {
                            <tr data-testid="order">
                                <td><When at=o.created_at.clone() /></td>
                                <td>{o.symbol}</td>
                                <td>{o.side}</td>
                                <td>{o.amount}</td>
                                <td><span class="badge">{o.status.replace('_', " ")}</span></td>
                                <td>{if o.filled_qty.is_zero() { "—".to_owned() } else {
                                    format!("{} @ {}", qty(o.filled_qty), o.filled_avg_price.map(money).unwrap_or_default())
                                }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// The period switcher over the account's value chart.
#[component]
fn AccountValue(chart: AccountChart) -> impl IntoView {
    let AccountChart {
        connection_id,
        period,
        benchmark,
        performance,
    } = chart;
    let field = format!("account-benchmark-{connection_id}");
    view! {
        <h3>"Account value"</h3>
        <p class="inline-field">
            <label for=field.clone()>"Compare with"</label>
            " "
            <input id=field type="text" placeholder="SPY, any symbol, or cash" data-testid="account-benchmark"
                prop:value=move || benchmark.get()
                on:change=move |ev| benchmark.set(event_target_value(&ev)) />
        </p>
        <div class="subnav" role="group" aria-label="Period">
            {Period::ALL.into_iter().map(move |p| view! {
                <button type="button" class="button small-plain" data-testid=format!("period-{}", p.code())
                    aria-pressed=move || (period.get() == p).to_string()
                    on:click=move |_| period.set(p)>
                    {p.label()}
                </button>
            }).collect_view()}
        </div>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match performance.await {
                    Ok(p) => view! { <AccountValueChart p /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The account's equity (and deposits) over the period, then its returns
/// since it opened.
#[component]
fn AccountValueChart(p: AccountPerformance) -> impl IntoView {
    let AccountPerformance {
        times,
        labels,
        equity,
        deposits,
        figures,
        headline,
        chart_src,
        unavailable,
        ..
    } = p;
    if let Some(why) = unavailable {
        return view! { <p class="hint" data-testid="equity-unavailable">{why}</p> }.into_any();
    }
    let series = |v: Vec<f64>| -> Vec<Option<f64>> {
        v.into_iter().map(|x| x.is_finite().then_some(x)).collect()
    };
    let mut lines = Vec::new();
    if !deposits.is_empty() {
        lines.push(Line {
            name: "Deposits".into(),
            values: series(deposits),
            reference: true,
        });
    }
    lines.push(Line {
        name: "Equity".into(),
        values: series(equity),
        reference: false,
    });
    let chart = if times.is_empty() {
        view! { <p class="hint" data-testid="no-equity">"No account history for this period yet."</p> }
            .into_any()
    } else {
        let table_rows = sampled_rows(times.len());
        view! {
            <LineChart
                title="Account value".into()
                src=chart_src
                dates=Vec::new()
                times=times.into_iter().zip(labels).collect()
                lines
                unit=Unit::Dollars
                table_rows
                testid="equity-chart"
            />
        }
        .into_any()
    };
    let figures = figures.map(|f| {
        view! {
            <dl class="figures" data-testid="account-figures">
                <div><dt>"Put in"</dt><dd data-testid="account-contributed">{money(f.contributed)}</dd></div>
                <div><dt>"Worth now"</dt><dd data-testid="account-value">{money(f.value)}</dd></div>
                <div><dt>"Gain"</dt><dd class=gain_class(f.gain) data-testid="account-gain">{gain_text(f.gain, f.gain_pct)}</dd></div>
                <div><dt>"Time-weighted"</dt><dd>{pct_or_dash(f.twr_pct)}</dd></div>
                <div><dt>"Money-weighted (a year)"</dt><dd>{pct_or_dash(f.xirr_pct)}</dd></div>
            </dl>
        }
    });
    let versus =
        (!headline.is_empty()).then(|| view! { <p data-testid="account-versus">{headline}</p> });
    view! {
        {chart}
        {figures}
        {versus}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::sampled_rows;

    #[test]
    fn a_short_chart_lists_every_point_a_long_one_every_fifth_and_the_last() {
        assert_eq!(sampled_rows(0), Vec::<usize>::new());
        assert_eq!(sampled_rows(31), (0..31).collect::<Vec<_>>());
        assert_eq!(sampled_rows(32), vec![0, 5, 10, 15, 20, 25, 30, 31]);
        assert_eq!(sampled_rows(36), vec![0, 5, 10, 15, 20, 25, 30, 35]);
    }
}
