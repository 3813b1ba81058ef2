//! The exchange's fake of Alpaca's OAuth: an authorize page where the
//! "account holder" allows or denies access, and the token endpoint that
//! exchanges the one-time code for an access token. Each grant opens a new
//! funded account. As with Alpaca, the token response has no `expires_in` and
//! no refresh token (see `tests/fixtures/alpaca/oauth/token-response.json`).

use super::{Exchange, ledger};
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

/// Codes not yet exchanged, and what they were issued for.
#[derive(Debug, Default)]
pub struct Grants {
    codes: HashMap<String, Grant>,
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    scope: String,
    expires_at: DateTime<Utc>,
}

pub fn router() -> Router<Exchange> {
    Router::new()
        .route("/oauth/authorize", get(authorize_page).post(authorize))
        .route("/oauth/token", post(token))
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

async fn authorize_page(Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type.as_deref() != Some("code") {
        return bad_request("response_type must be code");
    }
    let (Some(client_id), Some(redirect_uri)) = (q.client_id, q.redirect_uri) else {
        return bad_request("client_id and redirect_uri are required");
    };
    if !valid_redirect(&redirect_uri) {
        return bad_request("redirect_uri is not a valid URL");
    }
    let scope = q.scope.unwrap_or_default();
    let state = q.state.unwrap_or_default();
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

async fn authorize(State(ex): State<Exchange>, Form(d): Form<Decision>) -> Response {
    if !valid_redirect(&d.redirect_uri) {
        return bad_request("redirect_uri is not a valid URL");
    }
    let target = if d.decision == "allow" {
        let code = Uuid::new_v4().simple().to_string();
        ex.grants().codes.insert(
            code.clone(),
            Grant {
                client_id: d.client_id,
                redirect_uri: d.redirect_uri.clone(),
                scope: d.scope,
                expires_at: Utc::now() + Duration::minutes(10),
            },
        );
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
    let now = ex.now();
    let opened =
        ex.with_ledger(|l| l.open_with_token(&access_token, ledger::default_funding(), now));
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
