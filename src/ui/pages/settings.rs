//! Personal settings: time zone (schedules are written in it), notifications
//! and API tokens.

use super::api_tokens::ApiTokens;
use crate::api::security::{SaveSettings, get_settings};
use crate::api::tokens::{CreateApiToken, RevokeApiToken, list_api_tokens};
use crate::error::AppError;
use crate::ui::components::action_errors::field_error;
use crate::ui::components::field::Field;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// What the confirmation link's landing says (`?email=` after the link).
fn confirmation_message(outcome: &str) -> Option<(&'static str, &'static str)> {
    match outcome {
        "confirmed" => Some((
            "notice info",
            "Your notification address is confirmed: notices go there from now on.",
        )),
        "invalid" => Some((
            "notice error",
            "That confirmation link has expired or was already used. Save the address again to get a new one.",
        )),
        _ => None,
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_settings());
    let create_token = ServerAction::<CreateApiToken>::new();
    let revoke_token = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create_token.version().get(), revoke_token.version().get()),
        |_| list_api_tokens(),
    );
    let query = use_query_map();
    let confirmation = move || query.with(|q| q.get("email"));
    view! {
        <Title text="Settings" />
        <section class="page narrow">
            <p><A href="/account">"← Your account"</A></p>
            <h1>"Settings"</h1>
            {move || confirmation().and_then(|o| confirmation_message(&o)).map(|(class, text)| view! {
                <p class=class role="status" data-testid="email-confirmation">{text}</p>
            })}
            {move || save.value().get().and_then(|r| r.ok()).map(|_| view! {
                <p class="notice info" role="status" data-testid="settings-saved">"Saved."</p>
            })}
            <Suspense fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! {
                            <ActionForm action=save attr:class="form" attr:novalidate=true>
                                <Field name="time_zone" label="Time zone" value=s.time_zone
                                    hint="An IANA name such as America/New_York or Europe/London. Schedules use it."
                                    error=field_error(save, "time_zone") />
                                <Field name="notification_email" label="Notification email" kind="email" optional=true
                                    value=s.notification_email.clone() hint="Leave empty to use your sign-in email. A new address gets a confirmation link first."
                                    error=field_error(save, "notification_email") />
                                {s.notification_email_pending.then(|| view! {
                                    <p class="notice info" role="status" data-testid="email-pending">
                                        "Waiting for confirmation: we sent a link to " {s.notification_email.clone()}
                                        ". Until it is opened, notices go to your previous address."
                                    </p>
                                })}
                                <fieldset>
                                    <legend>"Email me when"</legend>
                                    <label><input type="checkbox" name="notify_on_fill" checked=s.notify_on_fill />" a scheduled buy fills"</label>
                                    <label><input type="checkbox" name="notify_on_skip" checked=s.notify_on_skip />" a scheduled buy is skipped or missed"</label>
                                    <label><input type="checkbox" name="notify_security" checked=s.notify_security />" something changes in my account's security"</label>
                                </fieldset>
                                <button type="submit" class="button primary">"Save"</button>
                            </ActionForm>
                            <ApiTokens create=create_token revoke=revoke_token tokens />
                        }.into_any(),
                        Err(AppError::Unauthenticated) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
