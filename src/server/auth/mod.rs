//! Who is asking: sign-up, log-in, log-out, and `require_user()`, which every
//! server function that touches a user's data calls first.
//!
//! Sessions are tower-sessions backed by [`session_store::DbSessionStore`]. The
//! session id is rotated at every sign-in; sessions expire after a period of
//! inactivity (the cookie and row expiry) and, regardless of activity, a fixed
//! time after sign-in (checked here against `auth_at`).

pub mod email_confirmation;
pub mod origin;
pub mod password;
pub mod rate_limit;
pub mod security;
pub mod session_store;
pub mod two_factor;

use crate::domain::legal::TERMS_VERSION;
use crate::dto::stamp::Stamp;
use crate::error::{AppError, FieldError};
use crate::server::db::audit::NewAuditEntry;
use crate::server::db::rows::UserRow;
use crate::server::db::users::NewUser;
use crate::server::db::{Store, StoreError};
use crate::server::state::{AppState, app_state};
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use session_store::{AUTHENTICATED_AT, IP, USER_AGENT, USER_ID};
use std::net::{IpAddr, SocketAddr};
use tower_sessions::Session;

/// The signed-in user, as server code sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub time_zone: String,
}

impl From<&UserRow> for CurrentUser {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email.clone(),
            is_admin: row.role == "admin",
            time_zone: row.time_zone.clone(),
        }
    }
}

impl CurrentUser {
    /// The user's time zone, in which pages show every instant. Settings only
    /// accepts zones that parse, so one that no longer does is an error.
    pub fn zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone.parse().map_err(|_| {
            anyhow::anyhow!(
                "user {} has a time zone this build does not know: {:?}",
                self.id,
                self.time_zone
            )
        })
    }
}

/// Where a request came from, for the sessions list and the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The client of a request from `peer`: its address is the peer's,
    /// unless the peer is one of the `trusted` proxies, which say who their
    /// client was (see [`client_ip`]).
    pub fn from_parts(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Self {
        Self {
            ip: peer.map(|p| client_ip(p.ip(), headers, trusted).to_string()),
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(300).collect()),
        }
    }
}

/// The address of the client behind `peer`. Only when `peer` is a trusted
/// proxy are its `Forwarded` (`for=`) or else `X-Forwarded-For` entries read,
/// right to left, skipping other trusted proxies: the first address that is
/// not one is the client. Anything unreadable leaves the peer's address.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .collect()
    };
    let forwarded: Vec<String> = values("forwarded")
        .iter()
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            k.eq_ignore_ascii_case("for")
                .then(|| v.trim_matches('"').to_owned())
        })
        .collect();
    let chain = if forwarded.is_empty() {
        values("x-forwarded-for")
    } else {
        forwarded
    };
    for entry in chain.iter().rev() {
        let Some(ip) = parse_node(entry) else {
            return peer;
        };
        if !trusted.contains(&ip) {
            return ip;
        }
    }
    peer
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse() {
        return Some(ip);
    }
    if let Ok(sock) = raw.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    raw.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|r| r.parse().ok())
}

/// Everything a server function needs to act for the person asking.
pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    pub client: ClientInfo,
}

/// The state, session and client of the current server-function request.
pub async fn request_context() -> Result<RequestContext, AppError> {
    let state = app_state()?;
    let session: Session = leptos_axum::extract()
        .await
        .map_err(|e| anyhow::anyhow!("no session layer: {e}"))?;
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()
        .ok_or_else(|| anyhow::anyhow!("no request parts in the Leptos context"))?;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = ClientInfo::from_parts(peer, &parts.headers, &state.settings.trusted_proxies);
    Ok(RequestContext {
        state,
        session,
        client,
    })
}

/// The signed-in user, or `Unauthenticated`. Call first in every server
/// function that reads or changes a user's data.
pub async fn require_user() -> Result<(RequestContext, CurrentUser), AppError> {
    let ctx = request_context().await?;
    match current_user(&ctx.state, &ctx.session).await? {
        Some(user) => Ok((ctx, user)),
        None => Err(AppError::Unauthenticated),
    }
}

/// Who is signed in on `session`, as the browser sees them (with how many
/// notifications they have not read), or `None`.
pub async fn me(
    state: &AppState,
    session: &Session,
) -> Result<Option<crate::dto::auth::Me>, AppError> {
    let Some(user) = current_user(state, session).await? else {
        return Ok(None);
    };
    let unread_notifications = state.store.unread_notifications(user.id).await?;
    Ok(Some(crate::dto::auth::Me {
        email: user.email,
        is_admin: user.is_admin,
        time_zone: user.time_zone,
        unread_notifications,
    }))
}

/// How far the user is along the first steps: a connected account, a plan,
/// and something bought.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn getting_started(
    state: &AppState,
    user: &CurrentUser,
) -> Result<crate::dto::auth::FirstSteps, AppError> {
    let store = &state.store;
    Ok(crate::dto::auth::FirstSteps {
        connected: !store.connections_of(user.id).await?.is_empty(),
        planned: !store.plans_of(user.id).await?.is_empty(),
        bought: store.has_purchase(user.id).await?,
    })
}

