//! Admin: every user, with a way to disable or re-enable each.

use crate::api::admin::{AdminSetUserDisabled, admin_list_users};
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let toggle = ServerAction::<AdminSetUserDisabled>::new();
    let users = Resource::new(move || toggle.version().get(), |_| admin_list_users());
    view! {
        <Title text="Users" />
        <section class="page">
            <h1>"Users"</h1>
            {move || toggle.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! {
                            <table class="table" data-testid="users">
                                <thead><tr>
                                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"2FA"</th>
                                    <th scope="col">"Joined (UTC)"</th><th scope="col">"Status"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! {
                                        <tr>
                                            <td>{u.email.clone()}</td>
                                            <td>{if u.is_admin { "admin" } else { "user" }}</td>
                                            <td>{if u.two_factor { "on" } else { "off" }}</td>
                                            <td>{u.created_at.replace('T', " ").replace('Z', "")}</td>
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
