//! Plans: the list and one plan's page (its figures, pause / resume / stop,
//! and its history of runs).

use crate::api::plans::{
    PausePlan, PlanDetail, PlanSummary, ResumePlan, StopPlan, get_plan, list_plans,
    purchase_history,
};
use crate::domain::run::{OrderState, RunStatus};
use crate::error::AppError;
use crate::ui::components::action_errors::form_error;
use crate::ui::components::format::{When, money, qty};
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

fn legs_text(p: &PlanSummary) -> String {
    p.legs
        .iter()
        .map(|l| format!("{} {}", l.symbol, money(l.amount)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// What a plan's shares are worth now, or why that is not known.
fn value_now(p: &PlanSummary) -> String {
    p.current_value
        .map(money)
        .unwrap_or_else(|| "unavailable".into())
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let class = badge_class(status);
    view! { <span class=class>{status.replace('_', " ")}</span> }
}

/// The badge's look for a plan's status, a run's or an order's state. Runs
/// and orders are matched exhaustively, so a new state must choose its look.
fn badge_class(status: &str) -> &'static str {
    const DONE: &str = "badge";
    const WAITING: &str = "badge muted";
    const ATTENTION: &str = "badge warn";
    if let Ok(run) = RunStatus::try_from(status) {
        return match run {
            RunStatus::Filled => DONE,
            RunStatus::Pending | RunStatus::Running | RunStatus::Submitted => WAITING,
            RunStatus::PartiallyFilled
            | RunStatus::Rejected
            | RunStatus::Canceled
            | RunStatus::Expired
            | RunStatus::Failed
            | RunStatus::Skipped
            | RunStatus::Missed => ATTENTION,
        };
    }
    if let Ok(order) = OrderState::try_from(status) {
        return match order {
            OrderState::Filled => DONE,
            OrderState::Intent | OrderState::Submitted | OrderState::Unknown => WAITING,
            OrderState::Canceled
            | OrderState::Expired
            | OrderState::Rejected
            | OrderState::NotPlaced
            | OrderState::Failed => ATTENTION,
        };
    }
    match status {
        "active" => DONE,
        "paused" => WAITING,
        _ => ATTENTION,
    }
}

#[component]
pub fn PlansPage() -> impl IntoView {
    let pause = ServerAction::<PausePlan>::new();
    let resume = ServerAction::<ResumePlan>::new();
    let stop = ServerAction::<StopPlan>::new();
    let plans = Resource::new(
        move || {
            (
                pause.version().get(),
                resume.version().get(),
                stop.version().get(),
            )
        },
        |_| list_plans(),
    );
    let mine = Resource::new(|| (), |_| crate::api::billing::get_billing());
    view! {
        <Title text="Plans" />
        <section class="page wide">
            <h1>"Your plans"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    mine.await.ok().filter(|b| b.billing_enabled).map(|b| view! {
                        <p class="hint" data-testid="tier-limits">
                            "Your plan: " <strong>{b.tier_name.clone()}</strong> " — " {b.limits.join(" · ")} ". "
                            <A href="/pricing">"Compare plans"</A>
                        </p>
                    })
                })}
            </Transition>
            <p><A href="/plans/new" attr:class="button primary" attr:data-testid="new-plan">"New plan"</A>
                " " <A href="/history">"Purchase history"</A>
                " " <A href="/notifications">"Notifications"</A></p>
            {form_error(pause)}
            {form_error(resume)}
            {form_error(stop)}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match plans.await {
                        Ok(list) if list.is_empty() => view! {
                            <p data-testid="no-plans">"No plans yet. A plan buys the symbols you choose, for the amounts you choose, on your schedule."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="plans">
                                <thead><tr>
                                    <th scope="col">"Plan"</th><th scope="col">"Buys"</th><th scope="col">"When"</th>
                                    <th scope="col">"Status"</th><th scope="col">"Next run"</th>
                                    <th scope="col" class="num">"Invested"</th><th scope="col" class="num">"Value now"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| {
                                        let id = p.id.to_string();
                                        let (id_pause, id_resume, id_stop) = (id.clone(), id.clone(), id);
                                        let next = p.next_run.clone().map_or_else(|| "—".into_any(), |r| view! { <When at=r.at /> }.into_any());
                                        let status = p.status.clone();
                                        let href = format!("/plans/{}", p.id);
                                        let name = p.name.clone();
                                        let legs = legs_text(&p);
                                        view! {
                                            <tr data-testid="plan">
                                                <th scope="row"><A href=href>{name}</A></th>
                                                <td>{legs}</td>
                                                <td>{p.schedule.clone()}<br/><span class="hint">{p.mode.clone()}</span></td>
                                                <td>
                                                    {status_badge(&p.status)}
                                                    {(p.paused_by_tier && p.status == "paused").then(|| view! {
                                                        <br/><span class="hint" data-testid="paused-by-tier">"Not in your plan: "<A href="/pricing">"upgrade"</A>" to resume"</span>
                                                    })}
                                                </td>
                                                <td data-testid="next-run">{next}</td>
                                                <td class="num" data-testid="invested">{money(p.invested)}</td>
                                                <td class="num" data-testid="current-value">
                                                    {value_now(&p)}
                                                </td>
                                                <td class="actions">
                                                    {(status != "ended").then(|| view! {
                                                        <A href=format!("/plans/{}/edit", p.id) attr:class="button small-plain">"Edit"</A>
                                                    })}
                                                    {(status == "active").then(|| view! {
                                                        <ActionForm action=pause>
                                                            <input type="hidden" name="id" value=id_pause.clone() />
                                                            <button type="submit" class="button small-plain">"Pause"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(status == "paused").then(|| view! {
                                                        <ActionForm action=resume>
                                                            <input type="hidden" name="id" value=id_resume.clone() />
                                                            <button type="submit" class="button small-plain">"Resume"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(status != "ended").then(|| view! {
                                                        <ActionForm action=stop>
                                                            <input type="hidden" name="id" value=id_stop.clone() />
                                                            <button type="submit" class="button small-plain">"Stop"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// What stopping a plan means, said before it is done.
const STOP_MEANS: &str = "Stopping ends this plan for good: no further runs are made, and it cannot be resumed (you can create a new plan). Runs already made, their orders and what they bought stay as they are, in your account and in your history.";

/// What pausing does, with the run it would skip.
fn pause_effect(next_run: Option<&str>) -> String {
    let next = next_run
        .map(|n| format!(" The next run ({n}) is not made."))
        .unwrap_or_default();
    format!(
        "While paused, no runs are made.{next} Runs that fall while it is paused are not made up when you resume."
    )
}

/// Pause, resume and stop on a plan's own page; stop asks first.
#[component]
fn PlanControls(
    p: PlanSummary,
    pause: ServerAction<PausePlan>,
    resume: ServerAction<ResumePlan>,
    stop: ServerAction<StopPlan>,
) -> impl IntoView {
    let id = p.id.to_string();
    let (id_pause, id_resume, id_stop) = (id.clone(), id.clone(), id);
    let status = p.status.clone();
    let next = p.next_run.as_ref().map(|r| r.at.local.clone());
    view! {
        {form_error(pause)}
        {form_error(resume)}
        {form_error(stop)}
        <div class="plan-controls" data-testid="plan-controls">
            {(status == "active").then(|| view! {
                <ActionForm action=pause>
                    <input type="hidden" name="id" value=id_pause />
                    <button type="submit" class="button" data-testid="pause-plan">"Pause plan"</button>
                </ActionForm>
                <p class="hint" data-testid="pause-effect">{pause_effect(next.as_deref())}</p>
            })}
            {(status == "paused").then(|| view! {
                <ActionForm action=resume>
                    <input type="hidden" name="id" value=id_resume />
                    <button type="submit" class="button primary" data-testid="resume-plan">"Resume plan"</button>
                </ActionForm>
                <p class="hint">"Resuming buys again from the next scheduled run; runs that fell while it was paused are not made up."</p>
            })}
            {(status != "ended").then(|| view! {
                <details class="confirm" data-testid="stop-plan">
                    <summary class="button">"Stop plan…"</summary>
                    <p data-testid="stop-means">{STOP_MEANS}</p>
                    <ActionForm action=stop>
                        <input type="hidden" name="id" value=id_stop />
                        <button type="submit" class="button danger" data-testid="confirm-stop">"Yes, stop this plan"</button>
                    </ActionForm>
                </details>
            })}
        </div>
    }
}

#[component]
pub fn PlanDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()));
    let pause = ServerAction::<PausePlan>::new();
    let resume = ServerAction::<ResumePlan>::new();
    let stop = ServerAction::<StopPlan>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                pause.version().get(),
                resume.version().get(),
                stop.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_plan(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Plan" />
        <section class="page wide">
            <p><A href="/plans">"← Your plans"</A></p>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! { <PlanHistory d pause resume stop /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PlanHistory(
    d: PlanDetail,
    pause: ServerAction<PausePlan>,
    resume: ServerAction<ResumePlan>,
    stop: ServerAction<StopPlan>,
) -> impl IntoView {
    let p = d.plan.clone();
    view! {
        <h1>{p.name.clone()}</h1>
        <dl class="figures">
            <div><dt>"Buys"</dt><dd>{legs_text(&p)}</dd></div>
            <div><dt>"When"</dt><dd>{p.schedule.clone()}</dd></div>
            <div><dt>"Strategy"</dt><dd>{p.mode.clone()}</dd></div>
            <div><dt>"Status"</dt><dd data-testid="plan-status">{status_badge(&p.status)}</dd></div>
            <div><dt>"Invested so far"</dt><dd data-testid="invested">{money(d.invested)}</dd></div>
            <div><dt>"Value now"</dt><dd data-testid="current-value">{value_now(&p)}</dd></div>
            <div><dt>"Next run"</dt><dd>{p.next_run.clone().map_or_else(|| "—".into_any(), |r| view! { <When at=r.at /> }.into_any())}</dd></div>
            <div><dt>"Account"</dt><dd>{p.connection_label.clone().unwrap_or_else(|| "No connection".into())}</dd></div>
        </dl>
        <p class="hint" data-testid="catch-up">{p.catch_up.clone()}</p>
        <p class="actions">
            {(p.status != "ended").then(|| view! {
                <A href=format!("/plans/{}/edit", p.id) attr:class="button">"Edit plan"</A>
            })}
            " "
            <A href=format!("/backtest?plan={}", p.id) attr:class="button" attr:data-testid="backtest-plan">"Backtest"</A>
            " "
            <A href=format!("/plans/{}/performance", p.id) attr:class="button" attr:data-testid="performance-link">"Performance"</A>
        </p>
        <PlanControls p=p.clone() pause resume stop />
        <h2>"Runs"</h2>
        <p><a href=format!("/plans/{}/runs.csv", p.id) rel="external" download data-testid="csv">"Download the runs as CSV"</a></p>
        {if d.slots.is_empty() {
            view! { <p data-testid="no-runs">"No runs yet."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="runs">
                    <thead><tr>
                        <th scope="col">"Scheduled"</th><th scope="col">"Outcome"</th><th scope="col">"Orders"</th>
                    </tr></thead>
                    <tbody>
                        {d.slots.into_iter().map(|s| view! {
                            <tr data-testid="run" id=format!("run-{}", s.scheduled_at.utc)>
                                <td><When at=s.scheduled_at.clone() /></td>
                                <td>{status_badge(&s.status)}
                                    {s.reason.clone().map(|r| view! { <p class="hint">{r}</p> })}</td>
                                <td>
                                    <ul class="plain">
                                        {s.orders.into_iter().map(|o| view! {
                                            <li>
                                                {o.symbol.clone()} " " {money(o.notional)} ": " {o.status.replace('_', " ")}
                                                {(!o.filled_qty.is_zero()).then(|| format!(
                                                    " · {} sh @ {}",
                                                    qty(o.filled_qty),
                                                    o.filled_avg_price.map(money).unwrap_or_default()
                                                ))}
                                                <br/><span class="hint">"Client order id " <code>{o.client_order_id.clone()}</code></span>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let history = Resource::new(|| (), |_| purchase_history());
    view! {
        <Title text="Purchase history" />
        <section class="page wide">
            <h1>"Purchase history"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Ok(rows) if rows.is_empty() => view! {
                            <p data-testid="no-purchases">"No purchases yet."</p>
                        }.into_any(),
                        Ok(rows) => view! {
                            <table class="table" data-testid="purchases">
                                <thead><tr>
                                    <th scope="col">"When"</th><th scope="col">"Plan"</th><th scope="col">"Symbol"</th>
                                    <th scope="col">"Amount"</th><th scope="col">"Status"</th><th scope="col">"Filled"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr data-testid="purchase">
                                            <td><When at=r.scheduled_at.clone() /></td>
                                            <td><A href=format!("/plans/{}", r.plan_id)>{r.plan_name.clone()}</A></td>
                                            <td>{r.symbol.clone()}</td>
                                            <td>{money(r.notional)}</td>
                                            <td>{status_badge(&r.status)}</td>
                                            <td>{if r.filled_qty.is_zero() { "—".to_owned() } else {
                                                format!("{} sh @ {}", qty(r.filled_qty), r.filled_avg_price.map(money).unwrap_or_default())
                                            }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