/// How many of a user's newest activity entries their account page shows.
const ACTIVITY_SHOWN: i64 = 100;

/// The user's own recent activity (what they did, and what was done to their
/// account), newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn activity(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<crate::dto::auth::ActivityEntry>, AppError> {
    let rows = state.store.audit_of_user(user.id, ACTIVITY_SHOWN).await?;
    let (zone, now) = (user.zone()?, chrono::Utc::now());
    Ok(rows
        .into_iter()
        .map(|r| crate::dto::auth::ActivityEntry {
            id: r.id,
            occurred_at: Stamp::new(r.occurred_at, zone, now),
            action: r.action,
            ip: r.ip,
        })
        .collect())
}

/// Like [`require_user`], for admin-only functions: anyone else is refused.
pub async fn require_admin() -> Result<(RequestContext, CurrentUser), AppError> {
    let (ctx, user) = require_user().await?;
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    Ok((ctx, user))
}

/// The user signed in on `session`, if the sign-in is still valid: the user
/// exists, is not disabled, and signed in less than the absolute session
/// lifetime ago. An invalid sign-in is cleared from the session.
pub async fn current_user(
    state: &AppState,
    session: &Session,
) -> anyhow::Result<Option<CurrentUser>> {
    let Some(user_id) = session.get::<i64>(USER_ID).await? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(AUTHENTICATED_AT).await?.unwrap_or(0);
    let max_age = state.settings.session_absolute_minutes.saturating_mul(60);
    let fresh = chrono::Utc::now().timestamp() - signed_in_at < max_age as i64;
    let user = state.store.user_by_id(user_id).await?;
    match user {
        Some(row) if fresh && row.disabled_at.is_none() => Ok(Some(CurrentUser::from(&row))),
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Records an audit event.
pub async fn audit(
    store: &Store,
    client: &ClientInfo,
    actor: Option<i64>,
    subject: Option<i64>,
    action: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .append_audit(&NewAuditEntry {
            actor_user_id: actor,
            subject_user_id: subject,
            action: action.to_owned(),
            detail,
            ip: client.ip.clone(),
        })
        .await?;
    Ok(())
}

/// Lower-cased, trimmed email if it is a plausible address.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("Enter your email address.".into());
    }
    if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
        return Err("Enter a valid email address, like name@example.com.".into());
    }
    Ok(trimmed.to_lowercase())
}

/// Checks a new account's email and password as sign-up does, adding any
/// problems to `errors`. Returns the normalized email if it is valid.
pub(crate) fn check_new_credentials(
    email: &str,
    new_password: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let normalized = normalize_email(email)
        .map_err(|message| {
            errors.push(FieldError {
                field: "email".into(),
                message,
            })
        })
        .ok();
    if let Err(message) = password::check_rules(new_password, email) {
        errors.push(FieldError {
            field: "password".into(),
            message,
        });
    }
    normalized
}

/// Hashes the password and stores the account, with the current Terms of
/// Service recorded as accepted now. A taken email is a field error.
pub(crate) async fn create_account(
    store: &Store,
    email: &str,
    normalized: &str,
    new_password: String,
    role: &str,
) -> Result<i64, AppError> {
    let hash = password::hash(new_password).await?;
    let created = store
        .insert_user(&NewUser {
            email: email.trim(),
            email_normalized: normalized,
            password_hash: &hash,
            role,
            terms_version: TERMS_VERSION,
            terms_accepted_at: crate::server::db::now(),
        })
        .await;
    match created {
        Ok(id) => Ok(id),
        Err(StoreError::Conflict(_)) => Err(AppError::invalid(
            "email",
            "An account with this email already exists.",
        )),
        Err(StoreError::Other(e)) => Err(e.into()),
    }
}

/// The input of sign-up, as typed.
pub struct SignUpForm {
    pub email: String,
    pub password: String,
    pub accept_terms: bool,
}

/// Creates an account and signs it in on `session`. Every field is checked
/// first; nothing is written unless all are valid.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    form: SignUpForm,
) -> Result<CurrentUser, AppError> {
    state.limits.check(
        rate_limit::Attempt::SignUp,
        client.ip.as_deref(),
        Some(form.email.trim()),
    )?;
    let mut errors = Vec::new();
    let email = check_new_credentials(&form.email, &form.password, &mut errors);
    if !form.accept_terms {
        errors.push(FieldError {
            field: "accept_terms".into(),
            message: "Accept the Terms of Service to create an account.".into(),
        });
    }
    let Some(normalized) = email.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let user_id = create_account(
        &state.store,
        &form.email,
        &normalized,
        form.password,
        "user",
    )
    .await?;
    audit(
        &state.store,
        client,
        Some(user_id),
        Some(user_id),
        "account.signed_up",
        serde_json::json!({ "terms_version": TERMS_VERSION }),
    )
    .await?;
    let row = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {user_id} vanished after sign-up"))?;
    start_session(session, client, &row).await?;
    Ok(CurrentUser::from(&row))
}

