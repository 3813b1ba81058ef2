//! The signed-in user's account page: who they are, log out, and their recent
//! activity (their own audit log entries).

use crate::api::auth::{LogOut, getting_started, my_activity, whoami};
use crate::error::AppError;
use crate::ui::components::format::When;
use crate::ui::components::getting_started::GettingStartedSteps;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    let activity = Resource::new(|| (), |_| my_activity());
    let steps = Resource::new(|| (), |_| getting_started());
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <Title text="Your account" />
        <section class="page">
            <h1>"Your account"</h1>
            <Suspense fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match (me.await, activity.await) {
                        (Ok(Some(me)), Ok(entries)) => view! {
                            <p data-testid="signed-in-as">"Signed in as " <strong>{me.email}</strong></p>
                            {steps.await.ok().map(|steps| view! { <GettingStartedSteps steps /> })}
                            <nav class="subnav" aria-label="Account">
                                <A href="/account/security">"Security and sessions"</A>
                                <A href="/account/settings">"Settings"</A>
                                <A href="/brokerage">"Brokerage connections"</A>
                                <A href="/dashboard">"Dashboard"</A>
                                <A href="/notifications">"Notifications"</A>
                                {me.is_admin.then(|| view! {
                                    <A href="/admin/users">"Admin: users"</A>
                                    <A href="/admin/audit">"Admin: audit log"</A>
                                })}
                            </nav>
                            <ActionForm action=log_out>
                                <button type="submit" class="button">"Log out"</button>
                            </ActionForm>
                            <h2>"Recent activity"</h2>
                            <table class="table" data-testid="activity">
                                <thead>
                                    <tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"From"</th></tr>
                                </thead>
                                <tbody>
                                    {entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td><When at=e.occurred_at.clone() /></td>
                                            <td>{describe(&e.action)}</td>
                                            <td>{e.ip.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        (Ok(None), _) | (_, Err(AppError::Unauthenticated)) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A> " or " <A href="/signup">"create an account"</A> "."</p>
                        }.into_any(),
                        (Err(error), _) | (_, Err(error)) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Audit actions in words.
fn describe(action: &str) -> String {
    match action {
        "account.signed_up" => "Account created".into(),
        "login.succeeded" => "Logged in".into(),
        "login.failed" => "Failed log-in attempt".into(),
        "login.refused" => "Log-in refused (account disabled)".into(),
        "logout" => "Logged out".into(),
        "login.awaiting_code" => "Password accepted, waiting for the 2FA code".into(),
        "login.code_failed" => "Wrong two-factor code".into(),
        "2fa.enrolment_started" => "Started setting up two-factor authentication".into(),
        "2fa.enabled" => "Turned on two-factor authentication".into(),
        "2fa.disabled" => "Turned off two-factor authentication".into(),
        "password.changed" => "Changed password".into(),
        "session.revoked" => "Signed out a session".into(),
        "settings.changed" => "Changed settings".into(),
        "broker.connected" => "Connected a brokerage account".into(),
        "broker.disconnected" => "Disconnected a brokerage account".into(),
        "broker.validation_failed" => "Brokerage credentials were refused".into(),
        other => other.replace(['.', '_'], " "),
    }
}
