//! What every `/api/v1` request passes before its handler: the bearer
//! token (known, unrevoked, unexpired, its user enabled and on a tier with
//! the API), the token's rate limit, an audit entry for the use, and, for a
//! POST with an `Idempotency-Key`, the first answer again on a repeat.

use super::error::ApiError;
use crate::dto::tokens::TokenScope;
use crate::server::auth::{ClientInfo, audit};
use crate::server::state::AppState;
use crate::server::tokens::{self, ApiCaller};
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

/// The largest request body the API takes.
pub const BODY_LIMIT: usize = crate::server::startup::FORM_BODY_LIMIT;
/// The largest answer kept for an idempotent replay.
const REPLAY_LIMIT: usize = 8 * 1024 * 1024;
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl ApiCaller {
    /// Refuses a token without `scope`.
    pub fn need(&self, scope: TokenScope) -> Result<(), ApiError> {
        if self.scope.covers(scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(
                    "This token may only read; create one with the {} scope to do this.",
                    scope.as_str()
                ),
            ))
        }
    }
}

fn client_of(state: &AppState, req: &Request) -> ClientInfo {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    ClientInfo::from_parts(peer, req.headers(), &state.settings.trusted_proxies)
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the request's token, counts it against the token's rate
/// limit, runs the handler as its user, and audits the use.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(token) = bearer(&req) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Send a personal API token: Authorization: Bearer <token> (create one in Settings).",
        )
        .into_response();
    };
    let now = crate::server::db::now();
    let caller = match tokens::authenticate(&state, token, now).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(refusal)) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", refusal.message())
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(e) = state.token_limits.check(caller.token_id) {
        return ApiError::from(e).into_response();
    }
    let client = client_of(&state, &req);
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let span = tracing::info_span!("api", user_id = caller.user.id, token_id = caller.token_id);
    req.extensions_mut().insert(client.clone());
    req.extensions_mut().insert(caller.clone());
    let response = tracing::Instrument::instrument(next.run(req), span).await;
    if let Err(e) = audit(
        &state.store,
        &client,
        Some(caller.user.id),
        Some(caller.user.id),
        "api.request",
        json!({
            "token_id": caller.token_id,
            "method": method.as_str(),
            "route": route,
            "status": response.status().as_u16(),
        }),
    )
    .await
    {
        tracing::error!(error.cause_chain = ?e, "could not audit an API request");
    }
    response
}

/// For a POST with an `Idempotency-Key`: the first request with the key is
/// answered and its answer kept; a repeat with the same method, path and
/// body gets that answer again (marked `Idempotent-Replayed: true`) without
/// acting twice; a different request under the key is refused. Answers of
/// 500 and above are not kept, so a retry after our failure is carried out.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY).cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return ApiError::invalid(
                "Idempotency-Key",
                "An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice).",
            )
            .into_response();
        }
    };
    let Some(caller) = req.extensions().get::<ApiCaller>().cloned() else {
        return ApiError::from(anyhow::anyhow!("idempotency ran before authentication"))
            .into_response();
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad_request",
                format!("The request body is over {BODY_LIMIT} bytes."),
            )
            .into_response();
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    hasher.update(parts.uri.path());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash = hex::encode(hasher.finalize());
    let store = &state.store;
    let user_id = caller.user.id;
    let claim = store
        .claim_idempotency(user_id, &key, &request_hash, crate::server::db::now())
        .await;
    use crate::server::db::api_tokens::KeyClaim;
    match claim {
        Err(e) => ApiError::from(e).into_response(),
        Ok(KeyClaim::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key for a new request.",
        )
        .into_response(),
        Ok(KeyClaim::InFlight) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "A request with this Idempotency-Key is still being answered; retry in a moment.",
        )
        .into_response(),
        Ok(KeyClaim::Replay { status, body }) => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                Body::from(body),
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Ok(KeyClaim::Fresh) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let body = match axum::body::to_bytes(body, REPLAY_LIMIT).await {
                Ok(b) => b,
                Err(e) => {
                    let _ = store.release_idempotency(user_id, &key).await;
                    return ApiError::from(anyhow::anyhow!("reading an API answer: {e}"))
                        .into_response();
                }
            };
            let kept = if parts.status.is_server_error() {
                store.release_idempotency(user_id, &key).await
            } else {
                store
                    .finish_idempotency(
                        user_id,
                        &key,
                        parts.status.as_u16(),
                        &String::from_utf8_lossy(&body),
                    )
                    .await
            };
            if let Err(e) = kept {
                tracing::error!(error.cause_chain = ?e, "could not keep an idempotent answer");
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}