/// The one message for any failed sign-in, whatever the reason, so it does not
/// reveal which emails have accounts.
pub const BAD_CREDENTIALS: &str = "That email and password do not match an account.";

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInOutcome {
    SignedIn(CurrentUser),
    /// The account has 2FA: the session now waits for a code
    /// ([`security::complete_second_factor`]).
    NeedsSecondFactor,
}

/// Session keys of a sign-in waiting for its second factor.
pub const PENDING_USER_ID: &str = "pending_uid";
pub const PENDING_SINCE: &str = "pending_at";

/// Checks the credentials and signs the user in on `session` (with a new id),
/// or, for an account with 2FA, leaves the session waiting for a code.
#[tracing::instrument(skip_all)]
pub async fn log_in(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    email: &str,
    password: String,
) -> Result<LogInOutcome, AppError> {
    state.limits.check(
        rate_limit::Attempt::LogIn,
        client.ip.as_deref(),
        Some(email.trim()),
    )?;
    let user = match normalize_email(email) {
        Ok(normalized) => state.store.user_by_email(&normalized).await?,
        Err(_) => None,
    };
    // Verify even without a user (against a dummy hash) so both take as long.
    let matches = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await;
    // A failed attempt on an existing account shows in that account's activity.
    let target = user.as_ref().map(|u| u.id);
    let Some(row) = user.filter(|_| matches) else {
        audit(
            &state.store,
            client,
            None,
            target,
            "login.failed",
            serde_json::json!({ "reason": "bad_credentials" }),
        )
        .await?;
        return Err(AppError::invalid("form", BAD_CREDENTIALS));
    };
    if row.disabled_at.is_some() {
        audit(
            &state.store,
            client,
            Some(row.id),
            Some(row.id),
            "login.refused",
            serde_json::json!({ "reason": "disabled" }),
        )
        .await?;
        return Err(AppError::invalid(
            "form",
            "This account has been disabled. Contact the operator of this Dripfeed instance.",
        ));
    }
    if row.totp_enabled_at.is_some() {
        session.cycle_id().await.map_err(anyhow::Error::from)?;
        session
            .insert(PENDING_USER_ID, row.id)
            .await
            .map_err(anyhow::Error::from)?;
        session
            .insert(PENDING_SINCE, chrono::Utc::now().timestamp())
            .await
            .map_err(anyhow::Error::from)?;
        audit(
            &state.store,
            client,
            Some(row.id),
            Some(row.id),
            "login.awaiting_code",
            serde_json::json!({}),
        )
        .await?;
        return Ok(LogInOutcome::NeedsSecondFactor);
    }
    start_session(session, client, &row).await?;
    audit(
        &state.store,
        client,
        Some(row.id),
        Some(row.id),
        "login.succeeded",
        serde_json::json!({}),
    )
    .await?;
    Ok(LogInOutcome::SignedIn(CurrentUser::from(&row)))
}

/// Ends the sign-in on `session` and deletes it.
#[tracing::instrument(skip_all)]
pub async fn log_out(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if let Some(user) = current_user(state, session).await? {
        audit(
            &state.store,
            client,
            Some(user.id),
            Some(user.id),
            "logout",
            serde_json::json!({}),
        )
        .await?;
    }
    session.flush().await.map_err(anyhow::Error::from)?;
    Ok(())
}

pub(crate) async fn start_session(
    session: &Session,
    client: &ClientInfo,
    user: &UserRow,
) -> anyhow::Result<()> {
    // A new id at every sign-in: a session id planted before sign-in is useless.
    session.cycle_id().await?;
    session.insert(USER_ID, user.id).await?;
    session
        .insert(AUTHENTICATED_AT, chrono::Utc::now().timestamp())
        .await?;
    session
        .insert(USER_AGENT, client.user_agent.clone())
        .await?;
    session.insert(IP, client.ip.clone()).await?;
    session.remove_value(PENDING_USER_ID).await?;
    session.remove_value(PENDING_SINCE).await?;
    session.save().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy, ip("10.0.0.3")];
        let xff = headers(&[("x-forwarded-for", "198.51.100.7, 203.0.113.9, 10.0.0.3")]);
        // From the proxy: the right-most address that is not a proxy.
        assert_eq!(client_ip(proxy, &xff, &trusted), ip("203.0.113.9"));
        // From anyone else (or with no proxy configured): the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.50"), &xff, &trusted),
            ip("203.0.113.50")
        );
        assert_eq!(client_ip(proxy, &xff, &[]), proxy);
        // Forwarded wins over X-Forwarded-For; ports and brackets are read.
        let fwd = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=https, for=\"[2001:db8::1]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_ip(proxy, &fwd, &trusted), ip("2001:db8::1"));
        // Garbage, or only proxies: the peer.
        let junk = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(client_ip(proxy, &junk, &trusted), proxy);
        let only = headers(&[("x-forwarded-for", "10.0.0.3")]);
        assert_eq!(client_ip(proxy, &only, &trusted), proxy);
    }
}
