//! The exchange's fake of Alpaca's OAuth: an authorize page where the
//! "account holder" allows or denies access, and the token endpoint that
//! exchanges the one-time code for an access token. Each grant opens a new
//! funded account. As with Alpaca, the token response has no `expires_in` and
//! no refresh token (see `tests/fixtures/alpaca/oauth/token-response.json`).

use super::Exchange;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Codes not yet exchanged, and what they were issued for. Bounded: at
/// most [`MAX_PENDING`] at a time, expired ones dropped first.
#[derive(Debug, Default)]
pub struct Grants {
    codes: HashMap<String, Grant>,
}

/// The most authorizations waiting for their code to be exchanged.
pub const MAX_PENDING: usize = 1000;
/// The longest `client_id`, `scope`, `state` and `redirect_uri` accepted.
const MAX_CLIENT_ID: usize = 200;
const MAX_SCOPE: usize = 200;
const MAX_STATE: usize = 512;
const MAX_REDIRECT: usize = 2048;

impl Grants {
    /// Keeps `grant` under a new code, unless too many are pending.
    fn issue(&mut self, grant: Grant, now: DateTime<Utc>) -> Option<String> {
        if self.codes.len() >= MAX_PENDING {
            self.codes.retain(|_, g| g.expires_at > now);
        }
        if self.codes.len() >= MAX_PENDING {
            return None;
        }
        let code = Uuid::new_v4().simple().to_string();
        self.codes.insert(code.clone(), grant);
        Some(code)
    }

    /// How many authorizations are pending.
    pub fn pending(&self) -> usize {
        self.codes.len()
    }
}

/// Which redirect URIs the simulated consent accepts.
#[derive(Debug, Clone, Default)]
pub struct ConsentPolicy {
    /// Only this one (the app's own callback) when set; any http(s) URL
    /// otherwise (the standalone exchange used as an Alpaca stand-in).
    pub redirect_uri: Option<String>,
}

impl ConsentPolicy {
    fn allows(&self, uri: &str) -> bool {
        uri.len() <= MAX_REDIRECT
            && valid_redirect(uri)
            && self.redirect_uri.as_deref().is_none_or(|only| only == uri)
    }
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    scope: String,
    expires_at: DateTime<Utc>,
}

pub fn router(policy: ConsentPolicy) -> Router<Exchange> {
    Router::new()
        .route("/oauth/authorize", get(authorize_page).post(authorize))
        .route("/oauth/token", post(token))
        .layer(axum::Extension(policy))
}

/// The consent form's fields within their size limits.
fn sizes_ok(client_id: &str, scope: &str, state: &str) -> bool {
    client_id.len() <= MAX_CLIENT_ID && scope.len() <= MAX_SCOPE && state.len() <= MAX_STATE
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Authorization error</title><p>{}</p>",
            escape(message)
        )),
    )
        .into_response()
}

fn valid_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

async fn authorize_page(
    axum::Extension(policy): axum::Extension<ConsentPolicy>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    if q.response_type.as_deref() != Some("code") {
        return bad_request("response_type must be code");
    }
    let (Some(client_id), Some(redirect_uri)) = (q.client_id, q.redirect_uri) else {
        return bad_request("client_id and redirect_uri are required");
    };
    if !policy.allows(&redirect_uri) {
        return bad_request("redirect_uri is not allowed for this client");
    }
    let scope = q.scope.unwrap_or_default();
    let state = q.state.unwrap_or_default();
    if !sizes_ok(&client_id, &scope, &state) {
        return bad_request("client_id, scope or state is too long");
    }
    let hidden = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value)
        )
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize access (simulated Alpaca)</title></head>
<body>
<main>
<h1>Authorize access</h1>
<p>This is the embedded paper exchange's stand-in for Alpaca's consent page. Nothing here is real money.</p>
<p>The application <strong>{client}</strong> asks for: <code>{scope_text}</code>.</p>
<form method="post" action="authorize">
{f1}{f2}{f3}{f4}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</main>
</body></html>"#,
        client = escape(&client_id),
        scope_text = escape(&scope),
        f1 = hidden("client_id", &client_id),
        f2 = hidden("redirect_uri", &redirect_uri),
        f3 = hidden("state", &state),
        f4 = hidden("scope", &scope),
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct Decision {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    scope: String,
    decision: String,
}

