//! Security: two-factor authentication, password, and the list of signed-in
//! sessions with a way to end any of them.

use crate::api::security::{
    BeginTwoFactor, ChangePassword, ConfirmTwoFactor, DisableTwoFactor, RevokeSession,
    SecurityStatus, security_overview,
};
use crate::error::AppError;
use crate::ui::components::action_errors::{field_error, form_error};
use crate::ui::components::field::Field;
use crate::ui::components::format::When;
use crate::ui::error_template::ErrorNotice;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SecurityPage() -> impl IntoView {
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let password = ServerAction::<ChangePassword>::new();
    let revoke = ServerAction::<RevokeSession>::new();
    let status = Resource::new(
        move || {
            (
                confirm.version().get(),
                disable.version().get(),
                revoke.version().get(),
                password.version().get(),
            )
        },
        |_| security_overview(),
    );

    view! {
        <Title text="Security" />
        <section class="page">
            <p><A href="/account">"← Your account"</A></p>
            <h1>"Security"</h1>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! {
                            <TwoFactorSection status=s.clone() begin confirm disable />
                            <SessionsSection status=s revoke />
                        }.into_any(),
                        Err(AppError::Unauthenticated) => view! {
                            <p>"You are not signed in. " <A href="/login">"Log in"</A></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
            <h2>"Password"</h2>
            {form_error(password)}
            {move || password.value().get().and_then(|r| r.ok()).map(|ended| view! {
                <p class="notice info" role="status" data-testid="password-changed">
                    "Password changed. " {ended} " other session(s) were signed out."
                </p>
            })}
            <ActionForm action=password attr:class="form" attr:novalidate=true>
                <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=field_error(password, "current_password") />
                <Field name="new_password" label="New password" kind="password" autocomplete="new-password"
                    hint="At least 12 characters. Other sessions will be signed out." error=field_error(password, "new_password") />
                <button type="submit" class="button">"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn TwoFactorSection(
    status: SecurityStatus,
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
    disable: ServerAction<DisableTwoFactor>,
) -> impl IntoView {
    let codes = move || confirm.value().get().and_then(|r| r.ok());
    view! {
        <h2>"Two-factor authentication"</h2>
        {move || codes().map(|codes| view! {
            <div class="notice info" role="status" data-testid="recovery-codes">
                <p><strong>"Two-factor authentication is on."</strong>
                " Save these recovery codes somewhere safe. Each works once if you lose your phone; they are not shown again."</p>
                <ul class="codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
            </div>
        })}
        {if status.two_factor_enabled {
            view! {
                <p data-testid="2fa-status">"On. " {status.recovery_codes_left} " recovery codes left."</p>
                <h3>"Turn off"</h3>
                {form_error(disable)}
                <ActionForm action=disable attr:class="form" attr:novalidate=true>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=field_error(disable, "current_password") />
                    <Field name="code" label="Code from your app (or a recovery code)" autocomplete="one-time-code" error=field_error(disable, "code") />
                    <button type="submit" class="button">"Turn off two-factor authentication"</button>
                </ActionForm>
            }.into_any()
        } else {
            view! {
                <p data-testid="2fa-status">"Off. Add a code from an authenticator app to every sign-in."</p>
                {form_error(begin)}
                {move || match begin.value().get() {
                    Some(Ok(enrollment)) => view! {
                        <div class="enrol" data-testid="enrolment">
                            <p>"Scan this QR code with your authenticator app, or type the key below."</p>
                            <div class="qr" inner_html=enrollment.qr_svg></div>
                            <p>"Key: " <code data-testid="totp-secret">{enrollment.secret}</code></p>
                            {form_error(confirm)}
                            <ActionForm action=confirm attr:class="form" attr:novalidate=true>
                                <Field name="code" label="The 6-digit code your app shows" autocomplete="one-time-code" inputmode="numeric" error=field_error(confirm, "code") />
                                <button type="submit" class="button primary">"Turn on"</button>
                            </ActionForm>
                        </div>
                    }.into_any(),
                    _ => view! {
                        <button class="button primary" on:click=move |_| { begin.dispatch(BeginTwoFactor {}); }>
                            "Set up two-factor authentication"
                        </button>
                    }.into_any(),
                }}
            }.into_any()
        }}
    }
}

#[component]
fn SessionsSection(status: SecurityStatus, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    view! {
        <h2>"Where you are signed in"</h2>
        {form_error(revoke)}
        <table class="table" data-testid="sessions">
            <thead>
                <tr>
                    <th scope="col">"Device"</th>
                    <th scope="col">"IP"</th>
                    <th scope="col">"Signed in"</th>
                    <th scope="col">"Last seen"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {status.sessions.into_iter().map(|s| view! {
                    <tr>
                        <td>{s.user_agent.unwrap_or_else(|| "Unknown".into())}</td>
                        <td>{s.ip.unwrap_or_default()}</td>
                        <td><When at=s.created_at /></td>
                        <td><When at=s.last_seen_at /></td>
                        <td>
                            {if s.current {
                                view! { <span class="badge">"This device"</span> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=s.id.to_string() />
                                        <button type="submit" class="button small-plain">"Sign out"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
