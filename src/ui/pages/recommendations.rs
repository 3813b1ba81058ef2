//! The Recommendations inbox: what the daily analysis proposes, each to
//! Execute or Ignore (nothing is traded otherwise), the user's settings and
//! rails, the kill switch; and the Scorecard of how recommendations did.

use crate::api::recommendations::{
    AccountChoice, ExecuteRecommendation, IgnoreRecommendation, LIVE_CONFIRMATION,
    RecommendationDto, RecommendationsPage, SaveRecommendationRails, SaveRecommendationSettings,
    SetGlobalKillSwitch, SetKillSwitch, recommendation_scorecard, recommendations_inbox,
};
use crate::domain::recommendation::scorecard::Horizon;
use crate::domain::recommendation::{Side, Signal, State};
use crate::error::AppError;
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use crate::ui::components::format::{When, money, qty, signed_money, signed_pct};
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

const SIGNALS: [(&str, &str); 5] = [
    ("", "All signals"),
    ("entry", "Crossover entries"),
    ("exit", "Crossover exits"),
    ("stop_loss", "Stop-loss reached"),
    ("take_profit", "Take-profit reached"),
];

#[component]
pub fn InboxPage() -> impl IntoView {
    let save = ServerAction::<SaveRecommendationSettings>::new();
    let rails = ServerAction::<SaveRecommendationRails>::new();
    let kill = ServerAction::<SetKillSwitch>::new();
    let decided = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<String>);
    let page = Resource::new(
        move || {
            (
                save.version().get(),
                rails.version().get(),
                kill.version().get(),
                decided.get(),
            )
        },
        |_| recommendations_inbox(),
    );
    view! {
        <Title text="Recommendations" />
        <section class="page">
            <h1>"Recommendations"</h1>
            <p class="hint">
                "Each trading morning Dripfeed runs its moving-average crossover rules over your watchlist and proposes trades. "
                "You decide: nothing is traded unless you choose Execute, and every Execute is checked against the safety rails at that moment. "
                "Dripfeed is a software tool, not an adviser; this is not investment advice."
            </p>
            <p><A href="/recommendations/scorecard">"See the scorecard: how recommendations did"</A></p>
            {move || notice.get().map(|m| view! { <p class="notice info" role="status" data-testid="decision-notice">{m}</p> })}
            {move || kill.value().get().and_then(|r| r.ok()).map(|m| view! {
                <p class="notice info" role="status" data-testid="kill-switch-notice">{m}</p>
            })}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) => view! { <Inbox page=p save rails kill decided notice /> }.into_any(),
                        Err(AppError::Unauthenticated) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Inbox(
    page: RecommendationsPage,
    save: ServerAction<SaveRecommendationSettings>,
    rails: ServerAction<SaveRecommendationRails>,
    kill: ServerAction<SetKillSwitch>,
    decided: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let symbol = RwSignal::new(String::new());
    let signal = RwSignal::new(String::new());
    let mut symbols: Vec<String> = page
        .recommendations
        .iter()
        .map(|r| r.symbol.clone())
        .collect();
    symbols.sort();
    symbols.dedup();
    let all = StoredValue::new(page.recommendations.clone());
    let section = move |state: State| {
        all.with_value(|list| {
            list.iter()
                .filter(|r| r.state == state)
                .filter(|r| symbol.with(|s| s.is_empty() || *s == r.symbol))
                .filter(|r| signal.with(|s| s.is_empty() || s == r.signal.as_str()))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let blocked = page.trading_stopped_at.is_some() || page.global_stop.is_some();
    let live_gate = page.live_gate.clone();
    view! {
        {page.locked_reason.clone().map(|why| view! {
            <p class="notice warning" data-testid="recommendations-locked">{why} " " <A href="/pricing">"See the tiers"</A></p>
        })}
        {page.global_stop.clone().map(|why| view! {
            <p class="notice error" role="alert" data-testid="global-stop">{why}</p>
        })}
        {live_gate.map(|g| view! {
            <p class="notice info" data-testid="live-gate">
                "Live accounts can execute recommendations after " {g.required_days}
                " days of paper trading on Dripfeed, so you can see how the signals behave first. You have "
                {g.paper_days} ", so " {g.days_left} " to go."
            </p>
        })}
        <KillSwitch stopped=page.trading_stopped_at.clone() kill />
        {page.is_admin.then(|| view! { <GlobalKillSwitch on=page.global_stop.is_some() decided /> })}
        <div class="filters" role="group" aria-label="Filter recommendations">
            <div class="field">
                <label for="filter-symbol">"Symbol"</label>
                <select id="filter-symbol" on:change=move |ev| symbol.set(event_target_value(&ev))>
                    <option value="">"All symbols"</option>
                    {symbols.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-signal">"Signal"</label>
                <select id="filter-signal" on:change=move |ev| signal.set(event_target_value(&ev))>
                    {SIGNALS.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </div>
        </div>
        {[
            (State::Pending, "Waiting for you", "No recommendations waiting. New ones arrive on trading mornings."),
            (State::Executed, "Executed", "None executed yet."),
            (State::Ignored, "Ignored", "None ignored."),
            (State::Expired, "Expired", "None expired."),
        ].into_iter().map(|(state, heading, empty)| view! {
            <section data-testid=format!("recommendations-{}", state.as_str())>
                <h2>{heading}</h2>
                {move || {
                    let list = section(state);
                    if list.is_empty() {
                        view! { <p class="hint">{empty}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain recommendations">
                                {list.into_iter().map(|r| view! { <Card rec=r blocked decided notice /> }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                }}
            </section>
        }).collect_view()}
        <Settings page=page save rails />
    }
}

#[component]
fn KillSwitch(
    stopped: Option<crate::dto::stamp::Stamp>,
    kill: ServerAction<SetKillSwitch>,
) -> impl IntoView {
    match stopped {
        Some(at) => view! {
            <div class="notice error" data-testid="kill-switch-on">
                <p>"All trading is stopped since " <When at /> ": plans are paused and nothing can be executed."</p>
                <ActionForm action=kill>
                    <input type="hidden" name="stop" value="false" />
                    <button type="submit" class="button">"Allow trading again"</button>
                </ActionForm>
            </div>
        }.into_any(),
        None => view! {
            <details class="kill-switch">
                <summary>"Stop all trading"</summary>
                <ActionForm action=kill>
                    <input type="hidden" name="stop" value="true" />
                    <p class="hint">"Pauses every plan and blocks executions and automatic exits until you allow trading again."</p>
                    <label><input type="checkbox" name="cancel_orders" value="true" />" Also cancel open orders at my broker"</label>
                    <button type="submit" class="button danger" data-testid="stop-trading">"Stop all trading"</button>
                </ActionForm>
            </details>
        }.into_any(),
    }
}

/// The instance-wide kill switch, for administrators.
#[component]
fn GlobalKillSwitch(on: bool, decided: RwSignal<u32>) -> impl IntoView {
    let global = ServerAction::<SetGlobalKillSwitch>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = global.value().get() {
            decided.update(|v| *v += 1);
        }
    });
    view! {
        <details class="kill-switch" data-testid="global-kill-switch">
            <summary>{if on { "Administrator: allow trading again for everyone" } else { "Administrator: stop trading for everyone" }}</summary>
            <ActionForm action=global>
                <input type="hidden" name="stop" value=if on { "false" } else { "true" } />
                {(!on).then(|| view! {
                    <label>"Reason shown to users " <input type="text" name="reason" maxlength="300" /></label>
                })}
                <button type="submit" class="button danger">{if on { "Allow trading for everyone" } else { "Stop trading for everyone" }}</button>
                {form_error(global)}
            </ActionForm>
        </details>
    }
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

#[component]
fn Card(
    rec: RecommendationDto,
    blocked: bool,
    decided: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let execute = ServerAction::<ExecuteRecommendation>::new();
    let ignore = ServerAction::<IgnoreRecommendation>::new();
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = execute.value().get() {
            notice.set(Some(outcome.message));
            decided.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = ignore.value().get() {
            notice.set(Some("Ignored. It will still show on the scorecard.".into()));
            decided.update(|v| *v += 1);
        }
    });
    let id_execute = rec.id.to_string();
    let id_ignore = rec.id.to_string();
    let live = rec.environment == "live";
    let pending = rec.state == State::Pending;
    let forward = rec.forward;
    view! {
        <li class="card recommendation" id=format!("rec-{}", rec.id) data-testid="recommendation"
            data-symbol=rec.symbol.clone() data-state=rec.state.as_str()>
            <h3>
                {side_word(rec.side)} " " {qty(rec.quantity)} " " {rec.symbol.clone()}
                " " <span class="hint">"(" {rec.signal_label.clone()} ")"</span>
            </h3>
            <p>{rec.reason.clone()}</p>
            <dl class="facts">
                <dt>"About"</dt><dd>{money(rec.notional)}</dd>
                <dt>"Reference price"</dt><dd>{money(rec.reference_price)}</dd>
                {rec.stop_loss.map(|v| view! { <dt>"Stop-loss"</dt><dd>{money(v)}</dd> })}
                {rec.take_profit.map(|v| view! { <dt>"Take-profit"</dt><dd>{money(v)}</dd> })}
                <dt>"Account"</dt><dd>{rec.connection_label.clone()}</dd>
                <dt>"Filters"</dt><dd>{rec.filters.clone()}</dd>
                {pending.then(|| view! { <dt>"Expires"</dt><dd data-testid="expires"><When at=rec.expires_at.clone() /></dd> })}
                {rec.decided_at.clone().map(|at| view! { <dt>"Decided"</dt><dd><When at /></dd> })}
                {rec.ignore_reason.clone().map(|r| view! { <dt>"Your reason"</dt><dd data-testid="ignore-reason">{r}</dd> })}
                {rec.order_status.clone().map(|s| view! { <dt>"Order"</dt><dd data-testid="order-status">{s.replace('_', " ")}</dd> })}
                {rec.order_error.clone().map(|e| view! { <dt>"Broker said"</dt><dd>{e}</dd> })}
                {rec.automatic.then(|| view! { <dt>"Placed by"</dt><dd>"your automatic-exit rule"</dd> })}
            </dl>
            <details>
                <summary>"Indicator values"</summary>
                <table>
                    <tbody>
                        {rec.values.iter().map(|(k, v)| view! { <tr><th scope="row">{k.clone()}</th><td>{v.round_dp(4).normalize().to_string()}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </details>
            {rec.ai.clone().map(|ai| view! {
                <aside class="ai" data-testid="ai-analysis">
                    <p><strong>"AI-written analysis"</strong> " " <span class="hint">"(" {ai.model.clone()} ", confidence " {ai.confidence} "%)"</span></p>
                    <p>{ai.rationale.clone()}</p>
                    {(!ai.risks.is_empty()).then(|| view! {
                        <ul>{ai.risks.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
                    })}
                </aside>
            })}
            {(!pending && forward.iter().any(Option::is_some)).then(|| view! {
                <p class="hint">"Since: "
                    {["1 day", "5 days", "20 days"].into_iter().zip(forward).filter_map(|(l, f)| f.map(|f| format!("{l} {}", signed_pct(f)))).collect::<Vec<_>>().join(", ")}
                </p>
            })}
            {pending.then(move || view! {
                <div class="actions">
                    <ActionForm action=execute>
                        <input type="hidden" name="id" value=id_execute />
                        {live.then(|| view! {
                            <Field name="confirmation" label="Live account: type I UNDERSTAND THE RISKS"
                                hint=LIVE_CONFIRMATION error=field_error(execute, "confirmation") />
                        })}
                        <button type="submit" class="button primary" disabled=blocked data-testid="execute">"Execute"</button>
                    </ActionForm>
                    <ActionForm action=ignore>
                        <input type="hidden" name="id" value=id_ignore />
                        <label>"Reason (optional) " <input type="text" name="reason" maxlength="500" data-testid="ignore-reason-input" /></label>
                        <button type="submit" class="button" data-testid="ignore">"Ignore"</button>
                    </ActionForm>
                    {form_error(execute)}
                    {form_error(ignore)}
                </div>
            })}
        </li>
    }
}

#[component]
fn Settings(
    page: RecommendationsPage,
    save: ServerAction<SaveRecommendationSettings>,
    rails: ServerAction<SaveRecommendationRails>,
) -> impl IntoView {
    let s = page.settings.clone();
    let instance = page.instance_rails.clone();
    let selected = s.connection_id;
    let accounts: Vec<AccountChoice> = page.accounts.clone();
    view! {
        <section class="narrow">
            <h2>"Your settings"</h2>
            {move || save.value().get().and_then(|r| r.ok()).map(|_| view! {
                <p class="notice info" role="status" data-testid="settings-saved">"Saved."</p>
            })}
            <ActionForm action=save attr:class="form" attr:novalidate=true>
                <label><input type="checkbox" name="enabled" checked=s.enabled data-testid="enabled" />
                    " Propose trades each trading morning (at " {page.go_at.clone()} " New York time)"</label>
                <Field name="watchlist" label="Watchlist" value=s.watchlist.clone()
                    hint="Symbols separated by commas, at most 30." error=field_error(save, "watchlist") />
                <div class="field">
                    <label for="connection_id">"Account"</label>
                    <select id="connection_id" name="connection_id">
                        <option value="" selected=selected.is_none()>"My first active account"</option>
                        {accounts.into_iter().map(|a| view! {
                            <option value=a.id.to_string() selected=selected == Some(a.id)>{a.label.clone()} " (" {a.environment.clone()} ")"</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error" role="status">{move || field_error(save, "connection_id").get()}</p>
                </div>
                <label><input type="checkbox" name="auto_exits" checked=s.auto_exits />
                    " Sell automatically when a position from a recommendation reaches its stop-loss or take-profit (checked at "
                    {page.analyze_at.clone()} " New York time)"</label>
                {form_error(save)}
                <button type="submit" class="button primary" data-testid="save-settings">"Save"</button>
            </ActionForm>
            {move || rails.value().get().and_then(|r| r.ok()).map(|_| view! {
                <p class="notice info" role="status" data-testid="rails-saved">"Rails saved."</p>
            })}
            <ActionForm action=rails attr:class="form" attr:novalidate=true>
                <fieldset>
                    <legend>"Safety rails (you can only make them stricter)"</legend>
                    <p class="hint" data-testid="instance-rails">
                        "This Dripfeed allows a position of at most " {instance.max_position_pct.to_string()} "% of equity, at most "
                        {instance.max_open_positions} " open positions, a buy only with equity of at least " {money(instance.min_equity)}
                        ", and a price at most " {instance.max_drift_pct.to_string()} "% from the recommendation's. Yours now: "
                        {page.rails.max_position_pct.to_string()} "%, " {page.rails.max_open_positions} ", "
                        {money(page.rails.min_equity)} ", " {page.rails.max_drift_pct.to_string()} "%. Leave a field empty to use this Dripfeed's."
                    </p>
                    <Field name="max_position_pct" label="Largest position, % of equity"
                        value=s.max_position_pct.clone() optional=true error=field_error(rails, "max_position_pct") />
                    <Field name="max_open_positions" label="Open positions, at most"
                        value=s.max_open_positions.clone() optional=true inputmode="numeric" error=field_error(rails, "max_open_positions") />
                    <Field name="min_equity" label="Equity a buy needs, at least ($)"
                        value=s.min_equity.clone() optional=true error=field_error(rails, "min_equity") />
                    <Field name="max_drift_pct" label="Price drift allowed, %"
                        value=s.max_drift_pct.clone() optional=true error=field_error(rails, "max_drift_pct") />
                </fieldset>
                {form_error(rails)}
                <button type="submit" class="button">"Save rails"</button>
            </ActionForm>
        </section>
    }
}

fn horizon_cell(h: &Horizon) -> String {
    match (h.hit_rate(), h.average) {
        (Some(rate), Some(avg)) => format!("{rate}% hit, {} avg ({})", signed_pct(avg), h.known),
        _ => "–".into(),
    }
}

#[component]
pub fn ScorecardPage() -> impl IntoView {
    let card = Resource::new(|| (), |_| recommendation_scorecard());
    view! {
        <Title text="Scorecard" />
        <section class="page">
            <p><A href="/recommendations">"← Recommendations"</A></p>
            <h1>"Scorecard"</h1>
            <p class="hint">
                "How every recommendation did after 1, 5 and 20 trading days from its reference price, whether you executed it, ignored it or let it expire. "
                "A hit is a move the recommended way. Past results say nothing certain about the future; not investment advice."
            </p>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match card.await {
                        Ok(c) => view! {
                            <p data-testid="scorecard-versus">
                                "After 20 trading days, your decisions made " <strong>{signed_money(c.versus.yours)}</strong>
                                "; taking every recommendation would have made " <strong>{signed_money(c.versus.all)}</strong>
                                " (" {c.versus.known} " with a 20-day result). " {c.waiting} " still waiting for their first day."
                            </p>
                            {if c.rows.is_empty() {
                                view! { <p class="hint" data-testid="scorecard-empty">"Nothing decided yet."</p> }.into_any()
                            } else {
                                view! {
                                    <table data-testid="scorecard">
                                        <thead><tr><th>"Signal"</th><th>"Filters"</th><th>"Decision"</th><th>"Count"</th><th>"1 day"</th><th>"5 days"</th><th>"20 days"</th></tr></thead>
                                        <tbody>
                                            {c.rows.iter().map(|r| view! {
                                                <tr data-testid="scorecard-row" data-decision=r.decision.as_str()>
                                                    <td>{signal_label(r.signal)}</td>
                                                    <td>{r.filters.clone()}</td>
                                                    <td>{r.decision.as_str()}</td>
                                                    <td>{r.count}</td>
                                                    <td>{horizon_cell(&r.horizons[0])}</td>
                                                    <td>{horizon_cell(&r.horizons[1])}</td>
                                                    <td>{horizon_cell(&r.horizons[2])}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            {(!c.months.is_empty()).then(|| view! {
                                <h2>"Over time"</h2>
                                <table data-testid="scorecard-months">
                                    <thead><tr><th>"Month"</th><th>"Recommendations"</th><th>"Executed"</th><th>"1 day"</th><th>"5 days"</th><th>"20 days"</th></tr></thead>
                                    <tbody>
                                        {c.months.iter().map(|m| view! {
                                            <tr>
                                                <td>{m.month.clone()}</td>
                                                <td>{m.count}</td>
                                                <td>{m.executed}</td>
                                                <td>{horizon_cell(&m.horizons[0])}</td>
                                                <td>{horizon_cell(&m.horizons[1])}</td>
                                                <td>{horizon_cell(&m.horizons[2])}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            })}
                            <p class="hint">
                                "The same signals over years of history: "
                                <A href="/backtest/strategy?symbol=SPY&fast=5&slow=20">"replay the MA 5/20 crossover in a strategy backtest"</A>
                                "."
                            </p>
                        }.into_any(),
                        Err(AppError::Unauthenticated) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn signal_label(s: Signal) -> &'static str {
    s.label()
}
