//! The portfolio dashboard: per connection, the account, P&L, positions and
//! recent orders. Refreshes itself every 30 seconds without reloading the
//! page, and says plainly when the market is closed, the connection needs
//! reconnecting, or the broker cannot be reached.

use crate::api::auth::getting_started;
use crate::api::broker::{DashboardDto, DashboardState, portfolio_dashboards};
use crate::api::plans::list_plans;
use crate::ui::components::format::{When, money, qty, signed_money, signed_pct};
use crate::ui::components::getting_started::GettingStartedSteps;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use rust_decimal::Decimal;

pub const REFRESH_SECS: u64 = 30;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let dashboards = Resource::new(move || tick.get(), |_| portfolio_dashboards());
    let plans = Resource::new(move || tick.get(), |_| list_plans());
    // Once per visit: the steps change only by what the user does elsewhere.
    let steps = Resource::new(|| (), |_| getting_started());
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|n| *n += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Dashboard" />
        <section class="page wide">
            <h1>"Dashboard"</h1>
            <p class="hint">"Updates every " {REFRESH_SECS} " seconds."</p>
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
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboards.await {
                        Ok(list) if list.is_empty() => view! {
                            <p data-testid="no-connections">"Connect a brokerage account to see it here. "
                                <A href="/brokerage">"Connect an account"</A></p>
                        }.into_any(),
                        Ok(list) => list.into_iter().map(|d| view! { <ConnectionDashboard d /> }).collect_view().into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

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
fn ConnectionDashboard(d: DashboardDto) -> impl IntoView {
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
                DashboardState::Ok => view! { <DashboardBody d=d.clone() /> }.into_any(),
            }}
        </article>
    }
}

#[component]
fn DashboardBody(d: DashboardDto) -> impl IntoView {
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
    view! {
        {market}
        {account}
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
