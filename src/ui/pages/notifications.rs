//! The notifications page: what the engine did with the user's plans.

use crate::api::notifications::{MarkNotificationsRead, my_notifications};
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let mark = ServerAction::<MarkNotificationsRead>::new();
    let list = Resource::new(move || mark.version().get(), |_| my_notifications());
    view! {
        <Title text="Notifications" />
        <section class="page">
            <h1>"Notifications"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! {
                            <p data-testid="no-notifications">"Nothing yet. Fills, skipped and missed runs show up here."</p>
                        }.into_any(),
                        Ok(items) => {
                            let unread = items.iter().any(|n| !n.read);
                            view! {
                                {unread.then(|| view! {
                                    <ActionForm action=mark>
                                        <button type="submit" class="button small-plain">"Mark all as read"</button>
                                    </ActionForm>
                                })}
                                <ul class="plain notifications" data-testid="notifications">
                                    {items.into_iter().map(|n| view! {
                                        <li class:unread=!n.read data-testid="notification" data-kind=n.kind.clone()>
                                            <strong>{n.title.clone()}</strong>
                                            " " <span class="hint"><When at=n.created_at.clone() /></span>
                                            <p>{n.body.clone()}</p>
                                            {n.plan_id.map(|id| view! { <A href=format!("/plans/{id}")>"See the plan"</A> })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
