//! Admin: every user, with a way to disable or re-enable each.

use super::admin_health::AdminNav;
use crate::api::admin::{AdminSetUserDisabled, admin_list_users};
use crate::api::billing::AdminSetTier;
use crate::domain::tier::TierId;
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let toggle = ServerAction::<AdminSetUserDisabled>::new();
    let set_tier = ServerAction::<AdminSetTier>::new();
    let query = leptos_router::hooks::use_query_map();
    let search = move || query.with(|q| q.get("q").unwrap_or_default());
    let users = Resource::new(
        move || (toggle.version().get(), set_tier.version().get(), search()),
        |(_, _, q)| admin_list_users(q),
    );
    view! {
        <Title text="Users" />
        <section class="page">
            <h1>"Users"</h1>
            <AdminNav />
            <form method="get" action="/admin/users" class="form inline" role="search">
                <label for="user-search">"Search by e-mail"</label>
                <input id="user-search" type="search" name="q" value=search />
                <button type="submit" class="button">"Search"</button>
            </form>
            {move || toggle.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
            {move || set_tier.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! {
                            <table class="table" data-testid="users">
                                <thead><tr>
                                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"2FA"</th>
                                    <th scope="col">"Joined"</th><th scope="col">"Last sign-in"</th>
                                    <th scope="col">"Connections"</th><th scope="col">"Tier"</th><th scope="col">"Status"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! {
                                        <tr>
                                            <td>{u.email.clone()}</td>
                                            <td>{if u.is_admin { "admin" } else { "user" }}</td>
                                            <td>{if u.two_factor { "on" } else { "off" }}</td>
                                            <td><When at=u.created_at.clone() /></td>
                                            <td>{match u.last_login.clone() {
                                                Some(at) => view! { <When at /> }.into_any(),
                                                None => view! { "Never" }.into_any(),
                                            }}</td>
                                            <td>{u.connections}</td>
                                            <td>
                                                <ActionForm action=set_tier>
                                                    <input type="hidden" name="user_id" value=u.id.to_string() />
                                                    {u.tier.clone().unwrap_or_else(|| "–".into())}
                                                    " "
                                                    <select name="tier" aria-label="Tier override">
                                                        <option value="" selected=u.tier_override.is_none()>"From billing"</option>
                                                        {TierId::ALL.into_iter().map(|t| {
                                                            let selected = u.tier_override.as_deref() == Some(t.as_str());
                                                            view! { <option value=t.as_str() selected=selected>{format!("Override: {t}")}</option> }
                                                        }).collect_view()}
                                                    </select>
                                                    <button type="submit" class="button small-plain">"Set"</button>
                                                </ActionForm>
                                            </td>
                                            <td>
                                                <ActionForm action=toggle>
                                                    <input type="hidden" name="user_id" value=u.id.to_string() />
                                                    <input type="hidden" name="disabled" value=(!u.disabled).to_string() />
                                                    {if u.disabled { "Disabled " } else { "Active " }}
                                                    <button type="submit" class="button small-plain">
                                                        {if u.disabled { "Enable" } else { "Disable" }}
                                                    </button>
                                                </ActionForm>
                                            </td>
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

/// The audit log, filterable by user and action; filters live in the URL.
#[component]
pub fn AdminAuditPage() -> impl IntoView {
    use crate::api::admin::admin_audit;
    use leptos_router::components::Form;
    use leptos_router::hooks::use_query_map;

    let query = use_query_map();
    let filters = move || {
        query.with(|q| {
            (
                q.get("email").unwrap_or_default(),
                q.get("action").unwrap_or_default(),
            )
        })
    };
    let entries = Resource::new(filters, |(email, action)| admin_audit(email, action));
    view! {
        <Title text="Audit log" />
        <section class="page">
            <h1>"Audit log"</h1>
            <AdminNav />
            <Form method="GET" action="" attr:class="filters">
                <label>"User email " <input type="search" name="email" value=move || filters().0 /></label>
                <label>"Action starts with " <input type="search" name="action" value=move || filters().1 placeholder="login" /></label>
                <button type="submit" class="button">"Filter"</button>
            </Form>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) => view! {
                            <table class="table" data-testid="audit">
                                <thead><tr>
                                    <th scope="col">"#"</th><th scope="col">"When"</th><th scope="col">"Action"</th>
                                    <th scope="col">"By"</th><th scope="col">"About"</th><th scope="col">"Detail"</th><th scope="col">"IP"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{e.id}</td>
                                            <td><When at=e.occurred_at.clone() /></td>
                                            <td>{e.action}</td>
                                            <td>{e.actor.unwrap_or_else(|| "system".into())}</td>
                                            <td>{e.subject.unwrap_or_default()}</td>
                                            <td><code>{e.detail}</code></td>
                                            <td>{e.ip.unwrap_or_default()}</td>
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
