//! Plain labelled inputs for GET forms (the Backtest pages): the value the
//! query string carries is the value shown.

use leptos::prelude::*;

#[component]
pub fn TextField(
    name: &'static str,
    label: &'static str,
    #[prop(into)] value: String,
    /// Shown when `value` is empty (the default the server assumes).
    #[prop(optional)]
    or: &'static str,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let value = if value.is_empty() {
        or.to_owned()
    } else {
        value
    };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input id=name name=name type=kind.unwrap_or("text") value=value placeholder=placeholder />
        </div>
    }
}

/// A select of `options` (value, label), with `selected` chosen (the first
/// when it is none of them).
#[component]
pub fn Choice(
    name: &'static str,
    label: &'static str,
    options: Vec<(&'static str, &'static str)>,
    #[prop(into)] selected: String,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <select id=name name=name>
                {options.into_iter().map(|(value, text)| view! {
                    <option value=value selected=selected == value>{text}</option>
                }).collect_view()}
            </select>
        </div>
    }
}
