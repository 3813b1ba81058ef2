//! Sign-up and log-in pages.

use crate::api::auth::{LogIn, SignUp};
use crate::domain::legal::TERMS_VERSION;
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    view! {
        <Title text="Create your account" />
        <section class="page narrow">
            <h1>"Create your account"</h1>
            <p class="lead">"Start on paper with the built-in demo exchange. No card needed."</p>
            {form_error(action)}
            <ActionForm action attr:class="form" attr:novalidate=true>
                <Field name="email" label="Email" kind="email" autocomplete="email" error=field_error(action, "email") />
                <Field
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 12 characters. A few unrelated words make a strong, memorable password."
                    error=field_error(action, "password")
                />
                <div class="field checkbox" class:invalid=move || field_error(action, "accept_terms").get().is_some()>
                    <input id="accept_terms" name="accept_terms" type="checkbox" value="on" />
                    <label for="accept_terms">
                        "I accept the " <A href="/terms">"Terms of Service"</A> " (version " {TERMS_VERSION}
                        ") and understand Dripfeed is not investment advice."
                    </label>
                    <p class="field-error" role="status" data-testid="accept_terms-error">
                        {move || field_error(action, "accept_terms").get()}
                    </p>
                </div>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p>"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

#[component]
pub fn LogInPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    view! {
        <Title text="Log in" />
        <section class="page narrow">
            <h1>"Log in"</h1>
            {form_error(action)}
            <ActionForm action attr:class="form" attr:novalidate=true>
                <Field name="email" label="Email" kind="email" autocomplete="username" error=field_error(action, "email") />
                <Field
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(action, "password")
                />
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    "Log in"
                </button>
            </ActionForm>
            <p>"New here? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}
