//! Cross-site request protection: every state-changing request (anything but
//! GET, HEAD and OPTIONS) must come from this site's own pages, as shown by its
//! `Origin` header (or, failing that, its `Referer`). Together with SameSite=Lax
//! session cookies this stops other sites from submitting forms or calling
//! server functions on a signed-in user's behalf.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The one origin (`scheme://host[:port]`) allowed to make state-changing requests.
#[derive(Debug, Clone)]
pub struct AllowedOrigin(pub Arc<str>);

pub async fn require_same_origin(
    State(allowed): State<AllowedOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| url::Url::parse(r).ok())
                .map(|u| u.origin().ascii_serialization())
        });
    match claimed {
        Some(origin) if origin.eq_ignore_ascii_case(&allowed.0) => next.run(request).await,
        _ => {
            tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
            (
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({
                    "error": "This request did not come from Dripfeed's own pages, so it was refused."
                })),
            )
                .into_response()
        }
    }
}
