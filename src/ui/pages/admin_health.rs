//! Admin: the system at a glance (database, engines, runs, daily jobs,
//! brokers, Stripe, the AI analyst, e-mail, the kill switch and alerts).
//! Refreshes itself every 10 seconds in the browser.

use crate::api::admin::{
    AiHealth, AlertView, BrokerHealth, DatabaseHealth, EngineInstanceView, JobsHealth, MailHealth,
    RunsHealth, StripeHealth, SystemHealth, admin_system_health,
};
use crate::dto::stamp::Stamp;
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// How often the page asks again, in seconds.
pub const REFRESH_SECS: u64 = 10;

/// Links between the admin pages, under each one's heading.
#[component]
pub(crate) fn AdminNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Admin">
            <A href="/admin/users">"Users"</A>
            " · "
            <A href="/admin/audit">"Audit log"</A>
            " · "
            <A href="/admin/health">"System health"</A>
        </nav>
    }
}

#[component]
pub fn AdminHealthPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let health = Resource::new(move || tick.get(), |_| admin_system_health());
    // Effects run only in the browser, so the server renders once.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|n| *n += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="System health" />
        <section class="page">
            <h1>"System health"</h1>
            <AdminNav />
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match health.await {
                        Ok(h) => view! { <HealthReport h tick /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
            <p><A href="/whats-new">"Release notes"</A></p>
        </section>
    }
}

