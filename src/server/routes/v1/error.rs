//! The API's error body: one shape for every refusal, with a stable code a
//! program can branch on and a message a person can read.
//!
//! ```json
//! {"error": {"code": "invalid", "message": "Enter an amount.",
//!            "fields": [{"field": "legs[0].amount", "message": "Enter an amount."}]}}
//! ```

use crate::error::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `unauthenticated`, `invalid_token`, `insufficient_scope`,
    /// `forbidden`, `tier_required`, `not_found`, `bad_request`, `invalid`,
    /// `conflict`, `idempotency_key_reused`, `idempotency_in_progress`,
    /// `rate_limited`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// Per-field messages, for `invalid`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMessage>,
    /// For `rate_limited`: also in the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// An API refusal: its status and body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorDetail {
                code,
                message: message.into(),
                fields: Vec::new(),
                retry_after_secs: None,
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::invalid(field, message).into()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Locked(_) => (StatusCode::FORBIDDEN, "tier_required"),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            AppError::Transport(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        let mut out = Self::new(status, code, message);
        match e {
            AppError::Invalid(fields) => {
                out.body.fields = fields
                    .into_iter()
                    .map(|f| FieldMessage {
                        field: f.field,
                        message: f.message,
                    })
                    .collect();
            }
            AppError::TooManyRequests { retry_after_secs } => {
                out.body.retry_after_secs = Some(retry_after_secs);
            }
            _ => {}
        }
        out
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.body.retry_after_secs;
        let unauthenticated = self.status == StatusCode::UNAUTHORIZED;
        let mut response =
            (self.status, axum::Json(ErrorBody { error: self.body })).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if unauthenticated {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dripfeed\""),
            );
        }
        response
    }
}

/// A rejection of axum's extractors (bad JSON, a path that is not a
/// number, a bad query) as the API's `bad_request`; axum's text names the
/// problem without echoing anything secret.
macro_rules! rejection {
    ($($t:ty),+) => {$(
        impl From<$t> for ApiError {
            fn from(r: $t) -> Self {
                let status = r.status();
                let mut e = ApiError::bad_request(r.body_text());
                if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    e.status = status;
                }
                e
            }
        }
    )+};
}
rejection!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::PathRejection,
    axum::extract::rejection::QueryRejection
);
