//! A labelled form input with its error message beneath it.

use leptos::prelude::*;

#[component]
pub fn Field(
    /// The input's `name` (and `id`).
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    /// The initial value.
    #[prop(optional, into)]
    value: String,
    /// Leave it empty if you like.
    #[prop(optional)]
    optional: bool,
    #[prop(optional)] inputmode: &'static str,
    /// The message to show under the field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let described = error_id.clone();
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=name>{label}</label>
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <input
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=(!inputmode.is_empty()).then_some(inputmode)
                value=value
                required=!optional
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described
            />
            <p class="field-error" id=error_id role="status" data-testid=format!("{name}-error")>
                {move || error.get()}
            </p>
        </div>
    }
}
