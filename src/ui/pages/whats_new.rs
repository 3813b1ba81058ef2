//! "What's new": the release notes kept in the repository
//! (`public/changelog.md`), newest first.

use crate::api::catalog::whats_new;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn WhatsNewPage() -> impl IntoView {
    let releases = Resource::new(|| (), |_| whats_new());
    view! {
        <Title text="What's new" />
        <article class="page prose">
            <h1>"What's new"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match releases.await {
                        Ok(list) => list.into_iter().map(|r| view! {
                            <section data-testid="release">
                                <h2>{r.heading}</h2>
                                <div inner_html=r.html></div>
                            </section>
                        }).collect_view().into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </article>
    }
}
