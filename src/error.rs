//! `AppError`: the one error type that crosses the wire.
//!
//! Server functions return `Result<T, AppError>`. Its variants mean something to
//! the person using the app; internal failures become the opaque
//! [`AppError::Internal`] carrying only a reference id that matches a server log
//! line, so no database or network error text ever reaches a browser.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, ServerFnErrorErr};

// Re-exported by leptos; named once here so the rest of the file reads plainly.
mod server_fn_error {
    pub use leptos::server_fn::codec::JsonEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
    pub use leptos::server_fn::{Bytes, Encodes};
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    /// Bad input: one message per form field, shown next to that field.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// The user's tier does not include this; the message says which does.
    #[error("{0}")]
    Locked(String),
    /// A service we depend on (Stripe, a broker) could not be reached.
    #[error("{0}")]
    Unavailable(String),
    /// A rate limit refused the request.
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("Something went wrong on our side. Reference: {ref_id}")]
    Internal { ref_id: String },
    /// The request never reached the server function, or its answer could not be
    /// read. The text comes from the server-fn machinery, not from our internals.
    #[error("Could not reach the server. Please try again.")]
    Transport(String),
}

/// A message about one form field (`field` is the input's `name`; `form` for
/// the form as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// The message for `field`, if this error has one.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// A message not tied to one field: anything but per-field validation, or
    /// validation addressed to the whole `form`.
    pub fn general(&self) -> Option<String> {
        match self {
            Self::Invalid(_) => self.for_field("form"),
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Invalid(_) => 422,
            Self::Conflict(_) => 409,
            Self::Locked(_) => 403,
            Self::Unavailable(_) => 503,
            Self::TooManyRequests { .. } => 429,
            Self::Internal { .. } => 500,
            // The server-fn machinery's own failures: reading the request
            // body past its limit (axum's "length limit exceeded") is 413,
            // anything else a bad request.
            Self::Transport(text) if text.contains("length limit exceeded") => 413,
            Self::Transport(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = server_fn_error::JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }

    /// Encodes the error for the wire; on the server it also answers the
    /// request with the error's own status (and `Retry-After`), so a
    /// refusal is never reported as a server fault. The body is unchanged.
    fn ser(&self) -> server_fn_error::Bytes {
        #[cfg(feature = "ssr")]
        ssr::answer_with_status(self);
        <server_fn_error::JsonEncoding as server_fn_error::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| {
                server_fn_error::Bytes::from_static(br#"{"Internal":{"ref_id":"encoding"}}"#)
            })
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    impl From<anyhow::Error> for AppError {
        /// Logs the full cause chain under a fresh reference id and hands the
        /// caller only that id.
        fn from(error: anyhow::Error) -> Self {
            let ref_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            tracing::error!(ref_id = %ref_id, error.cause_chain = ?error, "internal error");
            AppError::Internal { ref_id }
        }
    }

    /// Sets the status (and `Retry-After`) of the server function response
    /// being answered with `error`. A plain HTML form post keeps the
    /// redirect back to its page that the form fallback relies on.
    pub(super) fn answer_with_status(error: &AppError) {
        use axum::http::{HeaderValue, StatusCode, header};
        use leptos::prelude::use_context;
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let html_form = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if html_form {
            return;
        }
        response.set_status(
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let AppError::TooManyRequests { retry_after_secs } = error {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
    }

    impl axum::response::IntoResponse for AppError {
        fn into_response(self) -> axum::response::Response {
            let status = axum::http::StatusCode::from_u16(self.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({ "error": self.to_string() });
            let mut response = (status, axum::Json(body)).into_response();
            if let AppError::TooManyRequests { retry_after_secs } = self {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(retry_after_secs),
                );
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_shows_only_its_reference() {
        let e = AppError::Internal {
            ref_id: "abc123".into(),
        };
        assert_eq!(
            e.to_string(),
            "Something went wrong on our side. Reference: abc123"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn converting_an_internal_failure_hides_its_text() {
        let e: AppError = anyhow::anyhow!("password authentication failed for user bob").into();
        assert!(matches!(e, AppError::Internal { .. }));
        assert!(!e.to_string().contains("bob"));
    }
}