fn with_params(uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    Some(url.to_string())
}

async fn authorize(
    State(ex): State<Exchange>,
    axum::Extension(policy): axum::Extension<ConsentPolicy>,
    Form(d): Form<Decision>,
) -> Response {
    if !policy.allows(&d.redirect_uri) {
        return bad_request("redirect_uri is not allowed for this client");
    }
    if !sizes_ok(&d.client_id, &d.scope, &d.state) {
        return bad_request("client_id, scope or state is too long");
    }
    let target = if d.decision == "allow" {
        let now = Utc::now();
        let grant = Grant {
            client_id: d.client_id,
            redirect_uri: d.redirect_uri.clone(),
            scope: d.scope,
            expires_at: now + Duration::minutes(10),
        };
        let Some(code) = ex.grants().issue(grant, now) else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html("<!doctype html><title>Busy</title><p>Too many authorizations are waiting; try again in a few minutes.</p>"),
            )
                .into_response();
        };
        with_params(&d.redirect_uri, &[("code", &code), ("state", &d.state)])
    } else {
        with_params(
            &d.redirect_uri,
            &[("error", "access_denied"), ("state", &d.state)],
        )
    };
    match target {
        Some(t) => Redirect::to(&t).into_response(),
        None => bad_request("redirect_uri is not a valid URL"),
    }
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(State(ex): State<Exchange>, Form(t): Form<TokenRequest>) -> Response {
    if t.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let Some(code) = t.code else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    // Single use: the code is gone whether or not the rest checks out.
    let grant = ex.grants().codes.remove(&code);
    let Some(grant) = grant.filter(|g| g.expires_at > Utc::now()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the code is unknown, used or expired",
        );
    };
    if t.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str())
        || t.client_id.as_deref().is_some_and(|c| c != grant.client_id)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri or client_id does not match the authorization",
        );
    }
    let access_token = Uuid::new_v4().to_string();
    let opened = ex.open_token_account(&access_token);
    if let Err(e) = opened {
        tracing::error!(error.cause_chain = ?e, "paper exchange could not open an OAuth account");
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "try again",
        );
    }
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "scope": grant.scope,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_at: DateTime<Utc>) -> Grant {
        Grant {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            scope: String::new(),
            expires_at,
        }
    }

    #[test]
    fn pending_authorizations_are_bounded_and_expired_ones_make_room() {
        let now = Utc::now();
        let mut grants = Grants::default();
        for _ in 0..MAX_PENDING - 1 {
            assert!(
                grants
                    .issue(grant(now + Duration::minutes(10)), now)
                    .is_some()
            );
        }
        assert!(
            grants
                .issue(grant(now - Duration::seconds(1)), now)
                .is_some()
        );
        assert_eq!(grants.pending(), MAX_PENDING);
        // Full: the expired one is dropped to make room, then no more.
        assert!(
            grants
                .issue(grant(now + Duration::minutes(10)), now)
                .is_some()
        );
        assert!(
            grants
                .issue(grant(now + Duration::minutes(10)), now)
                .is_none()
        );
        assert_eq!(grants.pending(), MAX_PENDING);
    }

    #[test]
    fn only_the_configured_callback_is_accepted_when_one_is_set() {
        let app = ConsentPolicy {
            redirect_uri: Some("http://127.0.0.1:3000/oauth/alpaca/callback".into()),
        };
        assert!(app.allows("http://127.0.0.1:3000/oauth/alpaca/callback"));
        assert!(!app.allows("https://evil.example/oauth/alpaca/callback"));
        let open = ConsentPolicy::default();
        assert!(open.allows("https://anything.example/cb"));
        assert!(!open.allows("javascript:alert(1)"));
        assert!(!open.allows(&format!("https://x.example/{}", "a".repeat(3000))));
    }
}
