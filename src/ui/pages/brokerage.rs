//! Brokerage connections: connect the demo paper account, Alpaca paper API
//! keys, or an account via OAuth; see and disconnect existing connections.

use crate::api::broker::{
    BrokerageSummary, ConnectDemoAccount, ConnectPaperKeys, DisconnectBroker, brokerage_overview,
};
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The OAuth callback's error codes in words.
fn oauth_message(code: &str) -> &'static str {
    match code {
        "denied" => "Access was not granted, so nothing was connected.",
        "state" => "That authorization link expired or was already used. Start again.",
        "exchange" => "Alpaca did not confirm the authorization. Nothing was connected; try again.",
        "validation" => "The authorized account could not be checked. Nothing was connected.",
        "duplicate" => "That account is already connected.",
        "tier" => {
            "Live trading is not included in your plan. Upgrade on the Pricing page to connect a live account."
        }
        _ => "Connecting with OAuth failed. Nothing was connected; try again.",
    }
}

#[component]
pub fn BrokeragePage() -> impl IntoView {
    let demo = ServerAction::<ConnectDemoAccount>::new();
    let keys = ServerAction::<ConnectPaperKeys>::new();
    let disconnect = ServerAction::<DisconnectBroker>::new();
    let overview = Resource::new(
        move || {
            (
                demo.version().get(),
                keys.version().get(),
                disconnect.version().get(),
            )
        },
        |_| brokerage_overview(),
    );
    let query = use_query_map();
    let oauth_error = move || query.with(|q| q.get("oauth_error"));

    view! {
        <Title text="Brokerage connections" />
        <section class="page">
            <h1>"Brokerage connections"</h1>
            <p>"Dripfeed places orders in your own brokerage account. We never hold your money."</p>
            {move || oauth_error().map(|code| view! {
                <p class="notice error" role="alert" data-testid="oauth-error">{oauth_message(&code)}</p>
            })}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! { <Connections overview=o demo keys disconnect /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Connections(
    overview: BrokerageSummary,
    demo: ServerAction<ConnectDemoAccount>,
    keys: ServerAction<ConnectPaperKeys>,
    disconnect: ServerAction<DisconnectBroker>,
) -> impl IntoView {
    let has_any = !overview.connections.is_empty();
    let oauth_note = if overview.oauth_simulated {
        "This instance has no Alpaca OAuth app configured, so OAuth runs against the built-in simulated exchange (no real money)."
    } else if overview.oauth_environment == "live" {
        "You will be sent to Alpaca to approve access to your live account. Dripfeed asks for account, trading and market-data access."
    } else {
        "You will be sent to Alpaca to approve access to your paper account."
    };
    view! {
        <h2>"Your connections"</h2>
        {form_error(disconnect)}
        {if has_any {
            view! {
                <table class="table" data-testid="connections">
                    <thead>
                        <tr>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Kind"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Connected"</th>
                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {overview.connections.into_iter().map(|c| {
                            let kind = match (c.environment.as_str(), c.auth_kind.as_str()) {
                                ("demo", "api_key") => "Demo exchange".to_owned(),
                                ("demo", _) => "Demo exchange (OAuth)".to_owned(),
                                ("live", _) => "Live (real money)".to_owned(),
                                (_, "oauth") => "Paper (OAuth)".to_owned(),
                                _ => format!("Paper (API key …{})", c.key_hint.clone().unwrap_or_default()),
                            };
                            let needs_reconnect = c.status == "reconnect_needed";
                            view! {
                                <tr data-testid="connection">
                                    <td>{c.label.clone()}</td>
                                    <td>{kind}</td>
                                    <td>{if needs_reconnect {
                                        view! { <span class="badge warn">"Reconnect needed"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge">"Connected"</span> }.into_any()
                                    }}</td>
                                    <td><When at=c.created_at.clone() /></td>
                                    <td>
                                        <ActionForm action=disconnect>
                                            <input type="hidden" name="id" value=c.id.to_string() />
                                            <button type="submit" class="button small-plain">"Disconnect"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <p><A href="/dashboard">"Go to the dashboard →"</A></p>
            }.into_any()
        } else {
            view! { <p data-testid="no-connections">"No brokerage account is connected yet."</p> }.into_any()
        }}

        <h2>"Try it with the demo paper account"</h2>
        <p>"A simulated Alpaca-compatible exchange built into Dripfeed, funded with $100,000 of play money. Prices are simulated."</p>
        {form_error(demo)}
        {if overview.demo_connected {
            view! { <p>"Your demo paper account is connected."</p> }.into_any()
        } else {
            view! {
                <ActionForm action=demo>
                    <button type="submit" class="button primary" data-testid="connect-demo">"Connect the demo paper account"</button>
                </ActionForm>
            }.into_any()
        }}

        <h2>"Alpaca paper trading (API key)"</h2>
        <p>"Create a key pair in your Alpaca paper dashboard. We check it with Alpaca before saving, then keep the secret encrypted; afterwards we only ever show the last four characters of the key ID."</p>
        {form_error(keys)}
        <ActionForm action=keys attr:class="form" attr:novalidate=true>
            <Field name="key_id" label="API key ID" autocomplete="off" error=field_error(keys, "key_id") />
            <Field name="secret" label="Secret key" kind="password" autocomplete="off" error=field_error(keys, "secret") />
            <button type="submit" class="button">"Check and connect"</button>
        </ActionForm>

        <h2>"Connect with OAuth"</h2>
        <p>{oauth_note}</p>
        <p><a href="/oauth/alpaca/start" rel="external" class="button" data-testid="connect-oauth">"Connect with Alpaca"</a></p>
    }
}
