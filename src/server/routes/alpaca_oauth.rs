//! Connecting an Alpaca account with OAuth (authorization-code flow, oauth2
//! crate). `/oauth/alpaca/start` stores a random `state` in the signed-in
//! user's session and sends the browser to the consent page;
//! `/oauth/alpaca/callback` accepts the code only with that same state (single
//! use, ten minutes), exchanges it server-side, checks the token with
//! `GET /v2/account`, and saves it sealed. Tokens never reach logs or the
//! browser. Without a configured client id the flow runs against the embedded
//! exchange's simulated consent page (environment `demo`).

use crate::server::auth::{ClientInfo, current_user};
use crate::server::broker::exchange::MOUNT;
use crate::server::config::OAuthEnvironment;
use crate::server::connections::{self, Environment};
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use tower_sessions::Session;

pub const START: &str = "/oauth/alpaca/start";
pub const CALLBACK: &str = "/oauth/alpaca/callback";
const SESSION_KEY: &str = "alpaca_oauth";
const STATE_LIFETIME_SECS: i64 = 600;
const SCOPES: [&str; 3] = ["account:write", "trading", "data"];

/// What the session remembers between start and callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    environment: String,
    created_at: i64,
}

/// The OAuth endpoints and the environment their tokens trade on.
struct Provider {
    client_id: String,
    client_secret: SecretString,
    authorize_url: String,
    token_url: String,
    environment: Environment,
}

fn provider(state: &AppState) -> Provider {
    let s = &state.settings;
    match (&s.alpaca_oauth_client_id, &s.alpaca_oauth_client_secret) {
        (Some(id), Some(secret)) => Provider {
            client_id: id.clone(),
            client_secret: secret.clone(),
            authorize_url: s.alpaca_oauth_authorize_url.to_string(),
            token_url: s.alpaca_oauth_token_url.to_string(),
            environment: match s.alpaca_oauth_environment {
                OAuthEnvironment::Live => Environment::Live,
                OAuthEnvironment::Paper => Environment::Paper,
            },
        },
        _ => {
            let base = state.public_url.as_str().trim_end_matches('/');
            Provider {
                client_id: "dripfeed-demo".into(),
                client_secret: SecretString::from("dripfeed-demo".to_owned()),
                // The browser goes to the public address; the server talks to
                // the exchange on loopback.
                authorize_url: format!("{base}{MOUNT}/oauth/authorize"),
                token_url: format!(
                    "{}/oauth/token",
                    state.exchange_url.as_str().trim_end_matches('/')
                ),
                environment: Environment::Demo,
            }
        }
    }
}

/// Sends a visitor who is not signed in to the log-in page instead of the
/// embedded exchange's simulated consent page (it simulates *their*
/// consent); every other exchange request passes untouched.
pub async fn simulated_consent_needs_sign_in(
    State(state): State<AppState>,
    session: Session,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.uri().path().ends_with("/oauth/authorize") {
        match current_user(&state, &session).await {
            Ok(Some(_)) => {}
            Ok(None) => return Redirect::to("/login").into_response(),
            Err(e) => {
                tracing::error!(error.cause_chain = ?e, "could not check the session for the consent page");
                return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    next.run(req).await
}

/// This app's OAuth callback URL.
pub(crate) fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}{CALLBACK}",
        state.public_url.as_str().trim_end_matches('/')
    )
}

fn back(query: &str) -> Response {
    Redirect::to(&format!("/brokerage?{query}")).into_response()
}

/// `GET /oauth/alpaca/start`: to the consent page.
pub async fn start(State(state): State<AppState>, session: Session) -> Response {
    match start_inner(&state, &session).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "could not start the OAuth flow");
            back("oauth_error=internal")
        }
    }
}

async fn start_inner(state: &AppState, session: &Session) -> anyhow::Result<Response> {
    let Some(user) = current_user(state, session).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let p = provider(state);
    if p.environment == Environment::Live {
        match crate::server::billing::require(
            state,
            user.id,
            crate::domain::entitlement::Feature::LiveTrading,
        )
        .await
        {
            Ok(_) => {}
            Err(crate::error::AppError::Locked(_)) => return Ok(back("oauth_error=tier")),
            Err(e) => anyhow::bail!("checking the tier: {e}"),
        }
    }
    let client = BasicClient::new(ClientId::new(p.client_id))
        .set_auth_uri(AuthUrl::new(p.authorize_url)?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri(state))?);
    let mut request = client.authorize_url(CsrfToken::new_random);
    for scope in SCOPES {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, csrf) = request.url();
    session
        .insert(
            SESSION_KEY,
            Pending {
                state: csrf.secret().clone(),
                environment: p.environment.as_str().to_owned(),
                created_at: chrono::Utc::now().timestamp(),
            },
        )
        .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /oauth/alpaca/callback`: back from the consent page.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let client = ClientInfo::from_parts(Some(peer), &headers, &state.settings.trusted_proxies);
    match callback_inner(&state, &session, &client, q).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "the OAuth callback failed");
            back("oauth_error=internal")
        }
    }
}

async fn callback_inner(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    q: CallbackQuery,
) -> anyhow::Result<Response> {
    let Some(user) = current_user(state, session).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    // Single use: whatever happens next, this state is spent.
    let pending: Option<Pending> = session.remove(SESSION_KEY).await?;
    let now = chrono::Utc::now().timestamp();
    let valid = match (&pending, &q.state) {
        (Some(p), Some(s)) => same(&p.state, s) && now - p.created_at <= STATE_LIFETIME_SECS,
        _ => false,
    };
    let Some(pending) = pending.filter(|_| valid) else {
        return Ok(back("oauth_error=state"));
    };
    if q.error.is_some() {
        return Ok(back("oauth_error=denied"));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 512) else {
        return Ok(back("oauth_error=denied"));
    };
    let p = provider(state);
    let env = Environment::parse(&pending.environment).unwrap_or(p.environment);
    let oauth = BasicClient::new(ClientId::new(p.client_id))
        .set_client_secret(ClientSecret::new(
            p.client_secret.expose_secret().to_owned(),
        ))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(p.token_url)?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri(state))?);
    let token = match oauth
        .exchange_code(AuthorizationCode::new(code))
        .request_async(&state.broker_http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            // The error names the failure kind; it never carries the token.
            tracing::warn!(error = %e, "exchanging the OAuth code failed");
            return Ok(back("oauth_error=exchange"));
        }
    };
    let access_token = SecretString::from(token.access_token().secret().clone());
    match connections::connect_oauth(state, &user, client, env, access_token).await {
        Ok(_) => Ok(Redirect::to("/dashboard").into_response()),
        Err(crate::error::AppError::Conflict(_)) => Ok(back("oauth_error=duplicate")),
        Err(_) => Ok(back("oauth_error=validation")),
    }
}