#[component]
fn HealthReport(h: SystemHealth, tick: RwSignal<u64>) -> impl IntoView {
    let SystemHealth {
        checked_at,
        database,
        engines,
        runs,
        jobs,
        brokers,
        stripe,
        ai,
        mail,
        kill_switch,
        alerts,
    } = h;
    view! {
        <p class="hint" data-testid="checked-at">
            "Checked " <When at=checked_at /> {format!(". Updates every {REFRESH_SECS} seconds. ")}
            <button type="button" class="button small-plain" on:click=move |_| tick.update(|n| *n += 1)>
                "Refresh now"
            </button>
        </p>
        <Alerts alerts />
        <Database database />
        <Engines engines />
        <Runs runs />
        <Jobs jobs />
        <Brokers brokers />
        <Stripe stripe />
        <Ai ai />
        <Mail mail />
        <KillSwitch kill_switch />
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[component]
fn Alerts(alerts: Vec<AlertView>) -> impl IntoView {
    let body = if alerts.is_empty() {
        view! { <p>"No alerts."</p> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
                <table class="table">
                    <thead><tr>
                        <th scope="col">"Alert"</th><th scope="col">"Detail"</th><th scope="col">"Raised"</th>
                        <th scope="col">"Last seen"</th><th scope="col">"Status"</th><th scope="col">"E-mailed"</th>
                    </tr></thead>
                    <tbody>
                        {alerts.into_iter().map(|a| {
                            let open = a.cleared_at.is_none();
                            let status = match a.cleared_at {
                                None => view! { <strong>"Open"</strong> }.into_any(),
                                Some(at) => view! { "Cleared " <When at /> }.into_any(),
                            };
                            view! {
                                <tr class=open.then_some("notice error") data-testid=open.then_some("open-alert") data-kind=a.kind>
                                    <td>{a.title}</td>
                                    <td>{a.detail}</td>
                                    <td><When at=a.raised_at /></td>
                                    <td><When at=a.last_seen_at /></td>
                                    <td>{status}</td>
                                    <td>{yes_no(a.emailed)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! { <Part testid="alerts" title="Alerts">{body}</Part> }
}

/// One section of the page: its heading and what it shows.
#[component]
fn Part(testid: &'static str, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section data-testid=testid>
            <h2>{title}</h2>
            {children()}
        </section>
    }
}

#[component]
fn Database(database: DatabaseHealth) -> impl IntoView {
    let size = database
        .size_bytes
        .map(|b| format!("{:.1} MB", b as f64 / 1_048_576.0))
        .unwrap_or_else(|| "–".into());
    view! {
        <section data-testid="health-database">
            <h2>"Database"</h2>
            <dl class="facts">
                <dt>"Backend"</dt><dd>{database.backend}</dd>
                <dt>"Ready"</dt><dd data-testid="database-ready">{yes_no(database.ready)}</dd>
                <dt>"Migrations"</dt>
                <dd>{format!("{} applied of {} expected", database.migrations_applied, database.migrations_expected)}</dd>
                <dt>"Size"</dt><dd>{size}</dd>
            </dl>
        </section>
    }
}

#[component]
fn Engines(engines: Vec<EngineInstanceView>) -> impl IntoView {
    let body = if engines.is_empty() {
        view! { <p data-testid="no-engines">"No engine has run in the last hour."</p> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
                <table class="table">
                    <thead><tr>
                        <th scope="col">"Name"</th><th scope="col">"Started"</th><th scope="col">"Last pass"</th>
                        <th scope="col">"Passes"</th><th scope="col">"Status"</th>
                    </tr></thead>
                    <tbody>
                        {engines.into_iter().map(|e| view! {
                            <tr data-testid="engine">
                                <td>{e.name}</td>
                                <td><When at=e.started_at /></td>
                                <td><When at=e.last_pass_at /></td>
                                <td>{e.passes}</td>
                                <td>
                                    {if e.stale {
                                        view! { <span class="badge warn">"Stale"</span> }.into_any()
                                    } else {
                                        view! { "Running" }.into_any()
                                    }}
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! { <Part testid="health-engines" title="Engines">{body}</Part> }
}

#[component]
fn Runs(runs: RunsHealth) -> impl IntoView {
    view! {
        <section data-testid="health-runs">
            <h2>"Runs"</h2>
            <dl class="facts">
                <dt>"Due now"</dt><dd data-testid="runs-due">{runs.due}</dd>
                <dt>"In flight"</dt><dd data-testid="runs-in-flight">{runs.in_flight}</dd>
                <dt>{format!("Unresolved after {} min", runs.unresolved_after_minutes)}</dt>
                <dd data-testid="runs-unresolved">{runs.unresolved}</dd>
            </dl>
        </section>
    }
}

/// An instant, or "Never" when there is none.
fn when_or_never(at: Option<Stamp>) -> AnyView {
    match at {
        Some(at) => view! { <When at /> }.into_any(),
        None => view! { "Never" }.into_any(),
    }
}

#[component]
fn Jobs(jobs: JobsHealth) -> impl IntoView {
    view! {
        <section data-testid="health-jobs">
            <h2>"Daily jobs"</h2>
            <dl class="facts">
                <dt>"Last GO"</dt><dd>{when_or_never(jobs.last_go)}</dd>
                <dt>"Last ANALYZE"</dt><dd>{when_or_never(jobs.last_analyze)}</dd>
                <dt>"GO runs at"</dt><dd>{jobs.go_at} " New York time"</dd>
                <dt>"ANALYZE runs at"</dt><dd>{jobs.analyze_at} " New York time"</dd>
                <dt>"Trading day today"</dt><dd>{yes_no(jobs.trading_day)}</dd>
                <dt>"GO ran today"</dt><dd data-testid="go-today">{yes_no(jobs.go_today)}</dd>
            </dl>
        </section>
    }
}

/// Failures by code, most first: `500 ×3, timeout ×1`.
fn by_code_text(by_code: &[(String, u64)]) -> String {
    if by_code.is_empty() {
        return "–".into();
    }
    by_code
        .iter()
        .map(|(code, n)| format!("{code} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Errors as a whole percentage of requests, or a dash when there were none.
fn error_pct(errors: u64, requests: u64) -> String {
    (errors * 100)
        .checked_div(requests)
        .map_or_else(|| "–".into(), |pct| format!("{pct}%"))
}

#[component]
fn Brokers(brokers: Vec<BrokerHealth>) -> impl IntoView {
    let body = if brokers.is_empty() {
        view! { <p>"No broker requests in the last 15 minutes."</p> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
                <table class="table numeric">
                    <thead><tr>
                        <th scope="col">"Environment"</th><th scope="col">"Requests"</th><th scope="col">"Errors"</th>
                        <th scope="col">"Error %"</th><th scope="col">"By code"</th>
                    </tr></thead>
                    <tbody>
                        {brokers.into_iter().map(|b| {
                            let pct = error_pct(b.errors, b.requests);
                            let codes = by_code_text(&b.by_code);
                            let environment = b.environment.clone();
                            view! {
                                <tr data-testid="broker" data-environment=environment>
                                    <td>{b.environment}</td>
                                    <td>{b.requests}</td>
                                    <td>{b.errors}</td>
                                    <td>{pct}</td>
                                    <td>{codes}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! { <Part testid="health-brokers" title="Brokers (last 15 minutes, every instance)">{body}</Part> }
}

#[component]
fn Stripe(stripe: StripeHealth) -> impl IntoView {
    let body = if stripe.enabled {
        let last = match stripe.last_event_at {
            Some(at) => view! { <When at /> }.into_any(),
            None => view! { "None yet" }.into_any(),
        };
        let lag = stripe
            .lag_secs
            .map(|s| format!("{s} s"))
            .unwrap_or_else(|| "–".into());
        view! {
            <dl class="facts">
                <dt>"Status"</dt><dd>"Enabled"</dd>
                <dt>"Last event"</dt><dd>{last}</dd>
                <dt>"Lag"</dt><dd>{lag}</dd>
                <dt>"Deliveries in the last hour"</dt><dd>{stripe.deliveries_last_hour}</dd>
                <dt>"Failures in the last hour"</dt><dd>{stripe.failures_last_hour}</dd>
            </dl>
        }
        .into_any()
    } else {
        view! { <p>"Billing is off."</p> }.into_any()
    };
    view! { <Part testid="health-stripe" title="Stripe webhooks">{body}</Part> }
}

#[component]
fn Ai(ai: AiHealth) -> impl IntoView {
    let body = if ai.enabled {
        view! {
            <dl class="facts">
                <dt>"Status"</dt><dd>"Enabled"</dd>
                <dt>"Calls today"</dt><dd>{format!("{} of {} (daily budget)", ai.calls_today, ai.daily_budget)}</dd>
                <dt>"Failures today"</dt><dd>{ai.failures_today}</dd>
            </dl>
        }
        .into_any()
    } else {
        view! { <p>"Off (no ANTHROPIC key)."</p> }.into_any()
    };
    view! { <Part testid="health-ai" title="AI analyst">{body}</Part> }
}

#[component]
fn Mail(mail: MailHealth) -> impl IntoView {
    view! {
        <section data-testid="health-mail">
            <h2>"E-mail"</h2>
            <dl class="facts">
                <dt>"Mode"</dt><dd>{mail.mode}</dd>
                {mail.outbox_files.map(|n| view! { <dt>"Waiting in the outbox"</dt><dd>{n}</dd> })}
                <dt>"Sent in the last hour"</dt><dd>{mail.sent_last_hour}</dd>
                <dt>"Failed in the last hour"</dt><dd>{mail.failed_last_hour}</dd>
            </dl>
        </section>
    }
}

#[component]
fn KillSwitch(kill_switch: Option<String>) -> impl IntoView {
    let body = match kill_switch {
        Some(who_why) => view! {
            <p class="notice error" data-testid="kill-switch-on">{who_why}</p>
        }
        .into_any(),
        None => {
            view! { <p data-testid="kill-switch-off">"Trading is on for everyone."</p> }.into_any()
        }
    };
    view! {
        <section data-testid="health-kill-switch">
            <h2>"Kill switch"</h2>
            {body}
            <p><A href="/recommendations">"Set or lift it on the Recommendations page"</A></p>
        </section>
    }
}
