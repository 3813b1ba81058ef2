//! How an [`AppError`] looks on a page. Only the error's own wording is shown:
//! internal failures read "Something went wrong on our side" with a reference id
//! that matches a server log line, never the underlying error text. Signed-out
//! visitors get a way to log in.

use crate::error::AppError;
use leptos::prelude::*;

#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(error.status_code())
    {
        response.set_status(status);
    }
    if error == AppError::Unauthenticated {
        return view! {
            <p>"You are not signed in. " <leptos_router::components::A href="/login">"Log in"</leptos_router::components::A></p>
        }
        .into_any();
    }
    view! {
        <div class="notice error" role="alert">
            <p>{error.to_string()}</p>
        </div>
    }
    .into_any()
}
