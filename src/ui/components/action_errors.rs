//! The messages of a server action's last error: per form field (shown by
//! [`Field`](super::field::Field)) and for the form as a whole.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The message for the input named `name` from `action`'s last error.
pub fn field_error<T>(action: ServerAction<T>, name: &'static str) -> Signal<Option<String>>
where
    T: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(name))
    })
}

/// An alert with `action`'s last error when it is not about one field.
pub fn form_error<T>(action: ServerAction<T>) -> impl IntoView
where
    T: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
            .map(|msg| view! { <div class="notice error" role="alert" data-testid="form-error">{msg}</div> })
    }
}
