//! The second step of signing in to an account with two-factor authentication.

use crate::api::auth::VerifyLoginCode;
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn LoginCodePage() -> impl IntoView {
    let action = ServerAction::<VerifyLoginCode>::new();
    view! {
        <Title text="Enter your code" />
        <section class="page narrow">
            <h1>"Two-factor code"</h1>
            <p class="lead">"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
            {form_error(action)}
            <ActionForm action attr:class="form" attr:novalidate=true>
                <Field name="code" label="Code" autocomplete="one-time-code" inputmode="text" error=field_error(action, "code") />
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    "Verify"
                </button>
            </ActionForm>
            <p><A href="/login">"Start again"</A></p>
        </section>
    }
}
