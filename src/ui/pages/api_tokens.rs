//! Settings → API tokens: personal tokens for the REST API (`/api`). A new
//! token is shown once, right after it is created; the list shows only the
//! first characters of each.

use crate::api::tokens::{ApiTokenView, CreateApiToken, RevokeApiToken, TokenScope};
use crate::error::AppError;
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;

/// The section: what tokens are for, the form that creates one (and shows
/// it once), and the list with a way to revoke each. The page owns the
/// actions and the list, which it refreshes when either action completes.
#[component]
pub fn ApiTokens(
    create: ServerAction<CreateApiToken>,
    revoke: ServerAction<RevokeApiToken>,
    tokens: Resource<Result<Vec<ApiTokenView>, AppError>>,
) -> impl IntoView {
    let scope_error = field_error(create, "scope");
    view! {
        <section aria-labelledby="api-tokens">
            <h2 id="api-tokens">"API tokens"</h2>
            <p>
                "A token lets your own programs use Dripfeed's REST API (see the "
                <A href="/api">"API reference"</A>
                "). Not every subscription tier includes API access: "
                <A href="/pricing">"Pricing"</A>
                " says which do. A token is shown once, when you create it: keep it like a password."
            </p>
            {move || create.value().get().and_then(|r| r.ok()).map(|created| view! {
                <div class="notice info" role="status" data-testid="new-api-token">
                    <p>"Your new token " <strong>{created.view.name}</strong> ":"</p>
                    <p><code>{created.token}</code></p>
                    <p>"Copy it now: it will not be shown again."</p>
                </div>
            })}
            {form_error(create)}
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <Field name="name" label="Name" autocomplete="off"
                    hint="What will use it, such as “my spreadsheet”."
                    error=field_error(create, "name") />
                <div class="field" class:invalid=move || scope_error.get().is_some()>
                    <label for="scope">"Scope"</label>
                    <select
                        id="scope"
                        name="scope"
                        aria-invalid=move || if scope_error.get().is_some() { "true" } else { "false" }
                        aria-describedby="scope-error"
                    >
                        <option value={TokenScope::Read.as_str()} selected=true>"Read only"</option>
                        <option value={TokenScope::Trade.as_str()}>"Read and trade (change plans, execute recommendations)"</option>
                    </select>
                    <p class="field-error" id="scope-error" role="status" data-testid="scope-error">
                        {move || scope_error.get()}
                    </p>
                </div>
                <Field name="expires_in_days" label="Expires after (days)" kind="number" inputmode="numeric"
                    optional=true hint="Empty: never. Up to 366."
                    error=field_error(create, "expires_in_days") />
                <button type="submit" class="button primary" disabled=move || create.pending().get()>
                    "Create token"
                </button>
            </ActionForm>
            {form_error(revoke)}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! {
                            <p data-testid="no-api-tokens">"No tokens yet."</p>
                        }.into_any(),
                        Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TokenTable(list: Vec<ApiTokenView>, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table" data-testid="api-tokens">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Scope"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|token| view! { <TokenRow token revoke /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn TokenRow(token: ApiTokenView, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    let active = token.revoked_at.is_none() && !token.expired;
    let revoke_label = format!("Revoke {}", token.name);
    let last_used = match token.last_used_at {
        Some(at) => view! { <When at /> }.into_any(),
        None => view! { "Never" }.into_any(),
    };
    let expires = match token.expires_at {
        Some(at) if token.expired => view! { "Expired " <When at /> }.into_any(),
        Some(at) => view! { <When at /> }.into_any(),
        None => view! { "Never" }.into_any(),
    };
    let status = match token.revoked_at {
        Some(at) => view! { "Revoked " <When at /> }.into_any(),
        None if token.expired => view! { "Expired" }.into_any(),
        None => view! { "Active" }.into_any(),
    };
    let action = active.then(|| {
        view! {
            <ActionForm action=revoke>
                <input type="hidden" name="id" value=token.id.to_string() />
                <button type="submit" class="button small-plain" data-testid="revoke-token" aria-label=revoke_label>
                    "Revoke"
                </button>
            </ActionForm>
        }
    });
    view! {
        <tr>
            <td>{token.name}</td>
            <td><code>{token.prefix}</code>"…"</td>
            <td>{token.scope.label()}</td>
            <td><When at=token.created_at /></td>
            <td>{last_used}</td>
            <td>{expires}</td>
            <td>{status}</td>
            <td>{action}</td>
        </tr>
    }
}
